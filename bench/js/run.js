// The replicore-vs-Replicache benchmark (a program, not a test): the rows of
// shared/BENCHMARKS.md in Node and in headless Chromium, the two libraries
// alternating, medians and the ratio replicore/Replicache (below 1:
// replicore is faster); the rows that need a real store (2-idb, 7p, 7 cold
// start, persist.js) in Chromium only, with IndexedDB. Writes
// docs/benchmarks.md and the scaling chart docs/benchmarks-scaling.svg.
//
//   node bench/js/run.js [--runs N] [--quick] [--no-browser] [--rows 1a,3,...] [--no-write]
//
// --rows (or the environment variable BENCH_ROWS) runs only the rows named,
// by id (1a, 3@10000, 7p-loop) or by row number (3, 7, 7p, 2-idb; 8 = size,
// 9 = memory), e.g. `BENCH_ROWS=2-idb,7p,7 bash bench/run.sh`. A partial run
// prints its figures and does not rewrite docs/benchmarks.md.
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
import {bundleReplicache, launchChromium, packageDir, replicoreEntry, startServer} from './chromium.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const args = process.argv.slice(2);
// Runs of the 100,000-key scaling rows (each takes seconds). Five, not
// three: with three, one slow sample in Chromium (a GC) moved a median by
// half.
const BIG_RUNS = 5;
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

