// The rows of shared/BENCHMARKS.md that need a real store: 2-idb, 7p and 7
// (cold start), both libraries with `kvStore: 'idb'`, in headless Chromium
// only (Node has no IndexedDB). Run from pages that run.js serves; the same
// code drives both libraries through Replicache 15's public API, plus one
// "wait until durable" step per library:
//
// Durable means: the IndexedDB readwrite transaction that holds the data
// has fired `complete` (so a new page of the same origin reads it; neither
// library waits for more). How each library is asked to get there:
// - replicore: `await rep.flush()` (public API: resolves once everything
//   committed before the call is in the store; it skips the 20 ms group-
//   commit delay and writes at once).
// - Replicache 15.3.0 has no public flush: it persists its memory B-tree
//   to IndexedDB on its own schedule (a requestIdleCallback with a 1 s
//   timeout, at most once per 500 ms) and close() does NOT persist. Its
//   `persist()` method (on ReplicacheImpl, exported by 'replicache/impl';
//   `Replicache` is a thin wrapper that does `new ReplicacheImpl(options)`)
//   is what that schedule calls, and what Replicache's own perf suite calls
//   to time "persist" and to set up its start-up benchmarks. It resolves when
//   its IndexedDB write of every chunk reachable from the head (data,
//   commits, client group) has committed. Since persist() must not run
//   twice at once, the instance's persist is wrapped so that the scheduled
//   runs and ours are serialized: `await rep.persist()` then means "every
//   write before the call is in IndexedDB", like replicore's flush().
import {benchMutators, keyOf, makeValue, pullIn, scriptedPuller, settle} from './workloads.js';

// The bench's mutators and one more: putMany puts the entries it is given,
// so the data travels in the mutation's arguments as in an app (a library
// that persists mutations rather than their effects then stores it too; the
// `populate` mutator makes its values from four numbers, which would let
// such a library persist 40 bytes for 10 MB of data).
const persistMutators = {
  ...benchMutators,
  async putMany(tx, {entries}) {
    for (const [key, value] of entries) await tx.set(key, value);
  },
};

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The two libraries as the persistence rows use them: `open(options)` makes
 * an instance on which `durable(rep)` works.
 */
export function persistLibs({Replicore, Replicache, ReplicacheImpl, TEST_LICENSE_KEY}) {
  return [
    {
      name: 'replicore',
      Replicache: Replicore,
      // Row 7p's one mutation carries 10 MB of arguments: more than the
      // 1 MiB push a client sends by default (node_server's body limit), so
      // the app says its server takes it. Replicache has no such check.
      extraOptions: {maxPushBytes: 64 * 1024 * 1024},
      open: (options) => new Replicore(options),
      durable: (rep) => rep.flush(),
    },
    {
      name: 'replicache',
      Replicache,
      extraOptions: {licenseKey: TEST_LICENSE_KEY},
      open(options) {
        const rep = new ReplicacheImpl(options);
        const persist = rep.persist.bind(rep);
        let chain = Promise.resolve();
        // The scheduler calls `this.persist()`, so it goes through here too.
        rep.persist = () => (chain = chain.then(persist, persist));
        return rep;
      },
      durable: (rep) => rep.persist(),
    },
  ];
}

let counter = 0;
const uniqueName = (lib, what) => `${what}-${lib.name}-${++counter}-${Math.random().toString(36).slice(2)}`;

function options(lib, name, scripted) {
  return {
    name,
    kvStore: 'idb',
    pullInterval: null,
    logLevel: 'error',
    mutators: persistMutators,
    puller: scripted.puller,
    ...lib.extraOptions,
  };
}

