// Several clients mutate the same keys at random while pokes, pulls and
// pushes interleave; once quiet, every client shows exactly the server's
// state and has nothing pending. `inc` reads before it writes, so wrong
// rebases show up as wrong counts.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, sleep, startServer, waitFor} from './helpers/server.js';

const {Replicache} = await loadReplicore();

const mutators = {
  async put(tx, {key, value}) {
    await tx.set(key, value);
  },
  async del(tx, key) {
    await tx.del(key);
  },
  async inc(tx, key) {
    const cur = await tx.get(key);
    await tx.set(key, (typeof cur === 'number' ? cur : 0) + 1);
  },
};

function rand(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

test('random concurrent mutations from 3 clients converge to the server state', async () => {
  const server = await startServer();
  const r = rand(Number(process.env.REPLICORE_SEED) || 12345);
  const clients = [0, 1, 2].map(
    (i) =>
      new Replicache({
        name: `converge-${i}-${process.pid}`,
        pushURL: server.pushURL,
        pullURL: server.pullURL,
        pokeURL: server.pokeURL,
        pullInterval: null,
        pushDelay: Math.floor(r() * 20),
        logSinks: [memorySink()],
        mutators,
      }),
  );
  // counters per client to see subscriptions keep up too
  const latest = clients.map(() => null);
  clients.forEach((c, i) => c.subscribe((tx) => tx.scan().entries().toArray(), (v) => (latest[i] = v)));
  const keys = ['a', 'b', 'c', 'd', 'e'];
  const ops = [];
  for (let step = 0; step < 150; step++) {
    const c = clients[Math.floor(r() * clients.length)];
    const key = keys[Math.floor(r() * keys.length)];
    const x = r();
    if (x < 0.5) ops.push(c.mutate.inc(key));
    else if (x < 0.8) ops.push(c.mutate.put({key, value: Math.floor(r() * 100)}));
    else ops.push(c.mutate.del(key));
    if (r() < 0.1) ops.push(c.pull());
    if (r() < 0.3) await sleep(Math.floor(r() * 5));
  }
  await Promise.all(ops);
  const serverState = () =>
    [...server.entries]
      .filter(([, e]) => !e.deleted)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, e]) => [k, e.value]);
  await waitFor(
    async () => {
      for (const c of clients) if ((await c.experimentalPendingMutations()).length) return false;
      return true;
    },
    {timeout: 15000, what: 'all mutations confirmed'},
  );
  await Promise.all(clients.map((c) => c.pull()));
  const expected = serverState();
  for (const [i, c] of clients.entries()) {
    assert.deepEqual(await c.query((tx) => tx.scan().entries().toArray()), expected, `client ${i}`);
  }
  await waitFor(() => latest.every((v) => JSON.stringify(v) === JSON.stringify(expected)), {what: 'subscriptions caught up'});
  // every client's lmid reached its mutation count
  for (const c of clients) assert.ok(server.clients.get(c.clientID).lmid > 0);
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
});
