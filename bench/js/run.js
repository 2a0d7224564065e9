// The replicore-vs-Replicache benchmark (a program, not a test): every row of
// shared/BENCHMARKS.md except cold start, in Node and in headless Chromium,
// the two libraries alternating, medians and the ratio replicore/Replicache
// (below 1: replicore is faster). Writes docs/benchmarks.md and the scaling
// chart docs/benchmarks-scaling.svg.
//
//   node bench/js/run.js [--runs N] [--quick] [--no-browser] [--rows 1a,3,...] [--no-write]
process.env.NODE_ENV = 'production';  // before Replicache loads (BENCHMARKS.md)

import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import zlib from 'node:zlib';
import {runRows, scalingRows, timedRows} from './suite.js';
import {workloads} from './workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const packageDir = path.join(repoRoot, 'build-wasm/package');
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

function replicoreEntry() {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const exp = pkg.exports?.['.'] ?? pkg.exports ?? pkg.module ?? pkg.main;
  const file = typeof exp === 'string' ? exp : exp.import ?? exp.default;
  return path.join(packageDir, file);
}

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
async function bundleReplicache() {
  const esbuild = await import('esbuild');
  const outfile = path.join(os.tmpdir(), `replicache-bundle-${process.pid}.js`);
  await esbuild.build({
    stdin: {contents: "export * from 'replicache';", resolveDir: here, loader: 'js'},
    bundle: true, format: 'esm', minify: true, platform: 'browser', outfile, logLevel: 'error',
    define: {'process.env.NODE_ENV': '"production"'},
  });
  return outfile;
}

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
const CONTENT_TYPES = {'.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html'};

async function runInBrowser({runs, quick, rowIDs, replicacheBundle}) {
  const {chromium} = await import('playwright-core');
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
  // Cross-origin isolated, so that performance.now() ticks in 5 µs rather
  // than Chromium's default 100 µs: row 4's per-mutation times are ~0.1 ms,
  // and at 100 µs their medians and p95s were quantized to 0.1/0.2/0.3.
  const isolation = {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp'};
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (url.pathname === '/') {
      res.writeHead(200, {'Content-Type': 'text/html', ...isolation});
      return res.end(page);
    }
    if (url.pathname === '/replicache.js') file = replicacheBundle;
    else if (url.pathname.startsWith('/bench/')) file = path.join(here, path.basename(url.pathname));
    else if (url.pathname.startsWith('/replicore/')) file = path.join(packageDir, path.basename(url.pathname));
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, {'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', ...isolation});
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--js-flags=--max-old-space-size=8192'],
  });
  try {
    const tab = context.pages()[0] ?? (await context.newPage());
    tab.on('pageerror', (e) => console.error('[chromium] page error:', e.message));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
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
    return results;
  } finally {
    await context.close();
    fs.rmSync(profile, {recursive: true, force: true});
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

function markdownTable(results, title) {
  let md = `### ${title}\n\n| row | workload | replicore (ms) | Replicache (ms) | ratio |\n| --- | --- | ---: | ---: | ---: |\n`;
  // Integer-like ids ('2', '3') enumerate before '1a' in a JS object: sort.
  const entries = Object.entries(results).sort(([x], [y]) => x.localeCompare(y, 'en', {numeric: true}));
  for (const [id, r] of entries) md += `| ${id} | ${r.label} | ${fmt(r.a)} | ${fmt(r.b)} | ${fmtRatio(r.ratio)} |\n`;
  return md + '\n';
}

async function main() {
  if (flag('--memory-child')) return memoryChild(option('--memory-child'));
  const runs = Number(option('--runs', 5));
  const quick = flag('--quick');
  const only = option('--rows', null)?.split(',');
  const pick = (rows) => rows.filter((r) => !only || only.includes(r.id) || only.includes(r.row) || (r.derivedFrom && only.some((o) => o.startsWith(r.id.slice(0, 2)))));
  const started = new Date();
  const loadAtStart = os.loadavg();
  console.log(`replicore vs Replicache 15.3.0 — Node ${process.versions.node}, ${os.cpus().length} CPUs, load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, runs ${runs}${quick ? ' (quick)' : ''}`);

  const libs = await loadLibs();
  const timed = pick(timedRows({quick}));
  const scaling = pick(scalingRows({quick}));
  const node = await runRows(libs, timed, {runs, log: printRow('node')});
  const nodeScaling = await runRows(libs, scaling, {runs, runsFor: (r) => (r.size >= 100000 ? Math.min(BIG_RUNS, runs) : runs), log: printRow('node')});

  const sizes = await measureSizes();
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  console.log(`[size] replicore (${sizes.replicoreFiles.join(' + ')}): ${kib(sizes.replicore.raw)} raw, ${kib(sizes.replicore.gzip)} gzip, ${kib(sizes.replicore.brotli)} brotli`);
  console.log(`[size] Replicache (esbuild bundle, minified): ${kib(sizes.replicache.raw)} raw, ${kib(sizes.replicache.gzip)} gzip, ${kib(sizes.replicache.brotli)} brotli`);
  console.log(`[size] ratio brotli ${(sizes.replicore.brotli / sizes.replicache.brotli).toFixed(2)}, gzip ${(sizes.replicore.gzip / sizes.replicache.gzip).toFixed(2)}`);

  const memKeys = quick ? 10000 : 100000;
  const memory = measureMemory(memKeys);
  console.log(`[memory] heap+external bytes per key at ${memKeys} keys: replicore ${memory.replicore.heapPerKey.toFixed(0)}, Replicache ${memory.replicache.heapPerKey.toFixed(0)}, ratio ${(memory.replicore.heapPerKey / memory.replicache.heapPerKey).toFixed(2)}`);
  console.log(`[memory] rss bytes per key: replicore ${memory.replicore.rssPerKey.toFixed(0)}, Replicache ${memory.replicache.rssPerKey.toFixed(0)}`);

  let browser = null;
  let browserScaling = null;
  if (!flag('--no-browser')) {
    const bundle = await bundleReplicache();
    try {
      const ids = timed.filter((r) => !r.derivedFrom).map((r) => r.id);
      browser = await runInBrowser({runs, quick, rowIDs: ids, replicacheBundle: bundle});
      browserScaling = await runInBrowser({runs, quick, rowIDs: scaling.map((r) => r.id), replicacheBundle: bundle});
    } finally {
      fs.rmSync(bundle, {force: true});
    }
  }

  if (flag('--no-write') || only) return;
  const docs = path.join(repoRoot, 'docs');
  fs.mkdirSync(docs, {recursive: true});
  let md = `# replicore vs Replicache 15.3.0\n\nGenerated by \`node bench/js/run.js\` on ${started.toISOString().slice(0, 16)} UTC ` +
    `(Node ${process.versions.node}, ${os.cpus().length} CPUs, load average at start ${loadAtStart[0].toFixed(2)}; ${runs} runs after a warm-up (100,000-key rows: ${Math.min(BIG_RUNS, runs)}), medians; ` +
    `ratio = replicore / Replicache, below 1 is faster). Replicache runs with \`kvStore: 'mem'\`, \`pullInterval: null\`, NODE_ENV=production.\n\n`;
  md += markdownTable(node, 'Node');
  if (browser) md += markdownTable(browser, 'Headless Chromium');
  md += markdownTable(nodeScaling, 'Scaling in Node (rows 3, 5, 6)');
  if (browserScaling) md += markdownTable(browserScaling, 'Scaling in headless Chromium');
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

await main();
