// replicore: a Replicache-15-compatible client whose sync core is C++
// compiled to WebAssembly (wasm/src/core_binding.h explains the boundary).
//
// This file is the public JavaScript API. It owns everything that has to be
// JavaScript: running the app's (async) mutators and queries, the promise
// queue that serializes writes, subscriptions and watches, and the cache of
// frozen values keyed by the core's value ids. Sync timing, HTTP, pokes and
// the rebase bookkeeping live in the core.
//
// Values handed out (tx.get, scans, subscription results, watch diffs) are
// deeply frozen plain JSON values, shared between reads: the same stored
// value is the same JS object until it changes. Do not (and you cannot)
// mutate them; copy first. Values given to tx.set are validated and copied
// (a frozen copy is what later reads return), so mutating your object after
// set() changes nothing stored.
import {wasm, loadWasm, configureWasm, moduleStopped, whenPreloading} from './loading.js';
import {deepFreeze, frozenJSON, heldValue, pullSkeleton, deepEqual} from './values.js';
import {unpackScan} from './scan-buffer.js';
import {stageText} from './core-text.js';
import {jsonText} from './json-pieces.js';
import {Mutex, ReadGate} from './locks.js';
import {MISSED, TransactionClosedError, closedError, ReadTransactionImpl, WriteTransactionImpl} from './transactions.js';
import {Persistence, makeIDBName, PERSIST_DELAY_MS} from './persist.js';
import {normalizeIndexes, coreIndexOptions, stageIndexKeys, scanIndex} from './indexes.js';
import {resolveStoreProvider, dropDatabase, dropAllDatabases} from './store/provider.js';
import {makeLog, consoleLogSink, LOG_LEVELS} from './logging.js';
import {noteInstance, warmUpAfter} from './warm-up.js';
export {consoleLogSink};
export {loadWasm, configureWasm, makeIDBName, dropDatabase, dropAllDatabases, PERSIST_DELAY_MS, TransactionClosedError, deepEqual};
// The rest of Replicache 15's exports, each from its module.
import {Transport} from './transport.js';
export {getDefaultPuller} from './transport.js';
export {PullError, PushError, IDBNotFoundError} from './errors.js';
export {filterAsyncIterable, mergeAsyncIterables} from './iterables.js';
export {makeScanResult, isScanIndexOptions} from './scan-result.js';
export {deleteAllReplicacheData, TEST_LICENSE_KEY} from './deprecated.js';

// ------------------------------------------------------- string transfer --

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ----------------------------------------------------------- random ids --

function randomBytes(n) {
  const b = new Uint8Array(n);
  if (globalThis.crypto && globalThis.crypto.getRandomValues) {
    globalThis.crypto.getRandomValues(b);
  } else {
    for (let i = 0; i < n; i++) b[i] = (Math.random() * 256) | 0;
  }
  return b;
}
function randomHex(nBytes) {
  return Array.from(randomBytes(nBytes), (x) => x.toString(16).padStart(2, '0')).join('');
}
function randomID(n) {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  return Array.from(randomBytes(n), (x) => alphabet[x & 31]).join('');
}

// ------------------------------------------------------------- Replicache --

function reloadPage() {
  if (typeof document !== 'undefined' && typeof location?.reload === 'function') location.reload();
}

// How long after opening the background page loader starts (page-loader.js).
const BACKGROUND_LOAD_DELAY_MS = 50;
const EMPTY_NOTE = '{"s":[],"e":[],"w":[],"v":[]}';

