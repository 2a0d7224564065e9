// The demo page when the package cannot load (not built, or its .wasm missing): it must say so
// on screen, not sit there claiming "online". The server runs in-process with a package folder
// made for each case; the page is the real web/, in a real browser (the engine of the run:
// browsers.js).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createServer} from '../../node_server/src/server.js';
import {silentLogger} from '../../node_server/src/log.js';
import {engineName} from './browsers.js';
import {contextAndFolder, engineTest, repoRoot, withPackagePage as withPackage} from './harness.js';

const test = engineTest(engineName());
const built = path.join(repoRoot, 'build-wasm/package');
const run = contextAndFolder('replicore-load-error-');

/** Open the demo against a server whose /replicore/ is `packageDir`; returns what the page shows. */
async function openWith(packageDir) {
  const server = createServer({
    dataDir: path.join(run.tmp, 'data'), demoLogin: true, logger: silentLogger,
    webDir: path.join(repoRoot, 'web'), packageDir,
  });
  await server.listen(0, '127.0.0.1');
  const page = await run.context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.port}/?user=alice&pullInterval=off`);
    await page.waitForFunction(() => window.replichat?.state?.rep || !document.getElementById('load-error').hidden,
      null, {timeout: 20000});
    return await page.evaluate(() => ({
      banner: document.getElementById('load-error').hidden ? null : document.getElementById('load-error').textContent,
      pill: document.getElementById('online').textContent,
      started: !!window.replichat.state.rep,
    }));
  } finally {
    await page.close();
    await server.close();
  }
}

test('no package at /replicore/: the page shows an error saying how to build it', async () => {
  const empty = path.join(run.tmp, 'empty');
  fs.mkdirSync(empty);
  const shown = await openWith(empty);
  assert.equal(shown.started, false);
  assert.match(shown.banner, /replicore package did not load/);
  assert.match(shown.banner, /bash scripts\/build-wasm\.sh/);
  assert.equal(shown.pill, 'error');
});

test('the .wasm missing: the page shows an error too', async () => {
  const noWasm = path.join(run.tmp, 'no-wasm');
  fs.mkdirSync(noWasm);
  fs.copyFileSync(path.join(built, 'replicore.js'), path.join(noWasm, 'replicore.js'));
  const shown = await openWith(noWasm);
  assert.equal(shown.started, false);
  assert.match(shown.banner, /replicore package did not load/);
  assert.equal(shown.pill, 'error');
});

test('the built package: no error, the chat starts', async () => {
  const shown = await openWith(built);
  assert.equal(shown.banner, null);
  assert.equal(shown.started, true);
});

// wasm/js/warm-up.js: once the module has loaded in a page that has made no
// instance yet, the package runs a private instance through the reopen path
// (so the engine compiles those functions before the app's first query).
// It must leave nothing behind that the page or the app could see.

/** Opens a page of the built package whose module script is `script`; runs `body(page)`. */
const withPackagePage = (name, script, body) => withPackage(run.context, path.join(run.tmp, name), script, body);

const warmUps = (page) => page.evaluate(() => performance.getEntriesByName('replicore: warm-up').length);

test('a page that only imports the package: the warm-up runs once and leaves no store, no storage and no console output', async () => {
  const script = `import {Replicache} from './replicore.js';
window.imported = typeof Replicache === 'function';`;
  await withPackagePage('warm-up', script, async (page) => {
    // Done within a second or two of the load; measured as one entry.
    await page.waitForFunction(() => performance.getEntriesByName('replicore: warm-up').length > 0, null, {timeout: 20000});
    await new Promise((r) => setTimeout(r, 500));
    const seen = await page.evaluate(async () => ({
      imported: window.imported,
      databases: (await indexedDB.databases()).map((d) => d.name),
      localStorage: localStorage.length,
    }));
    assert.deepEqual({...seen, measures: await warmUps(page)}, {imported: true, measures: 1, databases: [], localStorage: 0});
    assert.deepEqual(await page.consoleLines(), []);
  });
});

test('an instance made while the warm-up runs cuts it short, and answers', async () => {
  // The package starts loading its module in a microtask after it is
  // imported (a page that asks first gets no warm-up), and the warm-up in a
  // task after the module has loaded. This page makes its instance in the
  // task after that, while the warm-up's first pull is under way.
  const script = `import {Replicache, loadWasm} from './replicore.js';
await null;
await loadWasm();
setTimeout(() => {
  const rep = new Replicache({name: 'during-warm-up', kvStore: 'mem', pullInterval: null,
    mutators: {async put(tx, {key, value}) { await tx.set(key, value); }}});
  window.answer = rep.mutate.put({key: 'k', value: 1}).then(() => rep.query((tx) => tx.get('k')));
}, 0);`;
  await withPackagePage('cut-warm-up', script, async (page) => {
    await page.waitForFunction(() => window.answer !== undefined, null, {timeout: 20000});
    assert.equal(await page.evaluate(() => window.answer), 1);
    const cut = () => page.evaluate(() => performance.getEntriesByName('replicore: warm-up (cut short by an instance)').length);
    await page.waitForFunction(() => performance.getEntriesByName('replicore: warm-up (cut short by an instance)').length > 0, null, {timeout: 20000});
    assert.deepEqual({whole: await warmUps(page), cut: await cut()}, {whole: 0, cut: 1});
    assert.deepEqual(await page.consoleLines(), []);
  });
});

test('a page that makes its instance as it imports the package: no warm-up (its own open compiles the code)', async () => {
  const script = `import {Replicache} from './replicore.js';
const rep = new Replicache({name: 'at-once', kvStore: 'mem', pullInterval: null});
window.answer = rep.query((tx) => tx.has('k'));`;
  await withPackagePage('no-warm-up', script, async (page) => {
    assert.equal(await page.evaluate(() => window.answer), false);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await warmUps(page), 0);
  });
});
