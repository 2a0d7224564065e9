// Runs the timed rows for two libraries, alternating them run by run after a
// warm-up, and returns medians. Shared by the Node runner and the browser
// page so both environments measure exactly the same thing.
import {workloads} from './workloads.js';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// Every timed row: an id, a label, the workload and its parameters, and
// for rows that return many samples, how to reduce one run to a figure.
// `size`: the keys (or mutations) the row works on in a full run, which
// says whether the goal of ratio 0.5 or below at 10,000 keys and above
// applies to it.
export function timedRows({quick = false} = {}) {
  const k = quick ? 0.1 : 1;
  const n = (x) => Math.max(10, Math.round(x * k));
  const rows = [
    {id: '1a', size: 1000, label: 'populate 1,000 keys (1 mutation)', w: 'populate', p: {keys: n(1000)}},
    {id: '1b', size: 10000, label: 'populate 10,000 keys (1 mutation)', w: 'populate', p: {keys: n(10000)}},
    {id: '2', size: 10000, label: '10,000 sequential mutations', w: 'mutationLoop', p: {count: n(10000)}},
    {id: '3', size: 10000, label: 'scan 10,000 keys, warm', w: 'scan', p: {keys: n(10000)}},
    {id: '4a', size: 16384, label: 'mutate→onData median, 16 MB cache', w: 'reactiveLoop', p: {cacheKeys: n(16384), iterations: 200}, reduce: median, group: '4-16'},
    {id: '4a95', size: 16384, label: 'mutate→onData p95, 16 MB cache', derivedFrom: '4-16', reduce: (t) => percentile(t, 95)},
    {id: '4b', size: 65536, label: 'mutate→onData median, 64 MB cache', w: 'reactiveLoop', p: {cacheKeys: n(65536), iterations: 200}, reduce: median, group: '4-64'},
    {id: '4b95', size: 65536, label: 'mutate→onData p95, 64 MB cache', derivedFrom: '4-64', reduce: (t) => percentile(t, 95)},
    {id: '5', size: 10000, label: 'pull apply: clear + 10,000 puts', w: 'pullApply', p: {keys: n(10000)}},
    {id: '6', size: 10000, label: 'rebase 100 pending on a 10,000-key pull', w: 'rebase', p: {keys: n(10000), changed: n(10000), pending: 100}},
    {id: '10a', size: 1000, label: 'populate 1,000 keys, 1 index', w: 'populateIndexed', p: {keys: n(1000), indexes: 1}},
    {id: '10b', size: 10000, label: 'populate 10,000 keys, 1 index', w: 'populateIndexed', p: {keys: n(10000), indexes: 1}},
    {id: '10c', size: 10000, label: 'populate 10,000 keys, 2 indexes', w: 'populateIndexed', p: {keys: n(10000), indexes: 2}},
    {id: '10d', size: 10000, label: 'index scan 10,000 keys, warm', w: 'indexScan', p: {keys: n(10000)}},
    // What apps do beyond toArray() (issue 14).
    {id: '11a', size: 10000, label: 'scan 10,000 keys with for await, warm', w: 'scanIterated', p: {keys: n(10000)}},
    {id: '11b', size: 100000, label: 'prefix scan of 1,000 of 100,000 keys, warm', w: 'prefixScan', p: {keys: quick ? 20000 : 100000}},
    {id: '11c', size: 10000, label: 'incremental pull changing 10,000 of 10,000 keys', w: 'pullIncremental', p: {keys: n(10000)}},
    {id: '11d', size: 10000, label: '11c with a subscription scanning the prefix', w: 'pullSubscribed', p: {keys: n(10000)}},
  ];
  return rows;
}

export function scalingRows({quick = false} = {}) {
  const sizes = quick ? [100, 1000] : [1000, 10000, 100000];
  const rows = [];
  for (const size of sizes) {
    rows.push({id: `3@${size}`, row: '3', size, label: `scan ${size} keys`, w: 'scan', p: {keys: size}});
    rows.push({id: `5@${size}`, row: '5', size, label: `pull apply ${size} puts`, w: 'pullApply', p: {keys: size}});
    rows.push({id: `6@${size}`, row: '6', size, label: `rebase 100 on ${size}-key cache`, w: 'rebase',
      p: {keys: size, changed: Math.min(size, 10000), pending: 100}});
  }
  return rows;
}

// Runs `rows` for both libraries. `runs` timed runs each after one warm-up,
// alternating which library goes first (a row may set `maxRuns`, and
// `warmup: false`). `table` holds the workloads (workloads.js by default;
// persist.js for the IndexedDB rows). Returns {id: {label, a, b, ratio}}
// with medians in ms (a = libs[0], b = libs[1]).
export async function runRows(libs, rows, {runs = 5, log = () => {}, runsFor = () => runs, table = workloads} = {}) {
  const results = {};
  const groups = {};
  for (const row of rows) {
    if (row.derivedFrom) continue;
    const samples = [[], []];
    const raw = [[], []];
    const count = Math.min(runsFor(row), row.maxRuns ?? Infinity);
    // A row can go without the warm-up (one whose single run takes long).
    for (let r = row.warmup === false ? 0 : -1; r < count; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const value = await table[row.w](libs[i], row.p);
        if (r < 0) continue;  // warm-up
        raw[i].push(value);
        samples[i].push(row.reduce ? row.reduce(value) : value);
      }
    }
    const a = median(samples[0]);
    const b = median(samples[1]);
    results[row.id] = {label: row.label, a, b, ratio: a / b};
    if (row.group) groups[row.group] = raw;
    log(row.id, results[row.id]);
  }
  for (const row of rows) {
    if (!row.derivedFrom) continue;
    const raw = groups[row.derivedFrom];
    if (!raw) continue;
    const a = median(raw[0].map(row.reduce));
    const b = median(raw[1].map(row.reduce));
    results[row.id] = {label: row.label, a, b, ratio: a / b};
    log(row.id, results[row.id]);
  }
  return results;
}
