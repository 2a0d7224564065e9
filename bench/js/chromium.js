// Node-side helpers for the Chromium rows: the Replicache bundle, a static
// server for the bench pages, and headless Debian Chromium with a new
// profile. Used by run.js and profile-persist.js.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
export const packageDir = path.join(repoRoot, 'build-wasm/package');

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

// Headless Debian Chromium with a new profile (so a new, empty IndexedDB).
export async function launchChromium() {
  const {chromium} = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--js-flags=--max-old-space-size=8192'],
  });
  return {
    context,
    async dispose() {
      await context.close();
      fs.rmSync(profile, {recursive: true, force: true});
    },
  };
}
