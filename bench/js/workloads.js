// The workloads of shared/BENCHMARKS.md, written once against Replicache's
// public API so that the very same code drives replicore and Replicache
// 15.3.0, in Node and in the browser. Each workload builds fresh instances,
// prepares its state untimed, and times only the step the row names.
//
// `lib` is {name, Replicache, extraOptions}. Every instance here uses the
// `mem` store (passed explicitly: replicore's default in a browser is
// IndexedDB) and no pull interval, as BENCHMARKS.md prescribes. The rows
// with `kvStore: 'idb'` (2-idb, 7p, 7) are in persist.js.

const now = () => performance.now();
let instanceCounter = 0;

// The last timed step [start, end], so that a profiler (profile-rows.js)
// can tell the calls of the timed step from those of the set-up.
export const lastTimed = {start: 0, end: 0};
function elapsedSince(t0) {
  const t1 = now();
  lastTimed.start = t0;
  lastTimed.end = t1;
  return t1 - t0;
}

// A JSON object of about `bytes` bytes, different for each `i` and `salt`.
export function makeValue(i, bytes = 1024, salt = 0) {
  const fill = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const head = {id: i, salt, name: `item ${i}`, done: i % 3 === 0, tags: ['a', 'b', `t${i % 7}`]};
  const room = Math.max(0, bytes - JSON.stringify(head).length - 12);
  let text = '';
  while (text.length < room) text += fill;
  return {...head, text: text.slice(0, room)};
}

export const keyOf = (i) => `k/${String(i).padStart(7, '0')}`;

// Secondary indexes of rows 10a-10d: by the value's name (one string per
// entry; spread over many secondary keys), and by its tags (an array of
// three strings: three entries per value).
export const INDEXES = {
  byName: {prefix: 'k/', jsonPointer: '/name'},
  byTag: {prefix: 'k/', jsonPointer: '/tags'},
};
export function indexesOf(count) {
  return Object.fromEntries(Object.entries(INDEXES).slice(0, count));
}

export const benchMutators = {
  // Sets `count` keys from `start`: the bulk populate of row 1 and set-up.
  async populate(tx, {start, count, bytes, salt}) {
    for (let i = start; i < start + count; i++) await tx.set(keyOf(i), makeValue(i, bytes, salt));
  },
  async put(tx, {key, value}) {
    await tx.set(key, value);
  },
};

