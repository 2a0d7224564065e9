// The package through a bundler (esbuild): a tiny app importing 'replicore'
// bundles for Node and for browsers; the Node bundle runs with the .wasm
// copied next to it (the module finds it relative to its own URL).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import * as esbuild from 'esbuild';
import {installedProject, packageDir, wasmDir} from './helpers/package.js';

const project = installedProject();

// A page learns of a second module only after the first has loaded and been
// parsed, and the .wasm's fetch waited for it (wasm/CMakeLists.txt): the
// wrapper and Emscripten's glue ship as one module, which imports nothing
// of its own, only Node's modules and ws/xhr2, under Node.
test('the package ships one JavaScript module next to its .wasm', () => {
  const files = readdirSync(packageDir).filter((f) => /\.(m?js|wasm)$/.test(f)).sort();
  assert.deepEqual(files, ['replicore.js', 'replicore_wasm.wasm']);
  const js = readFileSync(join(packageDir, 'replicore.js'), 'utf8');
  const specifiers = [...js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["']([^"']+)["']/g)].map((m) => m[1]);
  assert.ok(specifiers.length > 0, 'the lazy Node imports are found, so the pattern matches');
  assert.deepEqual(specifiers.filter((s) => s.startsWith('.') || s.startsWith('/')), []);
  assert.deepEqual([...new Set(specifiers)].sort(), ['module', 'path', 'url', 'ws', 'xhr2']);
});

const app = `
import {Replicache} from 'replicore';
const rep = new Replicache({
  name: 'bundled',
  pullInterval: null,
  mutators: {async put(tx, {key, value}) { await tx.set(key, value); }},
});
await rep.mutate.put({key: 'a', value: {ok: true}});
const v = await rep.query((tx) => tx.get('a'));
await rep.close();
console.log(JSON.stringify({v, frozen: Object.isFrozen(v)}));
`;

test('esbuild bundle for Node runs with the .wasm next to it', async () => {
  const dir = join(project, 'dist-node');
  rmSync(dir, {recursive: true, force: true});
  mkdirSync(dir, {recursive: true});
  writeFileSync(join(project, 'app.js'), app);
  const result = await esbuild.build({
    absWorkingDir: project,
    entryPoints: ['app.js'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    outfile: join(dir, 'app.bundle.mjs'),
    // ws and xhr2 are CommonJS; keep them as runtime imports.
    external: ['ws', 'xhr2'],
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  copyFileSync(join(project, 'node_modules/replicore/replicore_wasm.wasm'), join(dir, 'replicore_wasm.wasm'));
  const out = execFileSync(process.execPath, [join(dir, 'app.bundle.mjs')], {encoding: 'utf8', timeout: 20000});
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()), {v: {ok: true}, frozen: true});
});

test('esbuild bundle for browsers builds without Node modules', async () => {
  const dir = join(project, 'dist-web');
  rmSync(dir, {recursive: true, force: true});
  writeFileSync(join(project, 'app.js'), app);
  const result = await esbuild.build({
    absWorkingDir: project,
    entryPoints: ['app.js'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outfile: join(dir, 'app.bundle.js'),
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const text = readFileSync(join(dir, 'app.bundle.js'), 'utf8');
  // The package's "browser" field maps ws, xhr2 and Node built-ins to empty modules.
  assert.ok(!text.includes('PerMessageDeflate'), 'no Node-only code in the browser bundle');
  assert.ok(text.includes('replicore_wasm.wasm'), 'the .wasm is located at run time, relative to the bundle');
});

test('configureWasm: a custom locateFile is used, and a broken .wasm gives clear rejections', async () => {
  const script = `
import {Replicache, configureWasm} from 'replicore';
import {readFileSync} from 'node:fs';
const mode = process.argv[2];
const seen = [];
if (mode === 'locate') {
  configureWasm({locateFile: (f) => { seen.push(f); return new URL('./node_modules/replicore/' + f, import.meta.url).pathname; }});
} else {
  configureWasm({wasmBinary: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9])});
}
const rep = new Replicache({name: 'w', pullInterval: null, logSinks: [{log() {}}], mutators: {async m(tx) { await tx.set('a', 1); return 'ok'; }}});
let out;
try {
  out = {result: await rep.mutate.m(), seen};
} catch (e) {
  out = {error: String(e && e.message || e)};
}
await rep.close();
console.log(JSON.stringify(out));
`;
  writeFileSync(join(project, 'wasm-config.mjs'), script);
  const run = (mode) => JSON.parse(execFileSync(process.execPath, [join(project, 'wasm-config.mjs'), mode], {encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe']}).trim().split('\n').pop());
  const located = run('locate');
  assert.equal(located.result, 'ok');
  assert.ok(located.seen.length >= 1 && located.seen.every((f) => f === 'replicore_wasm.wasm'), JSON.stringify(located));
  const broken = run('broken');
  assert.ok(broken.error, JSON.stringify(broken));
});

test('the packed tarball carries the license: LICENSE (the repository\'s) and package.json agree', () => {
  const installed = join(project, 'node_modules', 'replicore');
  const license = readFileSync(join(installed, 'LICENSE'), 'utf8');
  assert.equal(license, readFileSync(join(wasmDir, '..', 'LICENSE'), 'utf8'));
  assert.match(license, /Apache License\s+Version 2\.0/);
  assert.equal(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).license, 'Apache-2.0');
});
