// Wire compatibility in practice: a replicore client (the packed npm
// package) and the real Replicache 15.3.0 client, in Node, chat in one space
// through node_server (SQLite). Both get pokes over the server's WebSocket;
// pull intervals are off, so only pokes move data. At the end both show
// exactly the server's state.
import {after, before, test} from 'node:test';
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

// Demo tokens (mintToken) signed with this; at least 32 bytes, or the server refuses it.
const SECRET = 'replicore-interop-secret-0123456789';
const space = `interop-${Math.random().toString(36).slice(2, 8)}`;
let server;
let base;
let dataDir;

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-interop-'));
  server = createServer({dataDir, demoSecret: SECRET, logger: silentLogger, webDir: null, packageDir: null});
  await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.close();
  fs.rmSync(dataDir, {recursive: true, force: true});
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const urls = () => ({pushURL: `${base}/api/push?space=${space}`, pullURL: `${base}/api/pull?space=${space}`});

function watchMessages(rep) {
  const view = {entries: []};
  rep.subscribe((tx) => tx.scan({prefix: 'message/'}).entries().toArray(), {
    onData: (entries) => {
      view.entries = entries;
    },
  });
  return view;
}

async function serverState() {
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

test('a replicore client and a Replicache client converge through node_server', {timeout: 60000}, async () => {
  const alice = new Replicore({
    name: 'interop-alice', ...urls(), mutators, auth: mintToken('alice', SECRET), pullInterval: null, logLevel: 'error',
    pokeURL: `ws://127.0.0.1:${server.port}/api/poke?space=${space}&auth=${mintToken('alice', SECRET)}`,
  });
  const bob = new Replicache({
    name: 'interop-bob', ...urls(), mutators, auth: mintToken('bob', SECRET), pullInterval: null, logLevel: 'error',
    licenseKey: TEST_LICENSE_KEY, kvStore: 'mem',
  });
  // Replicache has no poke option: its guide pulls on each poke message.
  const bobSocket = new WebSocket(`ws://127.0.0.1:${server.port}/api/poke?space=${space}&auth=${mintToken('bob', SECRET)}`);
  bobSocket.on('message', () => bob.pull());
  await new Promise((resolve, reject) => {
    bobSocket.once('open', resolve);
    bobSocket.once('error', reject);
  });
  const aliceView = watchMessages(alice);
  const bobView = watchMessages(bob);
  try {
    await sleep(300);  // both sockets and first pulls settle
    for (let i = 0; i < 10; i++) {
      await alice.mutate.createMessage({id: `a${i}`, from: 'alice', content: `from alice ${i}`, createdAt: i});
      await bob.mutate.createMessage({id: `b${i}`, from: 'bob', content: `from bob ${i}`, createdAt: i});
    }
    await alice.mutate.updateMessage({id: 'a3', content: 'edited by alice'});
    await bob.mutate.deleteMessage({id: 'b4'});

    const deadline = Date.now() + 30000;
    let expected;
    while (Date.now() < deadline) {
      expected = await serverState();
      const pending = [...(await alice.experimentalPendingMutations()), ...(await bob.experimentalPendingMutations())];
      const same = (view) => JSON.stringify(view.entries) === JSON.stringify(expected);
      if (pending.length === 0 && expected.length === 19 && same(aliceView) && same(bobView)) break;
      await sleep(50);
    }
    assert.equal(expected.length, 19, 'the server has 20 messages less the deleted one');
    assert.deepEqual(aliceView.entries, expected, 'the replicore client shows the server state');
    assert.deepEqual(bobView.entries, expected, 'the Replicache client shows the server state');
    const byKey = new Map(expected);
    assert.equal(byKey.get('message/a3').content, 'edited by alice');
    assert.ok(!byKey.has('message/b4'));
    // The server assigned every message a distinct order.
    const orders = expected.map(([, v]) => v.order);
    assert.equal(new Set(orders).size, orders.length);
    assert.ok(orders.every((o) => Number.isInteger(o)));
  } finally {
    bobSocket.close();
    await alice.close();
    await bob.close();
  }
});
