// Quick figures for the workloads of shared/BENCHMARKS.md, replicore only
// (the comparison with Replicache lives in the project's benchmark suite).
// Usage: node wasm/bench/quick.mjs   (uses the packed package, like the tests;
// REPLICORE_PACKAGE_DIR picks another build)
import {loadReplicore} from '../test/helpers/package.js';

const {Replicache} = await loadReplicore();

const value = (i) => ({id: i, title: `item ${i}`, body: 'x'.repeat(900), tags: ['a', 'b', 'c'], n: i * 1.5, done: false});
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const ms = (t) => `${t.toFixed(2)} ms`;

let pullResponse = {cookie: 0, lastMutationIDChanges: {}, patch: []};
const rep = new Replicache({
  name: 'bench',
  pullInterval: null,
  logLevel: 'error',
  mutators: {
    async populate(tx, {n, prefix}) {
      for (let i = 0; i < n; i++) await tx.set(`${prefix}/${String(i).padStart(6, '0')}`, value(i));
    },
    async put(tx, {key, v}) {
      await tx.set(key, v);
    },
    async populate5(tx, {i, keys}) {
      for (const k of keys) await tx.set(k, {i});
    },
  },
  async puller() {
    return {response: pullResponse, httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
  },
});

for (const n of [1000, 10000]) {
  const times = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    await rep.mutate.populate({n, prefix: `pop${n}-${r}`});
    times.push(performance.now() - t);
  }
  console.log(`1: populate ${n} x 1 KiB: median ${ms(median(times))}`);
}

{
  const t = performance.now();
  for (let i = 0; i < 10000; i++) await rep.mutate.put({key: `loop/${i}`, v: {i}});
  console.log(`2: 10,000 sequential mutations: ${ms(performance.now() - t)}`);
}

{
  const times = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    const rows = await rep.query((tx) => tx.scan({prefix: 'pop10000-0/'}).entries().toArray());
    times.push(performance.now() - t);
    if (rows.length !== 10000) throw new Error('bad scan');
  }
  console.log(`3: scan 10,000 keys (first = cold ${ms(times[0])}), warm median ${ms(median(times.slice(1)))}`);
}

{
  // 100 subscriptions, each reading one key; one mutation changes the keys
  // of 5 of them. Timed: from mutate() to the 5th onData.
  const subs = [];
  let resolveData = null;
  const key = (s) => `pop10000-0/${String(s * 10).padStart(6, '0')}`;
  for (let s = 0; s < 100; s++) {
    subs.push(
      rep.subscribe((tx) => tx.get(key(s)), () => {
        if (s < 5 && resolveData) resolveData();
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 50));
  const times = [];
  for (let i = 0; i < 200; i++) {
    let left = 5;
    const done = new Promise((r) => (resolveData = () => --left === 0 && r()));
    const t = performance.now();
    await rep.mutate.populate5({i, keys: [0, 1, 2, 3, 4].map(key)});
    await done;
    times.push(performance.now() - t);
  }
  subs.forEach((u) => u());
  times.sort((x, y) => x - y);
  console.log(`4: mutate -> onData of the 5 of 100 subscriptions it affects: median ${ms(median(times))}, p95 ${ms(times[Math.floor(times.length * 0.95)])}`);
}

await rep.close();
{
  // A fresh client: no pending mutations to rebase (as in BENCHMARKS.md #5).
  const puller = new Replicache({
    name: 'bench-pull',
    pullInterval: null,
    logLevel: 'error',
    async puller() {
      return {response: pullResponse, httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  });
  const patch = [{op: 'clear'}];
  for (let i = 0; i < 10000; i++) patch.push({op: 'put', key: `srv/${String(i).padStart(6, '0')}`, value: value(i)});
  const times = [];
  for (let r = 1; r <= 5; r++) {
    pullResponse = {cookie: r, lastMutationIDChanges: {}, patch};
    const t = performance.now();
    await puller.pull();
    const n = await puller.query(async (tx) => (await tx.scan({prefix: 'srv/', limit: 1}).toArray()).length);
    times.push(performance.now() - t);
    if (n !== 1) throw new Error('pull not applied');
  }
  console.log(`5: pull apply clear + 10,000 puts (in-memory puller): median ${ms(median(times))}`);
  await puller.close();
}
