// The replicore-vs-Replicache benchmark (a program, not a test): the rows of
// shared/BENCHMARKS.md in Node and in each browser engine (headless
// Chromium, headless Firefox ESR, WebKitGTK: tests/e2e/browsers.js), the
// two libraries alternating in the same process or page, medians and the
// ratio replicore/Replicache (below 1: replicore is faster); the rows that
// need a real store (2-idb, 7p, 7 cold start, persist.js) with each
// engine's IndexedDB. Keeps every section's figures in bench/js/results.json
// and renders docs/benchmarks.md and the scaling chart
// docs/benchmarks-scaling.svg from it.
//
//   node bench/js/run.js [--runs N] [--quick] [--engines chromium,firefox,webkit]
//                        [--no-node] [--no-browser] [--no-idb] [--idb-only] [--rows 1a,3,...] [--no-write]
//   node bench/js/run.js --render    (the doc and chart again from results.json)
//   node bench/js/run.js --help      (this text)
//
// --engines (or BENCH_ENGINES): the engines of the browser rows, IndexedDB
// rows included (default all three). --no-node skips what runs in Node
// (the Node rows, 8 = size, 9 = memory), --no-browser every browser row,
// --no-idb the IndexedDB rows, --idb-only the browser rows but those. An engine that fails is reported and the
// others go on; what they measured is kept. A run
// replaces in results.json the sections it ran (Node; each engine; each
// engine's persistence; size; memory) and keeps the others, so that e.g.
// `node bench/js/run.js --no-node --no-idb` measures the browser rows in all
// three engines and rewrites the doc with them.
//
// --rows (or the environment variable BENCH_ROWS) runs only the rows named,
// by id (1a, 3@10000, 7p-loop) or by row number (3, 7, 7p, 2-idb; 8 = size,
// 9 = memory), e.g. `BENCH_ROWS=2-idb,7p,7 bash bench/run.sh`. A partial run
// (--rows, --quick or --no-write) prints its figures and writes nothing.
process.env.NODE_ENV = 'production';  // before Replicache loads (BENCHMARKS.md)

import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import zlib from 'node:zlib';
import {median, runRows, scalingRows, timedRows} from './suite.js';
import {workloads} from './workloads.js';
import {coldSizes, persistRows} from './persist.js';
import {ENGINES, ENGINE_LABELS, bundleReplicache, callPage, engineVersion, newPageErrors, openBrowser, openPage, packageDir, replicoreEntry,
  snapshotPackage, startServer} from './pages.js';
import {flag, option} from './options.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
// Runs of the 100,000-key scaling rows (each takes seconds). Five, not
// three: with three, one slow sample in Chromium (a GC) moved a median by
// half.
const BIG_RUNS = 5;
// Cold starts (row 7) per library and row: twice the runs and one (11 by
// default), at 100,000 keys BIG_RUNS and two. A start is one event of tens
// of milliseconds in a new tab; on this 2-core machine WebKit's first get
// swung from 0.59 to 0.96 between two runs of the same build with five
// starts (docs/benchmarks.md, 2026-12-02).
const coldRuns = (runs, size) => (size >= 100000 ? Math.min(BIG_RUNS, runs) + 2 : 2 * runs + 1);
// How long one cold start may take (row 7; the slowest, Replicache's full
// scan of 100,000 keys in WebKit, takes about 9 s).
const COLD_START_TIMEOUT_MS = 120 * 1000;

async function loadLibs() {
  // The installed package (bench/run.sh installs it from its tarball). It
  // must be the package the browser rows and the size row measure
  // (build-wasm/package): run.js started by hand after a rebuild would
  // otherwise time an older install in Node.
  const installed = path.dirname(fileURLToPath(import.meta.resolve('replicore')));
  for (const f of ['replicore.js', 'replicore_wasm.wasm']) {
    if (!fs.readFileSync(path.join(installed, f)).equals(fs.readFileSync(path.join(packageDir, f)))) {
      throw new Error(`bench/js/node_modules/replicore/${f} is not the one in ${packageDir}: ` +
        'run the benchmark through bash bench/run.sh, which installs the built package');
    }
  }
  const replicore = await import('replicore');
  const replicache = await import('replicache');
  return [
    {name: 'replicore', Replicache: replicore.Replicache, extraOptions: {}},
    {name: 'replicache', Replicache: replicache.Replicache,
      extraOptions: {licenseKey: replicache.TEST_LICENSE_KEY}},
  ];
}

const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtRatio = (r) => r.toFixed(2);

function printRow(env) {
  return (id, r) => console.log(`[${env}] ${id.padEnd(7)} ${r.label.padEnd(44)} replicore ${fmt(r.a).padStart(8)} ms  ` +
    `Replicache ${fmt(r.b).padStart(8)} ms  ratio ${fmtRatio(r.ratio)}`);
}

// --- 8: shipped size --------------------------------------------------------
function sizesOf(files) {
  let raw = 0, gzip = 0, brotli = 0;
  for (const f of files) {
    const data = fs.readFileSync(f);
    raw += data.length;
    gzip += zlib.gzipSync(data, {level: 9}).length;
    brotli += zlib.brotliCompressSync(data, {params: {[zlib.constants.BROTLI_PARAM_QUALITY]: 11}}).length;
  }
  return {raw, gzip, brotli};
}

async function measureSizes() {
  const shipped = fs.readdirSync(packageDir).filter((f) => /\.(m?js|wasm)$/.test(f)).map((f) => path.join(packageDir, f));
  const bundle = await bundleReplicache();
  const result = {replicore: sizesOf(shipped), replicache: sizesOf([bundle]),
    replicoreFiles: shipped.map((f) => path.basename(f))};
  fs.rmSync(bundle, {force: true});
  return result;
}

