// Replicache 15's helpers for custom scans (see scan-result.js): both take
// sync or async iterables and return async iterables.

function iteratorOf(iterable) {
  return iterable[Symbol.asyncIterator]?.() ?? iterable[Symbol.iterator]();
}

/** The items of `iterable` for which `predicate` is true, in order. */
export async function* filterAsyncIterable(iterable, predicate) {
  for await (const v of iterable) {
    if (predicate(v)) yield v;
  }
}

/**
 * Merges two sorted iterables into one sorted async iterable. `compare(a, b)`
 * orders an item of `base` against one of `overlay`; when it answers 0 the
 * overlay's item is taken and the base's dropped (an overlay of pending
 * writes over stored entries). Both iterators are closed at the end, also
 * when the consumer stops early.
 */
export async function* mergeAsyncIterables(base, overlay, compare) {
  const a = iteratorOf(base);
  const b = iteratorOf(overlay);
  try {
    let x = await a.next();
    let y = await b.next();
    for (;;) {
      if (x.done) {
        if (y.done) return;
        yield y.value;
        y = await b.next();
      } else if (y.done) {
        yield x.value;
        x = await a.next();
      } else {
        const order = compare(x.value, y.value);
        if (order < 0) {
          yield x.value;
          x = await a.next();
        } else {
          yield y.value;
          if (order === 0) x = await a.next();
          y = await b.next();
        }
      }
    }
  } finally {
    await a.return?.();
    await b.return?.();
  }
}