async function dropStore(rep) {
  const name = rep.idbName;
  await rep.close();
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

// A fresh instance with its store open and its start-up writes done, so
// they do not land in the timed step.
async function openSettled(lib, what) {
  const scripted = scriptedPuller();
  const rep = lib.open(options(lib, uniqueName(lib, what), scripted));
  await settle(rep);
  await lib.durable(rep);
  await sleep(50);
  return {rep, scripted};
}

export const persistWorkloads = {
  // 7p: one mutation putting `keys` keys given in its arguments, from the
  // call until durable.
  async persistOne(lib, {keys}) {
    const {rep} = await openSettled(lib, 'persist');
    const entries = [];
    for (let i = 0; i < keys; i++) entries.push([keyOf(i), makeValue(i, 1024)]);
    const t0 = now();
    await rep.mutate.putMany({entries});
    const tMutated = now();
    await lib.durable(rep);
    const t1 = now();
    await dropStore(rep);
    return {total: t1 - t0, mutate: tMutated - t0};
  },

  // 2-idb: `count` sequential awaited mutations of one key each (mutate
  // resolves without waiting for the disk in both libraries; each library's
  // background persistence runs during the loop as it would in an app).
  // 7p-loop (`durable`): the same, until the last mutation is durable.
  async persistLoop(lib, {count, durable = false}) {
    const {rep} = await openSettled(lib, 'loop');
    const value = makeValue(1, 1024);
    const t0 = now();
    for (let i = 0; i < count; i++) await rep.mutate.put({key: keyOf(i), value});
    if (durable) await lib.durable(rep);
    const ms = now() - t0;
    await dropStore(rep);
    return ms;
  },
};

// --- 7: cold start ------------------------------------------------------------

/**
 * Puts `keys` keys of about 1 KiB in the confirmed state of a store called
 * `name` through one pull (clear + `keys` puts from an in-memory puller),
 * waits until that is durable, and closes. Returns how long the pull and
 * the persist took (for information).
 */
export async function coldSetup(lib, {name, keys}) {
  const scripted = scriptedPuller();
  const rep = lib.open(options(lib, name, scripted));
  await settle(rep);
  const t0 = now();
  await pullIn(rep, scripted, keys, {bytes: 1024, cookie: 1});
  const t1 = now();
  await lib.durable(rep);
  const t2 = now();
  const n = await rep.query(async (tx) => (await tx.scan().keys().toArray()).length);
  if (n !== keys) throw new Error(`${lib.name}: ${n} of ${keys} keys after the pull`);
  await rep.close();
  return {pull: t1 - t0, persist: t2 - t1};
}

/**
 * One cold start in a fresh page: construction of a new instance on the
 * store `name` to the end of the first query, which is `tx.get` of one key
 * (mode 'get') or a scan of every key (mode 'scan'). Also returns when the
 * page started (performance.timeOrigin based): `at` is construction time
 * and `end` the answer, both in ms since navigation start.
 */
export async function coldStart(lib, {name, keys, mode}) {
  const scripted = scriptedPuller();
  const key = keyOf(keys >> 1);
  const t0 = now();
  const rep = new lib.Replicache(options(lib, name, scripted));
  let ok;
  if (mode === 'get') {
    const v = await rep.query((tx) => tx.get(key));
    ok = v !== undefined && v.id === keys >> 1;
  } else {
    const all = await rep.query((tx) => tx.scan().entries().toArray());
    ok = all.length === keys && all[keys - 1][0] === keyOf(keys - 1);
  }
  const t1 = now();
  if (!ok) throw new Error(`${lib.name}: cold start (${mode}) did not see the persisted data`);
  await rep.close();
  return {ms: t1 - t0, at: t0, end: t1};
}

// --- Rows --------------------------------------------------------------------

/**
 * The timed IndexedDB rows, run through suite.js's runRows (alternating, a
 * warm-up, medians).
 */
export function persistRows({quick = false} = {}) {
  const n = (x) => Math.max(10, Math.round(x * (quick ? 0.1 : 1)));
  return [
    {id: '2-idb', row: '2-idb', label: '10,000 sequential mutations, idb', w: 'persistLoop', p: {count: n(10000)}},
    {id: '7p', row: '7p', label: '1 mutation putting 10,000 keys, until durable', w: 'persistOne', p: {keys: n(10000)},
      reduce: (v) => v.total, group: 'idb-one'},
    {id: '7p-mut', row: '7p', label: '7p: of which the mutation, until resolved', derivedFrom: 'idb-one', reduce: (v) => v.mutate},
    // Replicache takes about 100 s a run here (its persist replays the
    // mutations not yet persisted against its IndexedDB-backed tree): three
    // runs, no warm-up.
    {id: '7p-loop', row: '7p', label: '10,000 mutations of 1 key, until durable', w: 'persistLoop', p: {count: n(10000), durable: true},
      maxRuns: 3, warmup: false},
  ];
}

/** Cold-start sizes (row 7). */
export function coldSizes({quick = false} = {}) {
  return quick ? [1000, 10000] : [1000, 10000, 100000];
}
