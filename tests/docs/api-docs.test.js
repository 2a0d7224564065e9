// The API reference (scripts/build-api-docs.sh): TypeDoc builds it from the
// package's hand-written declarations without a warning, and it documents
// every name the declarations export, with the members a reader looks up
// first (Replicache's constructor and methods, ReadTransaction.scan, the
// options), so a change to the .d.ts that TypeDoc cannot follow fails here
// and not on a reader's screen.
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-api-docs-'));
after(() => fs.rmSync(out, {recursive: true, force: true}));

const read = (page) => fs.readFileSync(path.join(out, page), 'utf8');
// The anchors TypeDoc gives the members of a page (lower-cased names).
const anchors = (page) => new Set([...read(page).matchAll(/ id="([a-z0-9_]+)"/g)].map((m) => m[1]));

test('the API reference builds with no TypeDoc warning and documents the package', () => {
  let output;
  try {
    output = execFileSync('bash', [path.join(repoRoot, 'scripts/build-api-docs.sh'), out],
      {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  } catch (err) {
    assert.fail(`build-api-docs.sh failed (TypeDoc treats warnings as errors):\n${err.stdout}${err.stderr}`);
  }
  assert.doesNotMatch(output, /warning|error/i, output);

  // Every exported name of the declarations has its page, linked from the index of modules.
  const dts = fs.readFileSync(path.join(repoRoot, 'wasm/types/replicore.d.ts'), 'utf8');
  const exported = [...dts.matchAll(/^export (?:declare )?(?:class|function|interface|type|const) (\w+)/gm)]
    .map((m) => m[1]);
  assert.ok(exported.length > 80, `found the exports (${exported.length})`);
  const modules = read('modules.html');
  const missing = exported.filter((name) => !new RegExp(`href="[a-z]+/${name}\\.html"`).test(modules));
  assert.deepEqual(missing, [], 'exported names without a page');

  const replicache = anchors('classes/Replicache.html');
  for (const member of ['constructor', 'mutate', 'subscribe', 'query', 'pull', 'flush', 'close', 'experimentalwatch',
    'onsync', 'ononlinechange']) {
    assert.ok(replicache.has(member), `Replicache.${member} is documented`);
  }
  const readTx = anchors('interfaces/ReadTransaction.html');
  for (const member of ['get', 'has', 'isempty', 'scan']) assert.ok(readTx.has(member), `ReadTransaction.${member}`);
  assert.ok(anchors('interfaces/WriteTransaction.html').has('set'));
  const options = anchors('interfaces/ReplicacheOptions.html');
  for (const option of ['name', 'pokeurl', 'kvstore', 'maxpushbytes']) assert.ok(options.has(option), `option ${option}`);
  // The doc comments come through, and the front page is the package README.
  assert.match(read('classes/Replicache.html'), /resolves once everything committed so far/);
  assert.match(read('index.html'), /Differences from Replicache 15/);
});
