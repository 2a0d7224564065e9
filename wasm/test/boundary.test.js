// The JS/wasm boundary is crossed a constant number of times per scan, pull
// and rebase (BENCHMARKS.md, "A lesson from the field"), and values are not
// converted again once cached. Counts calls into the core.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink} from './helpers/server.js';

const {Replicache, loadWasm} = await loadReplicore();
const M = await loadWasm();

const calls = new Map();
// The core's functions are module functions taking the core handle first
// (coreScan, coreGet, ...); they are counted under the method names.
for (const key of Object.keys(M)) {
  const f = M[key];
  if (!/^core[A-Z]/.test(key) || typeof f !== 'function' || key === 'coreCreate' || key === 'coreDelete') continue;
  const name = key[4].toLowerCase() + key.slice(5);
  M[key] = function (...args) {
    calls.set(name, (calls.get(name) ?? 0) + 1);
    return f.apply(this, args);
  };
}
const total = () => [...calls.values()].reduce((a, b) => a + b, 0);
async function count(fn) {
  calls.clear();
  await fn();
  return {total: total(), calls: Object.fromEntries(calls)};
}

function makeRep(pullResponse) {
  return new Replicache({
    name: `boundary-${Math.random()}`,
    pullInterval: null,
    logSinks: [memorySink()],
    mutators: {
      async putMany(tx, n) {
        for (let i = 0; i < n; i++) await tx.set(`k/${String(i).padStart(6, '0')}`, {i, pad: 'x'.repeat(50)});
      },
      async touch(tx, key) {
        await tx.set(key, (await tx.get(key)) ?? 0);
      },
    },
    async puller() {
      return {response: pullResponse.current, httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  });
}

test('a mutation writing N keys crosses a constant number of times', async () => {
  const rep = makeRep({current: {cookie: 0, lastMutationIDChanges: {}, patch: []}});
  await rep.pull();
  const small = await count(() => rep.mutate.putMany(10));
  const big = await count(() => rep.mutate.putMany(2000));
  assert.equal(big.total, small.total, JSON.stringify({small, big}));
  assert.ok(small.total <= 6, JSON.stringify(small));
  await rep.close();
});

test('a scan of N keys crosses a constant number of times, and cached values are not sent again', async () => {
  const rep = makeRep({current: {cookie: 0, lastMutationIDChanges: {}, patch: []}});
  await rep.pull();
  await rep.mutate.putMany(3000);
  const scanOf = (limit) => rep.query((tx) => tx.scan({prefix: 'k/', limit}).entries().toArray());
  const small = await count(() => scanOf(10));
  const big = await count(() => scanOf(3000));
  assert.equal(big.total, small.total, JSON.stringify({small, big}));
  assert.deepEqual(big.calls, {openRead: 1, scan: 1, closeRead: 1});
  // the values were cached when they were written: same objects, no texts
  const a = await scanOf(3000);
  const b = await scanOf(3000);
  assert.equal(a[2999][1], b[2999][1]);
  await rep.close();
});

test('a pull of N puts and its rebase cross a constant number of times per pending mutation', async () => {
  const resp = {current: {cookie: 0, lastMutationIDChanges: {}, patch: []}};
  const rep = makeRep(resp);
  await rep.pull();
  await rep.mutate.touch('t/1');
  await rep.mutate.touch('t/2');
  const patchOf = (n) => {
    const patch = [{op: 'clear'}];
    for (let i = 0; i < n; i++) patch.push({op: 'put', key: `s/${String(i).padStart(6, '0')}`, value: {i}});
    return patch;
  };
  resp.current = {cookie: 1, lastMutationIDChanges: {}, patch: patchOf(10)};
  const small = await count(() => rep.pull());
  resp.current = {cookie: 2, lastMutationIDChanges: {}, patch: patchOf(5000)};
  const big = await count(() => rep.pull());
  assert.equal(big.total, small.total, JSON.stringify({small, big}));
  assert.equal(big.calls.rebaseNext, 3, 'two pending mutations, then the end');
  assert.equal(await rep.query((tx) => tx.has('s/004999')), true);
  await rep.close();
});

// embind names an unbound type after its type id with siprintf("%p"); the
// package links its own siprintf for that one call
// (wasm/src/embind_type_name.cpp) instead of musl's printf.
test('embind type names: the package siprintf formats "%p" as hex', () => {
  const name = (id) => {
    const p = M.___getTypeName(id);
    let s = '';
    for (let i = p; M.HEAPU8[i] !== 0; i++) s += String.fromCharCode(M.HEAPU8[i]);
    M._free(p);
    return s;
  };
  assert.equal(name(0), '0x0');
  assert.equal(name(0x1234abcd), '0x1234abcd');
  assert.equal(name(0xffffffff), '0xffffffff');
});

// The package is built without C++ exceptions, where a failed allocation
// stops the module. So a size JS asks for is checked before it is allocated:
// a body buffer larger than the wasm heap can hold (at most 2 GB) is refused
// with an error, and the client keeps its state and its pending mutations.
test('a body buffer the wasm heap cannot hold is refused; the client keeps its pending mutations', async () => {
  const rep = makeRep({current: {cookie: 0, lastMutationIDChanges: {}, patch: []}});
  await rep.mutate.touch('a');
  assert.equal(M.coreBodyBuffer(rep._core, 3e9), 0);
  assert.match(M.coreLastError(rep._core), /out of memory: the WebAssembly heap cannot hold the body/);
  await rep.mutate.touch('b');
  assert.deepEqual((await rep.experimentalPendingMutations()).map((m) => m.args), ['a', 'b']);
  assert.deepEqual(await rep.query((tx) => tx.scan().keys().toArray()), ['a', 'b']);
  await rep.close();
});