export class Replicache {
  constructor(options) {
    noteInstance();
    if (!options || typeof options !== 'object') throw new TypeError('Replicache: options are required');
    const {name} = options;
    if (typeof name !== 'string' || name === '') throw new TypeError('Replicache: options.name must be a non-empty string');
    const mutators = options.mutators || {};
    for (const [k, f] of Object.entries(mutators)) {
      if (typeof f !== 'function') throw new TypeError(`Replicache: mutator "${k}" is not a function`);
    }
    this._name = name;
    this._mutators = Object.assign(Object.create(null), mutators);
    // Secondary indexes, kept by the core (indexes.js).
    this._indexes = normalizeIndexes(options.indexes);
    this._schemaVersion = options.schemaVersion ?? '';
    this._pushURL = options.pushURL ?? '';
    this._pullURL = options.pullURL ?? '';
    this._pokeURL = options.pokeURL ?? '';
    this._auth = options.auth ?? '';
    this._pullInterval = options.pullInterval === undefined ? 60000 : options.pullInterval;
    this._pushDelay = options.pushDelay ?? 10;
    this._requestOptions = {
      minDelayMs: options.requestOptions?.minDelayMs ?? 30,
      maxDelayMs: options.requestOptions?.maxDelayMs ?? 60000,
    };
    // The largest push body (the server's body limit; node_server's default
    // BODY_LIMIT is 1 MiB): longer queues go in ordered batches, and a
    // mutation larger than this alone is refused by mutate().
    const maxPushBytes = options.maxPushBytes ?? 1024 * 1024;
    if (!Number.isSafeInteger(maxPushBytes) || maxPushBytes < 1024) {
      throw new TypeError('Replicache: maxPushBytes must be an integer of at least 1024');
    }
    this._maxPushBytes = maxPushBytes;
    // rep.puller and rep.pusher: the app's or the defaults (transport.js).
    this._transport = new Transport(this, options.puller, options.pusher);
    this._log = makeLog(options.logLevel, options.logSinks ?? [consoleLogSink], {name});
    // logLevel 'debug': the core traces every push, pull and poke.
    this._tracing = LOG_LEVELS[options.logLevel] === LOG_LEVELS.debug;
    // Internal (tests): how many cached values trigger the first sweep.
    this._cacheSweepAt = options.experimentalCacheSweepAt ?? 4096;
    const maxAge = options.clientMaxAgeMs ?? 14 * 24 * 3600 * 1000;
    if (typeof maxAge !== 'number' || !(maxAge > 0)) throw new TypeError('Replicache: clientMaxAgeMs must be a positive number');
    this._clientMaxAgeMs = maxAge;
    // Where the state is kept (persist.js): IndexedDB by default, an app's
    // own kvStore, or nowhere ('mem', or no IndexedDB: said once).
    const kvStore = options.kvStore;
    this._storeProvider = resolveStoreProvider(kvStore, (level, msg) => this._log(level, msg));
    this._persistent = typeof kvStore === 'object' || (kvStore !== 'mem' && !!globalThis.indexedDB);
    this._persist = null;
    // The store's opening overlaps the module's loading where that is
    // still under way (a page's first instance), and the rest of this
    // constructor: the first crypto.getRandomValues of a WebKit page takes
    // 1 to 8 ms (WebKitGTK 2.50), and the store's first read need not wait
    // for it. The profile id made below is stored only if the profile has
    // none yet, after the profile's store answered.
    if (this._persistent) {
      this._persistOpening = new Persistence(this, this._storeProvider, this.idbName, {clientMaxAgeMs: this._clientMaxAgeMs});
      this._persistOpening.prefetch(this._schemaVersion, () => this._profileID);
    }

    this.getAuth = options.getAuth ?? null;
    this.onSync = null;
    this.onOnlineChange = null;
    // Replicache's defaults: a page reloads (it gets the new code, or a new
    // client group); elsewhere (Node) it is logged, since syncing stops.
    this.onUpdateNeeded = (reason) => {
      this._log('error', 'replicore: an update is needed (the server does not support this client\'s version or schema)', reason);
      reloadPage();
    };
    this.onClientStateNotFound = () => {
      this._log('error', 'replicore: the server does not know this client group; syncing stopped');
      reloadPage();
    };
    this.onReplayError = null;
    // replicore only: the server lost mutations it had confirmed (a restored
    // database), and this client queued them again (see _driveRebase).
    this.onClientStateReset = null;

    this._clientID = randomID(20);
    // Chosen when the store is open: the group of this schema and these
    // mutator names in this profile's store, shared by its tabs (or a new
    // one), and the profile's id.
    this._profileID = 'p' + randomID(19);
    this._clientGroupID = randomID(20);
    this._opened = false;
    this._online = true;
    this._closed = false;
    this._closePromise = null;
    this._core = null;
    this._cache = new Map();
    this._writes = new Mutex();
    this._gate = new ReadGate();
    this._subs = new Map();
    this._watches = new Map();
    this._idleWaiters = [];
    this._syncing = false;
    this._pullWaiters = []; // {n, resolve}: pull() calls waiting for attempt n
    this._pullsSettled = 0;

    const self = this;
    const mutate = Object.create(null);
    for (const k of Object.keys(mutators)) mutate[k] = (args) => self._mutate(k, args);
    Object.freeze(mutate);
    this._mutate_ = new Proxy(mutate, {
      get(target, prop) {
        if (typeof prop === 'symbol' || prop === 'then' || prop in target) return target[prop];
        return () => Promise.reject(new Error(`Replicache: unknown mutator "${String(prop)}"`));
      },
    });

    this._ready = loadWasm().then(() => this._open());
    this._ready.catch((e) => {
      this._log('error', 'replicore: could not load the WebAssembly module', e);
      this._persistOpening?.close().catch(() => {});
      this._persistOpening = null;
    });
  }

  // Opens the store (if any), makes the core with the group's state, replays
  // the pending mutations and starts syncing. Queries wait for it, so the
  // first answer already shows the persisted state. A store that fails is
  // logged and the client runs in memory.
  async _open() {
    if (this._closed) {
      // Closed while the module loaded: let go of the store opened early.
      await this._persistOpening?.close().catch(() => {});
      this._persistOpening = null;
      return;
    }
    let persist = null;
    if (this._persistent) {
      persist = this._persistOpening;
      this._persistOpening = null;
      try {
        const names = Object.keys(this._mutators);
        const g = await persist.openGroup(this._schemaVersion, names, this._clientGroupID, () => this._profileID);
        this._clientGroupID = g.groupID;
        this._profileID = g.profileID;
      } catch (e) {
        this._log('error', `replicore: the store cannot be opened (${(e && e.message) || e}); this client keeps its data in memory only`);
        persist = null;
      }
    }
    if (this._closed) return;
    this._makeCore();
    if (persist) {
      let replay = false;
      try {
        const report = await persist.load(this._core);
        this._persist = persist;
        replay = report.pending > 0 || report.journaled > 0;
        this._log('debug', `replicore: opened group ${this._clientGroupID}: ${report.pending} pending mutations (pages of the confirmed state are read as needed)`);
      } catch (e) {
        this._log('error', `replicore: the stored state cannot be read (${(e && e.message) || e}); this client keeps its data in memory only`);
      }
      // Pending mutations (this group's, from the store, and those of
      // unload journals) show once replayed. With none, the loaded
      // confirmed state is the state: no replay, whose first run (code
      // that has not run yet in this page) took 2 to 8 ms in WebKit before
      // the first answer.
      if (this._persist) {
        if (replay) await this._replay();
      } else {
        persist.disable();
        await persist.close().catch(() => {});
      }
    }
    this._opened = true;
    if (this._closed || !this._core) return;
    // Syncing starts a task later: the queries that waited for opening run
    // first, so that the pages they need are asked of the store before
    // the first pull's work (the puller's call, its answer) runs. A pull or
    // push the app asks for meanwhile starts it at once (_startSync).
    setTimeout(() => this._startSync(), 0);
    if (this._persist) {
      // The pages no read asked for, in the background: after the first
      // answers, whose own pages are read first (an app's first queries
      // come at once; a batch read meanwhile would hold them up).
      // And the registry writes opening left for after them.
      const core = this._core;
      setTimeout(() => {
        if (this._persist && this._core === core) {
          this._persist.afterFirstAnswers();
          this._persist.loadRest(core).catch((e) => this._log('error', 'replicore: reading the stored state failed', e));
        }
      }, BACKGROUND_LOAD_DELAY_MS);
    }
  }

