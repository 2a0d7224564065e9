// IndexedDB store provider: Replicache 15's kvStore interface
// (create/drop -> Store -> read()/write() transactions) over IndexedDB.
// One database per store name, version 1, one object store "chunks" with
// out-of-line keys; values are stored as given.
//
// Guarantees:
// - write() opens a readwrite IDB transaction at once, so IndexedDB itself
//   serializes writes: a later write's get() runs after the earlier write
//   has committed or aborted. Gets and has() inside a write go to that
//   transaction; puts and dels are kept in a Map (which later gets of the same
//   write see) and are all issued in that same transaction by commit(). So a
//   write that ends any way but a successful commit() writes nothing, even if
//   the transaction expired early (see below), and commit() is all or nothing.
// - commit() resolves on the transaction's `complete` event and rejects on
//   `abort`; any failure of a write (a put the browser refuses, quota, a
//   transaction that expired) makes its commit() reject with an Error from
//   errors.js whose `name` is the DOMException's (e.g. QuotaExceededError).
//   release() without commit() aborts.
// - IndexedDB commits a transaction by itself as soon as it has no request
//   pending at the end of a task. Awaiting this store's own promises keeps it
//   alive (they settle in microtasks of the request's event); awaiting
//   anything else (a timer, fetch, another store) while a read or write is
//   open ends it, and its next call fails with a clear error saying so.
// - read() is a readonly transaction: a consistent committed snapshot.
// - The connection is opened on first use. On `versionchange` (another tab
//   upgrading or deleting the database) it is closed at once so that tab is
//   not blocked; on `close` (the browser dropped it, e.g. storage cleared) it
//   is forgotten. Either way the next call reopens it once; if the database
//   no longer exists the reopen fails with error name IDBNotFoundError rather
//   than recreating it empty, which would silently lose data.
// - open(): if the `blocked` event fires (a connection elsewhere holds an
//   older version open and does not close), the open rejects with a clear
//   error instead of waiting forever. drop(): deleteDatabase is queued by the
//   browser and cannot be taken back, so drop waits through `blocked` until it
//   completes.
import {storeError} from './errors.js';
import {IDBNotFoundError} from '../errors.js';
import {ENGINE} from '../engine.js';

const OS = 'chunks';
const DEL = Symbol('del');

// The size of the confirmed state's pages that this engine's IndexedDB
// reads back fastest (bench/js/profile-idb.js: 10 MiB, a get per record in
// one transaction, after a reopen). Each engine changes its storage at a
// record size, so the page size is the engine's, not one for all:
// - Firefox reads records under 64 KiB about 4x faster than larger ones
//   (bytes of 56 KiB: 53 ms, 64 KiB: 207 ms). Records are bytes (records.js),
//   so pages of 48 KiB stay under it with room for the entry that ends a
//   page; fewer pages than at 28 KiB (67 ms) also make the head, read before
//   the first answer, half as long.
// - Chromium reads records over 64 KiB about 8x faster (it stores them
//   outside its database: 56 KiB 110 ms, 64 KiB 12 ms): the core's default
//   pages (64 KiB, cut once reached) are just over it. Larger ones gain
//   little and then lose (bytes of 66 KiB 47 ms, 128 KiB 40, 256 KiB 68).
// - WebKit reads fewer, larger records faster (80 KiB: 142-217 ms, 256 KiB:
//   72 ms).
// Elsewhere (Node with an IndexedDB polyfill), the core's default.
// A store written with one page size reads back with any other.
function idbPageBytes() {
  if (ENGINE === 'gecko') return 48 * 1024;
  if (ENGINE === 'webkit') return 256 * 1024;
  return 0;
}

export function idbStoreProvider(factory = globalThis.indexedDB) {
  if (typeof factory?.open !== 'function') throw new TypeError('replicore: IndexedDB is not available');
  return {
    // Not part of Replicache's store interface: a hint for the core (0: its
    // default), and that records may be kept as bytes (records.js, unpackPlan).
    pageBytes: idbPageBytes(),
    recordsAsBytes: true,
    create: (name) => idbStore(factory, String(name)),
    drop: async (name) => {
      try {
        await request(factory.deleteDatabase(String(name)));
      } catch (e) {
        throw storeError(`IndexedDB drop of "${name}"`, e);
      }
    },
  };
}

