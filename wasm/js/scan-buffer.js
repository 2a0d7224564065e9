// The answer of a scan as the core hands it over (wasm/src/scan_answer.h):
// one buffer with the entries' value ids, their keys and the JSON of the
// values the value cache does not hold yet, in pieces of tens of KiB (one
// TextDecoder.decode and JSON.parse of megabytes is an order of magnitude
// slower in Chromium and Firefox). Shared by primary and index scans (an
// index scan's entry has two keys: secondary, primary).
import {deepFreeze} from './values.js';

const decoder = new TextDecoder();

/**
 * The key strings (in order, `keysPerEntry` per entry) and the values
 * (null for keysOnly) of the scan in `view`, the values taken into `cache`;
 * or null when the scan needs a page not read yet (a lazy open). `rest()`
 * returns the next buffer of pieces when the first did not carry them all
 * (coreScanRest: each replaces the one before in wasm memory).
 */
export function unpackScan(view, cache, keysOnly, keysPerEntry, rest) {
  const base = view.byteOffset;
  const h = new Uint32Array(view.buffer, base, 6);
  const n = h[0], keyBytes = h[1], flags = h[3], pieces = h[4], here = h[5];
  if (flags & 2) return null;
  let ends = new Uint32Array(view.buffer, base + 24, pieces);
  const idsAt = 24 + 4 * (pieces + (pieces & 1)), keysAt = idsAt + 8 * n, valuesAt = keysAt + keyBytes;
  // The ids are read in place where the buffer is aligned for doubles.
  let ids = (base + idsAt) % 8 === 0
    ? new Float64Array(view.buffer, base + idsAt, n)
    : new Float64Array(view.slice(idsAt, keysAt).buffer);
  let keys = [];
  if (n > 0) {
    const text = decoder.decode(view.subarray(keysAt, valuesAt));
    // Split on NUL unless a key holds one (flag 1: a JSON array then).
    keys = flags & 1 ? JSON.parse(text) : text.split('\0');
    if (keys.length !== n * keysPerEntry) throw new Error(`scan: ${keys.length} keys for ${n} entries`);
  }
  takePieces(view, valuesAt, ends, 0, here, cache);
  if (here < pieces) {
    // The next buffers overwrite this one: keep what is still needed.
    ends = ends.slice();
    ids = ids.slice();
    for (let p = here; p < pieces;) {
      const more = rest();
      const start = ends[p - 1];
      let last = p;
      while (last < pieces && ends[last] - start <= more.length) last++;
      if (last === p) throw new Error('scan: the rest of the values did not arrive');
      takePieces(more, -start, ends, p, last, cache);
      p = last;
    }
  }
  if (keysOnly) return {keys, values: null};
  const values = new Array(n);
  for (let i = 0; i < n; i++) values[i] = cache.get(ids[i]);
  return {keys, values};
}

// Pieces [from, to) of the values, whose ends (offsets within all the
// values) are `ends`, from `view` where offset 0 of the values is at `at`.
function takePieces(view, at, ends, from, to, cache) {
  for (let p = from; p < to; p++) {
    const vals = JSON.parse(decoder.decode(view.subarray(at + (p ? ends[p - 1] : 0), at + ends[p])));
    for (let i = 0; i < vals.length; i += 2) cache.set(vals[i], deepFreeze(vals[i + 1]));
  }
}