  _makeCore() {
    const host = {
      // The JSON text of a value set() gave the core (see heldValue);
      // asked for only when a C++ reader needs it.
      valueText: (id) => {
        const cache = this._cache;
        if (!cache.has(id)) throw new Error(`replicore: value ${id} is not held (internal error)`);
        return JSON.stringify(cache.get(id));
      },
      // Whether pairs of values JS holds for the core are equal JSON (a
      // commit that writes an equal value changes nothing and notifies no
      // one): n pairs of float64 ids at `pairs`, a byte per answer at `out`.
      valuesEqual: (pairs, n, out) => {
        const ids = new Float64Array(wasm.HEAPU8.buffer, pairs, 2 * n);
        const answers = wasm.HEAPU8;
        const cache = this._cache;
        for (let i = 0; i < n; i++) answers[out + i] = deepEqual(cache.get(ids[2 * i]), cache.get(ids[2 * i + 1])) ? 1 : 0;
      },
      applyPull: (token) => {
        this._applyPull(token);
      },
      onOnlineChange: (online) => {
        this._online = online;
        this._defer(() => this.onOnlineChange?.(online));
      },
      onSync: (syncing) => {
        // The core reports real changes only (no false/true flicker when a
        // coalesced pull follows another).
        this._syncing = syncing;
        this._defer(() => this.onSync?.(syncing));
        if (!syncing) this._wakeIdle();
      },
      onPullFinished: (n, error) => {
        this._transport.pullFinished(error); // before the waiters (see poke)
        this._pullsSettled = n;
        const w = this._pullWaiters;
        if (w.length === 0) return;
        this._pullWaiters = [];
        for (const x of w) {
          if (x.n <= n) x.resolve();
          else this._pullWaiters.push(x);
        }
      },
      onClientStateNotFound: () => {
        this._wakeIdle();
        this._persist?.dropGroup().catch((e) => this._log('error', 'replicore: removing the unknown client group failed', e));
        this._defer(() => this.onClientStateNotFound?.());
      },
      onUpdateNeeded: (versionType) => {
        const reason = versionType ? {type: 'VersionNotSupported', versionType} : {type: 'VersionNotSupported'};
        this._defer(() => this.onUpdateNeeded?.(reason));
      },
      getAuth: (token) => {
        this._defer(async () => {
          let v = null;
          try {
            v = typeof this.getAuth === 'function' ? await this.getAuth() : null;
          } catch (e) {
            this._log('error', 'replicore: getAuth threw', e);
          }
          if (!this._core) return;
          if (typeof v === 'string') wasm.coreAuthAnswer(this._core, token, true, v);
          else wasm.coreAuthAnswer(this._core, token, false, '');
        });
      },
      // Once per change of state: while offline every retry fails the same
      // way, and only the first says something new (the rest are debug).
      onError: (which, message, repeated) => {
        this._log(repeated ? 'debug' : 'error', `replicore: ${which} failed: ${message}`);
      },
      onTrace: (line) => {
        this._log('debug', `replicore: ${line}`);
      },
      onPokeOpen: () => {
        this._log('debug', 'replicore: poke socket open');
      },
      send: (token, isPull, body, requestID) => {
        this._defer(() => this._sendCustom(token, isPull, body, requestID));
      },
    };
    const opts = {
      clientID: this._clientID,
      clientGroupID: this._clientGroupID,
      profileID: this._profileID,
      schemaVersion: this._schemaVersion,
      pushURL: this._pushURL,
      pullURL: this._pullURL,
      usePuller: this._transport.pullViaJS,
      usePusher: this._transport.pushViaJS,
      pokeURL: this._pokeURL,
      auth: this._auth,
      sessionHex: randomHex(8),
      pushDelay: this._pushDelay,
      pullInterval: this._pullInterval,
      minDelayMs: this._requestOptions.minDelayMs,
      maxDelayMs: this._requestOptions.maxDelayMs,
      maxPushBytes: this._maxPushBytes,
      trace: this._tracing,
      hasGetAuth: true,
      cacheSweepAt: this._cacheSweepAt,
      indexes: coreIndexOptions(this._indexes),
    };
    this._core = wasm.coreCreate(JSON.stringify(opts), host);
  }

