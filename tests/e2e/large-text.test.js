// Large values into the core, in each engine: a custom puller's response of
// 3,000 puts and a mutation whose args hold 200 values of about 1 KiB, with
// text beyond ASCII (so the buffer sized for ASCII has to grow). In Blink
// both go to the core as pieces of their JSON text (wasm/js/json-pieces.js,
// core-text.js); elsewhere as one string. Either way the data read back
// and the args the pusher is given must be what the app gave.
import assert from 'node:assert/strict';
import path from 'node:path';
import {engineName} from './browsers.js';
import {contextAndFolder, engineTest, withPackagePage} from './harness.js';

const test = engineTest(engineName());
const run = contextAndFolder('replicore-large-text-');

const script = `import {Replicache} from './replicore.js';
const ok200 = {httpStatusCode: 200, errorMessage: ''};
const key = (i) => 'k/' + String(i).padStart(5, '0');
// Under 256 bytes each, so the response goes as JSON text (values.js holds larger ones in JS).
const puts = Array.from({length: 3000}, (_, i) => ({op: 'put', key: key(i), value: {i, t: 'é 日本 😀 ' + i}}));
const entries = Array.from({length: 200}, (_, i) => ['m/' + i, {i, t: 'ü'.repeat(i % 5) + '𝄞'.repeat(3) + 'x'.repeat(1000)}]);
const pushes = [];
let pulls = 0;
const rep = new Replicache({
  name: 'large-text', kvStore: 'mem', pullInterval: null, pushDelay: 0,
  mutators: {async putMany(tx, {entries}) { for (const [k, v] of entries) await tx.set(k, v); }},
  puller: async () => {
    const first = pulls++ === 0;
    return {response: {cookie: 1, lastMutationIDChanges: {}, patch: first ? [{op: 'clear'}, ...puts] : []}, httpRequestInfo: ok200};
  },
  pusher: async (body) => {
    pushes.push(body);
    return {httpRequestInfo: ok200};
  },
});
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
window.result = (async () => {
  await rep.pull();
  const pulled = await rep.query((tx) => tx.scan({prefix: 'k/'}).entries().toArray());
  await rep.mutate.putMany({entries});
  const mine = await rep.query((tx) => tx.scan({prefix: 'm/'}).values().toArray());
  for (let n = 0; n < 200 && pushes.length === 0; n++) await new Promise((r) => setTimeout(r, 25));
  const mutation = pushes[0]?.mutations?.[0];
  return {
    pulled: pulled.length,
    pulledSame: same(pulled, puts.map((p) => [p.key, p.value])),
    read: mine.length,
    readSame: same([...mine].sort((a, b) => a.i - b.i), entries.map(([, v]) => v)),
    pushedName: mutation?.name,
    pushedArgsSame: same(mutation?.args, {entries}),
  };
})().catch((e) => ({error: String(e && e.stack || e)}));`;

test('a large pull response and large mutation args, beyond ASCII, arrive whole', {timeout: 120000}, async () => {
  await withPackagePage(run.context, path.join(run.tmp, 'large'), script, async (page) => {
    await page.waitForFunction(() => window.result !== undefined, null, {timeout: 60000});
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(result, {pulled: 3000, pulledSame: true, read: 200, readSame: true, pushedName: 'putMany', pushedArgsSame: true});
  });
});

// The same args through the engine's real IndexedDB: a chunk record keeps
// args of 64 KiB and more as a piece of its own (StoreRecord,
// core/include/replicore/store_format.h), joined only into the buffer the
// store keeps (wasm/js/records.js). Another instance of the app opens the
// store and must find the mutation pending with the args it was given.
const storedScript = `import {Replicache} from './replicore.js';
const entries = Array.from({length: 200}, (_, i) => ['m/' + i, {i, t: 'ü'.repeat(i % 5) + '𝄞'.repeat(3) + 'x'.repeat(1000)}]);
const name = 'large-args-' + Math.random().toString(36).slice(2);
const make = () => new Replicache({
  name, kvStore: 'idb', pullInterval: null,
  mutators: {async putMany(tx, {entries}) { for (const [k, v] of entries) await tx.set(k, v); }},
});
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
window.result = (async () => {
  const a = make();
  await a.mutate.putMany({before: 'é', entries});
  await a.mutate.putMany({entries: [['after', 1]]});
  await a.flush();
  await a.close();
  const b = make();
  const pending = await b.experimentalPendingMutations();
  const mine = await b.query((tx) => tx.scan({prefix: 'm/'}).values().toArray());
  await b.close();
  return {
    pending: pending.map((m) => m.name + ' ' + m.id),
    argsSame: same(pending[0]?.args, {before: 'é', entries}),
    readSame: same([...mine].sort((x, y) => x.i - y.i), entries.map(([, v]) => v)),
  };
})().catch((e) => ({error: String(e && e.stack || e)}));`;

test('large mutation args, beyond ASCII, stored in IndexedDB, come back whole in a new instance', {timeout: 120000}, async () => {
  await withPackagePage(run.context, path.join(run.tmp, 'stored'), storedScript, async (page) => {
    await page.waitForFunction(() => window.result !== undefined, null, {timeout: 60000});
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(result, {pending: ['putMany 1', 'putMany 2'], argsSame: true, readSame: true});
  });
});
