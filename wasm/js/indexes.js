// Secondary indexes (Replicache's `indexes` option), the JavaScript side.
//
// The indexes live in the core (core/include/replicore/index.h): it keeps
// them up to date through every write, pull and rebase, and answers scans
// and watches by index. What is here: checking the definitions, the scan
// options of an index scan, decoding its answer, and working out the
// secondary keys of the values JS hands the core (a mutator's writes, a
// custom puller's values). Those values stay in JS (core_binding.h: host-held
// values), so the core could only read them by asking for their JSON text;
// instead JS, which has them in hand, evaluates each index's JSON pointer
// and sends the keys along with the write, in the same crossing's batch.
// The rules are the core's (secondaryKeysOf), which are Replicache's.
import {wasm} from './loading.js';
import {unpackScan} from './scan-buffer.js';
import {checkKey} from './values.js';

const encoder = new TextEncoder();

// A lazy open answers an index scan only once every page is in: the core
// names the first page it lacks, and the loader reads from there on, all
// of it (page-loader.js, loadMissed).
const ALL_PAGES = 2 ** 52;

// Replicache's pointer: split at '/', then "~1" -> "/" and "~0" -> "~".
// Null for a pointer that is not one (no leading slash): nothing is
// indexed by it, as Replicache logs and skips such values.
function pointerTokens(pointer) {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  return pointer.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The `indexes` option checked: [{name, prefix, jsonPointer, allowEmpty,
 * tokens}], in the order of Object.keys (the order the core gets them in;
 * see coreIndexOptions). Throws a TypeError for a malformed definition.
 */
export function normalizeIndexes(indexes) {
  if (indexes === undefined || indexes === null) return [];
  if (typeof indexes !== 'object') throw new TypeError('Replicache: options.indexes must be an object');
  return Object.keys(indexes).map((name) => {
    const d = indexes[name];
    if (!d || typeof d !== 'object') throw new TypeError(`Replicache: index "${name}" must be an object`);
    const {jsonPointer, prefix = '', allowEmpty = false} = d;
    if (typeof jsonPointer !== 'string') throw new TypeError(`Replicache: index "${name}": jsonPointer must be a string`);
    if (typeof prefix !== 'string') throw new TypeError(`Replicache: index "${name}": prefix must be a string`);
    return {name, prefix, jsonPointer, allowEmpty: !!allowEmpty, tokens: pointerTokens(jsonPointer)};
  });
}

/** The definitions as the core reads them (core_sync.cpp, Core's options). */
export function coreIndexOptions(defs) {
  const out = {};
  for (const d of defs) out[d.name] = {prefix: d.prefix, jsonPointer: d.jsonPointer, allowEmpty: d.allowEmpty};
  return out;
}

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// Replicache's parseIndex: parseInt, after refusing "+..." and "0...".
function arrayPosition(token) {
  if (token.startsWith('+') || (token.startsWith('0') && token.length !== 1)) return undefined;
  const n = parseInt(token, 10);
  return n >= 0 ? n : undefined;
}

// The secondary keys of `value` for pointer `tokens` (see the core's
// secondaryKeysOf): a string, or an array of strings; none holding a NUL.
function secondaryKeys(value, tokens) {
  if (tokens === null) return [];
  let target = value;
  for (const t of tokens) {
    if (Array.isArray(target)) {
      const i = arrayPosition(t);
      if (i === undefined || i >= target.length) return [];
      target = target[i];
    } else if (target !== null && typeof target === 'object' && hasOwn(target, t)) {
      target = target[t];
    } else {
      return [];
    }
  }
  if (typeof target === 'string') return target.includes('\0') ? [] : [target];
  if (!Array.isArray(target)) return [];
  for (const s of target) {
    if (typeof s !== 'string' || s.includes('\0')) return [];
  }
  return target;
}

/**
 * Sends the core the secondary keys of `values` (in order) for the call
 * that makes their core values next (coreSetMany, coreHoldPullValues).
 * `keys`: their primary keys, or null when not known (a puller's values;
 * the core then checks each index's prefix itself).
 */
export function stageIndexKeys(rep, keys, values) {
  const defs = rep._indexes;
  let text = '';
  let i = 0;
  for (const v of values) {
    const key = keys === null ? null : keys[i++];
    for (const d of defs) {
      if (key !== null && !key.startsWith(d.prefix)) {
        text += '0\0';
        continue;
      }
      const ks = secondaryKeys(v, d.tokens);
      text += ks.length + '\0';
      for (const k of ks) text += k + '\0';
    }
  }
  // UTF-8 is at most three bytes per UTF-16 unit.
  const max = text.length * 3;
  const ptr = wasm._malloc(max + 1);
  if (!ptr) throw new Error('replicore: out of WebAssembly memory');
  try {
    const {written} = encoder.encodeInto(text, wasm.HEAPU8.subarray(ptr, ptr + max));
    wasm.coreStageIndexKeys(rep._core, ptr, written);
  } finally {
    wasm._free(ptr);
  }
}

/** Scan options with an indexName, as the core's scanIndex takes them. */
export function normalizeIndexScanOptions(options, prefix, limit) {
  const {indexName} = options;
  if (typeof indexName !== 'string') throw new TypeError('scan indexName must be a string');
  let start;
  let primary;
  let exclusive = false;
  if (options.start !== undefined) {
    const key = options.start.key;
    if (typeof key === 'string') start = key;
    else if (Array.isArray(key)) {
      start = key[0];
      primary = key[1];
    } else throw new TypeError('scan start key of an index scan must be a string or [secondary, primary?]');
    checkKey(start);
    if (primary !== undefined) checkKey(primary);
    exclusive = !!options.start.exclusive;
  }
  return {indexName, prefix, start, primary, exclusive, limit};
}

/**
 * An index scan's answer, {keys: [[secondary, primary], ...], values}, or
 * the promise of it after a lazy open (core_reads.cpp, scanIndex; the buffer
 * is laid out as a primary scan's, with two keys per entry).
 */
export function scanIndex(rep, txID, o, keysOnly = false, tries = 0) {
  const core = rep._core;
  const how = (o.start !== undefined ? 1 : 0) | (o.exclusive ? 2 : 0) | (keysOnly ? 4 : 0) | (o.primary !== undefined ? 8 : 0);
  const view = wasm.coreScanIndex(core, txID, o.indexName, o.prefix, o.start ?? '', o.primary ?? '', how, o.limit);
  if (view.length === 0) throw new Error(wasm.coreLastError(core) || 'scan failed');
  const answer = unpackScan(view, rep._cache, keysOnly, 2, () => wasm.coreScanRest(core));
  if (answer === null) return rep._afterMiss(ALL_PAGES, tries, () => scanIndex(rep, txID, o, keysOnly, tries + 1));
  const parts = answer.keys;
  const keys = new Array(parts.length / 2);
  for (let i = 0; i < keys.length; i++) keys[i] = [parts[2 * i], parts[2 * i + 1]];
  return {keys, values: answer.values};
}
