// The kvStore layer (js/store/): IndexedDB (fake-indexeddb, a fresh
// IDBFactory per test) and memory providers, provider resolution, custom
// providers, and the database registry behind dropAllDatabases.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {IDBFactory, IDBObjectStore, forceCloseDatabase} from 'fake-indexeddb';
import {idbStoreProvider} from '../js/store/idb-store.js';
import {memStoreProvider} from '../js/store/mem-store.js';
import {resolveStoreProvider, registerDatabase, dropDatabase, dropAllDatabases, REGISTRY} from '../js/store/provider.js';

let seq = 0;
const uniq = () => `store-test-${seq++}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const kinds = {
  idb: () => {
    const factory = new IDBFactory();
    return {factory, provider: idbStoreProvider(factory), again: () => idbStoreProvider(factory)};
  },
  mem: () => ({provider: memStoreProvider(), again: () => memStoreProvider()}),
};

async function put(store, entries) {
  const w = await store.write();
  try {
    for (const [k, v] of Object.entries(entries)) await w.put(k, v);
    await w.commit();
  } finally {
    w.release();
  }
}

async function get(store, ...keys) {
  const r = await store.read();
  try {
    const out = [];
    for (const k of keys) out.push(await r.get(k));
    return out;
  } finally {
    r.release();
  }
}

// The ids of the fake databases a factory opens, so tests can force-close them.
function spyFactory(factory) {
  const dbs = [];
  return {
    dbs,
    open(...a) {
      const req = factory.open(...a);
      req.addEventListener('success', () => dbs.push(req.result));
      return req;
    },
    deleteDatabase: (name) => factory.deleteDatabase(name),
  };
}

// Runs f with IDBObjectStore.prototype.put replaced, restoring it after.
async function withPut(fakePut, f) {
  const orig = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, key) {
    return fakePut.call(this, orig, value, key);
  };
  try {
    return await f();
  } finally {
    IDBObjectStore.prototype.put = orig;
  }
}

// ------------------------------------------------- resolveStoreProvider --
// First in the file: the fallback warning is once per process.

test('resolveStoreProvider: no IndexedDB -> memory and exactly one warning', async () => {
  assert.equal(globalThis.indexedDB, undefined);
  const logs = [];
  const log = (...a) => logs.push(a);
  const p1 = resolveStoreProvider(undefined, log);
  const p2 = resolveStoreProvider('idb', log);
  resolveStoreProvider(undefined, log);
  assert.equal(logs.length, 1);
  assert.equal(logs[0][0], 'info');
  assert.match(logs[0][1], /IndexedDB is not available.*memory/);
  const name = uniq();
  await put(p1.create(name), {k: 'v'});
  assert.deepEqual(await get(p2.create(name), 'k'), ['v'], 'memory, shared by name');
  const m = resolveStoreProvider('mem', log);
  assert.deepEqual(await get(m.create(name), 'k'), ['v']);
  assert.equal(logs.length, 1);
});

test('resolveStoreProvider: IndexedDB when globalThis.indexedDB exists', async () => {
  const factory = new IDBFactory();
  globalThis.indexedDB = factory;
  try {
    const name = uniq();
    await put(resolveStoreProvider(undefined).create(name), {k: 'v'});
    assert.ok((await factory.databases()).some((d) => d.name === name));
    assert.deepEqual(await get(idbStoreProvider(factory).create(name), 'k'), ['v']);
  } finally {
    delete globalThis.indexedDB;
  }
});

test('resolveStoreProvider: bad kvStore values are TypeErrors', () => {
  for (const bad of ['foo', 42, null, {}, {create() {}}, {drop() {}}, {create: 1, drop() {}}]) {
    assert.throws(() => resolveStoreProvider(bad), (e) => e instanceof TypeError && /kvStore must be/.test(e.message));
  }
});

test('custom provider: a bad store or transaction is a clear rejection, never a throw', async () => {
  const logs = [];
  const p1 = resolveStoreProvider({create: () => ({}), drop: async () => {}}, (...a) => logs.push(a));
  const s1 = p1.create('x');
  await assert.rejects(s1.read(), /custom store create failed: TypeError: .*no read\(\) function/);
  await assert.rejects(s1.write(), /custom store create failed/);

  const p2 = resolveStoreProvider({
    create() {
      throw new Error('nope');
    },
    drop() {
      throw new RangeError('no drop');
    },
  });
  const s2 = p2.create('x');
  await assert.rejects(s2.read(), {message: 'replicore: custom store create failed: nope'});
  await assert.rejects(p2.drop('x'), {name: 'RangeError', message: 'replicore: custom store drop failed: RangeError: no drop'});

  const p3 = resolveStoreProvider({
    create: () => ({read: async () => ({has() {}}), write: () => 5, close() {}}),
    drop() {},
  });
  await assert.rejects(p3.create('x').read(), /read\(\) result has no get\(\) function/);
  await assert.rejects(p3.create('x').write(), /write\(\) result has no has\(\) function/);
  assert.equal(logs.length, 0);
});

test('custom provider: a put that throws rejects put and commit, and changes nothing', async () => {
  const mem = memStoreProvider();
  const name = uniq();
  await put(mem.create(name), {a: '1'});
  let throwOn = null;
  // A custom provider over the memory one whose put throws synchronously.
  const custom = {
    create(n) {
      const s = mem.create(n);
      return {
        read: () => s.read(),
        close: () => s.close(),
        get closed() {
          return s.closed;
        },
        async write() {
          const w = await s.write();
          return {
            has: (k) => w.has(k),
            get: (k) => w.get(k),
            put(k, v) {
              if (k === throwOn) throw new Error(`disk full at ${k}`);
              return w.put(k, v);
            },
            del: (k) => w.del(k),
            commit: () => w.commit(),
            release: () => w.release(),
          };
        },
      };
    },
    drop: (n) => mem.drop(n),
  };
  const store = resolveStoreProvider(custom).create(name);
  throwOn = 'b';
  const w = await store.write();
  await w.put('a', '2');
  await assert.rejects(w.put('b', '2'), {message: 'replicore: custom store put failed: disk full at b'});
  await assert.rejects(w.commit(), /custom store put failed: disk full at b/);
  w.release();
  assert.deepEqual(await get(store, 'a', 'b'), ['1', undefined]);
  // The store still works afterwards.
  throwOn = null;
  await put(store, {a: '3', b: '3'});
  assert.deepEqual(await get(store, 'a', 'b'), ['3', '3']);
});

// ------------------------------------------------ both providers alike --

for (const [kind, make] of Object.entries(kinds)) {
  test(`${kind}: put/get/has/del round trip; a write sees its own puts and dels`, async () => {
    const {provider} = make();
    const store = provider.create(uniq());
    assert.equal(store.closed, false);
    const w = await store.write();
    assert.equal(await w.has('a'), false);
    assert.equal(await w.get('a'), undefined);
    await w.put('a', 'x'.repeat(65536));
    await w.put('b', 'two');
    await w.put('j', {n: [1, 'x', null]});
    assert.equal(await w.has('a'), true);
    assert.equal((await w.get('a')).length, 65536);
    await w.del('b');
    assert.equal(await w.has('b'), false);
    assert.equal(await w.get('b'), undefined);
    await w.commit();
    assert.equal(w.closed, true);
    w.release(); // after commit: no effect

    const r = await store.read();
    assert.equal(await r.has('a'), true);
    assert.equal(await r.has('b'), false);
    assert.deepEqual(await r.get('j'), {n: [1, 'x', null]});
    r.release();
    assert.equal(r.closed, true);
    await assert.rejects(r.get('a'), /already ended|already committed or released/);

    const w2 = await store.write();
    await w2.del('a');
    await w2.put('b', 'back');
    await w2.commit();
    assert.deepEqual(await get(store, 'a', 'b'), [undefined, 'back']);
    await assert.rejects(w2.put('c', 1), /already/);
    await store.close();
    assert.equal(store.closed, true);
    await assert.rejects(store.read(), /closed/);
  });

  test(`${kind}: a write released without commit changes nothing`, async () => {
    const {provider} = make();
    const store = provider.create(uniq());
    await put(store, {a: '1'});
    const w = await store.write();
    await w.put('a', '2');
    await w.put('b', '2');
    await w.del('a');
    w.release();
    assert.equal(w.closed, true);
    await assert.rejects(w.commit(), /already/);
    assert.deepEqual(await get(store, 'a', 'b'), ['1', undefined]);
    // And the next write is not blocked.
    await put(store, {c: '3'});
    assert.deepEqual(await get(store, 'a', 'c'), ['1', '3']);
  });

  test(`${kind}: 20 concurrent read-modify-write writers are serialized`, async () => {
    const {provider} = make();
    const name = uniq();
    const stores = [provider.create(name), provider.create(name)]; // like two tabs
    await Promise.all(
      Array.from({length: 20}, async (_, i) => {
        const w = await stores[i % 2].write();
        try {
          const n = (await w.get('n')) ?? 0;
          await w.put('n', n + 1);
          await w.commit();
        } finally {
          w.release();
        }
      }),
    );
    assert.deepEqual(await get(stores[0], 'n'), [20]);
  });

  test(`${kind}: reads see a consistent committed snapshot`, async () => {
    const {provider} = make();
    const store = provider.create(uniq());
    await put(store, {a: 0, b: 0});
    const writer = (async () => {
      for (let i = 1; i <= 30; i++) await put(store, {a: i, b: i});
    })();
    const seen = new Set();
    for (let i = 0; i < 60; i++) {
      const [a, b] = await get(store, 'a', 'b');
      assert.equal(a, b, 'a and b are written by one commit');
      seen.add(a);
    }
    await writer;
    assert.deepEqual(await get(store, 'a', 'b'), [30, 30]);
    // A read started before a write cannot see that write's uncommitted puts.
    const w = await store.write();
    await w.put('a', 'uncommitted');
    const r = await store.read();
    assert.equal(await r.get('a'), 30);
    r.release();
    w.release();
  });

  test(`${kind}: data survives close and a new provider; two stores share a name`, async () => {
    const {provider, again} = make();
    const name = uniq();
    const s1 = provider.create(name);
    const s2 = provider.create(name);
    await put(s1, {k: 'v1'});
    assert.deepEqual(await get(s2, 'k'), ['v1']);
    await s1.close();
    await s2.close();
    const s3 = again().create(name);
    assert.deepEqual(await get(s3, 'k'), ['v1']);
    await put(s3, {k: 'v2'});
    await s3.close();
    assert.deepEqual(await get(again().create(name), 'k'), ['v2']);
  });

  test(`${kind}: drop removes the data`, async () => {
    const {provider} = make();
    const name = uniq();
    const s = provider.create(name);
    await put(s, {k: 'v'});
    await s.close();
    await provider.drop(name);
    await provider.drop(name); // dropping a missing database is fine
    assert.deepEqual(await get(provider.create(name), 'k'), [undefined]);
  });

  test(`${kind}: dropDatabase and dropAllDatabases drop what was registered`, async () => {
    const {provider} = make();
    // kvStore as a custom provider object (idb: over this test's factory).
    const kvStore = kind === 'mem' ? 'mem' : provider;
    const names = [uniq(), uniq(), uniq()];
    for (const n of names) {
      await registerDatabase(provider, n);
      const s = provider.create(n);
      await put(s, {k: n});
      await s.close();
    }
    await registerDatabase(provider, names[0]); // again: one entry
    await dropDatabase(names[2], {kvStore});
    assert.deepEqual(await get(provider.create(names[2]), 'k'), [undefined]);
    const res = await dropAllDatabases({kvStore});
    assert.deepEqual(res.errors, []);
    // mem: the registry is shared by the whole realm, so other tests' names may be there.
    for (const n of names.slice(0, 2)) assert.ok(res.dropped.includes(n), n);
    assert.ok(!res.dropped.includes(names[2]));
    for (const n of names) assert.deepEqual(await get(provider.create(n), 'k'), [undefined]);
    assert.deepEqual(await dropAllDatabases({kvStore}), {dropped: [], errors: []});
    const [dbs] = await get(provider.create(REGISTRY), 'dbs');
    assert.deepEqual(JSON.parse(dbs), {});
  });
}

// ------------------------------------------------------ IndexedDB only --

test('idb: dropAllDatabases keeps the names it could not drop, and reports why', async () => {
  const factory = new IDBFactory();
  const idb = idbStoreProvider(factory);
  await registerDatabase(idb, 'ok');
  await registerDatabase(idb, 'bad');
  const logs = [];
  const kvStore = {
    create: (n) => idb.create(n),
    drop: async (n) => {
      if (n === 'bad') throw new Error('locked');
      return idb.drop(n);
    },
  };
  const res = await dropAllDatabases({kvStore, logSinks: [{log: (...a) => logs.push(a)}]});
  assert.deepEqual(res.dropped, ['ok']);
  assert.equal(res.errors.length, 1);
  assert.match(res.errors[0].message, /custom store drop failed: locked/);
  const [dbs] = await get(idb.create(REGISTRY), 'dbs');
  assert.deepEqual(Object.keys(JSON.parse(dbs)), ['bad']);
  assert.equal(logs.length, 0);
});

test('idb: a commit that fails changes nothing (DataCloneError)', async () => {
  const {provider} = kinds.idb();
  const store = provider.create(uniq());
  await put(store, {a: '1'});
  const w = await store.write();
  await w.put('a', '2');
  await w.put('b', () => {}); // not cloneable: refused at commit
  await assert.rejects(w.commit(), (e) => e.name === 'DataCloneError' && /IndexedDB write failed: DataCloneError/.test(e.message));
  w.release();
  assert.deepEqual(await get(store, 'a', 'b'), ['1', undefined]);
});

test('idb: QuotaExceededError thrown by put surfaces by name; nothing is written', async () => {
  const {provider} = kinds.idb();
  const store = provider.create(uniq());
  await put(store, {a: '1'});
  await withPut(
    function (orig, value, key) {
      if (key === 'big') throw new DOMException('quota reached', 'QuotaExceededError');
      return orig.call(this, value, key);
    },
    async () => {
      const w = await store.write();
      await w.put('a', '2');
      await w.put('big', 'x'.repeat(1000));
      await w.put('c', '2');
      const e = await w.commit().catch((e) => e);
      assert.equal(e.name, 'QuotaExceededError');
      assert.equal(e.message, 'replicore: IndexedDB write failed: QuotaExceededError: quota reached');
      assert.equal(e.cause.name, 'QuotaExceededError');
      w.release();
    },
  );
  assert.deepEqual(await get(store, 'a', 'big', 'c'), ['1', undefined, undefined]);
});

test('idb: QuotaExceededError from a failed put request aborts the transaction; nothing is written', async () => {
  const {provider} = kinds.idb();
  const store = provider.create(uniq());
  await put(store, {a: '1'});
  await withPut(
    function (orig, value, key) {
      if (key !== 'big') return orig.call(this, value, key);
      // fake-indexeddb's own request machinery (internal): a request whose
      // operation fails, as a browser's does when the disk quota is reached.
      assert.equal(typeof this.transaction._execRequestAsync, 'function');
      return this.transaction._execRequestAsync({
        source: this,
        operation() {
          throw new DOMException('quota reached', 'QuotaExceededError');
        },
      });
    },
    async () => {
      const w = await store.write();
      await w.put('a', '2');
      await w.put('big', 'x');
      await w.put('z', '2');
      await assert.rejects(w.commit(), {name: 'QuotaExceededError', message: /^replicore: IndexedDB write failed: QuotaExceededError/});
      w.release();
    },
  );
  assert.deepEqual(await get(store, 'a', 'big', 'z'), ['1', undefined, undefined]);
});

test('idb: a write whose transaction expired (a timer awaited) fails clearly and writes nothing', async () => {
  const {provider} = kinds.idb();
  const store = provider.create(uniq());
  await put(store, {a: '1'});
  const w = await store.write();
  await w.put('a', '2');
  await sleep(5); // IndexedDB commits the idle transaction meanwhile
  await assert.rejects(w.commit(), /IndexedDB write failed: .*the transaction had already ended/);
  w.release();
  assert.deepEqual(await get(store, 'a'), ['1']);

  const w2 = await store.write();
  await sleep(5);
  await assert.rejects(w2.get('a'), /the transaction had already ended/);
  await assert.rejects(w2.commit(), /the transaction had already ended/, 'a failed write cannot commit');
  w2.release();
});

test('idb: an empty write commits; release after a failed commit is harmless', async () => {
  const {provider} = kinds.idb();
  const store = provider.create(uniq());
  const w = await store.write();
  await w.commit();
  w.release();
  const w2 = await store.write();
  await sleep(5);
  await w2.commit(); // nothing to write: the early end lost nothing
});

test('idb: versionchange closes the connection; a dropped database is not recreated', async () => {
  const {factory, provider} = kinds.idb();
  const name = uniq();
  const store = provider.create(name);
  await put(store, {k: 'v'});
  // Another "tab" drops it: not blocked, since our connection closes.
  await idbStoreProvider(factory).drop(name);
  await assert.rejects(store.read(), {name: 'IDBNotFoundError', message: /IndexedDB open of ".*" failed: IDBNotFoundError: database ".*" no longer exists/});
  assert.ok(!(await factory.databases()).some((d) => d.name === name), 'not recreated');
});

test('idb: a connection closed by the browser is reopened once', async () => {
  const spy = spyFactory(new IDBFactory());
  const provider = idbStoreProvider(spy);
  const store = provider.create(uniq());
  await put(store, {k: 'v'});
  assert.equal(spy.dbs.length, 1);
  forceCloseDatabase(spy.dbs[0]);
  assert.deepEqual(await get(store, 'k'), ['v']);
  await put(store, {k: 'w'});
  assert.equal(spy.dbs.length, 2);
  forceCloseDatabase(spy.dbs[1]);
  assert.deepEqual(await get(store, 'k'), ['w']);
  assert.equal(spy.dbs.length, 3);
});

test('idb: a blocked open rejects with a clear error', async () => {
  const factory = new IDBFactory();
  const name = uniq();
  // A connection (an old tab) that ignores versionchange, and an open that
  // asks for a higher version than it holds: the open is blocked.
  const holder = await new Promise((resolve, reject) => {
    const req = factory.open(name, 1);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    const v2 = {open: (n) => factory.open(n, 2), deleteDatabase: (n) => factory.deleteDatabase(n)};
    const store = idbStoreProvider(v2).create(name);
    await assert.rejects(store.read(), /IndexedDB open of ".*" failed: opening ".*" is blocked: another tab/);
  } finally {
    holder.close(); // else fake-indexeddb waits for it forever and the process never exits
  }
});

test('idb: idbStoreProvider without IndexedDB is a TypeError', () => {
  assert.throws(() => idbStoreProvider(undefined), TypeError);
});