async function loadLibs() {
  // The installed package (bench/run.sh installs it from its tarball).
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

// --- Chromium -----------------------------------------------------------------
async function runInBrowser({runs, quick, rowIDs, replicacheBundle}) {
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
  const log = [];
  const results = await runRows(libs, rows, {runs: options.runs, runsFor: (r) => r.size >= 100000 ? Math.min(${BIG_RUNS}, options.runs) : options.runs, log: (id, r) => log.push([id, r])});
  return results;
};
window.benchReady = true;
</script>`;
  const {server, base} = await startServer({'/': page}, replicacheBundle);
  const {context, dispose} = await launchChromium();
  try {
    const tab = context.pages()[0] ?? (await context.newPage());
    tab.on('pageerror', (e) => console.error('[chromium] page error:', e.message));
    await tab.goto(`${base}/`);
    await tab.waitForFunction(() => window.benchReady === true, null, {timeout: 30000});
    if (!(await tab.evaluate(() => crossOriginIsolated))) console.log('[chromium] warning: not cross-origin isolated: timer resolution is 100 µs');
    const results = {};
    // One row per evaluate call, so progress shows and no call runs for long.
    for (const id of rowIDs) {
      const r = await tab.evaluate(([ids, options]) => window.runBench(ids, options), [[id], {runs, quick}]);
      for (const [rid, value] of Object.entries(r)) {
        results[rid] = value;
        printRow('chromium')(rid, value);
      }
    }
    // These rows run both libraries with kvStore 'mem' (workloads.js): in a
    // browser replicore's default is IndexedDB, which they must not use.
    const dbs = await tab.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    const stray = dbs.filter((n) => n.startsWith('replicore'));
    if (stray.length) console.log(`[chromium] warning: the 'mem' rows left IndexedDB databases: ${stray.join(', ')}`);
    return results;
  } finally {
    await dispose();
    server.close();
  }
}

// --- 2-idb, 7p, 7: IndexedDB rows, Chromium only ------------------------------------
// `ids`: the 2-idb/7p rows to run (persist.js persistRows); `sizes`: the
// cold-start sizes. A new browser profile, so the store starts empty.
async function runPersistenceInBrowser({runs, quick, ids, sizes, replicacheBundle}) {
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
  const {context, dispose} = await launchChromium();
  const openTab = async (url) => {
    const tab = await context.newPage();
    tab.on('pageerror', (e) => console.error('[chromium] page error:', e.message));
    await tab.goto(url);
    await tab.waitForFunction(() => window.benchReady === true, null, {timeout: 30000});
    return tab;
  };
  const results = {};
  const extra = {coldSetup: {}, coldSinceNavigation: {}};
  try {
    if (ids.length) {
      const tab = await openTab(`${base}/persist`);
      if (!(await tab.evaluate(() => crossOriginIsolated))) console.log('[chromium] warning: not cross-origin isolated: timer resolution is 100 µs');
      // One workload per evaluate call (with the rows derived from it).
      const rows = persistRows({quick});
      for (const id of ids.filter((x) => !rows.find((r) => r.id === x).derivedFrom)) {
        const row = rows.find((r) => r.id === id);
        const withDerived = [id, ...rows.filter((r) => r.derivedFrom && r.derivedFrom === row.group && ids.includes(r.id)).map((r) => r.id)];
        const r = await tab.evaluate(([x, options]) => window.runPersist(x, options), [withDerived, {runs, quick}]);
        for (const [rid, value] of Object.entries(r)) {
          results[rid] = value;
          printRow('chromium idb')(rid, value);
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
        const t = await setupTab.evaluate(([w, p]) => window.coldSetup(w, p), [which, {name: names[which], keys: size}]);
        extra.coldSetup[`${which}@${size}`] = t;
        console.log(`[chromium idb] 7 set-up ${String(size).padStart(6)} keys: ${which.padEnd(10)} pull ${fmt(t.pull)} ms, then until durable ${fmt(t.persist)} ms`);
      }
      await setupTab.close();
      const count = size >= 100000 ? Math.min(BIG_RUNS, runs) : runs;
      const samples = {get: [[], []], scan: [[], []]};
      const since = {get: [[], []], scan: [[], []]};
      for (let r = -1; r < count; r++) {
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          for (const mode of ['get', 'scan']) {
            // A fresh page for every start: nothing of the last one in memory.
            const tab = await openTab(`${base}/cold/${libs[i]}`);
            const v = await tab.evaluate((p) => window.coldStart(p), {name: names[libs[i]], keys: size, mode});
            await tab.close();
            if (r < 0) continue;  // warm-up (also fills the HTTP and code caches)
            samples[mode][i].push(v.ms);
            since[mode][i].push(v.end);
          }
        }
      }
      for (const [mode, id, label] of [['get', `7a@${size}`, `cold start, ${size} keys: to the first get`],
        ['scan', `7b@${size}`, `cold start, ${size} keys: to a full scan`]]) {
        const a = median(samples[mode][0]);
        const b = median(samples[mode][1]);
        results[id] = {label, a, b, ratio: a / b};
        printRow('chromium idb')(id, results[id]);
        extra.coldSinceNavigation[id] = {a: median(since[mode][0]), b: median(since[mode][1])};
        const n = extra.coldSinceNavigation[id];
        console.log(`[chromium idb]         (from navigation start: replicore ${fmt(n.a)} ms, Replicache ${fmt(n.b)} ms)`);
      }
    }
    return {results, extra};
  } finally {
    await dispose();
    server.close();
  }
}

// --- Output -----------------------------------------------------------------------
function scalingChart(node) {
  const panels = [['3', 'scan (row 3)'], ['5', 'pull apply (row 5)'], ['6', 'rebase 100 (row 6)']];
  const W = 300, H = 230, pad = {l: 52, r: 30, t: 30, b: 40};
  const colors = {a: '#2f6fde', b: '#d9822b'};
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W * 3}" height="${H + 30}" font-family="sans-serif" font-size="11">\n`;
  svg += `<rect width="100%" height="100%" fill="#fff"/>\n`;
  panels.forEach(([row, title], p) => {
    const pts = Object.entries(node).filter(([id]) => id.startsWith(`${row}@`))
      .map(([id, r]) => ({size: Number(id.split('@')[1]), a: r.a, b: r.b})).sort((x, y) => x.size - y.size);
    if (pts.length === 0) return;
    const x0 = p * W;
    const xs = pts.map((q) => Math.log10(q.size));
    const ys = pts.flatMap((q) => [Math.log10(Math.max(q.a, 0.01)), Math.log10(Math.max(q.b, 0.01))]);
    const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
    const [ymin, ymax] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
    const sx = (v) => x0 + pad.l + ((v - xmin) / Math.max(1e-9, xmax - xmin)) * (W - pad.l - pad.r);
    const sy = (v) => pad.t + (1 - (v - ymin) / Math.max(1e-9, ymax - ymin)) * (H - pad.t - pad.b);
    svg += `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>\n`;
    for (let e = ymin; e <= ymax; e++) {
      svg += `<line x1="${x0 + pad.l}" x2="${x0 + W - pad.r}" y1="${sy(e)}" y2="${sy(e)}" stroke="#eee"/>`;
      svg += `<text x="${x0 + pad.l - 4}" y="${sy(e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(Math.abs(e))} ms</text>\n`;
    }
    for (const q of pts) {
      svg += `<text x="${sx(Math.log10(q.size))}" y="${H - pad.b + 16}" text-anchor="middle">${q.size.toLocaleString('en')}</text>\n`;
    }
    svg += `<text x="${x0 + W / 2}" y="${H - 6}" text-anchor="middle">keys in the cache</text>\n`;
    for (const lib of ['a', 'b']) {
      const line = pts.map((q) => `${sx(Math.log10(q.size)).toFixed(1)},${sy(Math.log10(Math.max(q[lib], 0.01))).toFixed(1)}`).join(' ');
      svg += `<polyline points="${line}" fill="none" stroke="${colors[lib]}" stroke-width="2"/>\n`;
      for (const q of pts) svg += `<circle cx="${sx(Math.log10(q.size))}" cy="${sy(Math.log10(Math.max(q[lib], 0.01)))}" r="3" fill="${colors[lib]}"/>`;
    }
  });
  svg += `<g transform="translate(${pad.l},${H + 16})"><rect width="12" height="4" y="-4" fill="${colors.a}"/><text x="16">replicore</text>` +
    `<rect x="100" width="12" height="4" y="-4" fill="${colors.b}"/><text x="116">Replicache 15.3.0</text>` +
    `<text x="260">Node ${process.versions.node}, medians, log-log</text></g>\n</svg>\n`;
  return svg;
}

