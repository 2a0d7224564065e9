// Node-side helpers for the browser rows: the Replicache bundle, a static
// server for the bench pages, the browser engines (tests/e2e/browsers.js,
// the same launch code as the e2e suite) and a call into a bench page that
// may run for minutes. Used by run.js and profile-persist.js.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {execFileSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {ENGINES, openEngine} from '../../tests/e2e/browsers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
export let packageDir = path.join(repoRoot, 'build-wasm/package');

// Copies the package to a folder of this run and serves it from there: a
// run of all engines lasts long, and the engineers who share the work tree
// rebuild build-wasm meanwhile; every engine must measure the same build.
export function snapshotPackage() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-bench-package-'));
  fs.cpSync(packageDir, dir, {recursive: true});
  packageDir = dir;
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  return dir;
}

export function replicoreEntry() {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const exp = pkg.exports?.['.'] ?? pkg.exports ?? pkg.module ?? pkg.main;
  const file = typeof exp === 'string' ? exp : exp.import ?? exp.default;
  return path.join(packageDir, file);
}

// `impl`: also export ReplicacheImpl (for the persistence rows, which call
// its persist(); see persist.js). The size row measures the plain bundle.
export async function bundleReplicache({impl = false} = {}) {
  const esbuild = await import('esbuild');
  const outfile = path.join(os.tmpdir(), `replicache-bundle-${process.pid}${impl ? '-impl' : ''}.js`);
  const contents = "export * from 'replicache';" + (impl ? "export {ReplicacheImpl} from 'replicache/impl';" : '');
  await esbuild.build({
    stdin: {contents, resolveDir: here, loader: 'js'},
    bundle: true, format: 'esm', minify: true, platform: 'browser', outfile, logLevel: 'error',
    define: {'process.env.NODE_ENV': '"production"'},
  });
  return outfile;
}

const CONTENT_TYPES = {'.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html'};