  // User callbacks never run inside a call into the core.
  _defer(fn) {
    queueMicrotask(() => {
      try {
        const r = fn();
        if (r && typeof r.catch === 'function') r.catch((e) => this._log('error', 'replicore: callback threw', e));
      } catch (e) {
        this._log('error', 'replicore: callback threw', e);
      }
    });
  }

  _wakeIdle() {
    const w = this._idleWaiters;
    this._idleWaiters = [];
    for (const f of w) f();
    const p = this._pullWaiters;
    if (this._closed && p.length) {
      this._pullWaiters = [];
      for (const x of p) x.resolve();
    }
  }

  _checkOpen() {
    if (moduleStopped) throw moduleStopped;
    if (this._closed) throw closedError();
  }

  // ----------------------------------------------------------- accessors --
  get name() {
    return this._name;
  }
  get idbName() {
    return makeIDBName(this._name, this._schemaVersion);
  }
  get schemaVersion() {
    return this._schemaVersion;
  }
  get clientID() {
    return this._clientID;
  }
  get clientGroupID() {
    return this._ready.then(() => this._clientGroupID, () => this._clientGroupID);
  }
  get profileID() {
    return this._ready.then(() => this._profileID, () => this._profileID);
  }
  get online() {
    return this._online;
  }
  get closed() {
    return this._closed;
  }
  get mutate() {
    return this._mutate_;
  }
  get auth() {
    return this._core ? wasm.coreAuth(this._core) : this._auth;
  }
  set auth(value) {
    this._auth = String(value);
    if (this._core) wasm.coreSetAuth(this._core, this._auth);
  }
  get pullURL() {
    return this._pullURL;
  }
  set pullURL(value) {
    this._pullURL = String(value ?? '');
    if (this._core && !this._transport.pullViaJS) wasm.coreSetPullURL(this._core, this._pullURL);
  }
  get pushURL() {
    return this._pushURL;
  }
  set pushURL(value) {
    this._pushURL = String(value ?? '');
    if (this._core && !this._transport.pushViaJS) wasm.coreSetPushURL(this._core, this._pushURL);
  }
  get pullInterval() {
    return this._pullInterval;
  }
  set pullInterval(value) {
    if (value !== null && !(typeof value === 'number' && value > 0)) throw new TypeError('pullInterval must be a positive number or null');
    this._pullInterval = value;
    if (this._core) wasm.coreSetPullInterval(this._core, value === null ? -1 : value);
  }
  get pushDelay() {
    return this._pushDelay;
  }
  set pushDelay(value) {
    if (!(typeof value === 'number' && value >= 0)) throw new TypeError('pushDelay must be a number >= 0');
    this._pushDelay = value;
    if (this._core) wasm.coreSetPushDelay(this._core, value);
  }
  get requestOptions() {
    return {...this._requestOptions};
  }
  // The default (HTTP) puller and pusher unless the app gave its own; a new
  // one is used from the next request (transport.js).
  get puller() {
    return this._transport.puller;
  }
  set puller(fn) {
    this._transport.puller = fn;
  }
  get pusher() {
    return this._transport.pusher;
  }
  set pusher(fn) {
    this._transport.pusher = fn;
  }

  // ------------------------------------------------------------ mutations --
  async _mutate(name, args) {
    this._checkOpen();
    const mutator = this._mutators[name];
    const frozenArgs = args === undefined ? undefined : frozenJSON(args, `mutate.${name} args`);
    const argsText = args === undefined ? 'null' : jsonText(frozenArgs);
    const timestamp = performance.now();
    if (!this._opened) await this._ready;
    const w = this._writes.lock();
    if (w) await w;
    let result;
    let fired = null;
    try {
      if (this._closed || !this._core) throw closedError();
      const core = this._core;
      let id;
      if (typeof argsText === 'string' && argsText.length < 256) {
        id = wasm.coreBeginMutation(core, name, argsText, timestamp);
      } else {
        // Large args straight into the core's string (embind converts a
        // std::string in a JS loop).
        id = wasm.coreBeginMutationBody(core, name, stageText(core, argsText), timestamp);
      }
      if (!id) throw new Error(`mutate.${name}: ${wasm.coreLastError(core)}`);
      const tx = new WriteTransactionImpl(this, this._clientID, id, 'initial');
      try {
        result = await mutator(tx, frozenArgs);
      } catch (e) {
        tx._close();
        wasm.coreAbortMutation(core);
        throw e;
      }
      try {
        const f = tx._flush();
        if (f) await f;
      } catch (e) {
        tx._close();
        wasm.coreAbortMutation(core);
        throw e;
      }
      tx._close();
      const g = this._gate.commit();
      if (g) await g;
      let note;
      try {
        note = wasm.coreCommitMutation(core);
        if (note !== '') fired = this._applyNote(note);
      } finally {
        this._gate.endCommit();
      }
      if (note === '') throw new Error(`mutate.${name}: ${wasm.coreLastError(core)}`);
      this._persist?.schedule();
    } finally {
      this._writes.unlock();
    }
    // As in Replicache, the subscriptions this mutation changed have run
    // (and their onData seen the new value) when mutate resolves, so code
    // that awaits a mutation and then reads what it subscribed to is
    // never stale. Awaited outside the write lock: a subscription may
    // mutate.
    if (fired) await fired;
    return result;
  }

