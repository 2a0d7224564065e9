// ReadTransaction and WriteTransaction over the core, and scan results.
import {wasm} from './loading.js';
import {heldValue, checkKey} from './values.js';
import {normalizeIndexScanOptions, stageIndexKeys} from './indexes.js';

// What the core answers for a read or write that needs a page of the store
// not read yet (a lazy open; core_reads.cpp, get): read it, ask again.
export const MISSED = 0.5;

// ----------------------------------------------------------------- errors --

export class TransactionClosedError extends Error {
  constructor() {
    super('Transaction is closed');
    this.name = 'TransactionClosedError';
  }
}

export function closedError() {
  return new Error('Replicache instance is closed');
}

// ----------------------------------------------------------------- scans --

// `fresh`: load() makes a new array each time, which toArray() may hand out
// as is (keys/values arrays are shared by the iterators of one scan result).
// load() returns the array, or a promise of it when the scan needs pages of
// the store first (a lazy open).
function makeIterator(load, fresh = false) {
  let arr = null;
  let i = 0;
  const withArray = (f) => {
    try {
      if (arr === null) {
        const a = load();
        if (typeof a.then === 'function') {
          return a.then((loaded) => {
            if (arr === null) arr = loaded;
            return f();
          });
        }
        arr = a;
      }
      return Promise.resolve(f());
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const it = {
    next() {
      return withArray(() => (i < arr.length ? {value: arr[i++], done: false} : {value: undefined, done: true}));
    },
    return(value) {
      arr = arr || [];
      i = arr.length;
      return Promise.resolve({value, done: true});
    },
    toArray() {
      return withArray(() => {
        const out = i === 0 ? (fresh ? arr : arr.slice()) : arr.slice(i);
        i = arr.length;
        return out;
      });
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

class ScanResultImpl {
  constructor(tx, options) {
    this._tx = tx;
    this._options = options;
    this._data = null;
  }
  // The scan's {keys, values}, or a promise of it (see makeIterator).
  _load() {
    if (this._data === null) {
      const d = this._tx._scan(this._options);
      if (typeof d.then === 'function') return d.then((data) => (this._data = data));
      this._data = d;
    }
    return this._data;
  }
  values() {
    return makeIterator(() => then(this._load(), (d) => d.values));
  }
  keys() {
    // Keys only: the core sends no value texts and JS parses none.
    return makeIterator(() => then(this._data !== null ? this._data : this._tx._scan(this._options, true), (d) => d.keys));
  }
  entries() {
    return makeIterator(() => then(this._load(), ({keys, values}) => {
      const out = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) out[i] = [keys[i], values[i]];
      return out;
    }), true);
  }
  toArray() {
    return this.values().toArray();
  }
  [Symbol.asyncIterator]() {
    return this.values();
  }
}

// f(x), or the promise of it when x is a promise (no extra tick otherwise).
function then(x, f) {
  return typeof x.then === 'function' ? x.then(f) : f(x);
}

// Runs a core call that answers 2 when it needs pages of the store first
// (has, isEmpty), reading them and asking again.
function answer(rep, call, tries = 0) {
  const r = call();
  if (r !== 2) return r === 1;
  return rep._afterMiss(0, tries, () => answer(rep, call, tries + 1));
}

function normalizeScanOptions(options) {
  if (options === undefined || options === null) return {prefix: '', start: undefined, exclusive: false, limit: -1};
  if (typeof options !== 'object') throw new TypeError('scan options must be an object');
  const prefix = options.prefix === undefined ? '' : options.prefix;
  if (typeof prefix !== 'string') throw new TypeError('scan prefix must be a string');
  const limit = normalizeLimit(options.limit);
  // A scan of an index: keys [secondary, primary], the prefix on the
  // secondary key (indexes.js).
  if (options.indexName !== undefined) return normalizeIndexScanOptions(options, prefix, limit);
  let start;
  let exclusive = false;
  if (options.start !== undefined) {
    start = options.start.key;
    exclusive = !!options.start.exclusive;
  } else if (options.startKey !== undefined) {
    start = options.startKey;
    exclusive = !!options.startExclusive;
  }
  if (start !== undefined) checkKey(start);
  return {prefix, start, exclusive, limit};
}

function normalizeLimit(limit) {
  if (limit === undefined) return -1;
  if (typeof limit !== 'number' || !(limit >= 0)) throw new TypeError('scan limit must be a number >= 0');
  // Replicache 15 treats a limit of 0 as no limit (tested against it in
  // test/conformance.test.js): kept, so a scan answers the same.
  return Math.floor(limit) || -1;
}

// ---------------------------------------------------------- transactions --

export class ReadTransactionImpl {
  constructor(rep, txID, clientID) {
    this._rep = rep;
    this._txID = txID;
    this._open = true;
    this.clientID = clientID;
    this.environment = 'client';
    this.location = 'client';
  }
  _check() {
    if (!this._open) throw new TransactionClosedError();
  }
  _close() {
    this._open = false;
  }
  async get(key) {
    this._check();
    checkKey(key);
    return this._rep._get(this._txID, key);
  }
  async has(key) {
    this._check();
    checkKey(key);
    return answer(this._rep, () => wasm.coreHas(this._rep._core, this._txID, key));
  }
  async isEmpty() {
    this._check();
    return answer(this._rep, () => wasm.coreIsEmpty(this._rep._core, this._txID));
  }
  scan(options) {
    this._check();
    return new ScanResultImpl(this, normalizeScanOptions(options));
  }
  _scan(options, keysOnly = false) {
    this._check();
    return this._rep._scan(this._txID, options, keysOnly);
  }
}

// Writes are buffered in JS and reach the core in one crossing (setMany)
// when the mutator returns, or earlier when a read needs the core to see
// them (scan, isEmpty, del). get/has of a buffered key answer from the
// buffer, so a mutator always reads its own writes.
export class WriteTransactionImpl extends ReadTransactionImpl {
  constructor(rep, clientID, mutationID, reason) {
    super(rep, 0, clientID);
    this.mutationID = mutationID;
    this.reason = reason;
    this._buffer = null; // Map key -> value (checked and frozen)
  }
  async set(key, value) {
    this._check();
    checkKey(key);
    const v = heldValue(value, 'set');
    (this._buffer || (this._buffer = new Map())).set(key, v);
  }
  put(key, value) {
    return this.set(key, value);
  }
  async get(key) {
    this._check();
    checkKey(key);
    if (this._buffer !== null) {
      const v = this._buffer.get(key);
      if (v !== undefined) return v;
    }
    return this._rep._get(0, key);
  }
  async has(key) {
    this._check();
    checkKey(key);
    if (this._buffer !== null && this._buffer.has(key)) return true;
    return answer(this._rep, () => wasm.coreHas(this._rep._core, 0, key));
  }
  async isEmpty() {
    this._check();
    const f = this._flush();
    if (f) await f;
    return answer(this._rep, () => wasm.coreIsEmpty(this._rep._core, 0));
  }
  async del(key) {
    this._check();
    checkKey(key);
    const f = this._flush();
    if (f) await f;
    for (let tries = 0; ; tries++) {
      const r = wasm.coreDel(this._rep._core, key);
      if (r === -2) {
        await this._rep._afterMiss(0, tries, () => {});
        continue;
      }
      if (r < 0) throw new Error(`del: ${wasm.coreLastError(this._rep._core)}`);
      return r === 1;
    }
  }
  _scan(options, keysOnly = false) {
    this._check();
    const f = this._flush();
    if (f) return f.then(() => this._rep._scan(0, options, keysOnly));
    return this._rep._scan(0, options, keysOnly);
  }
  // Sends the buffered writes to the core. Returns nothing, or a promise
  // when the keys' pages of the store must be read first (a lazy open; the
  // writes stay buffered until they are sent).
  _flush(tries = 0) {
    const b = this._buffer;
    if (b === null || b.size === 0) return;
    const rep = this._rep;
    const keys = [...b.keys()];
    // With indexes, the values' secondary keys go with them (indexes.js).
    if (rep._indexes.length > 0) stageIndexKeys(rep, keys, b.values());
    const ids = rep._setMany(keys);
    if (ids === MISSED) return rep._afterMiss(0, tries, () => this._flush(tries + 1));
    this._buffer = null;
    const cache = rep._cache;
    let i = 0;
    for (const v of b.values()) cache.set(ids[i++], v);
  }
}