// --- 9: heap per key, each library in a fresh process ---------------------------
async function memoryChild(which) {
  const libs = await loadLibs();
  const lib = libs.find((l) => l.name === which);
  const keys = Number(option('--keys', 100000));
  const usage = () => {
    global.gc();
    global.gc();
    const m = process.memoryUsage();
    return {heap: m.heapUsed + m.external, rss: m.rss};
  };
  const before = usage();
  const rep = await workloads.holdKeys(lib, {keys});
  const after = usage();
  console.log(JSON.stringify({heapPerKey: (after.heap - before.heap) / keys, rssPerKey: (after.rss - before.rss) / keys}));
  await rep.close();
}

function measureMemory(keys) {
  const out = {};
  for (const which of ['replicore', 'replicache']) {
    const text = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', which, '--keys', String(keys)],
      {env: {...process.env, NODE_ENV: 'production'}, encoding: 'utf8', maxBuffer: 1 << 20});
    out[which] = JSON.parse(text.trim().split('\n').pop());
  }
  return out;
}

// --- The browser rows, in one engine -----------------------------------------------
// Rows 1-6 (`timedIDs`) and the scaling rows (`scalingIDs`) in one page of
// `engine`, both libraries loaded in it. Returns {meta, timed, scaling}.
async function runInEngine(engine, {runs, quick, timedIDs, scalingIDs, replicacheBundle}) {
  const meta = runMeta(runs);
  const entry = path.basename(replicoreEntry());
  const page = `<!doctype html><meta charset="utf-8"><title>bench</title><script type="module">
import {runRows, timedRows, scalingRows} from '/bench/suite.js';
import {Replicache as Replicore} from '/replicore/${entry}';
import {Replicache, TEST_LICENSE_KEY} from '/replicache.js';
const libs = [
  {name: 'replicore', Replicache: Replicore, extraOptions: {}},
  {name: 'replicache', Replicache, extraOptions: {licenseKey: TEST_LICENSE_KEY}},
];
window.runBench = async (ids, options) => {
  const all = [...timedRows(options), ...scalingRows(options)];
  const rows = all.filter((r) => ids.includes(r.id) || (r.derivedFrom && all.some((g) => g.group === r.derivedFrom && ids.includes(g.id))));
  return runRows(libs, rows, {runs: options.runs, runsFor: (r) => r.size >= 100000 ? Math.min(${BIG_RUNS}, options.runs) : options.runs});
};
// What the engine gives to time with: the smallest step performance.now()
// took over 50 ms of reading it in a loop (each engine coarsens it, by how
// much depends on the engine and on cross-origin isolation).
window.timerInfo = () => {
  let step = Infinity;
  let last = performance.now();
  const end = last + 50;
  for (;;) {
    const t = performance.now();
    if (t > last) {
      step = Math.min(step, t - last);
      last = t;
    }
    if (t >= end) break;
  }
  return {isolated: crossOriginIsolated, step, userAgent: navigator.userAgent};
};
window.benchReady = true;
</script>`;
  const {server, base} = await startServer({'/': page}, replicacheBundle);
  const {context, dispose} = await openBrowser(engine);
  try {
    const tab = await openPage(context, `${base}/`);
    const timer = await tab.evaluate(() => window.timerInfo());
    const version = engineVersion(engine);
    console.log(`[${engine}] ${version}: crossOriginIsolated ${timer.isolated}, performance.now() steps of ${(timer.step * 1000).toFixed(1)} µs`);
    let errorsSeen = 0;
    const run = async (ids, out) => {
      // One row per call, so progress shows.
      for (const id of ids) {
        const r = await callPage(tab, 'runBench', [[id], {runs, quick}]);
        const errors = await newPageErrors(tab, errorsSeen);
        errorsSeen += errors.length;
        for (const line of errors) console.error(`[${engine}] ${line}`);
        for (const [rid, value] of Object.entries(r)) {
          out[rid] = value;
          printRow(engine)(rid, value);
        }
      }
      return out;
    };
    const timed = await run(timedIDs, {});
    const scaling = await run(scalingIDs, {});
    // These rows run both libraries with kvStore 'mem' (workloads.js): in a
    // browser replicore's default is IndexedDB, which they must not use.
    const dbs = await tab.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    const stray = dbs.filter((n) => n.startsWith('replicore'));
    if (stray.length) console.log(`[${engine}] warning: the 'mem' rows left IndexedDB databases: ${stray.join(', ')}`);
    return {meta: {...meta, engine, version, isolated: timer.isolated, timerStep: timer.step,
      userAgent: timer.userAgent}, timed, scaling};
  } finally {
    await dispose();
    server.close();
  }
}

