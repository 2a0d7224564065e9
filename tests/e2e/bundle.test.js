// A page built with a bundler: esbuild bundles an app that imports
// 'replicore' (installed from the packed tarball), the .wasm is copied next
// to the bundle as the package README says, and a real browser (the engine
// of the run: browsers.js) runs it: mutate, query, subscribe.
import {after, before} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import {engineName, openEngine} from './browsers.js';
import {engineTest, outputDir, serveFolder} from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const test = engineTest(engineName());
let engine;
let dist;
let site; // serveFolder's
let url;

before(async () => {
  dist = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-bundle-'));
  const entry = path.join(here, '.bundle-entry.js');
  fs.writeFileSync(entry, `
import {Replicache} from 'replicore';
window.result = (async () => {
  const rep = new Replicache({
    name: 'bundled', pullInterval: null,
    mutators: {async put(tx, {key, value}) { await tx.set(key, value); return 'done'; }},
  });
  const seen = [];
  rep.subscribe((tx) => tx.scan({prefix: 'k/'}).values().toArray(), (v) => seen.push(v));
  const returned = await rep.mutate.put({key: 'k/a', value: {n: 1}});
  await rep.mutate.put({key: 'k/b', value: {n: 2}});
  const read = await rep.query((tx) => tx.get('k/a'));
  await new Promise((r) => setTimeout(r, 50));
  const pending = (await rep.experimentalPendingMutations()).length;
  await rep.close();
  return {returned, read, last: seen.at(-1), pending, frozen: Object.isFrozen(read)};
})().catch((e) => ({error: String(e && e.stack || e)}));
`);
  try {
    await esbuild.build({entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser',
      minify: true, outfile: path.join(dist, 'app.js'), logLevel: 'error'});
  } finally {
    fs.rmSync(entry, {force: true});
  }
  fs.copyFileSync(path.join(here, 'node_modules/replicore/replicore_wasm.wasm'), path.join(dist, 'replicore_wasm.wasm'));
  fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="app.js"></script>');
  site = await serveFolder(dist);
  url = site.url;
  engine = await openEngine();
});

after(async () => {
  await engine?.close();
  await site?.close();
  if (dist) fs.rmSync(dist, {recursive: true, force: true});
});

test('an esbuild bundle importing replicore loads its .wasm and works', async () => {
  const bundle = fs.readFileSync(path.join(dist, 'app.js'), 'utf8');
  assert.ok(!bundle.includes('PerMessageDeflate'), 'no Node-only code (ws) in the browser bundle');
  const context = await engine.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.result, null, {timeout: 20000});
    const result = await page.evaluate(() => window.result);
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(result, {returned: 'done', read: {n: 1}, last: [{n: 1}, {n: 2}], pending: 2, frozen: true});
    // The page's own list of what it fetched (resource timing): every
    // engine has it, not every driver reports requests.
    const wasmRequests = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((e) => e.name).filter((name) => name.endsWith('.wasm')));
    assert.deepEqual(wasmRequests, [`${url}replicore_wasm.wasm`], 'the .wasm is fetched next to the bundle');
    await page.screenshot(path.join(outputDir, `bundle-${engine.name}.png`));
  } finally {
    await context.close();
  }
});