// An IDBRequest as a promise (settled in a microtask of its event, so the
// transaction is still active when the awaiting code goes on).
function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(factory, name, reopen) {
  return new Promise((resolve, reject) => {
    let failed = null;
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      if (!reopen) return req.result.objectStoreNames.contains(OS) || req.result.createObjectStore(OS);
      failed = new IDBNotFoundError(`database "${name}" no longer exists (deleted by another connection or by the browser)`);
      req.transaction.abort();
    };
    req.onsuccess = () => (failed ? req.result.close() : resolve(req.result));
    req.onerror = (ev) => {
      ev.preventDefault?.();
      reject(failed ?? req.error);
    };
    req.onblocked = () => {
      failed = new Error(`opening "${name}" is blocked: another tab keeps an older version of it open (close or reload that tab)`);
      reject(failed);
    };
  }).catch((e) => {
    throw storeError(`IndexedDB open of "${name}"`, e);
  });
}

function idbStore(factory, name) {
  let conn = null; // {p: Promise<IDBDatabase>, db} of the current connection
  let opened = false; // a connection succeeded once: later opens are reopens
  let closed = false;

  const connect = () => {
    if (conn) return conn.p;
    const c = (conn = {});
    const forget = () => conn === c && (conn = null);
    c.p = openDb(factory, name, opened).then(
      (db) => {
        opened = true;
        c.db = db;
        db.onversionchange = () => {
          db.close();
          forget();
        };
        db.onclose = forget;
        return db;
      },
      (e) => {
        forget();
        throw e;
      },
    );
    return c.p;
  };

  const begin = async (mode, op) => {
    try {
      if (closed) throw new Error('the store is closed');
      let db = await connect();
      try {
        return db.transaction(OS, mode);
      } catch (e) {
        // Closed under us before its close event arrived: reopen once.
        if (e?.name !== 'InvalidStateError') throw e;
        if (conn?.db === db) conn = null;
        db = await connect();
        return db.transaction(OS, mode);
      }
    } catch (e) {
      throw storeError(`IndexedDB ${op} of "${name}"`, e);
    }
  };

  return {
    get closed() {
      return closed;
    },
    read: async () => txView(await begin('readonly', 'read'), null, 'IndexedDB read'),
    write: async () => txView(await begin('readwrite', 'write'), new Map(), 'IndexedDB write'),
    close: async () => {
      closed = true;
      const c = conn;
      conn = null;
      if (c) (await c.p.catch(() => null))?.close();
    },
  };
}

const unDel = (v) => (v === DEL ? undefined : v);

function txError(op, e) {
  if (e?.replicoreStore) return e;
  const err = storeError(op, e);
  if (err.name === 'TransactionInactiveError' || err.name === 'InvalidStateError')
    err.message += ' (the transaction had already ended: something other than this store was awaited while it was open)';
  return err;
}

// A Read (buf null) or Write (buf: pending puts, DEL for dels) over tx.
function txView(tx, buf, op) {
  let closed = false;
  let failure = null;
  let firstError = null;
  const done = new Promise((resolve, reject) => {
    tx.addEventListener('error', (ev) => (firstError ??= ev.target?.error));
    tx.addEventListener('complete', () => resolve());
    tx.addEventListener('abort', () =>
      reject(failure ?? storeError(op, firstError ?? tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))),
    );
  });
  done.catch(() => {}); // observed by commit(); a read or a released write may never look

  const abort = () => {
    try {
      tx.abort();
    } catch {
      // already finished: nothing of a write was issued, so nothing to undo
    }
  };
  // Runs one operation; a write that failed once can only be released.
  const run = async (f) => {
    try {
      if (failure) throw failure;
      if (closed) throw new Error('the transaction was already committed or released');
      return await f();
    } catch (e) {
      const err = txError(op, e);
      if (buf && !closed && !failure) {
        failure = err;
        abort();
      }
      throw err;
    }
  };
  const view = {
    get closed() {
      return closed;
    },
    has: (key) =>
      run(async () => (buf?.has(key) ? buf.get(key) !== DEL : (await request(tx.objectStore(OS).count(key))) > 0)),
    get: (key) => run(async () => (buf?.has(key) ? unDel(buf.get(key)) : request(tx.objectStore(OS).get(key)))),
    release() {
      if (closed) return;
      closed = true;
      if (buf) abort();
    },
  };
  if (!buf) return view;
  return Object.assign(view, {
    put: (key, value) => run(() => void buf.set(key, value)),
    del: (key) => run(() => void buf.set(key, DEL)),
    commit: () =>
      run(async () => {
        closed = true;
        try {
          if (buf.size) {
            const os = tx.objectStore(OS);
            for (const [k, v] of buf) v === DEL ? os.delete(k) : os.put(v, k);
          }
          tx.commit?.();
        } catch (e) {
          // Nothing to write and the transaction already ended: nothing lost.
          if (!buf.size && e?.name === 'InvalidStateError') return;
          abort(); // some puts may have been issued: none may land
          throw (failure = txError(op, e));
        }
        await done;
      }),
  });
}
