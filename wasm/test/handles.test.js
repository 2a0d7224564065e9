// The binding's core handles (wasm/src/binding.cpp): the wrapper calls
// module functions with a core handle first. A handle that is not live (a
// wrapper bug: a call after close freed the core) must stop the module with
// a message, never reach freed memory. This file has its own process (node
// --test runs each file apart), since the check leaves the module aborted.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink} from './helpers/server.js';

const {Replicache, loadWasm} = await loadReplicore();

test('a freed core handle stops the module with a message; live handles work until then', async () => {
  const M = await loadWasm();
  const make = (name) =>
    new Replicache({
      name,
      pullInterval: null,
      logSinks: [memorySink()],
      mutators: {
        async put(tx, {key, value}) {
          await tx.set(key, value);
        },
      },
    });
  const live = make(`handles-live-${process.pid}`);
  const closed = make(`handles-closed-${process.pid}`);
  await live.mutate.put({key: 'k', value: 1});
  await closed.mutate.put({key: 'k', value: 2});
  const freed = closed._core;
  assert.ok(freed, 'the core exists once a mutation ran');
  await closed.close();
  assert.equal(closed._core, null);

  // Two cores, two handles: each answers for its own state.
  assert.equal(await live.query((tx) => tx.get('k')), 1);
  const pending = JSON.parse(M.corePendingMutations(live._core));
  assert.deepEqual(pending.map((m) => [m.name, m.args]), [['put', {key: 'k', value: 1}]]);

  const errors = [];
  const consoleError = console.error;
  console.error = (...args) => errors.push(args.join(' '));
  try {
    assert.throws(() => M.corePendingMutations(freed), (e) => e instanceof WebAssembly.RuntimeError || /abort/i.test(String(e)));
  } finally {
    console.error = consoleError;
  }
  assert.ok(
    errors.some((e) => e.includes('replicore: a deleted or unknown core was used')),
    `the message is logged (got ${JSON.stringify(errors)})`,
  );
});
