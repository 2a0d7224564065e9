// The real Replicache 15.3.0 client (in Node, kvStore 'mem') against this server: three clients
// in two client groups push, get poked over the WebSocket, pull, and converge.
// Replicache needs no extra globals in Node 20 (it guards document/navigator and Node has fetch,
// crypto and BroadcastChannel). pullInterval is null so only pokes make it pull, and so that
// close() leaves no 60 s timer behind.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Replicache } from 'replicache';
import { STORAGES, backend, startServer, token, pullBody, openPokeSocket, sleep, applyPatch, uid } from './helpers.js';

const clientMutators = {
  async createMessage(tx, { id, from, content, order }) {
    await tx.set(`message/${id}`, { from, content, order: order ?? 0 });
  },
  async updateMessage(tx, { id, content }) {
    const m = await tx.get(`message/${id}`);
    if (m) await tx.set(`message/${id}`, { ...m, content });
  },
  async deleteMessage(tx, { id }) {
    await tx.del(`message/${id}`);
  },
};

async function makeClient(server, { name, user, space }) {
  const rep = new Replicache({
    name,
    licenseKey: 'l',
    kvStore: 'mem',
    pushURL: `${server.base}/api/push?space=${space}`,
    pullURL: `${server.base}/api/pull?space=${space}`,
    auth: token(user),
    mutators: clientMutators,
    pullInterval: null,
    logLevel: 'error',
    requestOptions: { minDelayMs: 30, maxDelayMs: 500 },
  });
  const sock = await openPokeSocket(server.base, space);
  let pokes = 0;
  sock.ws.on('message', () => {
    pokes++;
    rep.pull();
  });
  let view = [];
  const unsubscribe = rep.subscribe((tx) => tx.scan({ prefix: 'message/' }).entries().toArray(), {
    onData: (v) => { view = v; },
  });
  return {
    rep,
    user,
    get view() { return view; },
    get pokes() { return pokes; },
    async close() {
      unsubscribe();
      await sock.close();
      await rep.close();
    },
  };
}

async function serverState(server, space) {
  const r = await server.api.pull(pullBody(uid('probe'), null), { auth: token('probe'), space });
  return [...applyPatch(new Map(), r.body.patch)].sort(([a], [b]) => (a < b ? -1 : 1));
}

async function waitConverged(server, space, clients, ms = 20_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    const expected = JSON.stringify(await serverState(server, space));
    const pending = await Promise.all(clients.map((c) => c.rep.experimentalPendingMutations()));
    const views = clients.map((c) => JSON.stringify(c.view));
    last = { expected, views, pending: pending.map((p) => p.length) };
    if (pending.every((p) => p.length === 0) && views.every((v) => v === expected)) return JSON.parse(expected);
    await sleep(50);
  }
  throw new Error(`clients did not converge: ${JSON.stringify(last)}`);
}

for (const kind of STORAGES) {
  describe(`Replicache 15.3.0 clients on ${kind}`, { timeout: 60_000 }, () => {
    let b, server;
    before(async () => {
      b = await backend(kind);
      server = await startServer(b.newStorage());
    });
    after(async () => {
      await server?.close();
      await b?.stop();
    });

    it('three clients in two groups push, get poked and converge', async () => {
      const space = uid('room');
      const groupName = uid('alice-tabs');
      const a1 = await makeClient(server, { name: groupName, user: 'alice', space });
      const a2 = await makeClient(server, { name: groupName, user: 'alice', space });
      const bob = await makeClient(server, { name: uid('bob'), user: 'bob', space });
      const clients = [a1, a2, bob];
      try {
        assert.equal(await a1.rep.clientGroupID, await a2.rep.clientGroupID, 'same name: same client group');
        assert.notEqual(await a1.rep.clientGroupID, await bob.rep.clientGroupID);

        await a1.rep.mutate.createMessage({ id: 'a1m1', from: 'alice', content: 'hi from tab 1', order: 1e9 });
        await a2.rep.mutate.createMessage({ id: 'a2m1', from: 'alice', content: 'hi from tab 2' });
        await bob.rep.mutate.createMessage({ id: 'bm1', from: 'bob', content: 'hi from bob' });
        let state = await waitConverged(server, space, clients);
        assert.deepEqual(state.map(([k]) => k), ['message/a1m1', 'message/a2m1', 'message/bm1']);
        const orders = state.map(([, v]) => v.order);
        assert.ok(orders.every((o) => Number.isInteger(o) && o < 1e9), 'server assigned the order');

        // Edits, a delete, and a forbidden edit of someone else's message (server refuses it,
        // the client's optimistic change is rolled back when the pull confirms the mutation).
        await bob.rep.mutate.updateMessage({ id: 'bm1', content: 'edited by bob' });
        await a1.rep.mutate.deleteMessage({ id: 'a2m1' });
        await a2.rep.mutate.updateMessage({ id: 'bm1', content: 'alice was here' });
        for (let i = 0; i < 5; i++) await a2.rep.mutate.createMessage({ id: `burst${i}`, from: 'alice', content: `b${i}` });
        state = await waitConverged(server, space, clients);
        const byKey = Object.fromEntries(state);
        assert.equal(byKey['message/bm1'].content, 'edited by bob');
        assert.equal(byKey['message/a2m1'], undefined);
        assert.equal(Object.keys(byKey).filter((k) => k.startsWith('message/burst')).length, 5);

        // Every mutation was applied exactly once: the server's lmids equal each client's count.
        const g = await a1.rep.clientGroupID;
        const lm = (await server.api.pull(pullBody(g, null), { auth: token('alice'), space })).body.lastMutationIDChanges;
        assert.deepEqual(lm, { [a1.rep.clientID]: 2, [a2.rep.clientID]: 7 });
        const lmBob = (await server.api.pull(pullBody(await bob.rep.clientGroupID, null), { auth: token('bob'), space })).body.lastMutationIDChanges;
        assert.deepEqual(lmBob, { [bob.rep.clientID]: 2 });
        assert.ok(clients.every((c) => c.pokes > 0), 'pulls were driven by pokes');
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    });

    it('a client in another space sees nothing and is not poked', async () => {
      const s1 = uid('room');
      const s2 = uid('room');
      const a = await makeClient(server, { name: uid('a'), user: 'alice', space: s1 });
      const other = await makeClient(server, { name: uid('o'), user: 'otto', space: s2 });
      try {
        await a.rep.mutate.createMessage({ id: 'x', from: 'alice', content: 'x' });
        await waitConverged(server, s1, [a]);
        await sleep(200);
        assert.equal(other.pokes, 0);
        assert.deepEqual(other.view, []);
      } finally {
        await Promise.all([a.close(), other.close()]);
      }
    });
  });
}