  // A pull response is waiting in the core under `token`: replay the
  // pending mutations on top of it, as a write in the queue.
  async _applyPull(token) {
    // A patch applies to the whole confirmed state: after a lazy open, wait
    // until every page is in (page-loader.js).
    const pages = this._persist?.pages;
    if (pages && !pages.done) await pages.loaded;
    const w = this._writes.lock();
    if (w) await w;
    const core = this._core;
    try {
      if (this._closed || !core) {
        if (core) wasm.coreDropPull(core, token);
        return;
      }
      const begin = JSON.parse(wasm.coreRebaseBegin(core, token));
      if (!begin.started) {
        if (begin.kind === 'rejected') this._log('error', `replicore: pull rejected: ${begin.error}`);
        return;
      }
      await this._driveRebase(core);
    } finally {
      this._writes.unlock();
    }
  }

  // Replays the pending mutations, and those of other tabs the store gave
  // (persist.js), on the unchanged confirmed state: after opening, and when
  // another tab wrote. A write in the queue like any other.
  async _replay() {
    if (this._closed) return;
    const w = this._writes.lock();
    if (w) await w;
    const core = this._core;
    try {
      if (this._closed || !core) return;
      if (!JSON.parse(wasm.coreReplayBegin(core)).started) return;
      await this._driveRebase(core);
    } finally {
      this._writes.unlock();
    }
  }

  // Another tab's mutations were merged: show them, and push them (the
  // group pushes all its clients' mutations, as Replicache does; the server
  // applies each once).
  async _replayForeign() {
    await this._replay();
    if (this._core && !this._closed) wasm.corePush(this._core);
  }

  // Runs the open rebase (or replay) to its end and installs it.
  async _driveRebase(core) {
    try {
      let text;
      let replayed = 0;
      while ((text = wasm.coreRebaseNext(core)) !== '') {
        replayed++;
        const m = JSON.parse(text);
        const mutator = this._mutators[m.name];
        if (!mutator) {
          wasm.coreRebaseSucceeded(core);
          continue;
        }
        const tx = new WriteTransactionImpl(this, m.clientID, m.id, 'rebase');
        try {
          await mutator(tx, deepFreeze(m.args));
          const f = tx._flush();
          if (f) await f;
          tx._close();
          wasm.coreRebaseSucceeded(core);
        } catch (e) {
          tx._close();
          wasm.coreRebaseFailed(core, String((e && e.message) || e));
        }
        if (this._closed) {
          wasm.coreRebaseAbort(core, 'closed');
          return;
        }
      }
      const g = this._gate.commit();
      if (g) await g;
      let fin;
      try {
        fin = JSON.parse(wasm.coreRebaseFinish(core));
        this._applyNoteObject(fin.note);
      } finally {
        this._gate.endCommit();
      }
      this._persist?.schedule();
      if (this._tracing) {
        this._log('debug', `replicore: rebase: ${fin.kind}, ${fin.confirmed} mutation(s) confirmed, ${replayed} replayed, ${fin.replayErrors.length} failed`);
      }
      for (const e of fin.replayErrors) {
        this._log('error', `replicore: mutator ${e.name} (mutation ${e.clientID}:${e.id}) threw during rebase; it stays pending: ${e.message}`);
        const cb = this.onReplayError;
        if (cb) this._defer(() => cb(e));
      }
      if (fin.reset) {
        const r = fin.reset;
        // Said even without a callback: the server went back in time, and
        // what it lost of other clients' writes is gone from this view too.
        this._log('error', `replicore: the server lost state it had confirmed (restored or failed over): ` +
          `lastMutationID ${r.knownLastMutationID} -> ${r.serverLastMutationID}, ${r.requeued} mutation(s) queued again` +
          (r.lost ? `, ${r.lost} lost for good` : '') + (r.renumbered ? ', renumbered' : '') +
          (r.cookieWentBack ? ', cookie went back' : ''));
        // What was queued again goes out now, not with the next mutation.
        if (r.requeued || r.renumbered) wasm.corePush(core);
        const cb = this.onClientStateReset;
        if (cb) this._defer(() => cb(Object.freeze({...r})));
      }
    } catch (e) {
      this._log('error', 'replicore: applying a pull failed', e);
      try {
        wasm.coreRebaseAbort(core, String(e));
      } catch {
        // already gone
      }
    }
  }

  // Applies a note of the core (values, watch diffs, subscriptions to run).
  // Returns a promise of the runs of the subscriptions it scheduled, or
  // null when it scheduled none.
  _applyNote(text) {
    if (text === EMPTY_NOTE) return null;
    return this._applyNoteObject(JSON.parse(text));
  }

  _applyNoteObject(n) {
    const cache = this._cache;
    const v = n.v;
    for (let i = 0; i < v.length; i += 2) cache.set(v[i], deepFreeze(v[i + 1]));
    for (const [wid, ops] of n.w) {
      const w = this._watches.get(wid);
      if (!w) continue;
      const diff = [];
      for (const [op, key, oldID, newID] of ops) {
        if (op === 0) diff.push(Object.freeze({op: 'add', key, newValue: cache.get(newID)}));
        else if (op === 1) diff.push(Object.freeze({op: 'del', key, oldValue: cache.get(oldID)}));
        else {
          const oldValue = cache.get(oldID), newValue = cache.get(newID);
          // The core compares values it holds as text; values written by
          // mutators it tells apart by identity only (a replayed mutation
          // writes equal values anew), so equal ones are dropped here.
          if (!deepEqual(oldValue, newValue)) diff.push(Object.freeze({op: 'change', key, oldValue, newValue}));
        }
      }
      if (diff.length > 0) this._deliverWatch(w, Object.freeze(diff));
    }
    for (const id of n.e) cache.delete(id);
    let runs = null;
    for (const sid of n.s) {
      const sub = this._subs.get(sid);
      if (sub) (runs ??= []).push(this._scheduleSub(sub));
    }
    return runs && Promise.all(runs);
  }

