// React: replicache-react's useSubscribe with a replicore client, unchanged.
// The component is the React sample of the package README (the block after
// its "react.test.js" marker), bundled by esbuild with React, react-dom,
// replicache-react and replicore (from the packed tarball, as an app gets
// it). The page is served by the real server (in this process, as
// load-error.test.js does), syncs through it, and is rendered in a browser
// (the engine of the run: browsers.js). Another client pushes; the page
// pulls only on the poke (no pull interval), and React renders the new
// message.
import {after, before} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import {createServer} from '../../node_server/src/server.js';
import {silentLogger} from '../../node_server/src/log.js';
import {engineName, openEngine} from './browsers.js';
import {engineTest, outputDir, repoRoot} from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const test = engineTest(engineName());
let tmp;
let server;
let engine;

// The README's React sample: the fenced block right after the marker that names this file.
function readmeSample() {
  const readme = fs.readFileSync(path.join(repoRoot, 'wasm/package/README.md'), 'utf8');
  const m = /<!--[^\n]*react\.test\.js[^\n]*-->\n```jsx\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(m, 'the package README has the React sample marked for react.test.js');
  return m[1];
}

// The page: the README's component, mounted on a client of `space` that
// logs in through the demo login and has no pull interval, so that only a
// poke makes it pull.
const ENTRY = `
import {createRoot} from 'react-dom/client';
import {Replicache} from 'replicore';
import {Messages} from './Messages.jsx';

const space = new URLSearchParams(location.search).get('space');
const {token} = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({name: 'reader'})}).then((r) => r.json());
const rep = new Replicache({
  name: 'react-reader', pullInterval: null, auth: token, logLevel: 'error',
  pushURL: '/api/push?space=' + space, pullURL: '/api/pull?space=' + space,
  pokeURL: location.origin.replace(/^http/, 'ws') + '/api/poke?space=' + space + '&auth=' + encodeURIComponent(token),
  mutators: {async createMessage(tx, {id, content}) { await tx.set('message/' + id, {from: 'reader', content}); }},
});
window.rep = rep;
createRoot(document.getElementById('root')).render(<Messages rep={rep} />);
`;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-react-'));
  const src = path.join(tmp, 'src');
  const dist = path.join(tmp, 'dist');
  fs.mkdirSync(src);
  fs.mkdirSync(dist);
  fs.writeFileSync(path.join(src, 'Messages.jsx'), readmeSample());
  fs.writeFileSync(path.join(src, 'main.jsx'), ENTRY);
  await esbuild.build({
    entryPoints: [path.join(src, 'main.jsx')], bundle: true, format: 'esm', platform: 'browser',
    target: 'es2022', jsx: 'automatic', minify: true, outfile: path.join(dist, 'app.js'), logLevel: 'error',
    // The bare imports resolve from this folder's node_modules, as in an app.
    nodePaths: [path.join(here, 'node_modules')],
    define: {'process.env.NODE_ENV': '"production"'},
  });
  fs.copyFileSync(path.join(here, 'node_modules/replicore/replicore_wasm.wasm'), path.join(dist, 'replicore_wasm.wasm'));
  fs.writeFileSync(path.join(dist, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>React</title><div id="root"></div><script type="module" src="app.js"></script>');
  server = createServer({
    dataDir: path.join(tmp, 'data'), demoLogin: true, logger: silentLogger,
    webDir: dist, packageDir: path.join(repoRoot, 'build-wasm/package'),
  });
  await server.listen(0, '127.0.0.1');
  engine = await openEngine();
});

after(async () => {
  await engine?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

// Another user's client, by the wire protocol: a push of one createMessage.
async function pushAsWriter(base, space, id, content) {
  const {token} = await fetch(`${base}/api/login`, {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: 'writer'})}).then((r) => r.json());
  const clientID = `w${Math.random().toString(36).slice(2)}`;
  const response = await fetch(`${base}/api/push?space=${space}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Authorization: token},
    body: JSON.stringify({pushVersion: 1, schemaVersion: '', profileID: 'pwriter', clientGroupID: `g${clientID}`,
      mutations: [{id: 1, clientID, name: 'createMessage', args: {id, content}, timestamp: Date.now()}]}),
  });
  assert.equal(response.status, 200, await response.text());
}

test('replicache-react\'s useSubscribe re-renders a React component on a poke', async () => {
  const base = `http://127.0.0.1:${server.port}`;
  const space = `react-${Math.random().toString(36).slice(2, 8)}`;
  await pushAsWriter(base, space, 'first', 'before the page opened');
  const context = await engine.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${base}/?space=${space}`);
    const items = () => page.evaluate(() => [...document.querySelectorAll('#root li')].map((li) => li.textContent));
    const waitForItems = (n) => page.waitForFunction((k) => document.querySelectorAll('#root li').length === k, n,
      {timeout: 20000});
    // The first pull brings what was there.
    await waitForItems(1);
    assert.deepEqual(await items(), ['writer: before the page opened']);
    // The list React rendered: the same element must get the new item (no remount).
    await page.evaluate(() => {
      window.list = document.querySelector('#root ul');
    });
    // Only a poke can make the page pull now: no pull interval, nothing pending, and its
    // socket's connect (which pulls too) is long done.
    await new Promise((r) => setTimeout(r, 500));
    await pushAsWriter(base, space, 'second', 'pushed while it was open');
    await waitForItems(2);
    assert.deepEqual(await items(), ['writer: before the page opened', 'writer: pushed while it was open']);
    assert.ok(await page.evaluate(() => document.querySelector('#root ul') === window.list), 'updated in place');
    // And its own mutation renders at once, before the server has it.
    await page.evaluate(() => window.rep.mutate.createMessage({id: 'third', content: 'mine'}));
    await waitForItems(3);
    assert.deepEqual((await items()).at(-1), 'reader: mine');
    await page.screenshot(path.join(outputDir, `react-${engine.name}.png`));
  } finally {
    await context.close();
  }
});