function markdownTable(results, title, {sort = true} = {}) {
  let md = `### ${title}\n\n| row | workload | replicore (ms) | Replicache (ms) | ratio |\n| --- | --- | ---: | ---: | ---: |\n`;
  // Integer-like ids ('2', '3') enumerate before '1a' in a JS object: sort.
  const entries = sort ? Object.entries(results).sort(([x], [y]) => x.localeCompare(y, 'en', {numeric: true})) : Object.entries(results);
  for (const [id, r] of entries) md += `| ${id} | ${r.label} | ${fmt(r.a)} | ${fmt(r.b)} | ${fmtRatio(r.ratio)} |\n`;
  return md + '\n';
}

export function persistenceSection({results, extra}, runs) {
  let md = `### Persistence in headless Chromium (rows 2-idb, 7p, 7: \`kvStore: 'idb'\`, both libraries)\n\n` +
    `Both libraries on Chromium's real IndexedDB, in a new browser profile. **Durable** means, for both: the IndexedDB ` +
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
    `\`tx.scan().entries().toArray()\` of all N (7b); a warm-up start first, then ${runs} per library alternating ` +
    `(100,000 keys: ${Math.min(BIG_RUNS, runs)}).\n\n`;
  md += markdownTable(results, 'Persistence, headless Chromium', {sort: false}).replace(/^### .*\n\n/, '');
  const since = Object.entries(extra.coldSinceNavigation);
  if (since.length) {
    md += `Cold start measured from the navigation start of the new tab instead (page and library load included; median):\n\n` +
      `| row | replicore (ms) | Replicache (ms) | ratio |\n| --- | ---: | ---: | ---: |\n`;
    for (const [id, v] of since) md += `| ${id} | ${fmt(v.a)} | ${fmt(v.b)} | ${fmtRatio(v.a / v.b)} |\n`;
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

async function main() {
  if (flag('--memory-child')) return memoryChild(option('--memory-child'));
  const runs = Number(option('--runs', 5));
  const quick = flag('--quick');
  const only = option('--rows', process.env.BENCH_ROWS || null)?.split(',').map((x) => x.trim()).filter(Boolean) ?? null;
  const pick = (rows) => rows.filter((r) => !only || only.includes(r.id) || only.includes(r.row) || (r.derivedFrom && only.some((o) => o.startsWith(r.id.slice(0, 2)))));
  const started = new Date();
  const loadAtStart = os.loadavg();
  console.log(`replicore vs Replicache 15.3.0 — Node ${process.versions.node}, ${os.cpus().length} CPUs, load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, runs ${runs}${quick ? ' (quick)' : ''}`);

  const libs = await loadLibs();
  const timed = pick(timedRows({quick}));
  const scaling = pick(scalingRows({quick}));
  const node = await runRows(libs, timed, {runs, log: printRow('node')});
  const nodeScaling = await runRows(libs, scaling, {runs, runsFor: (r) => (r.size >= 100000 ? Math.min(BIG_RUNS, runs) : runs), log: printRow('node')});

  const wants = (id) => !only || only.includes(id);
  let sizes = null;
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  if (wants('8')) {
    sizes = await measureSizes();
    console.log(`[size] replicore (${sizes.replicoreFiles.join(' + ')}): ${kib(sizes.replicore.raw)} raw, ${kib(sizes.replicore.gzip)} gzip, ${kib(sizes.replicore.brotli)} brotli`);
    console.log(`[size] Replicache (esbuild bundle, minified): ${kib(sizes.replicache.raw)} raw, ${kib(sizes.replicache.gzip)} gzip, ${kib(sizes.replicache.brotli)} brotli`);
    console.log(`[size] ratio brotli ${(sizes.replicore.brotli / sizes.replicache.brotli).toFixed(2)}, gzip ${(sizes.replicore.gzip / sizes.replicache.gzip).toFixed(2)}`);
  }

  const memKeys = quick ? 10000 : 100000;
  let memory = null;
  if (wants('9')) {
    memory = measureMemory(memKeys);
    console.log(`[memory] heap+external bytes per key at ${memKeys} keys: replicore ${memory.replicore.heapPerKey.toFixed(0)}, Replicache ${memory.replicache.heapPerKey.toFixed(0)}, ratio ${(memory.replicore.heapPerKey / memory.replicache.heapPerKey).toFixed(2)}`);
    console.log(`[memory] rss bytes per key: replicore ${memory.replicore.rssPerKey.toFixed(0)}, Replicache ${memory.replicache.rssPerKey.toFixed(0)}`);
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

  let browser = null;
  let browserScaling = null;
  let persistence = null;
  if (!flag('--no-browser')) {
    const bundle = await bundleReplicache();
    const implBundle = await bundleReplicache({impl: true});
    try {
      const ids = timed.filter((r) => !r.derivedFrom).map((r) => r.id);
      if (ids.length) browser = await runInBrowser({runs, quick, rowIDs: ids, replicacheBundle: bundle});
      if (scaling.length) browserScaling = await runInBrowser({runs, quick, rowIDs: scaling.map((r) => r.id), replicacheBundle: bundle});
      if (persistIDs.length || coldPicked.length) {
        persistence = await runPersistenceInBrowser({runs, quick, ids: persistIDs, sizes: coldPicked, replicacheBundle: implBundle});
      }
    } finally {
      fs.rmSync(bundle, {force: true});
      fs.rmSync(implBundle, {force: true});
    }
  }

  if (flag('--no-write') || only) return;
  const docs = path.join(repoRoot, 'docs');
  fs.mkdirSync(docs, {recursive: true});
  let md = `# replicore vs Replicache 15.3.0\n\nGenerated by \`node bench/js/run.js\` on ${started.toISOString().slice(0, 16)} UTC ` +
    `(Node ${process.versions.node}, ${os.cpus().length} CPUs, load average at start ${loadAtStart[0].toFixed(2)}; ${runs} runs after a warm-up (100,000-key rows: ${Math.min(BIG_RUNS, runs)}), medians; ` +
    `ratio = replicore / Replicache, below 1 is faster). Both libraries run with \`kvStore: 'mem'\` (rows 2-idb, 7p and 7: \`'idb'\`, ` +
    `see their section), \`pullInterval: null\`, NODE_ENV=production.\n\n`;
  md += markdownTable(node, 'Node');
  if (browser) md += markdownTable(browser, 'Headless Chromium');
  md += markdownTable(nodeScaling, 'Scaling in Node (rows 3, 5, 6)');
  if (browserScaling) md += markdownTable(browserScaling, 'Scaling in headless Chromium');
  if (persistence) md += persistenceSection(persistence, runs);
  md += `![scaling](benchmarks-scaling.svg)\n\n### Size (8)\n\n| | raw | gzip | brotli |\n| --- | ---: | ---: | ---: |\n` +
    `| replicore (${sizes.replicoreFiles.join(' + ')}) | ${kib(sizes.replicore.raw)} | ${kib(sizes.replicore.gzip)} | ${kib(sizes.replicore.brotli)} |\n` +
    `| Replicache (minified esbuild bundle) | ${kib(sizes.replicache.raw)} | ${kib(sizes.replicache.gzip)} | ${kib(sizes.replicache.brotli)} |\n\n` +
    `### Memory (9)\n\nHeap + external bytes per key with ${memKeys.toLocaleString('en')} keys of about 1 KiB held (each library in a fresh process): ` +
    `replicore ${memory.replicore.heapPerKey.toFixed(0)}, Replicache ${memory.replicache.heapPerKey.toFixed(0)} ` +
    `(ratio ${(memory.replicore.heapPerKey / memory.replicache.heapPerKey).toFixed(2)}).\n`;
  fs.writeFileSync(path.join(docs, 'benchmarks.md'), md);
  fs.writeFileSync(path.join(docs, 'benchmarks-scaling.svg'), scalingChart(nodeScaling));
  console.log(`wrote docs/benchmarks.md and docs/benchmarks-scaling.svg`);
}

// Run as a program (not when imported, e.g. to render a section).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