// --- 2-idb, 7p, 7: IndexedDB rows, in one engine ----------------------------------
// `ids`: the 2-idb/7p rows to run (persist.js persistRows); `sizes`: the
// cold-start sizes. A new browser profile, so the store starts empty.
async function runPersistenceInBrowser(engine, {runs, quick, ids, sizes, replicacheBundle}) {
  const entry = path.basename(replicoreEntry());
  const persistPage = `<!doctype html><meta charset="utf-8"><title>bench idb</title><script type="module">
import {runRows} from '/bench/suite.js';
import {persistLibs, persistWorkloads, persistRows, coldSetup} from '/bench/persist.js';
import {Replicache as Replicore} from '/replicore/${entry}';
import {Replicache, ReplicacheImpl, TEST_LICENSE_KEY} from '/replicache.js';
const libs = persistLibs({Replicore, Replicache, ReplicacheImpl, TEST_LICENSE_KEY});
window.runPersist = (ids, options) => runRows(libs, persistRows(options).filter((r) => ids.includes(r.id)), {runs: options.runs, table: persistWorkloads});
window.coldSetup = (which, p) => coldSetup(libs.find((l) => l.name === which), p);
window.benchReady = true;
</script>`;
  // One page per library for the cold starts, loading only that library.
  const coldPage = (which) => `<!doctype html><meta charset="utf-8"><title>cold ${which}</title><script type="module">
import {coldStart} from '/bench/persist.js';
${which === 'replicore'
    ? `import {Replicache} from '/replicore/${entry}';\nconst lib = {name: 'replicore', Replicache, extraOptions: {}};`
    : `import {Replicache, TEST_LICENSE_KEY} from '/replicache.js';\nconst lib = {name: 'replicache', Replicache, extraOptions: {licenseKey: TEST_LICENSE_KEY}};`}
window.coldStart = (p) => coldStart(lib, p);
window.benchReady = true;
</script>`;
  const {server, base} = await startServer(
    {'/persist': persistPage, '/cold/replicore': coldPage('replicore'), '/cold/replicache': coldPage('replicache')},
    replicacheBundle, {cacheLibraries: true});
  const {context, dispose} = await openBrowser(engine);
  const openTab = (url) => openPage(context, url);
  // Calls a function of a page, and prints what the page reported as errors.
  const errorsSeen = new WeakMap();
  const call = async (tab, name, arg, options) => {
    const value = await callPage(tab, name, arg, options);
    const errors = await newPageErrors(tab, errorsSeen.get(tab) ?? 0);
    errorsSeen.set(tab, (errorsSeen.get(tab) ?? 0) + errors.length);
    for (const line of errors) console.error(`[${engine}] ${line}`);
    return value;
  };
  const results = {};
  const extra = {coldSetup: {}, coldSinceNavigation: {}, coldStalls: []};
  try {
    if (ids.length) {
      const tab = await openTab(`${base}/persist`);
      if (!(await tab.evaluate(() => crossOriginIsolated))) console.log(`[${engine}] warning: not cross-origin isolated: a coarser timer`);
      // One workload per call (with the rows derived from it).
      const rows = persistRows({quick});
      for (const id of ids.filter((x) => !rows.find((r) => r.id === x).derivedFrom)) {
        const row = rows.find((r) => r.id === id);
        const withDerived = [id, ...rows.filter((r) => r.derivedFrom && r.derivedFrom === row.group && ids.includes(r.id)).map((r) => r.id)];
        const r = await call(tab, 'runPersist', [withDerived, {runs, quick}]);
        for (const [rid, value] of Object.entries(r)) {
          results[rid] = value;
          printRow(`${engine} idb`)(rid, value);
        }
      }
      await tab.close();
    }
    const libs = ['replicore', 'replicache'];
    for (const size of sizes) {
      // The data, put in place once per library: a pull of `size` puts
      // (confirmed state), until durable, then closed.
      const names = {};
      const setupTab = await openTab(`${base}/persist`);
      for (const which of libs) {
        names[which] = `cold-${size}-${which}-${Math.random().toString(36).slice(2)}`;
        const t = await call(setupTab, 'coldSetup', [which, {name: names[which], keys: size}]);
        extra.coldSetup[`${which}@${size}`] = t;
        console.log(`[${engine} idb] 7 set-up ${String(size).padStart(6)} keys: ${which.padEnd(10)} pull ${fmt(t.pull)} ms, then until durable ${fmt(t.persist)} ms`);
      }
      await setupTab.close();
      const count = coldRuns(runs, size);
      const samples = {get: [[], []], scan: [[], []]};
      const since = {get: [[], []], scan: [[], []]};
      // When each start constructed, in ms since its tab's navigation.
      const at = {get: [[], []], scan: [[], []]};
      for (let r = -1; r < count; r++) {
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          for (const mode of ['get', 'scan']) {
            // A fresh page for every start: nothing of the last one in memory.
            const tab = await openTab(`${base}/cold/${libs[i]}`);
            let v;
            try {
              v = await call(tab, 'coldStart', [{name: names[libs[i]], keys: size, mode}], {timeout: COLD_START_TIMEOUT_MS});
            } catch (e) {
              if (!/not done after/.test(e.message)) throw e;
              // A start that never answers (seen once: Replicache's, in
              // WebKit, at 100,000 keys, its page idle for 10 minutes) is
              // reported and left out of the medians instead of holding
              // the run for hours.
              const what = `${libs[i]} ${mode === 'get' ? '7a' : '7b'}@${size}${r < 0 ? ' (warm-up)' : ''}`;
              console.log(`[${engine} idb] ${what}: no answer within ${COLD_START_TIMEOUT_MS / 1000} s; left out`);
              extra.coldStalls.push(what);
              await tab.close();
              continue;
            }
            await tab.close();
            if (r < 0) continue;  // warm-up (also fills the HTTP and code caches)
            samples[mode][i].push(v.ms);
            since[mode][i].push(v.end);
            at[mode][i].push(v.at);
          }
        }
      }
      for (const [mode, id, label] of [['get', `7a@${size}`, `cold start, ${size} keys: to the first get`],
        ['scan', `7b@${size}`, `cold start, ${size} keys: to a full scan`]]) {
        if (!samples[mode][0].length || !samples[mode][1].length) {
          console.log(`[${engine} idb] ${id}: no figure (every start of a library was left out)`);
          continue;
        }
        const a = median(samples[mode][0]);
        const b = median(samples[mode][1]);
        results[id] = {label, a, b, ratio: a / b};
        printRow(`${engine} idb`)(id, results[id]);
        extra.coldSinceNavigation[id] = {a: median(since[mode][0]), b: median(since[mode][1])};
        const n = extra.coldSinceNavigation[id];
        console.log(`[${engine} idb]         (from navigation start: replicore ${fmt(n.a)} ms, Replicache ${fmt(n.b)} ms)`);
        // Every start, in the order run, with when it constructed: a median
        // of five hides a start slowed by the tab before it.
        for (const i of [0, 1]) {
          const starts = samples[mode][i].map((ms, k) => `${fmt(ms)} (at ${fmt(at[mode][i][k])})`).join(', ');
          console.log(`[${engine} idb]         ${i === 0 ? 'replicore' : 'Replicache'} starts: ${starts}`);
        }
      }
    }
    return {results, extra};
  } finally {
    await dispose();
    server.close();
  }
}