  // ---------------------------------------------------------------- reads --
  // After a lazy open, a read or write may need pages of the store not
  // read yet: the core says so (MISSED), the pages are read, and the call
  // is made again. Returns the promise of that.
  _afterMiss(bytes, tries, again) {
    const pages = this._persist?.pages;
    if (!pages || tries > 64) return Promise.reject(new Error('replicore: the stored state could not be read'));
    return pages.loadMissed(this._core, bytes).then(() => {
      this._checkOpen();
      return again();
    });
  }

  _get(txID, key, tries = 0) {
    const core = this._core;
    const id = wasm.coreGet(core, txID, key);
    if (id > 0) {
      if (id === MISSED) return this._afterMiss(0, tries, () => this._get(txID, key, tries + 1));
      return this._cache.get(id);
    }
    if (id === 0) return undefined;
    const v = deepFreeze(JSON.parse(decoder.decode(wasm.coreTakeValueText(core))));
    this._cache.set(-id, v);
    return v;
  }

  // The scan's answer, or (after a lazy open, when it needs pages not read
  // yet) the promise of it. A scan that goes on past a missed page would
  // miss the next one: each retry reads eight times as far ahead.
  _scan(txID, o, keysOnly = false, tries = 0) {
    if (o.indexName !== undefined) return scanIndex(this, txID, o, keysOnly, tries);
    const core = this._core;
    const how = (o.start !== undefined ? 1 : 0) | (o.exclusive ? 2 : 0) | (keysOnly ? 4 : 0);
    const view = wasm.coreScan(core, txID, o.prefix, o.start ?? '', how, o.limit);
    if (view.length === 0) throw new Error(`scan: ${wasm.coreLastError(core) || 'failed'}`);
    const answer = unpackScan(view, this._cache, keysOnly, 1, () => wasm.coreScanRest(core));
    if (answer === null) {
      const ahead = o.limit >= 0 && o.limit < 64 ? 0 : 1024 * 1024 * 8 ** Math.min(tries, 6);
      return this._afterMiss(ahead, tries, () => this._scan(txID, o, keysOnly, tries + 1));
    }
    return answer;
  }

  // One crossing for a batch of writes: the keys are encoded back to back
  // into wasm memory, their byte lengths beside; the core answers with the
  // ids of the host-held values it made for them, in order.
  _setMany(keys) {
    const n = keys.length;
    let chars = 0;
    for (const k of keys) chars += k.length;
    // One block: ids (float64, 8-aligned at the start), lengths, key bytes.
    const head = n * 12;
    let block = wasm._malloc(head + chars + 1);
    let ids;
    try {
      if (!block) throw new Error('replicore: out of WebAssembly memory');
      let data = block + head;
      // Usually all ASCII: then one encodeInto of the joined keys does it
      // and byte lengths are string lengths.
      const joined = n === 1 ? keys[0] : keys.join('');
      const r = encoder.encodeInto(joined, wasm.HEAPU8.subarray(data, data + chars));
      const ascii = r.read === joined.length && r.written === joined.length;
      if (!ascii) {
        wasm._free(block);
        block = wasm._malloc(head + chars * 3 + 1);
        if (!block) throw new Error('replicore: out of WebAssembly memory');
        data = block + head;
      }
      const heap = wasm.HEAPU8; // after malloc: memory may have grown
      const heap32 = wasm.HEAPU32;
      const end = data + chars * 3;
      const lens = block + n * 8;
      let off = data;
      for (let i = 0; i < n; i++) {
        const written = ascii ? keys[i].length : encoder.encodeInto(keys[i], heap.subarray(off, end)).written;
        heap32[(lens >> 2) + i] = written;
        off += written;
      }
      const sent = wasm.coreSetMany(this._core, data, lens, n, block);
      if (sent === -2) return MISSED; // pages to read first (see _get)
      if (sent !== n) throw new Error(`set: ${wasm.coreLastError(this._core)}`);
      ids = new Float64Array(wasm.HEAPU8.buffer, block, n).slice();
    } finally {
      if (block) wasm._free(block);
    }
    return ids;
  }

  // Runs `body` in a read transaction recording into subscription `subID`
  // (0: none). The lock keeps commits out while it runs.
  async _read(body, subID) {
    if (!this._opened) await this._ready;
    this._checkOpen();
    const r = this._gate.read();
    if (r) await r;
    let txID = 0;
    try {
      if (this._closed || !this._core) throw closedError();
      txID = wasm.coreOpenRead(this._core, subID);
      if (!txID) throw new Error(`read: ${wasm.coreLastError(this._core)}`);
      const tx = new ReadTransactionImpl(this, txID, this._clientID);
      try {
        return await body(tx);
      } finally {
        tx._close();
      }
    } finally {
      if (txID && this._core) wasm.coreCloseRead(this._core, txID);
      this._gate.releaseRead();
    }
  }

