// Memory store provider: Replicache 15's kvStore interface kept in memory,
// for Node and for pages without IndexedDB. Nothing survives the JS realm.
//
// Guarantees:
// - Data is shared by name across every provider and store of this realm
//   (two create('x') see the same data, as two tabs would with IndexedDB);
//   drop(name) forgets it. A store keeps the data it was created with, so a
//   store still open across a drop goes on with the old data, unseen by
//   stores created after the drop.
// - Writes on one name run one at a time (an async mutex, in arrival order);
//   a write's get() sees the latest committed state plus its own puts/dels.
// - commit() applies the buffered puts/dels at once by swapping in a new Map,
//   so it is atomic; a write released without commit changes nothing.
// - A read sees the committed Map current when read() resolved, a snapshot
//   that later commits do not touch (they replace the Map, never mutate it).
// - Values are kept as given (not copied).

// The realm's databases: name -> {data: Map, tail: Promise of the last writer}.
const sharedDbs = new Map();
const DEL = Symbol('del');

const closedError = (what) => Promise.reject(new Error(`replicore: memory store: ${what}`));

/**
 * A provider over the realm's memory databases, or over `dbs` (a Map) for a
 * set of databases no other provider sees (the warm-up's, warm-up.js).
 */
export function memStoreProvider(dbs = sharedDbs) {
  return {
    // Not part of Replicache's store interface: records may be kept as
    // bytes (records.js, unpackPlan).
    recordsAsBytes: true,
    // Nor is this: what it keeps ends with the realm, so nothing about it
    // is worth leaving in localStorage for the next load (open-hint.js).
    inMemory: true,
    create(name) {
      name = String(name);
      let db = dbs.get(name);
      if (!db) dbs.set(name, (db = {data: new Map(), tail: Promise.resolve()}));
      return memStore(db);
    },
    drop: async (name) => void dbs.delete(String(name)),
  };
}

function memStore(db) {
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    read: async () => (closed ? closedError('the store is closed') : view(db.data, null)),
    async write() {
      if (closed) return closedError('the store is closed');
      const prev = db.tail;
      let unlock;
      db.tail = new Promise((resolve) => (unlock = resolve));
      await prev;
      const buf = new Map();
      const w = view(db.data, buf, unlock);
      return Object.assign(w, {
        put: async (key, value) => (w.closed ? closedError('write already ended') : void buf.set(key, value)),
        del: async (key) => (w.closed ? closedError('write already ended') : void buf.set(key, DEL)),
        async commit() {
          if (w.closed) return closedError('write already ended');
          const data = new Map(db.data);
          for (const [k, v] of buf) v === DEL ? data.delete(k) : data.set(k, v);
          db.data = data;
          w.release();
        },
      });
    },
    close: async () => void (closed = true),
  };
}

// A Read over `data`; with `buf`, also the pending puts/dels of a write.
function view(data, buf, unlock) {
  let closed = false;
  const value = (key) => (buf?.has(key) ? buf.get(key) : data.has(key) ? data.get(key) : DEL);
  return {
    get closed() {
      return closed;
    },
    has: async (key) => (closed ? closedError('transaction already ended') : value(key) !== DEL),
    async get(key) {
      if (closed) return closedError('transaction already ended');
      const v = value(key);
      return v === DEL ? undefined : v;
    },
    release() {
      if (closed) return;
      closed = true;
      unlock?.();
    },
  };
}