// --- Results and output -----------------------------------------------------------
// Every section's figures, kept between runs: a run replaces the sections
// it measured, and the doc and chart are rendered from all of them.
const resultsFile = path.join(here, 'results.json');
const ENV_NAMES = {node: 'Node', chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit'};
// The goal of the benchmark issues: ratio 0.5 or below for every row at
// 10,000 keys and above.
const GOAL = 0.5;
const GOAL_SIZE = 10000;
const rowSize = Object.fromEntries([...timedRows(), ...scalingRows()].map((r) => [r.id, r.size]));
// The persistence rows' sizes: N keys for 7a/7b@N; 10,000 mutations or keys
// for the others. 7p-mut is a part of 7p, shown for information.
const persistRowSize = (id) => (id.includes('@') ? Number(id.split('@')[1]) : id === '7p-mut' ? 0 : 10000);
const missesGoal = (id, r) => (rowSize[id] ?? persistRowSize(id)) >= GOAL_SIZE && r.ratio > GOAL;
// A ratio in bold (a miss), with a third digit where two would read 0.50.
const missCell = (r) => `**${fmtRatio(r.ratio) === fmtRatio(GOAL) ? r.ratio.toFixed(3) : fmtRatio(r.ratio)}**`;

// When and how a section was measured; taken at its start.
function runMeta(runs) {
  return {date: new Date().toISOString().slice(0, 16), node: process.versions.node, cpus: os.cpus().length,
    load: os.loadavg()[0], runs, bigRuns: Math.min(BIG_RUNS, runs)};
}

const measured = (m) => `_Measured ${m.date} UTC (Node ${m.node}, ${m.cpus} CPUs, load average ${m.load.toFixed(2)} at the start); ` +
  `${m.runs} runs per library after a warm-up (100,000-key rows: ${m.bigRuns}), medians._\n\n`;

function scalingChart(envs) {
  const panels = [['3', 'scan (row 3)'], ['5', 'pull apply (row 5)'], ['6', 'rebase 100 (row 6)']];
  const W = 300, H = 200, left = 78, top = 28, pad = {l: 52, r: 24, t: 12, b: 40};
  const colors = {a: '#2f6fde', b: '#d9822b'};
  const pointsOf = (scaling, row) => Object.entries(scaling ?? {}).filter(([id]) => id.startsWith(`${row}@`))
    .map(([id, r]) => ({size: Number(id.split('@')[1]), a: r.a, b: r.b, ratio: r.ratio})).sort((x, y) => x.size - y.size);
  const lg = (ms) => Math.log10(Math.max(ms, 0.01));
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${left + W * 3}" height="${top + H * envs.length + 30}" font-family="sans-serif" font-size="11">\n`;
  svg += `<rect width="100%" height="100%" fill="#fff"/>\n`;
  panels.forEach(([row, title], p) => {
    const x0 = left + p * W;
    svg += `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>\n`;
    // One time scale per column, shared by the environments, so that the
    // engines compare by height.
    const all = envs.flatMap(([, scaling]) => pointsOf(scaling, row));
    if (all.length === 0) return;
    const xs = all.map((q) => Math.log10(q.size));
    const ys = all.flatMap((q) => [lg(q.a), lg(q.b)]);
    const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
    const [ymin, ymax] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
    envs.forEach(([, scaling], e) => {
      const pts = pointsOf(scaling, row);
      const y0 = top + e * H;
      const sx = (v) => x0 + pad.l + ((v - xmin) / Math.max(1e-9, xmax - xmin)) * (W - pad.l - pad.r);
      const sy = (v) => y0 + pad.t + (1 - (v - ymin) / Math.max(1e-9, ymax - ymin)) * (H - pad.t - pad.b);
      for (let d = ymin; d <= ymax; d++) {
        svg += `<line x1="${x0 + pad.l}" x2="${x0 + W - pad.r}" y1="${sy(d)}" y2="${sy(d)}" stroke="#eee"/>`;
        svg += `<text x="${x0 + pad.l - 4}" y="${sy(d) + 4}" text-anchor="end">${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(Math.abs(d))} ms</text>\n`;
      }
      for (const q of pts) {
        svg += `<text x="${sx(Math.log10(q.size))}" y="${y0 + H - pad.b + 14}" text-anchor="middle">${q.size.toLocaleString('en')}</text>`;
        // The ratio under each size: what the goal is about.
        svg += `<text x="${sx(Math.log10(q.size))}" y="${y0 + H - pad.b + 27}" text-anchor="middle" fill="${q.size >= GOAL_SIZE && q.ratio > GOAL ? '#c00' : '#666'}">×${q.ratio.toFixed(2)}</text>\n`;
      }
      for (const lib of ['a', 'b']) {
        const line = pts.map((q) => `${sx(Math.log10(q.size)).toFixed(1)},${sy(lg(q[lib])).toFixed(1)}`).join(' ');
        svg += `<polyline points="${line}" fill="none" stroke="${colors[lib]}" stroke-width="2"/>\n`;
        for (const q of pts) svg += `<circle cx="${sx(Math.log10(q.size)).toFixed(1)}" cy="${sy(lg(q[lib])).toFixed(1)}" r="3" fill="${colors[lib]}"/>`;
        svg += '\n';
      }
    });
  });
  envs.forEach(([name], e) => {
    svg += `<text x="8" y="${top + e * H + (H - 40) / 2 + 16}" font-weight="bold">${name}</text>\n`;
  });
  const y = top + H * envs.length + 16;
  svg += `<g transform="translate(${left + 52},${y})"><rect width="12" height="4" y="-4" fill="${colors.a}"/><text x="16">replicore</text>` +
    `<rect x="100" width="12" height="4" y="-4" fill="${colors.b}"/><text x="116">Replicache 15.3.0</text>` +
    `<text x="260">keys in the cache; medians, log-log; ×ratio (red: over ${GOAL} at ${GOAL_SIZE.toLocaleString('en')} keys and above)</text></g>\n</svg>\n`;
  return svg;
}

function markdownTable(results, title, {sort = true, goal = false} = {}) {
  let md = `${title ? `### ${title}\n\n` : ''}| row | workload | replicore (ms) | Replicache (ms) | ratio |\n| --- | --- | ---: | ---: | ---: |\n`;
  // Integer-like ids ('2', '3') enumerate before '1a' in a JS object: sort.
  const entries = sort ? Object.entries(results).sort(([x], [y]) => x.localeCompare(y, 'en', {numeric: true})) : Object.entries(results);
  for (const [id, r] of entries) {
    const ratio = goal && missesGoal(id, r) ? missCell(r) : fmtRatio(r.ratio);
    md += `| ${id} | ${r.label} | ${fmt(r.a)} | ${fmt(r.b)} | ${ratio} |\n`;
  }
  return md + '\n';
}

export function persistenceSection({meta, results, extra}, engine = 'chromium') {
  const runs = meta.runs;
  let md = `### Persistence in ${ENV_NAMES[engine]} (rows 2-idb, 7p, 7: \`kvStore: 'idb'\`, both libraries)\n\n` + measured(meta) +
    `Both libraries on ${ENV_NAMES[engine]}'s real IndexedDB, in a new browser profile. **Durable** means, for both: the IndexedDB ` +
    `transaction that holds the data has completed (a new page of the origin reads it). replicore is asked with its public ` +
    `\`await rep.flush()\`; Replicache 15.3.0 has no public flush (it persists on its own schedule, an idle callback at most ` +
    `every 500 ms, and \`close()\` does not persist), so it is asked with the \`persist()\` its scheduler calls, on ` +
    `\`ReplicacheImpl\` from \`replicache/impl\` (what \`new Replicache()\` builds; the call Replicache's own perf suite ` +
    `times), serialized with its scheduled runs. Rows:\n\n` +
    `- **2-idb**: 10,000 sequential \`await rep.mutate.put(...)\` (mutate does not wait for the disk in either library; each ` +
    `library's background persistence runs during the loop as in an app). **7p-loop**: the same loop, timed until the last ` +
    `mutation is durable (3 runs per library and no warm-up: Replicache takes over a minute a run).\n` +
    `- **7p**: one mutation putting 10,000 keys of about 1 KiB that it is given in its arguments (as an app's data ` +
    `arrives; replicore persists pending mutations, not their effects, so a mutator that made its values from a few ` +
    `numbers would let it write 40 bytes), from the call until durable (**7p-mut**: of which the mutation until its ` +
    `promise resolved).\n` +
    `- **7a/7b@N**: cold start with N keys of about 1 KiB persisted, put in place once per library by one pull of N puts ` +
    `from an in-memory puller (the confirmed state: the realistic case; replicore would replay data still pending as ` +
    `mutations, which is slower), until durable, then closed. Each start is a new tab of the same profile and origin ` +
    `(the libraries are served cacheable, so both load from the HTTP and code caches; the OS file cache is warm): from ` +
    `\`new Replicache(...)\` to the answer of the first query, \`tx.get\` of one key (7a) or ` +
    `\`tx.scan().entries().toArray()\` of all N (7b); a warm-up start first, then ${coldRuns(runs, 1000)} per library alternating ` +
    `(100,000 keys: ${coldRuns(runs, 100000)}).\n\n`;
  md += markdownTable(results, null, {sort: false, goal: true});
  const since = Object.entries(extra.coldSinceNavigation);
  if (since.length) {
    md += `Cold start measured from the navigation start of the new tab instead (page and library load included; median):\n\n` +
      `| row | replicore (ms) | Replicache (ms) | ratio |\n| --- | ---: | ---: | ---: |\n`;
    for (const [id, v] of since) md += `| ${id} | ${fmt(v.a)} | ${fmt(v.b)} | ${fmtRatio(v.a / v.b)} |\n`;
    if (extra.coldStalls?.length) {
      md += `\nCold starts that gave no answer within ${COLD_START_TIMEOUT_MS / 1000} s, left out of the medians: ` +
        `${extra.coldStalls.join(', ')}.\n`;
    }
    md += `\nSet-up of the cold-start data (once per size and library, for information): the pull of N puts until visible, ` +
      `then until durable (Replicache: its persist() of the pulled snapshot; replicore: flush(), which writes the pages):\n\n` +
      `| N | replicore pull (ms) | replicore until durable (ms) | Replicache pull (ms) | Replicache until durable (ms) |\n` +
      `| ---: | ---: | ---: | ---: | ---: |\n`;
    const setupSizes = [...new Set(Object.keys(extra.coldSetup).map((k) => Number(k.split('@')[1])))];
    for (const n of setupSizes) {
      const a = extra.coldSetup[`replicore@${n}`], b = extra.coldSetup[`replicache@${n}`];
      md += `| ${n.toLocaleString('en')} | ${fmt(a.pull)} | ${fmt(a.persist)} | ${fmt(b.pull)} | ${fmt(b.persist)} |\n`;
    }
    md += '\n';
  }
  return md;
}

// The hand-written part of the doc (what the figures of the engines mean,
// from profiles), kept verbatim from the doc a run rewrites: revise it by
// hand when the figures change.
const NOTES_START = '<!-- notes: written by hand, kept by run.js -->';
const NOTES_END = '<!-- /notes -->';

function handNotes(file) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const i = text.indexOf(NOTES_START);
  const j = text.indexOf(NOTES_END);
  return i >= 0 && j > i ? text.slice(i + NOTES_START.length, j).trim() : '';
}