  query(body) {
    try {
      this._checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return this._read(body, 0);
  }

  subscribe(body, options) {
    this._checkOpen();
    if (typeof body !== 'function') throw new TypeError('subscribe: body must be a function');
    if (typeof options === 'function') options = {onData: options};
    if (!options || typeof options.onData !== 'function') throw new TypeError('subscribe: onData must be a function');
    const sub = {
      body,
      onData: options.onData,
      onError: options.onError,
      onDone: options.onDone,
      isEqual: options.isEqual || deepEqual,
      id: 0,
      active: true,
      running: false,
      dirty: false,
      hasLast: false,
      last: undefined,
    };
    this._ready.then(
      () => {
        if (!sub.active || this._closed || !this._core) return;
        sub.id = wasm.coreAddSubscription(this._core);
        this._subs.set(sub.id, sub);
        this._scheduleSub(sub);
      },
      (e) => sub.onError?.(e),
    );
    return () => this._endSub(sub);
  }

  _endSub(sub) {
    if (!sub.active) return;
    sub.active = false;
    if (sub.id) {
      this._subs.delete(sub.id);
      if (this._core) wasm.coreRemoveSubscription(this._core, sub.id);
    }
    if (sub.onDone) this._defer(() => sub.onDone());
  }

  // Runs `sub` (again). Returns a promise that resolves when the run that
  // sees the current state has finished (a running subscription runs once
  // more; the promise is that of its current run loop). Never rejects.
  _scheduleSub(sub) {
    if (sub.running) {
      sub.dirty = true;
      return sub.runDone;
    }
    sub.running = true;
    sub.dirty = false;
    sub.runDone = new Promise((resolve) => {
      queueMicrotask(() => this._runSub(sub).then(resolve, resolve));
    });
    return sub.runDone;
  }

  async _runSub(sub) {
    try {
      do {
        sub.dirty = false;
        if (!sub.active || this._closed) return;
        let result;
        let error;
        let ok = true;
        try {
          result = await this._read(sub.body, sub.id);
        } catch (e) {
          ok = false;
          error = e;
        }
        if (!sub.active || this._closed) return;
        if (!ok) {
          if (sub.onError) {
            try {
              sub.onError(error);
            } catch (e) {
              this._log('error', 'replicore: onError threw', e);
            }
          } else {
            this._log('error', 'replicore: subscription query threw', error);
          }
          continue;
        }
        let changed = !sub.hasLast;
        if (!changed) {
          try {
            changed = !sub.isEqual(sub.last, result);
          } catch (e) {
            this._log('error', 'replicore: isEqual threw', e);
            changed = true;
          }
        }
        if (changed) {
          sub.hasLast = true;
          sub.last = result;
          try {
            sub.onData(result);
          } catch (e) {
            this._log('error', 'replicore: onData threw', e);
          }
        }
      } while (sub.dirty && sub.active);
    } finally {
      sub.running = false;
    }
  }

  experimentalWatch(callback, options = {}) {
    this._checkOpen();
    if (typeof callback !== 'function') throw new TypeError('experimentalWatch: callback must be a function');
    const {indexName} = options;
    if (indexName !== undefined && typeof indexName !== 'string') throw new TypeError('experimentalWatch: indexName must be a string');
    const prefix = options.prefix ?? '';
    if (typeof prefix !== 'string') throw new TypeError('experimentalWatch: prefix must be a string');
    const w = {callback, prefix, active: true, id: 0};
    // An index watch's diffs have keys [secondary, primary]; its prefix is
    // on the secondary key. An unknown index never changes: logged once.
    const addWatch = () => {
      if (indexName === undefined) return wasm.coreAddWatch(this._core, prefix);
      const id = wasm.coreAddIndexWatch(this._core, indexName, prefix);
      if (!id) this._log('error', `replicore: experimentalWatch: Unknown index name: ${indexName}`);
      return id;
    };
    this._ready.then(async () => {
      if (!w.active || this._closed || !this._core) return;
      if (options.initialValuesInFirstDiff) {
        // Register inside a read so no commit falls between the initial
        // values and the first change diff.
        let initial;
        try {
          initial = await this._read(async (tx) => {
            const scan = indexName === undefined
              ? {prefix, start: undefined, exclusive: false, limit: -1}
              : {indexName, prefix, start: undefined, primary: undefined, exclusive: false, limit: -1};
            const {keys, values} = await tx._scan(scan);
            if (w.active) {
              w.id = addWatch();
              if (w.id) this._watches.set(w.id, w);
            }
            return keys.map((key, i) => Object.freeze({op: 'add', key, newValue: values[i]}));
          }, 0);
        } catch (e) {
          this._log('error', 'replicore: watch failed', e);
          return;
        }
        if (w.active) this._deliverWatch(w, Object.freeze(initial));
      } else {
        w.id = addWatch();
        if (w.id) this._watches.set(w.id, w);
      }
    }, () => {}); // a load failure is logged by the constructor
    return () => {
      if (!w.active) return;
      w.active = false;
      if (w.id) {
        this._watches.delete(w.id);
        if (this._core) wasm.coreRemoveWatch(this._core, w.id);
      }
    };
  }

  _deliverWatch(w, diff) {
    queueMicrotask(() => {
      if (!w.active) return;
      try {
        w.callback(diff);
      } catch (e) {
        this._log('error', 'replicore: watch callback threw', e);
      }
    });
  }

  async experimentalPendingMutations() {
    if (!this._opened) await this._ready;
    this._checkOpen();
    return deepFreeze(JSON.parse(wasm.corePendingMutations(this._core)));
  }

  // ----------------------------------------------------------------- sync --
  // Starts syncing (the start-up pull, the push of loaded mutations, the
  // poke socket) after opening; the core starts once, whoever calls first.
  // A pull asked for before it would otherwise run first and the start-up
  // pull after it: its promise would resolve while a pull was still to come
  // (onSync would report it later).
  _startSync() {
    if (!this._closed && this._core) wasm.coreStart(this._core);
  }

  async _sync(isPull) {
    if (!this._opened) await this._ready;
    this._checkOpen();
    this._startSync();
    const core = this._core;
    const waiter = new Promise((resolve) => this._idleWaiters.push(resolve));
    if (isPull) wasm.corePull(core);
    else wasm.corePush(core);
    if (!this._syncing) this._wakeIdle();
    await waiter;
  }

  /**
   * Pulls now (or once more after the pull in flight); resolves when that
   * pull has finished, its data applied (or it failed).
   */
  async pull(_options) {
    if (!this._opened) await this._ready;
    this._checkOpen();
    this._startSync();
    const n = wasm.corePull(this._core);
    if (n === 0 || n <= this._pullsSettled) return;
    await new Promise((resolve) => this._pullWaiters.push({n, resolve}));
  }

  /** Pushes now; resolves when no push or pull is in flight any more. */
  push(_options) {
    return this._sync(false);
  }

  /**
   * Replicache's (deprecated, experimental) poke({baseCookie, pullResponse}):
   * applies the response as a pull's if the cookie is baseCookie, else
   * rejects (transport.js).
   */
  poke(poke) {
    return this._transport.poke(poke);
  }

  async _sendCustom(token, isPull, body, requestID) {
    let status = 0;
    let text = '';
    let error = '';
    let values = null; // a puller's put values (see pullSkeleton)
    try {
      const request = JSON.parse(body);
      const res = await this._transport.forRequest(isPull, request)(request, requestID);
      const info = res && res.httpRequestInfo;
      status = info && typeof info.httpStatusCode === 'number' ? info.httpStatusCode : 0;
      error = (info && info.errorMessage) || '';
      if (status === 200 && res.response !== undefined) {
        let skeleton = null;
        try {
          skeleton = isPull ? pullSkeleton(res.response) : null;
        } catch (e) {
          status = 0;
          error = (e && e.message) || String(e);
        }
        if (skeleton) {
          text = skeleton.text;
          values = skeleton.values;
        } else if (status === 200) text = jsonText(res.response);
      }
      if (status === 0 && !error) error = `${isPull ? 'puller' : 'pusher'} gave no HTTP status`;
    } catch (e) {
      status = 0;
      error = `${isPull ? 'puller' : 'pusher'} threw: ${(e && e.message) || e}`;
    }
    if (!this._core || this._closed) return;
    const core = this._core;
    let written = 0;
    try {
      written = stageText(core, text);
    } catch (e) {
      status = 0;
      written = 0;
      error = `${isPull ? 'puller' : 'pusher'} response: ${(e && e.message) || e}`;
    }
    if (values !== null && values.length > 0 && status === 200) {
      // Ids for the put values, cached before the core applies the pull.
      const n = values.length;
      const ids = wasm._malloc(n * 8);
      if (ids && this._indexes.length > 0) stageIndexKeys(this, null, values);
      if (!ids || wasm.coreHoldPullValues(core, n, ids) !== n) {
        if (ids) wasm._free(ids);
        status = 0;
        written = 0;
        error = 'puller response: out of WebAssembly memory';
      } else {
        const cache = this._cache;
        const view = new Float64Array(wasm.HEAPU8.buffer, ids, n);
        for (let i = 0; i < n; i++) cache.set(view[i], values[i]);
        wasm._free(ids);
      }
    }
    values = null;
    // The core applies a pull within this call: drop the (large) text first.
    text = '';
    wasm.coreTransportDoneBody(core, token, status, written, error);
  }

  /**
   * Resolves once everything committed so far (mutations, pulled state) is
   * in the store, durable across a reload, a crash or a browser restart.
   * Rejects if the store write fails (the data stays in memory and the
   * write is retried). Without a store ('mem') it resolves at once.
   */
  async flush() {
    if (!this._opened) await this._ready;
    this._checkOpen();
    await this._persist?.flush();
  }

  close() {
    if (this._closePromise) return this._closePromise;
    this._closed = true;
    this._closePromise = (async () => {
      await this._ready.catch(() => {});
      const core = this._core;
      if (!core) return;
      wasm.coreClose(core); // stops sync, timers and the poke socket at once
      this._wakeIdle();
      for (const sub of [...this._subs.values()]) this._endSub(sub);
      this._watches.clear();
      // Let reads and writes already running finish, then free the core.
      const w = this._writes.lock();
      if (w) await w;
      // The last group commit, so that a clean close loses nothing.
      await this._persist?.close();
      this._persist = null;
      const g = this._gate.commit();
      if (g) await g;
      this._core = null;
      wasm.coreDelete(core);
      this._cache.clear();
      this._gate.endCommit(); // reads still waiting find the client closed
      this._writes.unlock();
    })();
    return this._closePromise;
  }
}

// In a page, the module's code is compiled before the first instance needs
// it (warm-up.js).
whenPreloading((loading) => warmUpAfter(loading, Replicache));

export const version = '0.1.0';
