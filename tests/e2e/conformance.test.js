// Differential conformance in a real browser: the scenarios of
// wasm/test/conformance-scenarios.js (the ones wasm/test/conformance.test.js
// runs in Node), bundled by esbuild into a page with Replicache 15.3.0 and
// replicore (from the packed tarball, as an app gets it), run in the engine
// of the run (browsers.js) against both libraries, one after the other, in
// that page. Node compares each scenario's two results by the rules of the
// same module: one test per scenario, named after it. kvStore is 'mem' as in
// Node: IndexedDB is persist.test.js's subject.
import {after, before} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import {compare, scenarios} from '../../wasm/test/conformance-scenarios.js';
import {engineName, openEngine} from './browsers.js';
import {engineTest, printDiagnostics, repoRoot, serveFolder} from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const test = engineTest(engineName());
const scenariosFile = path.join(repoRoot, 'wasm/test/conformance-scenarios.js');
let dist;
let site; // serveFolder's
let engine;
let context;
let page;

// The page: window.conformance.run(name) runs that scenario against both
// libraries and gives their results as JSON text, or the error that stopped
// it. Text, so that every driver hands back exactly what the page saw (they
// differ on undefined and on an object met twice).
const ENTRY = `
import * as replicache from 'replicache';
import * as replicore from 'replicore';
import {runScenario, scenarios} from ${JSON.stringify(scenariosFile)};

const libs = {replicache, replicore};
window.conformance = {
  names: scenarios.map((s) => s.name),
  async run(name) {
    try {
      return JSON.stringify(await runScenario(scenarios.find((s) => s.name === name), libs));
    } catch (e) {
      return JSON.stringify({error: String((e && e.stack) || e)});
    }
  },
};
`;

before(async () => {
  // The Replicache the results are compared with is the one the Node runner uses.
  const {version} = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/replicache/package.json'), 'utf8'));
  assert.equal(version, '15.3.0', 'tests/e2e/node_modules has Replicache 15.3.0 (npm ci)');
  dist = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-conformance-'));
  await esbuild.build({
    stdin: {contents: ENTRY, resolveDir: here, sourcefile: 'conformance-page.js'},
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    outfile: path.join(dist, 'app.js'), logLevel: 'error',
    // The bare imports resolve from this folder's node_modules: the tarball's
    // replicore and the lock's Replicache.
    nodePaths: [path.join(here, 'node_modules')],
    // As in the Node runner, where NODE_ENV is unset: Replicache's
    // development mode (it checks and freezes more).
    define: {'process.env.NODE_ENV': '"development"'},
  });
  fs.copyFileSync(path.join(here, 'node_modules/replicore/replicore_wasm.wasm'), path.join(dist, 'replicore_wasm.wasm'));
  fs.writeFileSync(path.join(dist, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>Conformance</title><script type="module" src="app.js"></script>');
  site = await serveFolder(dist);
  engine = await openEngine();
  // One page for every scenario: each closes the instances it made, and
  // their names never repeat (the module's counter).
  context = await engine.newContext();
  page = await context.newPage();
  await page.goto(site.url);
  await page.waitForFunction(() => window.conformance, null, {timeout: 20000});
  assert.deepEqual(await page.evaluate(() => window.conformance.names), scenarios.map((s) => s.name),
    'the page has the scenarios of this checkout');
});

after(async () => {
  await context?.close();
  await engine?.close();
  await site?.close();
  if (dist) fs.rmSync(dist, {recursive: true, force: true});
});

for (const scenario of scenarios) {
  test(scenario.name, {timeout: 60000}, async () => {
    try {
      const results = JSON.parse(await page.evaluate((name) => window.conformance.run(name), scenario.name));
      assert.equal(results.error, undefined, results.error);
      compare(scenario, results, assert);
    } catch (err) {
      await printDiagnostics([{page, engine: engine.name}]);
      throw err;
    }
  });
}
