// The package is built without C++ exceptions: an allocation that fails deep
// in the core stops the module. So a pull response is refused before it is
// parsed when the heap has not room left to parse and apply it (about 8
// times its size: wasm/src/core_sync.cpp, pullBodyBudget), over real HTTP;
// and if the module does stop, the wrapper refuses every later call with a
// clear error. Its own file: the first test grows this process's wasm heap
// to about 700 MB, and the last stops the module.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, mutators, startServer, waitFor} from './helpers/server.js';

const {Replicache, loadWasm} = await loadReplicore();

test('a pull response the heap has no room to apply is refused; the cache and pending mutations are kept', async () => {
  const server = await startServer();
  const sink = memorySink();
  const rep = new Replicache({
    name: `memory-${process.pid}`,
    pushURL: '', // keep the mutation pending
    pullURL: server.pullURL,
    pullInterval: null,
    logSinks: [sink],
    mutators,
  });
  server.serverPut('s', 'from server');
  await rep.pull();
  await rep.mutate.put({key: 'a', value: 1});

  // 300 MB: the heap (2 GB at most) holds it and its copy, but has not 8
  // times that left.
  const huge = JSON.stringify({cookie: 1000, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'huge', value: 'x'.repeat(300e6)}]});
  server.serverPut('t', 'for the retry');
  let served = 0;
  server.hook = (r) => (r.path === '/api/pull' && served++ === 0 ? {status: 200, body: huge} : null);
  rep.pull();
  const refused = () => sink.lines.find((l) => l.level === 'error' && /pull failed: pull response of \d+ bytes is more than the memory left can take/.test(l.text));
  await waitFor(refused, {what: 'the refusal', timeout: 60000});
  assert.match(refused().text, new RegExp(`pull response of ${huge.length} bytes`));
  assert.equal(await rep.query((tx) => tx.has('huge')), false);
  assert.deepEqual((await rep.experimentalPendingMutations()).map((m) => m.args), [{key: 'a', value: 1}]);

  // The retry gets the server's normal response, and it applies.
  await waitFor(async () => (await rep.query((tx) => tx.get('t'))) === 'for the retry', {what: 'the retried pull', timeout: 60000});
  assert.equal(await rep.query((tx) => tx.has('huge')), false);
  assert.equal((await rep.experimentalPendingMutations()).length, 1);
  await rep.close();
  await server.stop();
});

// Last in this file: it stops the module of this process.
test('when the module stops, every later call is refused with a clear error', async () => {
  const rep = new Replicache({name: `stopped-${process.pid}`, pullInterval: null, logSinks: [memorySink()], mutators});
  await rep.mutate.put({key: 'a', value: 1});
  const M = await loadWasm();
  // A call the wrapper never makes: room for 400 million values (3.2 GB)
  // inside the core. Without C++ exceptions the failed allocation stops the
  // module.
  assert.throws(() => M.coreHoldPullValues(rep._core, 4e8, 0), /Aborted/);
  await assert.rejects(rep.mutate.put({key: 'b', value: 2}), /replicore: the WebAssembly module stopped/);
  await assert.rejects(rep.query((tx) => tx.get('a')), /replicore: the WebAssembly module stopped/);
  assert.throws(() => rep.subscribe((tx) => tx.get('a'), () => {}), /replicore: the WebAssembly module stopped/);
});