// Cross-origin isolated, so that performance.now() ticks in 5 µs rather
// than Chromium's default 100 µs: row 4's per-mutation times are ~0.1 ms,
// and at 100 µs their medians and p95s were quantized to 0.1/0.2/0.3.
const ISOLATION = {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp'};

// Serves the bench pages (`pages`: path -> HTML), bench/js/*.js at /bench/,
// the package at /replicore/ and the Replicache bundle at /replicache.js.
// `cacheLibraries`: the two libraries are sent cacheable for an hour, as an
// app would deploy them, so that the page loads of the cold-start rows get
// them (and V8's code caches of their JS and WebAssembly) from the cache
// like a returning visitor, for both libraries alike.
//
// Every file is read once, at the start: a run serves one version of the
// package and of the bench code even if the tree changes while it runs.
export async function startServer(pages, replicacheBundle, {cacheLibraries = false} = {}) {
  const files = new Map();  // url path -> {data, type, library}
  const add = (urlPath, file, library) => files.set(urlPath, {data: fs.readFileSync(file), type: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', library});
  add('/replicache.js', replicacheBundle, true);
  for (const f of fs.readdirSync(here).filter((x) => x.endsWith('.js'))) add(`/bench/${f}`, path.join(here, f), false);
  for (const f of fs.readdirSync(packageDir).filter((x) => /\.(m?js|wasm)$/.test(x))) add(`/replicore/${f}`, path.join(packageDir, f), true);
  const loadedAt = new Date().toUTCString();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (Object.hasOwn(pages, url.pathname)) {
      res.writeHead(200, {'Content-Type': 'text/html', 'Cache-Control': 'no-store', ...ISOLATION});
      return res.end(pages[url.pathname]);
    }
    const f = files.get(url.pathname);
    if (url.pathname === '/favicon.ico') {
      // Asked for by Chromium: no icon, and no 404 in the page's console.
      res.writeHead(204);
      return res.end();
    }
    if (!f) {
      res.writeHead(404);
      return res.end();
    }
    const headers = {'Content-Type': f.type, ...ISOLATION};
    if (f.library && cacheLibraries) {
      headers['Cache-Control'] = 'public, max-age=3600';
      headers['Last-Modified'] = loadedAt;
    } else {
      headers['Cache-Control'] = 'no-store';
    }
    res.writeHead(200, headers);
    res.end(f.data);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {server, base: `http://127.0.0.1:${server.address().port}`};
}

export {ENGINES};

// How each engine runs the pages.
export const ENGINE_LABELS = {chromium: 'headless', firefox: 'headless', webkit: 'a window on Xvfb'};

// The engine's version, for the doc (WebKitGTK's user agent names a frozen
// WebKit version, not the library's).
export function engineVersion(engine) {
  const commands = {
    chromium: ['/usr/bin/chromium', ['--version']],
    firefox: ['/usr/bin/firefox-esr', ['--version']],
    webkit: ['dpkg-query', ['-W', '-f=WebKitGTK ${Version}', 'libwebkit2gtk-4.1-0']],
  };
  try {
    return execFileSync(...commands[engine], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim().split('\n')[0]
      .replace(/ built on .*/, '').replace(/^Mozilla /, '');
  } catch {
    return engine;
  }
}

// What each engine is launched with for the benchmark, beyond what the e2e
// suite gives it. Chromium: a larger V8 heap (the 100,000-key rows hold
// several copies of the data). Firefox: no async stack capture; under
// WebDriver BiDi, Firefox ESR records the stack of every await and promise
// reaction (new Error().stack after an await shows "async*" frames), which
// made 100,000 awaits 7 times slower than in Chromium and Replicache's
// promise-heavy reads 50 times slower: a cost of the automation, which a
// user's Firefox does not pay.
// BENCH_CHROMIUM_JS_FLAGS adds V8 flags for an experiment, e.g.
// --no-wasm-lazy-compilation (how much of a row is compiling wasm code).
const LAUNCH = {
  chromium: {args: [`--js-flags=--max-old-space-size=8192 ${process.env.BENCH_CHROMIUM_JS_FLAGS ?? ''}`.trim()]},
  firefox: {prefs: {'javascript.options.asyncstack': false}},
  webkit: {},
};

// A browser context of `engine` in a new profile (so an empty IndexedDB)
// with storage on disk as a user's is. Close the context and then the
// engine (`dispose`).
export async function openBrowser(engine) {
  const e = await openEngine(engine);
  const context = await e.newContext({onDisk: true, ...LAUNCH[engine]});
  return {
    context,
    async dispose() {
      await context.close();
      await e.close();
    },
  };
}

// Opens `url` in a new page of `context` and waits for window.benchReady.
export async function openPage(context, url) {
  const tab = await context.newPage();
  await tab.goto(url);
  await tab.waitForFunction(() => window.benchReady === true, null, {timeout: 60000});
  return tab;
}

// Calls window[name](...args) in the page and returns its result. The call
// is started, then polled once a second until it settled, rather than held
// open as one driver command: a row runs for minutes, longer than
// WebDriver's script timeout (WebKit) or puppeteer's protocol timeout
// (Firefox) allow, and a poll a second does not disturb the timings.
export async function callPage(tab, name, args = [], {timeout = 3 * 3600 * 1000} = {}) {
  await tab.evaluate(([n, a]) => {
    window.benchCall = {done: false};
    Promise.resolve().then(() => window[n](...a)).then(
      (value) => { window.benchCall = {done: true, value}; },
      (e) => {
        // The message and the stack (WebKit's stack has no message in it).
        window.benchCall = {done: true, error: `${e}${e?.stack ? `\n${e.stack}` : ''}`};
      });
  }, [name, args]);
  // Polled with one short evaluate a second, not the driver's own wait:
  // puppeteer's waitForFunction over WebDriver BiDi failed ("Waiting
  // failed") under Firefox's 7p-loop, whose Replicache run takes minutes.
  const deadline = Date.now() + timeout;
  while (!(await tab.evaluate(() => window.benchCall.done))) {
    if (Date.now() > deadline) throw new Error(`${name} in the page: not done after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const r = await tab.evaluate(() => window.benchCall);
  if (r.error) throw new Error(`${name} in the page: ${r.error}`);
  return r.value;
}

// The page's pageerror lines not printed yet (`seen`: how many were).
export async function newPageErrors(tab, seen = 0) {
  const lines = (await tab.consoleLines()).filter((l) => l.startsWith('pageerror:') || l.startsWith('error:'));
  return lines.slice(seen);
}

// Opens the page at `url` in each engine in turn (one browser at a time)
// and returns {engine: what `measure(tab)` resolved to}.
export async function inEachEngine(engines, url, measure) {
  const results = {};
  for (const engine of engines) {
    const browser = await openBrowser(engine);
    try {
      results[engine] = await measure(await openPage(browser.context, url));
    } finally {
      await browser.dispose();
    }
  }
  return results;
}
