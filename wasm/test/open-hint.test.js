// The open hint (wasm/js/store/open-hint.js): a cold start reads the
// registry and the heads of the group the last instance opened in one
// store read, and a wrong or missing hint only costs a read. Node has no
// localStorage; this file gives the package a page's (a Map behind the
// Storage interface, and a `document`) for its own process only.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, mutators} from './helpers/server.js';

class MapStorage {
  constructor() {
    this._m = new Map();
  }
  get length() {
    return this._m.size;
  }
  key(i) {
    return [...this._m.keys()][i] ?? null;
  }
  getItem(k) {
    return this._m.has(k) ? this._m.get(k) : null;
  }
  setItem(k, v) {
    this._m.set(k, String(v));
  }
  removeItem(k) {
    this._m.delete(k);
  }
}
globalThis.document = {};
globalThis.localStorage = new MapStorage();

const {Replicache, dropDatabase, makeIDBName, loadWasm} = await loadReplicore();

// A kvStore (Replicache 15's interface) in Maps that logs the keys of each
// read transaction, in the order the transactions began, by store (the
// profile's store is read through it too).
function loggingStore() {
  const dbs = new Map();
  const reads = [];
  const data = (name) => dbs.get(name) ?? dbs.set(name, new Map()).get(name);
  const view = (name, keys, pending) => ({
    closed: false,
    async has(k) {
      return pending?.has(k) ? pending.get(k) !== undefined : data(name).has(k);
    },
    async get(k) {
      keys.push(k);
      return pending?.has(k) ? pending.get(k) : data(name).get(k);
    },
    release() {},
  });
  return {
    reads,
    dbs,
    create(name) {
      return {
        closed: false,
        async read() {
          const keys = [];
          reads.push({name, keys});
          return view(name, keys, null);
        },
        async write() {
          const pending = new Map();
          return {
            ...view(name, [], pending),
            async put(k, v) {
              pending.set(k, v);
            },
            async del(k) {
              pending.set(k, undefined);
            },
            async commit() {
              for (const [k, v] of pending) (v === undefined ? data(name).delete(k) : data(name).set(k, v));
            },
          };
        },
        async close() {},
      };
    },
    async drop(name) {
      dbs.delete(name);
    },
  };
}

let n = 0;
const uniqueName = (what) => `open-hint-${what}-${process.pid}-${n++}`;
const hintKey = (name, schemaVersion = '') => `replicore-open/${makeIDBName(name)}/${schemaVersion}`;
const heads = (g) => [`g/${g}/h0`, `g/${g}/h1`];
// The keys of each read transaction of app `name`'s store.
const readsOf = (store, name) => store.reads.filter((r) => r.name === makeIDBName(name)).map((r) => r.keys);
const open = (name, kvStore, extra = {}) =>
  new Replicache({name, kvStore, mutators, pullInterval: null, logSinks: [memorySink()], ...extra});

// An instance that stores `count` keys, flushed and closed; its group id.
async function stored(name, kvStore, count = 3, extra = {}) {
  const rep = open(name, kvStore, extra);
  for (let i = 0; i < count; i++) await rep.mutate.put({key: `k${i}`, value: {i}});
  await rep.flush();
  const group = await rep.clientGroupID;
  await rep.close();
  return group;
}

test('a cold start reads the registry and the heads of the group opened last in one store read', async () => {
  const name = uniqueName('one-read');
  const store = loggingStore();
  const group = await stored(name, store);
  assert.equal(localStorage.getItem(hintKey(name)), group, 'the group is remembered');

  store.reads.length = 0;
  const rep = open(name, store);
  assert.deepEqual(await rep.query((tx) => tx.get('k2')), {i: 2});
  assert.equal(await rep.clientGroupID, group);
  assert.deepEqual(readsOf(store, name)[0], ['groups', ...heads(group)], 'the first read holds the registry and the heads');
  assert.equal(readsOf(store, name).flat().filter((k) => k.endsWith('/h0')).length, 1, 'the heads are not read a second time');
  await rep.close();
});

