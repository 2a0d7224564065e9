// makeScanResult and isScanIndexOptions: Replicache 15's helpers for code
// that implements ReadTransaction.scan over a backend of its own (a server
// transaction, a test double). The app gives an iterable of [key, value]
// entries in key order starting at the first key the scan may return; this
// makes the ScanResult (values, keys, entries, toArray, for await) and
// applies the scan's options: the prefix ends the scan at the first key
// outside it, an exclusive start skips the start key, and the limit stops
// it. Pair with filterAsyncIterable and mergeAsyncIterables (iterables.js)
// to lay pending writes over stored entries.
//
// A scan over an index (options with `indexName`) gives index keys, tuples
// [secondary, primary]: the prefix applies to the secondary key.

/** Whether scan options are for an index scan (they name an index). */
export function isScanIndexOptions(options) {
  return options?.indexName !== undefined;
}

// Keys sort by code point (UTF-8 byte order), as the client's store and a
// Replicache server order them; `<` on strings compares UTF-16 units.
function compareKeys(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

const asTuple = (key) => (typeof key === 'string' ? [key, undefined] : [key[0], key[1]]);

// The first key the iterator is asked for: the later of the prefix and the
// start key.
function fromKey({prefix = '', start}) {
  return start && compareKeys(start.key, prefix) > 0 ? start.key : prefix;
}

// For an index: [secondary, primary] to start from (the primary only when
// the start key gives one and its secondary key is not before the prefix).
function fromIndexKey({prefix = '', start}) {
  if (!start) return [prefix, undefined];
  const [secondary, primary] = asTuple(start.key);
  const order = compareKeys(secondary, prefix);
  return order > 0 || (order === 0 && primary !== undefined) ? [secondary, primary] : [prefix, undefined];
}

// Whether an index key is the (exclusive) start: the same secondary key, and
// the same primary key when the start names one.
function isIndexStart(key, startKey) {
  const [secondary, primary] = asTuple(startKey);
  return key[0] === secondary && (primary === undefined || key[1] === primary);
}

// The limit counts down and stops the scan when it reaches 0 exactly, as
// Replicache's does: a limit of 0 (or one that is not a positive whole
// number) is no limit, like tx.scan's (transactions.js).
async function* scanEntries(iterable, options, index) {
  const prefix = options.prefix ?? '';
  const start = options.start;
  const skipStart = !!start?.exclusive;
  let left = options.limit ?? Infinity;
  for await (const entry of iterable) {
    const key = entry[0];
    if (!(index ? key[0] : key).startsWith(prefix)) return;
    if (skipStart && (index ? isIndexStart(key, start.key) : key === start.key)) continue;
    yield entry;
    if (--left === 0) return;
  }
}

class IteratorWithToArray {
  constructor(gen) {
    this._gen = gen;
  }
  next() {
    return this._gen.next();
  }
  return(value) {
    return this._gen.return(value);
  }
  [Symbol.asyncIterator]() {
    return this;
  }
  async toArray() {
    const out = [];
    for await (const v of this) out.push(v);
    return out;
  }
}

async function* mapped(gen, f) {
  for await (const entry of gen) yield f(entry);
}

class CustomScanResult {
  constructor(iterable, options, index) {
    this._iterable = iterable;
    this._options = options;
    this._index = index;
  }
  _iterate(f) {
    return new IteratorWithToArray(mapped(scanEntries(this._iterable, this._options, this._index), f));
  }
  values() {
    return this._iterate((e) => e[1]);
  }
  keys() {
    return this._iterate((e) => e[0]);
  }
  entries() {
    return this._iterate((e) => [e[0], e[1]]);
  }
  toArray() {
    return this.values().toArray();
  }
  [Symbol.asyncIterator]() {
    return this.values();
  }
}

/**
 * A ScanResult over entries from `getScanIterator`, as Replicache's
 * makeScanResult: called once, at once, with the key to start at
 * (`fromKey`), or for index options with (indexName, fromSecondaryKey,
 * fromPrimaryKey); it returns a sync or async iterable of [key, value] in
 * key order from there. Each of values(), keys(), entries() iterates that
 * iterable anew (an array can be iterated again, a generator only once).
 */
export function makeScanResult(options, getScanIterator) {
  const opts = options ?? {};
  if (typeof getScanIterator !== 'function') throw new TypeError('makeScanResult: getScanIterator must be a function');
  const index = isScanIndexOptions(opts);
  const iterable = index ? getScanIterator(opts.indexName, ...fromIndexKey(opts)) : getScanIterator(fromKey(opts));
  return new CustomScanResult(iterable, opts, index);
}