// A puller whose next answer the workload sets: until armed it answers
// "nothing changed" (the cookie it was given, or 0 for the first pull).
export function scriptedPuller() {
  let next = null;
  const puller = async (request) => {
    const body = request;
    let response;
    if (next) {
      response = next;
      next = null;
    } else {
      response = {cookie: body.cookie ?? 0, lastMutationIDChanges: {}, patch: []};
    }
    return {response, httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
  };
  return {puller, arm(response) { next = response; }};
}

function open(lib, extra = {}) {
  const scripted = scriptedPuller();
  const rep = new lib.Replicache({
    name: `bench-${lib.name}-${++instanceCounter}-${Math.random().toString(36).slice(2)}`,
    kvStore: 'mem',
    pullInterval: null,
    logLevel: 'error',
    mutators: benchMutators,
    puller: scripted.puller,
    ...lib.extraOptions,
    ...extra,
  });
  return {rep, scripted};
}

// Resolves when `predicate(result)` holds for the subscription's result.
export function when(rep, query, predicate) {
  return new Promise((resolve, reject) => {
    let unsubscribe = null;
    let done = false;
    unsubscribe = rep.subscribe(query, {
      onData(result) {
        if (done || !predicate(result)) return;
        done = true;
        resolve(result);
        queueMicrotask(() => unsubscribe?.());
      },
      onError: reject,
    });
    if (done) unsubscribe();
  });
}

async function populate(rep, count, bytes = 1024, salt = 0) {
  const chunk = 5000;
  for (let start = 0; start < count; start += chunk) {
    await rep.mutate.populate({start, count: Math.min(chunk, count - start), bytes, salt});
  }
}

// Puts `count` keys into the confirmed state through a pull (so they are
// not pending mutations).
export async function pullIn(rep, scripted, count, {bytes = 1024, cookie = 1, salt = 0, clear = true} = {}) {
  const patch = clear ? [{op: 'clear'}] : [];
  for (let i = 0; i < count; i++) patch.push({op: 'put', key: keyOf(i), value: makeValue(i, bytes, salt)});
  scripted.arm({cookie, lastMutationIDChanges: {}, patch});
  const lastKey = keyOf(count - 1);
  const visible = when(rep, (tx) => tx.get(lastKey), (v) => v !== undefined && v.salt === salt);
  await rep.pull();
  await visible;
}

export async function settle(rep) {
  // Let the start-up pull finish so it does not land inside a timed step.
  await rep.query((tx) => tx.has('x'));
  await new Promise((r) => setTimeout(r, 20));
}

export const workloads = {
  // 1: one mutation that sets N keys, from call to resolved promise.
  async populate(lib, {keys}) {
    const {rep} = open(lib);
    await settle(rep);
    const t0 = now();
    await rep.mutate.populate({start: 0, count: keys, bytes: 1024, salt: 0});
    const ms = elapsedSince(t0);
    await rep.close();
    return ms;
  },

  // 2: sequential awaited mutations, one key each.
  async mutationLoop(lib, {count}) {
    const {rep} = open(lib);
    await settle(rep);
    const value = makeValue(1, 1024);
    const t0 = now();
    for (let i = 0; i < count; i++) await rep.mutate.put({key: keyOf(i), value});
    const ms = elapsedSince(t0);
    await rep.close();
    return ms;
  },

  // 3: one query reading every key with scan().entries().toArray(), warm.
  async scan(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys);
    const read = (tx) => tx.scan().entries().toArray();
    const warm = await rep.query(read);
    if (warm.length !== keys) throw new Error(`scan saw ${warm.length} of ${keys} keys`);
    const t0 = now();
    const result = await rep.query(read);
    const ms = elapsedSince(t0);
    if (result.length !== keys) throw new Error('scan lost keys');
    await rep.close();
    return ms;
  },

  // 4: mutate to onData with 100 subscriptions of which 5 see the change;
  // returns the per-iteration times (median and p95 are taken of them).
  async reactiveLoop(lib, {cacheKeys, iterations}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, cacheKeys);
    const watched = 20;  // 100 subscriptions over 20 keys: 5 per key
    const waiters = new Map();
    const unsubs = [];
    for (let s = 0; s < 100; s++) {
      const key = keyOf(s % watched);
      let first = true;
      unsubs.push(rep.subscribe((tx) => tx.get(key), {
        onData(v) {
          if (first) {
            first = false;
            return;
          }
          const w = waiters.get(key);
          if (w && v && v.salt === w.salt && --w.left === 0) w.resolve();
        },
      }));
    }
    await new Promise((r) => setTimeout(r, 50));
    const times = [];
    for (let i = 0; i < iterations; i++) {
      const key = keyOf(i % watched);
      const salt = i + 1;
      const value = makeValue(i % watched, 1024, salt);
      const seen = new Promise((resolve) => waiters.set(key, {salt, left: 5, resolve}));
      const t0 = now();
      await rep.mutate.put({key, value});
      await seen;
      times.push(now() - t0);
    }
    for (const u of unsubs) u();
    await rep.close();
    return times;
  },

  // 5: one pull whose response is clear + N small puts, until visible.
  async pullApply(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    const patch = [{op: 'clear'}];
    for (let i = 0; i < keys; i++) patch.push({op: 'put', key: keyOf(i), value: makeValue(i, 80)});
    scripted.arm({cookie: 1, lastMutationIDChanges: {}, patch});
    const lastKey = keyOf(keys - 1);
    const t0 = now();
    const visible = when(rep, (tx) => tx.get(lastKey), (v) => v !== undefined);
    await rep.pull();
    await visible;
    const ms = elapsedSince(t0);
    await rep.close();
    return ms;
  },

  // 6: 100 pending mutations replayed on a pull that changes `changed` keys
  // of a cache of `keys`.
  async rebase(lib, {keys, changed, pending}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys, {cookie: 1, salt: 0});
    for (let i = 0; i < pending; i++) {
      await rep.mutate.put({key: `p/${i}`, value: makeValue(i, 1024, 7)});
    }
    const patch = [];
    for (let i = 0; i < changed; i++) patch.push({op: 'put', key: keyOf(i), value: makeValue(i, 1024, 1)});
    scripted.arm({cookie: 2, lastMutationIDChanges: {}, patch});
    const lastKey = keyOf(changed - 1);
    const t0 = now();
    const visible = when(rep, (tx) => tx.get(lastKey), (v) => v !== undefined && v.salt === 1);
    await rep.pull();
    await visible;
    const ms = elapsedSince(t0);
    const stillPending = await rep.query((tx) => tx.has(`p/${pending - 1}`));
    if (!stillPending) throw new Error('pending mutations were lost in the rebase');
    await rep.close();
    return ms;
  },

  // 10a-c: row 1 with secondary indexes defined: one mutation that sets N
  // keys, each indexed by every index.
  async populateIndexed(lib, {keys, indexes}) {
    const {rep} = open(lib, {indexes: indexesOf(indexes)});
    await settle(rep);
    const t0 = now();
    await rep.mutate.populate({start: 0, count: keys, bytes: 1024, salt: 0});
    const ms = elapsedSince(t0);
    const n = await rep.query(async (tx) => (await tx.scan({indexName: 'byName', limit: keys + 1}).keys().toArray()).length);
    if (n !== keys) throw new Error(`the index holds ${n} of ${keys} keys`);
    await rep.close();
    return ms;
  },

  // 10d: row 3 over an index: one query reading every entry of an index of
  // N pulled keys with scan({indexName}).entries().toArray(), warm.
  async indexScan(lib, {keys}) {
    const {rep, scripted} = open(lib, {indexes: indexesOf(1)});
    await settle(rep);
    await pullIn(rep, scripted, keys);
    const read = (tx) => tx.scan({indexName: 'byName'}).entries().toArray();
    const warm = await rep.query(read);
    if (warm.length !== keys) throw new Error(`index scan saw ${warm.length} of ${keys} keys`);
    const t0 = now();
    const result = await rep.query(read);
    const ms = elapsedSince(t0);
    if (result.length !== keys) throw new Error('index scan lost keys');
    await rep.close();
    return ms;
  },

  // 11a: row 3 as apps iterate: one query walking every key of a prefix
  // with `for await (const [k, v] of tx.scan({prefix}).entries())`, warm.
  async scanIterated(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys);
    const read = async (tx) => {
      let n = 0;
      for await (const [k, v] of tx.scan({prefix: 'k/'}).entries()) {
        if (k && v) n++;
      }
      return n;
    };
    if ((await rep.query(read)) !== keys) throw new Error('the iterated scan missed keys (warm-up)');
    const t0 = now();
    const n = await rep.query(read);
    const ms = elapsedSince(t0);
    if (n !== keys) throw new Error(`the iterated scan saw ${n} of ${keys} keys`);
    await rep.close();
    return ms;
  },

  // 11b: a prefix scan of 1,000 of `keys` keys (keyOf pads to 7 digits:
  // the prefix k/00120 holds k/0012000..k/0012999), warm.
  async prefixScan(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys);
    const read = (tx) => tx.scan({prefix: 'k/0012'}).entries().toArray();
    if ((await rep.query(read)).length !== 1000) throw new Error('the prefix scan missed keys (warm-up)');
    const t0 = now();
    const result = await rep.query(read);
    const ms = elapsedSince(t0);
    if (result.length !== 1000 || result[0][0] !== keyOf(12000)) throw new Error('the prefix scan read the wrong keys');
    await rep.close();
    return ms;
  },

  // 11c: an incremental pull (no clear) that changes every one of `keys`
  // keys of 1 KiB, until the last is visible.
  async pullIncremental(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys, {cookie: 1, salt: 0});
    const patch = [];
    for (let i = 0; i < keys; i++) patch.push({op: 'put', key: keyOf(i), value: makeValue(i, 1024, 1)});
    scripted.arm({cookie: 2, lastMutationIDChanges: {}, patch});
    const lastKey = keyOf(keys - 1);
    // As in 11d: what the first pull left (its garbage, its notifications)
    // settles before the timed step.
    await new Promise((r) => setTimeout(r, 50));
    const t0 = now();
    const visible = when(rep, (tx) => tx.get(lastKey), (v) => v !== undefined && v.salt === 1);
    await rep.pull();
    await visible;
    const ms = elapsedSince(t0);
    await rep.close();
    return ms;
  },

  // 11d: row 11c with a subscription scanning the pulled prefix: from the
  // pull until that subscription has the new values of every key.
  async pullSubscribed(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys, {cookie: 1, salt: 0});
    let seen = null;
    const fresh = new Promise((resolve) => (seen = resolve));
    const unsubscribe = rep.subscribe((tx) => tx.scan({prefix: 'k/'}).values().toArray(), {
      onData(values) {
        if (values.length === keys && values.every((v) => v.salt === 1)) seen();
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    const patch = [];
    for (let i = 0; i < keys; i++) patch.push({op: 'put', key: keyOf(i), value: makeValue(i, 1024, 1)});
    scripted.arm({cookie: 2, lastMutationIDChanges: {}, patch});
    const t0 = now();
    await rep.pull();
    await fresh;
    const ms = elapsedSince(t0);
    unsubscribe();
    await rep.close();
    return ms;
  },

  // 9: confirmed state of `keys` keys of about 1 KiB, left open so that the
  // caller can measure the heap while it lives.
  async holdKeys(lib, {keys}) {
    const {rep, scripted} = open(lib);
    await settle(rep);
    await pullIn(rep, scripted, keys);
    const n = await rep.query(async (tx) => (await tx.scan().keys().toArray()).length);
    if (n !== keys) throw new Error(`held ${n} of ${keys} keys`);
    return rep;
  },
};
