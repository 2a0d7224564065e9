// Reading the confirmed state's pages after a lazy open.
//
// A reopened client answers as soon as it has read the group's head and its
// pending mutations (core/persister.h, lazy opening): the pages of the
// confirmed state stay in the store until something needs them. A read or
// write that needs a page the core lacks is told so (core_reads.cpp, get), the
// wrapper asks this loader for the pages it missed, and tries again; in the
// background the loader reads every other page in batches, so that after a
// while the whole state is in memory and a pull can apply (a pull waits for
// `loaded`). So the first answer costs the head and one page, not the store.
//
// The pages the first reads missed are noted for the next start's open hint
// (store/open-hint.js), which reads them right after the heads; those reads
// come in here as `prefetched` and stand in for a store read of their keys.
//
// A page that cannot be read (missing, corrupt, or the store failing) is
// handed to the core as absent: it leaves its range empty and forgets the
// cookie, so the next pull fetches the whole state again.
import {wasm} from './loading.js';
import {readAll, withRecords} from './records.js';
import {HINT_PAGES_PER_START} from './store/open-hint.js';

// Background batches: one store transaction each. Large enough that a
// store of 100 MB takes ~100 transactions, small enough that a read that
// misses meanwhile does not wait long behind one (~10 ms of work).
const BATCH_BYTES = 1024 * 1024;

function message(e) {
  return (e && (e.name && e.message ? `${e.name}: ${e.message}` : e.message)) || String(e);
}

// Pages go into the core in groups of about this much text, each through
// one buffer of wasm memory that the next group reuses: a scan that missed
// reads far ahead (tens of MB in one store transaction), and one buffer for
// all of it would grow the wasm heap, which never shrinks, by that much,
// besides the values themselves (and touching fresh memory is most of what
// filling costs: 100,000 keys of 1 KiB, Chromium, encodeInto 693 ms).
const FILL_BYTES = 1024 * 1024;

// Fills the pages `keys` read as `records`; the problems found, NUL-joined.
function fillInGroups(core, keys, records) {
  const problems = [];
  for (let start = 0; start < keys.length;) {
    let end = start, bytes = 0;
    do bytes += typeof records[end] === 'string' ? records[end].length : 0;
    while (++end < keys.length && bytes < FILL_BYTES);
    const found = withRecords(records.slice(start, end), (p, n) => wasm.coreFillPages(core, keys.slice(start, end).join('\u0000'), p, n));
    if (found !== '') problems.push(found);
    start = end;
  }
  return problems.join('\u0000');
}

export class PageLoader {
  /**
   * `rep` gives _core, _closed and _log(level, ...); `store` is the open
   * store the pages are read from; `prefetched` (or null) maps page keys to
   * the promise of their records (undefined if missing), read at open.
   */
  constructor(rep, store, prefetched = null) {
    this._rep = rep;
    this._store = store;
    this._prefetched = prefetched && prefetched.size > 0 ? prefetched : null;
    // The pages the reads missed, in order, until takeFirstReads.
    this._firstReads = [];
    this._inFlight = new Map(); // store key -> promise of its read and fill
    this._failed = false;
    this.done = false;
    this.loaded = new Promise((resolve) => {
      this._resolveLoaded = resolve;
    });
    this._check(rep._core);
  }

  /**
   * Reads the pages reads or writes missed since the last call (each with
   * the unloaded pages after it up to `bytes`, for a scan that goes on),
   * ahead of the background batches.
   */
  loadMissed(core, bytes = 0) {
    const keys = wasm.coreMissedKeys(core, bytes);
    if (keys !== '' && this._firstReads && this._firstReads.length < HINT_PAGES_PER_START) {
      this._firstReads.push(...keys.split('\u0000').slice(0, HINT_PAGES_PER_START - this._firstReads.length));
    }
    if (keys === '') {
      // Nothing is missing any more (another read filled it meanwhile), or
      // the core failed: either way the caller asks again, and a core that
      // keeps failing answers with an error, not a miss.
      return Promise.resolve();
    }
    return this._load(core, keys.split('\u0000'));
  }

  /** Reads every page not in memory yet, a batch per store transaction. */
  async loadAll(core) {
    while (!this.done && !this._rep._closed && this._rep._core === core) {
      const keys = wasm.coreNextPageKeys(core, BATCH_BYTES);
      if (keys === '') break;
      await this._load(core, keys.split('\u0000'));
    }
    // The core asked for every page it lacks: what is left was not its.
    this._prefetched = null;
    this._check(core);
  }

  /** The keys of the first pages the reads missed; noted no more after. */
  takeFirstReads() {
    const keys = this._firstReads ?? [];
    this._firstReads = null;
    return keys;
  }

  // The records of `keys`: those prefetched at open from their read; the
  // others, and a prefetched one that was missing or failed, from the store.
  async _records(keys) {
    const pre = this._prefetched;
    const early = pre ? keys.map((k) => pre.get(k)) : [];
    if (!early.some((p) => p)) return readAll(this._store, keys);
    for (const k of keys) pre.delete(k);
    if (pre.size === 0) this._prefetched = null;
    const records = await Promise.all(early);
    const rest = keys.filter((_, i) => records[i] === undefined);
    if (rest.length > 0) {
      const read = await readAll(this._store, rest);
      let j = 0;
      for (let i = 0; i < records.length; i++) if (records[i] === undefined) records[i] = read[j++];
    }
    return records;
  }

  // Reads `keys`, sharing reads already in flight, and fills the pages in.
  _load(core, keys) {
    const waits = [];
    const fresh = [];
    for (const k of keys) {
      const p = this._inFlight.get(k);
      if (p) waits.push(p);
      else fresh.push(k);
    }
    if (fresh.length > 0) {
      const p = this._read(core, fresh).finally(() => {
        for (const k of fresh) this._inFlight.delete(k);
      });
      for (const k of fresh) this._inFlight.set(k, p);
      waits.push(p);
    }
    return Promise.all(waits);
  }

  async _read(core, keys) {
    let records;
    try {
      records = await this._records(keys);
    } catch (e) {
      if (!this._failed) {
        this._rep._log('error', `replicore: reading the stored state failed (${message(e)}); the confirmed state will be fetched from the server again`);
      }
      this._failed = true;
      records = keys.map(() => undefined);
    }
    if (this._rep._core !== core) return;
    const problems = fillInGroups(core, keys, records);
    if (problems !== '') {
      if (!this._failed) {
        for (const p of problems.split('\u0000')) this._rep._log('error', `replicore: persisted state: ${p}`);
      }
      // The core forgot its cookie: pull the whole state again (a pull
      // already out asked with the old cookie, and its answer is dropped).
      if (!this._rep._closed) wasm.corePull(core);
    }
    this._check(core);
  }

  _check(core) {
    if (!this.done && core && wasm.coreFullyLoaded(core)) {
      this.done = true;
      this._resolveLoaded();
    }
  }

  /** Stops: whoever waits for `loaded` goes on (the instance is closing). */
  stop() {
    this.done = true;
    this._resolveLoaded();
  }
}
