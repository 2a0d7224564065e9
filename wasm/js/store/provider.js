// Choosing the kvStore, and the registry of database names.
//
// resolveStoreProvider(kvStore, log) turns Replicache 15's `kvStore` option
// into a StoreProvider:
// - undefined or 'idb': IndexedDB where globalThis.indexedDB exists, else
//   memory, said once per process through log() (Node has no IndexedDB, so
//   this is expected there and only 'info'; 'error' when 'idb' was asked for).
// - 'mem': memory (shared by name within this realm).
// - {create, drop}: a custom provider, checked (TypeError otherwise) and
//   wrapped so that every call returns a promise: what the custom code throws
//   synchronously, or a promise it rejects, becomes a rejection with a clear
//   message (errors.js). A write whose put/del/get failed cannot commit: its
//   commit() rejects with that failure and does not reach the custom store,
//   so a caller that ignores one failed put still cannot land a partial write.
//
// The registry: Stores cannot list their keys, so the names of the databases
// opened through a provider are kept in one record (key "dbs": JSON text of
// {name: last open time in ms}) of a small store named REGISTRY made by the
// same provider, updated in serialized write transactions. dropAllDatabases
// drops every name there and removes the entries of those it dropped.
import {idbStoreProvider} from './idb-store.js';
import {memStoreProvider} from './mem-store.js';
import {storeError} from './errors.js';
import {removeJournals} from './journal.js';
import {removeOpenHints} from './open-hint.js';
import {makeLog, consoleLogSink} from '../logging.js';

export const REGISTRY = 'replicore-dbs-v1';
const KEY = 'dbs';
let warned = false;

export function resolveStoreProvider(kvStore, log = () => {}) {
  if (kvStore === undefined || kvStore === 'idb') {
    if (globalThis.indexedDB) return idbStoreProvider(globalThis.indexedDB);
    if (!warned) {
      warned = true;
      log(
        kvStore ? 'error' : 'info',
        'replicore: IndexedDB is not available here; data is kept in memory and lost when this process or page ends',
      );
    }
    return memStoreProvider();
  }
  if (kvStore === 'mem') return memStoreProvider();
  if (typeof kvStore?.create === 'function' && typeof kvStore.drop === 'function') return customProvider(kvStore);
  throw new TypeError(
    `replicore: kvStore must be 'idb', 'mem' or an object with create(name) and drop(name) functions, not ${
      typeof kvStore === 'string' ? JSON.stringify(kvStore) : typeof kvStore
    }`,
  );
}

// Calls f(), turning a throw or a rejection into a rejected promise with a
// clear message.
async function call(op, f) {
  try {
    return await f();
  } catch (e) {
    throw storeError(`custom store ${op}`, e);
  }
}

function check(obj, what, fns) {
  for (const f of fns)
    if (typeof obj?.[f] !== 'function') throw new TypeError(`replicore: custom kvStore: ${what} has no ${f}() function`);
  return obj;
}

function customProvider(p) {
  return {
    // A provider that says its stores end with the realm (mem-store.js, as
    // the warm-up passes it) gets no open hints.
    inMemory: p.inMemory === true,
    create(name) {
      // A store whose creation failed rejects each call instead of throwing
      // here, so every store failure reaches the caller the same way.
      let s, bad;
      try {
        s = check(p.create(name), 'create() result', ['read', 'write', 'close']);
      } catch (e) {
        bad = storeError('custom store create', e);
      }
      const guard = (op, f) => (bad ? Promise.reject(bad) : call(op, f));
      return {
        get closed() {
          return bad ? true : !!s.closed;
        },
        read: () => guard('read', async () => wrapTx(check(await s.read(), 'read() result', ['has', 'get', 'release']))),
        write: () =>
          guard('write', async () =>
            wrapTx(check(await s.write(), 'write() result', ['has', 'get', 'put', 'del', 'commit', 'release']), true),
          ),
        close: () => guard('close', () => s.close()),
      };
    },
    drop: (name) => call('drop', () => p.drop(name)),
  };
}

function wrapTx(t, write) {
  let failure = null;
  const op = (name, f) => async (...args) => {
    if (failure) throw failure;
    try {
      return await call(name, () => f(...args));
    } catch (e) {
      if (write) failure = e;
      throw e;
    }
  };
  const w = {
    get closed() {
      return !!t.closed;
    },
    has: op('has', (k) => t.has(k)),
    get: op('get', (k) => t.get(k)),
    release() {
      try {
        t.release();
      } catch {
        // nothing to report to: a release that throws has still ended our use
      }
    },
  };
  if (write) {
    w.put = op('put', (k, v) => t.put(k, v));
    w.del = op('del', (k) => t.del(k));
    w.commit = op('commit', () => t.commit());
  }
  return w;
}

// --------------------------------------------------------------- registry --

const parse = (text) => {
  try {
    const o = typeof text === 'string' ? JSON.parse(text) : null;
    return o && typeof o === 'object' && !Array.isArray(o) ? o : {};
  } catch {
    return {}; // a damaged registry only forgets names; it must not block opening
  }
};

// Runs f(names) in a write transaction of the registry and commits what it
// returns (or nothing when it returns undefined).
async function withRegistry(provider, f) {
  const s = provider.create(REGISTRY);
  try {
    const w = await s.write();
    try {
      const next = f(parse(await w.get(KEY)));
      if (next) {
        await w.put(KEY, JSON.stringify(next));
        await w.commit();
      }
    } finally {
      w.release();
    }
  } finally {
    await s.close();
  }
}

export async function registerDatabase(provider, name) {
  await withRegistry(provider, (dbs) => ({...dbs, [String(name)]: Date.now()}));
}

function providerOf(opts = {}) {
  const log = makeLog(opts.logLevel, opts.logSinks ?? [consoleLogSink], undefined);
  return resolveStoreProvider(opts.kvStore, log);
}

// What a page keeps of a store in localStorage goes with it.
function removeLocalRecords(name) {
  removeJournals(name);
  removeOpenHints(name);
}

export async function dropDatabase(name, opts) {
  const provider = providerOf(opts);
  await provider.drop(name);
  removeLocalRecords(name);
  await withRegistry(provider, (dbs) => {
    if (!Object.hasOwn(dbs, name)) return;
    delete dbs[name];
    return dbs;
  });
}

export async function dropAllDatabases(opts) {
  const provider = providerOf(opts);
  let names = [];
  await withRegistry(provider, (dbs) => void (names = Object.keys(dbs)));
  const dropped = [];
  const errors = [];
  for (const name of names) {
    try {
      await provider.drop(name);
      removeLocalRecords(name);
      dropped.push(name);
    } catch (e) {
      errors.push(e);
    }
  }
  if (dropped.length)
    await withRegistry(provider, (dbs) => {
      for (const name of dropped) delete dbs[name];
      return dbs;
    });
  return {dropped, errors};
}