test('a hint that names another group costs one read more, and is corrected', async () => {
  const name = uniqueName('stale');
  const store = loggingStore();
  const group = await stored(name, store);
  // Another schemaVersion of the app made a group of its own in the same store.
  const other = await stored(name, store, 1, {schemaVersion: 'v2'});
  assert.notEqual(other, group);
  assert.equal(localStorage.getItem(hintKey(name, 'v2')), other);

  for (const wrong of [other, 'gone', 'x'.repeat(65)]) {
    localStorage.setItem(hintKey(name), wrong);
    store.reads.length = 0;
    const rep = open(name, store);
    assert.deepEqual(await rep.query((tx) => tx.scan().keys().toArray()), ['k0', 'k1', 'k2'], `hint ${wrong.slice(0, 8)}`);
    assert.equal(await rep.clientGroupID, group);
    assert.deepEqual(readsOf(store, name)[1], heads(group), 'the chosen group\'s heads in a second read');
    assert.equal(localStorage.getItem(hintKey(name)), group, 'the hint names the chosen group again');
    await rep.close();
  }
  // A hint over its length limit is not used for reading at all.
  localStorage.setItem(hintKey(name), 'x'.repeat(65));
  store.reads.length = 0;
  const rep = open(name, store);
  await rep.query((tx) => tx.get('k0'));
  assert.deepEqual(readsOf(store, name)[0], ['groups']);
  await rep.close();
});

test('without localStorage the store opens as before: the registry, then the heads', async () => {
  const name = uniqueName('none');
  const store = loggingStore();
  const group = await stored(name, store);
  const saved = globalThis.localStorage;
  delete globalThis.localStorage;
  try {
    store.reads.length = 0;
    const rep = open(name, store);
    assert.deepEqual(await rep.query((tx) => tx.get('k1')), {i: 1});
    assert.deepEqual(readsOf(store, name).slice(0, 2), [['groups'], heads(group)]);
    await rep.close();
  } finally {
    globalThis.localStorage = saved;
  }
});

test('dropDatabase removes the hints of that store only', async () => {
  const store = loggingStore();
  const [a, b] = [uniqueName('drop-a'), uniqueName('drop-b')];
  await stored(a, store);
  await stored(a, store, 1, {schemaVersion: 'v2'});
  await stored(b, store);
  await dropDatabase(makeIDBName(a), {kvStore: store});
  assert.equal(localStorage.getItem(hintKey(a)), null);
  assert.equal(localStorage.getItem(hintKey(a, 'v2')), null);
  assert.notEqual(localStorage.getItem(hintKey(b)), null);
});

test('a provider whose stores end with the realm (inMemory) leaves no hint and reads none', async () => {
  // The package's warm-up opens an instance over such a provider: a page
  // that only imports the package must find its localStorage untouched.
  const name = uniqueName('in-memory');
  const store = Object.assign(loggingStore(), {inMemory: true});
  const group = await stored(name, store);
  assert.equal(localStorage.getItem(hintKey(name)), null, 'no hint written');

  localStorage.setItem(hintKey(name), group);
  store.reads.length = 0;
  const rep = open(name, store);
  assert.deepEqual(await rep.query((tx) => tx.get('k0')), {i: 0});
  assert.deepEqual(readsOf(store, name).slice(0, 2), [['groups'], heads(group)], 'a hint left by others is not read');
  await rep.close();
  localStorage.removeItem(hintKey(name));
});

// --- The first pages -----------------------------------------------------------

const isPage = (k) => /\/p\d+$/.test(k);
const ok = {httpStatusCode: 200, errorMessage: ''};
const padded = (i) => ({i, pad: 'x'.repeat(500)});
const keyOf = (i) => `k${String(i).padStart(5, '0')}`;

// A store whose group holds `count` confirmed entries of ~0.5 KB (about 16
// pages of the core's default 64 KiB at 2,000), put there by a pull.
async function storedPages(name, kvStore, count = 2000) {
  const patch = [{op: 'clear'}];
  for (let i = 0; i < count; i++) patch.push({op: 'put', key: keyOf(i), value: padded(i)});
  const puller = async () => ({response: {cookie: 1, lastMutationIDChanges: {}, patch}, httpRequestInfo: ok});
  const rep = open(name, kvStore, {puller});
  await rep.pull();
  await rep.flush();
  const group = await rep.clientGroupID;
  await rep.close();
  return group;
}
const hintOf = (name) => localStorage.getItem(hintKey(name)).split('\n');

