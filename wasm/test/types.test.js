// The hand-written .d.ts, as installed from the tarball: it type-checks
// typical Replicache-style code (test/types-check.ts), it exports every name
// Replicache 15.3.0's .d.ts exports, and Replicache's types fit it
// (test/types-compat.ts).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {copyFileSync, existsSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {installedProject, wasmDir} from './helpers/package.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const compilerOptions = {strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom']};

// Replicache 15.3.0's declarations: wasm's dev dependency, else the server's
// (as helpers/replicache.js finds its code).
const replicacheTypes = [
  join(wasmDir, 'node_modules', 'replicache', 'out', 'replicache.d.ts'),
  join(wasmDir, '..', 'node_server', 'node_modules', 'replicache', 'out', 'replicache.d.ts'),
].find((p) => existsSync(p));

// What Replicache 15.3.0 exports and replicore deliberately does not, with
// why. Empty: every type and value is declared.
const NOT_PROVIDED = new Map([
  // ['Name', 'why replicore has no such thing'],
]);

function tsc(project, file, options = {}) {
  copyFileSync(join(here, file), join(project, file));
  const config = `tsconfig.${file}.json`;
  writeFileSync(join(project, config), JSON.stringify({compilerOptions: {...compilerOptions, ...options}, files: [file]}));
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(project, config)], {encoding: 'utf8', cwd: project});
  } catch (e) {
    assert.fail(`tsc failed on ${file}:\n${e.stdout}${e.stderr}`);
  }
}

test('replicore.d.ts type-checks with tsc (strict)', () => {
  tsc(installedProject(), 'types-check.ts', {skipLibCheck: false});
});

// name -> 'value' | 'type': the exports of a declaration file, as the
// TypeScript checker sees them (aliases resolved).
function exportsOf(file) {
  const ts = require('typescript');
  const program = ts.createProgram([file], {strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext});
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(file));
  const out = new Map();
  for (const s of checker.getExportsOfModule(symbol)) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    out.set(s.name, target.flags & ts.SymbolFlags.Value ? 'value' : 'type');
  }
  return out;
}

test('replicore.d.ts exports every name Replicache 15\'s .d.ts exports', (t) => {
  if (!replicacheTypes) return t.skip('Replicache 15.3.0 is not installed (npm ci in wasm/)');
  const theirs = exportsOf(replicacheTypes);
  const ours = exportsOf(join(installedProject(), 'node_modules', 'replicore', 'replicore.d.ts'));
  assert.ok(theirs.size > 90, `read ${theirs.size} names from ${replicacheTypes}`);
  const missing = [...theirs.keys()].filter((k) => !ours.has(k) && !NOT_PROVIDED.has(k)).sort();
  assert.deepEqual(missing, [], 'names Replicache exports and replicore.d.ts does not');
  for (const k of NOT_PROVIDED.keys()) assert.ok(theirs.has(k) && !ours.has(k), `${k} is allowed to be missing but is not`);
  // A value (class, function, constant) must be a value here too: a type of
  // that name would compile and then fail to import.
  const notValues = [...theirs].filter(([k, kind]) => kind === 'value' && ours.get(k) === 'type').map(([k]) => k);
  assert.deepEqual(notValues, []);
});

test('Replicache 15\'s types fit replicore.d.ts (options, requests, stores, poke, scans)', (t) => {
  if (!replicacheTypes) return t.skip('Replicache 15.3.0 is not installed (npm ci in wasm/)');
  tsc(installedProject(), 'types-compat.ts', {skipLibCheck: true, paths: {replicache: [replicacheTypes]}});
});
