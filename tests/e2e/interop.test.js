// Wire compatibility in practice: a replicore client and the real Replicache
// 15.3.0 client chat in one space through node_server (SQLite). Replicache
// runs in Node; replicore runs in Node (the packed npm package) and in a
// real browser (the demo page, in the engine of the run: browsers.js). Both
// get pokes over the server's WebSocket; pull intervals are off, so only
// pokes move data. At the end both show exactly the server's state.
import {after, before, test as nodeTest} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {Replicache as Replicore} from 'replicore';
import {Replicache, TEST_LICENSE_KEY} from 'replicache';
import {createServer, mintToken} from '../../node_server/src/server.js';
import {silentLogger} from '../../node_server/src/log.js';
import {mutators} from '../../web/mutators.js';
import {engineName, openEngine} from './browsers.js';
import {engineTest, openChat, printDiagnostics, repoRoot, uniqueRoom} from './harness.js';

const test = engineTest(engineName());
// Demo tokens (mintToken) signed with this; at least 32 bytes, or the server refuses it.
const SECRET = 'replicore-interop-secret-0123456789';
let server;
let base;
let dataDir;
let engine;

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-interop-'));
  // The demo's page and login too, for the browser's client.
  server = createServer({dataDir, demoSecret: SECRET, demoLogin: true, logger: silentLogger,
    webDir: path.join(repoRoot, 'web'), packageDir: path.join(repoRoot, 'build-wasm/package')});
  await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${server.port}`;
  engine = await openEngine();
});

after(async () => {
  await engine?.close();
  await server?.close();
  fs.rmSync(dataDir, {recursive: true, force: true});
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const urls = (space) => ({pushURL: `${base}/api/push?space=${space}`, pullURL: `${base}/api/pull?space=${space}`});

function watchMessages(rep) {
  const view = {entries: []};
  rep.subscribe((tx) => tx.scan({prefix: 'message/'}).entries().toArray(), {
    onData: (entries) => {
      view.entries = entries;
    },
  });
  return view;
}

async function serverState(space) {
  // A fresh client group's first pull: the whole space.
  const response = await fetch(`${base}/api/pull?space=${space}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Authorization: mintToken('probe', SECRET)},
    body: JSON.stringify({profileID: 'pprobe', clientGroupID: `probe-${Date.now()}`, cookie: null, pullVersion: 1, schemaVersion: ''}),
  });
  const body = await response.json();
  const state = new Map();
  for (const op of body.patch) {
    if (op.op === 'clear') state.clear();
    else if (op.op === 'put') state.set(op.key, op.value);
    else if (op.op === 'del') state.delete(op.key);
  }
  return [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// The real Replicache client as bob, pulling on each poke as its guide does
// (it has no poke option).
async function replicacheBob(space) {
  const bob = new Replicache({
    name: `interop-bob-${space}`, ...urls(space), mutators, auth: mintToken('bob', SECRET), pullInterval: null,
    logLevel: 'error', licenseKey: TEST_LICENSE_KEY, kvStore: 'mem',
  });
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/poke?space=${space}&auth=${mintToken('bob', SECRET)}`);
  socket.on('message', () => bob.pull());
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const view = watchMessages(bob);
  return {
    mutate: (name, args) => bob.mutate[name](args),
    pending: async () => (await bob.experimentalPendingMutations()).length,
    entries: async () => view.entries,
    async close() {
      socket.close();
      await bob.close();
    },
  };
}

// Alice (replicore) and Bob (Replicache) each write ten messages, alice
// edits one of hers and bob deletes one of his; then both must show the
// server's state, with nothing pending.
async function converge(space, alice, bob) {
  await sleep(300); // both sockets and first pulls settle
  for (let i = 0; i < 10; i++) {
    await alice.mutate('createMessage', {id: `a${i}`, from: 'alice', content: `from alice ${i}`, createdAt: i});
    await bob.mutate('createMessage', {id: `b${i}`, from: 'bob', content: `from bob ${i}`, createdAt: i});
  }
  await alice.mutate('updateMessage', {id: 'a3', content: 'edited by alice'});
  await bob.mutate('deleteMessage', {id: 'b4'});

  const deadline = Date.now() + 30000;
  let expected;
  let shown;
  while (Date.now() < deadline) {
    expected = await serverState(space);
    shown = {alice: await alice.entries(), bob: await bob.entries()};
    const pending = (await alice.pending()) + (await bob.pending());
    const same = (entries) => JSON.stringify(entries) === JSON.stringify(expected);
    if (pending === 0 && expected.length === 19 && same(shown.alice) && same(shown.bob)) break;
    await sleep(50);
  }
  assert.equal(expected.length, 19, 'the server has 20 messages less the deleted one');
  assert.deepEqual(shown.alice, expected, 'the replicore client shows the server state');
  assert.deepEqual(shown.bob, expected, 'the Replicache client shows the server state');
  const byKey = new Map(expected);
  assert.equal(byKey.get('message/a3').content, 'edited by alice');
  assert.ok(!byKey.has('message/b4'));
  // The server assigned every message a distinct order.
  const orders = expected.map(([, v]) => v.order);
  assert.equal(new Set(orders).size, orders.length);
  assert.ok(orders.every((o) => Number.isInteger(o)));
}

// Engine-independent: run.sh runs it in the first engine's pass only.
if (process.env.E2E_NODE_TESTS !== '0') {
  nodeTest('a replicore client in Node and a Replicache client converge through node_server', {timeout: 60000}, async () => {
    const space = uniqueRoom('interop');
    const rep = new Replicore({
      name: 'interop-alice', ...urls(space), mutators, auth: mintToken('alice', SECRET), pullInterval: null, logLevel: 'error',
      pokeURL: `ws://127.0.0.1:${server.port}/api/poke?space=${space}&auth=${mintToken('alice', SECRET)}`,
    });
    const view = watchMessages(rep);
    const alice = {
      mutate: (name, args) => rep.mutate[name](args),
      pending: async () => (await rep.experimentalPendingMutations()).length,
      entries: async () => view.entries,
    };
    const bob = await replicacheBob(space);
    try {
      await converge(space, alice, bob);
    } finally {
      await bob.close();
      await rep.close();
    }
  });
}

test('a replicore client in the browser and a Replicache client in Node converge through node_server', {
  timeout: 90000,
}, async () => {
  const space = uniqueRoom('interop-browser');
  // The demo page as alice: its client is replicore from /replicore/, with
  // the same mutators, logged in through the demo login.
  const chat = await openChat(engine, {url: base}, {user: 'alice', room: space});
  const alice = {
    mutate: (name, args) => chat.page.evaluate(([n, a]) => window.replichat.state.rep.mutate[n](a), [name, args]),
    pending: () => chat.page.evaluate(async () =>
      (await window.replichat.state.rep.experimentalPendingMutations()).length),
    entries: () => chat.page.evaluate(() =>
      window.replichat.state.rep.query((tx) => tx.scan({prefix: 'message/'}).entries().toArray())),
  };
  const bob = await replicacheBob(space);
  try {
    await converge(space, alice, bob);
  } catch (err) {
    await printDiagnostics([chat]);
    throw err;
  } finally {
    await bob.close();
    await chat.close();
  }
});