function renderDoc(store, notes) {
  const engines = ENGINES.filter((e) => store.browsers?.[e]);
  const envs = [...(store.node ? [['node', store.node]] : []), ...engines.map((e) => [e, store.browsers[e]])];
  const persisted = ENGINES.filter((e) => store.persistence?.[e]);
  const metas = [...envs.map(([, s]) => s.meta), ...persisted.map((e) => store.persistence[e].meta), store.size?.meta,
    store.memory?.meta].filter(Boolean);
  const cpus = Math.max(...metas.map((m) => m.cpus));
  const shared = metas.some((m) => m.load >= 1);
  let md = `# replicore vs Replicache 15.3.0\n\n` +
    `Generated by \`node bench/js/run.js\` from the figures it keeps in \`bench/js/results.json\`: a run measures some ` +
    `sections (Node; each browser engine; each engine's persistence; size; memory) and keeps the others, so each section says when it ` +
    `was measured. Ratio = replicore / Replicache (below 1 is faster), the medians of the two libraries run alternately, ` +
    `run by run, in the same process or page. Both libraries run with \`kvStore: 'mem'\` (rows 2-idb, 7p and 7: ` +
    `\`'idb'\`, see their section), \`pullInterval: null\`, NODE_ENV=production.` +
    (shared ? ` Measured on a shared ${cpus}-core machine (other engineers build and test on it meanwhile; see the load ` +
      `averages): absolute times drift from run to run, the ratios of one run are what count.` : '') + '\n\n';

  // The ratios side by side: one column per environment.
  const byRow = (x, y) => x.row.localeCompare(y.row) || x.size - y.size;
  const ids = [...timedRows(), ...scalingRows().sort(byRow)].map((r) => r.id).filter((id) => envs.some(([, s]) => s.timed?.[id] ?? s.scaling?.[id]));
  md += `## Ratios at a glance\n\nThe ratio of each row in each environment, each against Replicache in the same environment; ` +
    `**bold**: over the goal of ${GOAL} for a row at ${GOAL_SIZE.toLocaleString('en')} keys and above.\n\n` +
    `| row | workload | keys | ${envs.map(([e]) => ENV_NAMES[e]).join(' | ')} |\n| --- | --- | ---: |${envs.map(() => ' ---: |').join('')}\n`;
  for (const id of ids) {
    const label = envs.map(([, s]) => (s.timed?.[id] ?? s.scaling?.[id])?.label).find(Boolean);
    const cells = envs.map(([, s]) => {
      const r = s.timed?.[id] ?? s.scaling?.[id];
      if (!r) return '–';
      return missesGoal(id, r) ? missCell(r) : fmtRatio(r.ratio);
    });
    md += `| ${id} | ${label} | ${rowSize[id].toLocaleString('en')} | ${cells.join(' | ')} |\n`;
  }
  md += '\n';

  if (store.node) {
    md += `## Node\n\n` + measured(store.node.meta);
    md += markdownTable(store.node.timed, 'Rows 1-6 in Node', {goal: true});
    md += markdownTable(store.node.scaling, 'Scaling in Node (rows 3, 5, 6)', {goal: true});
  }

  if (engines.length) {
    md += `## Browsers\n\nEach browser row runs in each engine with both libraries loaded in the same page, launched by the ` +
      `e2e suite's \`tests/e2e/browsers.js\`: Debian's Chromium driven by playwright-core (headless, a new profile, ` +
      `V8 heap limit 8 GiB), Firefox ESR by puppeteer-core over WebDriver BiDi (headless), WebKitGTK by ` +
      `selenium-webdriver through WebKitWebDriver (a window on an Xvfb display: Debian's WebKitGTK has no headless ` +
      `mode). The pages are served cross-origin isolated (COOP \`same-origin\`, COEP \`require-corp\`) so that ` +
      `\`performance.now()\` is as fine as each engine makes it; the step it took in the page (the smallest change seen ` +
      `in 50 ms of reading it) limits rows 4a/4b, whose times are a fraction of a millisecond:\n\n` +
      `| engine | version | crossOriginIsolated | performance.now() step |\n| --- | --- | --- | ---: |\n`;
    for (const e of engines) {
      const m = store.browsers[e].meta;
      md += `| ${ENV_NAMES[e]} | ${m.version} | ${m.isolated ? 'yes' : 'no'} | ${(m.timerStep * 1000).toFixed(m.timerStep < 0.01 ? 1 : 0)} µs |\n`;
    }
    md += '\n';
    for (const e of engines) {
      const s = store.browsers[e];
      md += `### ${s.meta.version} (${ENGINE_LABELS[e]})\n\n` + measured(s.meta);
      md += markdownTable(s.timed, null, {goal: true});
      md += `Scaling (rows 3, 5, 6):\n\n` + markdownTable(s.scaling, null, {goal: true});
    }
    md += `### Where the goal is missed\n\nRows at ${GOAL_SIZE.toLocaleString('en')} keys and above with a ratio over ${GOAL}, ` +
      `in the figures of this page:\n\n`;
    const list = (rows) => {
      const missed = Object.entries(rows).filter(([id, r]) => missesGoal(id, r));
      return missed.length ? missed.map(([id, r]) => `${id} (${missCell(r).replaceAll('*', '')})`).join(', ') : 'none';
    };
    for (const [e, s] of envs) {
      const persistence = store.persistence?.[e] ? `; persistence (below): ${list(store.persistence[e].results)}` : '';
      md += `- ${ENV_NAMES[e]}: ${list({...s.timed, ...s.scaling})}${persistence}\n`;
    }
    md += `\n${NOTES_START}\n${notes}\n${NOTES_END}\n\n`;
  }

  md += `### Scaling, every environment\n\n![scaling: rows 3, 5, 6 by cache size, in Node and each engine](benchmarks-scaling.svg)\n\n`;
  if (persisted.length) md += `## Persistence (IndexedDB)\n\n`;
  for (const e of persisted) md += persistenceSection(store.persistence[e], e);
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  if (store.size) {
    const sz = store.size;
    md += `### Size (8)\n\n` + `_Measured ${sz.meta.date} UTC._\n\n| | raw | gzip | brotli |\n| --- | ---: | ---: | ---: |\n` +
      `| replicore (${sz.replicoreFiles.join(' + ')}) | ${kib(sz.replicore.raw)} | ${kib(sz.replicore.gzip)} | ${kib(sz.replicore.brotli)} |\n` +
      `| Replicache (minified esbuild bundle) | ${kib(sz.replicache.raw)} | ${kib(sz.replicache.gzip)} | ${kib(sz.replicache.brotli)} |\n\n`;
  }
  if (store.memory) {
    const m = store.memory;
    md += `### Memory (9)\n\n_Measured ${m.meta.date} UTC (Node ${m.meta.node})._ Heap + external bytes per key with ` +
      `${m.keys.toLocaleString('en')} keys of about 1 KiB held (each library in a fresh process): ` +
      `replicore ${m.replicore.heapPerKey.toFixed(0)}, Replicache ${m.replicache.heapPerKey.toFixed(0)} ` +
      `(ratio ${(m.replicore.heapPerKey / m.replicache.heapPerKey).toFixed(2)}).\n`;
  }
  return {md, svg: scalingChart(envs.map(([e, s]) => [ENV_NAMES[e], s.scaling]))};
}