test('a cold start reads the pages its last start\'s first read needed right after the heads, and its first get reads no more', async () => {
  const name = uniqueName('first-page');
  const store = loggingStore();
  const group = await storedPages(name, store);
  assert.deepEqual(hintOf(name), [group], 'a pull is not a read: no page yet');

  const b = open(name, store);
  assert.deepEqual(await b.query((tx) => tx.get(keyOf(1234))), padded(1234));
  await b.close();
  const [hinted, page, ...more] = hintOf(name);
  assert.equal(hinted, group);
  assert.match(page, new RegExp(`^g/${group}/p\\d+$`), 'the page the get read');
  assert.deepEqual(more, []);

  store.reads.length = 0;
  const c = open(name, store);
  assert.deepEqual(await c.query((tx) => tx.get(keyOf(1234))), padded(1234));
  const before = readsOf(store, name);
  assert.deepEqual(before.slice(0, 2), [['groups', ...heads(group)], [page]], 'the page is read after the registry and the heads');
  assert.deepEqual(before.slice(2).flat().filter(isPage), [], 'no other page read before the answer');
  await c._persist.pages.loaded;
  const pages = readsOf(store, name).flat().filter(isPage);
  assert.equal(pages.filter((k) => k === page).length, 1, 'the background load does not read the hinted page again');
  assert.ok(pages.length >= 10, `${pages.length} pages, each read once`);
  assert.equal(new Set(pages).size, pages.length);
  assert.equal((await c.query((tx) => tx.scan().keys().toArray())).length, 2000);
  await c.close();
});

test('the hinted pages are asked of the store before opening goes on to choose the group', async () => {
  // Opening's steps after the first read (choosing the group, making the
  // core, loading the head) run for the first time on a cold start and are
  // long; the pages' gets must not wait behind them.
  const name = uniqueName('first-page-early');
  const store = loggingStore();
  await storedPages(name, store);
  const warm = open(name, store);
  await warm.query((tx) => tx.get(keyOf(600)));
  await warm.close();
  const page = hintOf(name)[1];

  const M = await loadWasm();
  const choose = M.storeChooseGroup;
  const seen = [];
  M.storeChooseGroup = function (...args) {
    seen.push(store.reads.flatMap((r) => r.keys).filter(isPage));
    return choose.apply(this, args);
  };
  try {
    store.reads.length = 0;
    const rep = open(name, store);
    assert.deepEqual(await rep.query((tx) => tx.get(keyOf(600))), padded(600));
    assert.deepEqual(seen[0], [page], 'the page\'s get was asked before the group was chosen');
    await rep.close();
  } finally {
    M.storeChooseGroup = choose;
  }
});

test('the hint names the first two pages of each start, newest first, four in all', async () => {
  const name = uniqueName('first-pages');
  const store = loggingStore();
  const group = await storedPages(name, store);
  const start = async (body) => {
    const rep = open(name, store);
    const v = await rep.query(body);
    await rep.close();
    return v;
  };
  await start((tx) => tx.get(keyOf(1900)));
  const [, last] = hintOf(name);
  // A scan from the start misses its first page and reads ahead: two join.
  assert.equal((await start((tx) => tx.scan().keys().toArray())).length, 2000);
  const afterScan = hintOf(name).slice(1);
  assert.equal(afterScan.length, 3);
  assert.equal(afterScan[2], last, 'the get\'s page stays, behind the scan\'s');
  assert.notEqual(afterScan[0], last);
  // The get after the scan finds its page in the first read.
  store.reads.length = 0;
  assert.deepEqual(await start((tx) => tx.get(keyOf(1900))), padded(1900));
  assert.deepEqual(readsOf(store, name).slice(0, 2), [['groups', ...heads(group)], afterScan]);
  assert.deepEqual(readsOf(store, name).slice(2).flat().filter((k) => k === last), [], 'its page is not read again');
  assert.deepEqual(hintOf(name).slice(1), [last, afterScan[0], afterScan[1]], 'a page already named moves to the front');
  await start((tx) => tx.get(keyOf(0)));
  await start((tx) => tx.get(keyOf(1000)));
  assert.equal(hintOf(name).length, 1 + 4, 'never more than four pages');
});

test('hinted pages that are gone, another group\'s or not asked for cost a read, never a wrong answer', async () => {
  const name = uniqueName('first-page-stale');
  const store = loggingStore();
  const group = await storedPages(name, store);
  const other = 'o'.repeat(20);
  localStorage.setItem(hintKey(name), [group, `g/${group}/p999999`, `g/${other}/p1`, 'groups', `g/${group}/p1`].join('\n'));
  store.reads.length = 0;
  const rep = open(name, store);
  assert.deepEqual(await rep.query((tx) => tx.get(keyOf(1999))), padded(1999));
  assert.deepEqual(readsOf(store, name).slice(0, 2), [['groups', ...heads(group)], [`g/${group}/p999999`, `g/${group}/p1`]],
    'only this group\'s page keys are read');
  assert.equal((await rep.query((tx) => tx.scan().keys().toArray())).length, 2000);
  await rep.close();
  const pages = hintOf(name).slice(1);
  assert.ok(pages.length >= 1 && pages.every((k) => k.startsWith(`g/${group}/p`)), pages.join(' '));
});