async function main() {
  if (flag('--memory-child')) return memoryChild(option('--memory-child'));
  const runs = Number(option('--runs', 5));
  const quick = flag('--quick');
  const only = option('--rows', process.env.BENCH_ROWS || null)?.split(',').map((x) => x.trim()).filter(Boolean) ?? null;
  const pick = (rows) => rows.filter((r) => !only || only.includes(r.id) || only.includes(r.row) || (r.derivedFrom && only.some((o) => o.startsWith(r.id.slice(0, 2)))));
  const engines = option('--engines', process.env.BENCH_ENGINES || ENGINES.join(',')).split(',').map((x) => x.trim()).filter(Boolean);
  for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`--engines: unknown engine ${e} (${ENGINES.join(', ')})`);
  const inNode = !flag('--no-node');
  const inBrowser = !flag('--no-browser');
  const loadAtStart = os.loadavg();
  if (inBrowser || inNode) snapshotPackage();
  console.log(`replicore vs Replicache 15.3.0 — Node ${process.versions.node}, ${os.cpus().length} CPUs, load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, runs ${runs}${quick ? ' (quick)' : ''}` +
    `${inBrowser ? `, engines ${engines.join(',')}` : ''}`);
  const wall = Date.now();

  // What this run measured, by section: node, size, memory, persistence, and each engine.
  const sections = {};
  const failed = [];
  const timed = pick(timedRows({quick}));
  const scaling = pick(scalingRows({quick}));
  if (inNode && (timed.length || scaling.length)) {
    const meta = runMeta(runs);
    const libs = await loadLibs();
    const node = await runRows(libs, timed, {runs, log: printRow('node')});
    const nodeScaling = await runRows(libs, scaling, {runs, runsFor: (r) => (r.size >= 100000 ? Math.min(BIG_RUNS, runs) : runs), log: printRow('node')});
    sections.node = {meta, timed: node, scaling: nodeScaling};
  }

  const wants = (id) => !only || only.includes(id);
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  if (inNode && wants('8')) {
    const meta = runMeta(runs);
    const sizes = await measureSizes();
    console.log(`[size] replicore (${sizes.replicoreFiles.join(' + ')}): ${kib(sizes.replicore.raw)} raw, ${kib(sizes.replicore.gzip)} gzip, ${kib(sizes.replicore.brotli)} brotli`);
    console.log(`[size] Replicache (esbuild bundle, minified): ${kib(sizes.replicache.raw)} raw, ${kib(sizes.replicache.gzip)} gzip, ${kib(sizes.replicache.brotli)} brotli`);
    console.log(`[size] ratio brotli ${(sizes.replicore.brotli / sizes.replicache.brotli).toFixed(2)}, gzip ${(sizes.replicore.gzip / sizes.replicache.gzip).toFixed(2)}`);
    sections.size = {meta, ...sizes};
  }

  const memKeys = quick ? 10000 : 100000;
  if (inNode && wants('9')) {
    const meta = runMeta(runs);
    const memory = measureMemory(memKeys);
    console.log(`[memory] heap+external bytes per key at ${memKeys} keys: replicore ${memory.replicore.heapPerKey.toFixed(0)}, Replicache ${memory.replicache.heapPerKey.toFixed(0)}, ratio ${(memory.replicore.heapPerKey / memory.replicache.heapPerKey).toFixed(2)}`);
    console.log(`[memory] rss bytes per key: replicore ${memory.replicore.rssPerKey.toFixed(0)}, Replicache ${memory.replicache.rssPerKey.toFixed(0)}`);
    sections.memory = {meta, keys: memKeys, ...memory};
  }

  // The IndexedDB rows: by id or row; a derived row needs the row it is
  // derived from, and a row brings the rows derived from it.
  const allPersist = persistRows({quick});
  const persistPicked = new Set(allPersist.filter((r) => wants(r.id) || (only && only.includes(r.row))).map((r) => r.id));
  for (const r of allPersist) {
    if (!persistPicked.has(r.id)) continue;
    if (r.derivedFrom) persistPicked.add(allPersist.find((g) => g.group === r.derivedFrom).id);
  }
  for (const r of allPersist) if (r.derivedFrom && persistPicked.has(allPersist.find((g) => g.group === r.derivedFrom).id)) persistPicked.add(r.id);
  const persistIDs = allPersist.map((r) => r.id).filter((id) => persistPicked.has(id));
  const coldPicked = coldSizes({quick}).filter((n) => wants('7') || only.includes(`7a@${n}`) || only.includes(`7b@${n}`) || only.includes(`7@${n}`));
  const idb = inBrowser && !flag('--no-idb') && (persistIDs.length || coldPicked.length);

  if (inBrowser) {
    const bundle = await bundleReplicache();
    const implBundle = await bundleReplicache({impl: true});
    try {
      // --idb-only: the engines' IndexedDB sections and nothing else.
      const timedIDs = flag('--idb-only') ? [] : timed.filter((r) => !r.derivedFrom).map((r) => r.id);
      const scalingIDs = flag('--idb-only') ? [] : scaling.map((r) => r.id);
      // One engine after another: on a small machine two at once would
      // measure each other.
      for (const engine of engines) {
        if (!timedIDs.length && !scalingIDs.length) break;
        const started = Date.now();
        try {
          sections[engine] = await runInEngine(engine, {runs, quick, timedIDs, scalingIDs, replicacheBundle: bundle});
        } catch (e) {
          // The other engines still run, and what they measured is kept.
          console.error(`[${engine}] FAILED: ${e.stack ?? e}`);
          failed.push(engine);
        }
        console.log(`[${engine}] done in ${((Date.now() - started) / 60000).toFixed(1)} min`);
      }
      for (const engine of idb ? engines : []) {
        const started = Date.now();
        try {
          const meta = runMeta(runs);
          sections[`persistence/${engine}`] = {meta, ...await runPersistenceInBrowser(engine,
            {runs, quick, ids: persistIDs, sizes: coldPicked, replicacheBundle: implBundle})};
        } catch (e) {
          console.error(`[${engine} idb] FAILED: ${e.stack ?? e}`);
          failed.push(`${engine} idb`);
        }
        console.log(`[${engine} idb] done in ${((Date.now() - started) / 60000).toFixed(1)} min`);
      }
    } finally {
      fs.rmSync(bundle, {force: true});
      fs.rmSync(implBundle, {force: true});
    }
  }
  console.log(`wall time ${((Date.now() - wall) / 60000).toFixed(1)} min`);

  if (flag('--no-write') || only || quick) {
    if (failed.length) throw new Error(`failed in ${failed.join(', ')}: see above`);
    return;
  }
  const store = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : {};
  store.browsers ??= {};
  store.persistence ??= {};
  for (const [name, section] of Object.entries(sections)) {
    if (ENGINES.includes(name)) store.browsers[name] = section;
    else if (name.startsWith('persistence/')) store.persistence[name.split('/')[1]] = section;
    else store[name] = section;
  }
  fs.writeFileSync(resultsFile, JSON.stringify(store, null, 1) + '\n');
  writeDoc(store);
  console.log(`wrote bench/js/results.json, docs/benchmarks.md and docs/benchmarks-scaling.svg (sections measured now: ${Object.keys(sections).join(', ')})`);
  if (failed.length) throw new Error(`failed in ${failed.join(', ')}: see above`);
}

function writeDoc(store) {
  const docs = path.join(repoRoot, 'docs');
  fs.mkdirSync(docs, {recursive: true});
  const file = path.join(docs, 'benchmarks.md');
  const {md, svg} = renderDoc(store, handNotes(file));
  fs.writeFileSync(file, md);
  fs.writeFileSync(path.join(docs, 'benchmarks-scaling.svg'), svg);
}

// Run as a program (not when imported, e.g. to render a section);
// `--render` only renders the doc and chart again from results.json.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (flag('--help') || flag('-h')) {
    // The comment at the top of this file, which is the manual.
    const source = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8');
    console.log(source.slice(0, source.indexOf('process.env.NODE_ENV')).replace(/^\/\/ ?/gm, '').trim());
  } else if (flag('--render')) writeDoc(JSON.parse(fs.readFileSync(resultsFile, 'utf8')));
  else await main();
}
