// Two server processes on two ports sharing one PostgreSQL: a push to one instance pokes
// sockets on both (LISTEN/NOTIFY), data is shared, and concurrent pushes through both
// instances to one space are applied exactly once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STORAGES, backend, token, uid, pushBody, pullBody, mut, openPokeSocket, sleep } from './helpers.js';
import { spawnInstance } from './instances.js';
import { simulateClient, checkRun } from './sim.js';

describe('two instances sharing one PostgreSQL', { timeout: 60_000, skip: !STORAGES.includes('postgres') && 'REPLICORE_TEST_STORAGES excludes postgres' }, () => {
  let b, A, B;
  before(async () => {
    b = await backend('postgres');
    const url = await b.newDatabaseURL();
    const MUTATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'both-mutators.js');
    [A, B] = await Promise.all([spawnInstance({ DATABASE_URL: url, MUTATORS }), spawnInstance({ DATABASE_URL: url, MUTATORS })]);
  });
  after(async () => {
    await Promise.all([A?.stop(), B?.stop()]);
    await b?.stop();
  });

  it('both report postgres in healthz', async () => {
    for (const inst of [A, B]) {
      const r = await fetch(`${inst.base}/healthz`);
      assert.deepEqual(await r.json(), { ok: true, storage: 'postgres' });
    }
    assert.notEqual(A.base, B.base);
  });

  it('a push to A pokes sockets on A and B; other spaces get nothing; B serves the data', async () => {
    const space = uid('room');
    const onB = await openPokeSocket(B.base, space);
    const onA = await openPokeSocket(A.base, space);
    const otherOnB = await openPokeSocket(B.base, uid('other'));
    try {
      const g = uid('g');
      const r = await A.api.push(pushBody(g, [mut(uid('c'), 1, 'createMessage', { id: 'x', content: 'via A' })]), { auth: token('alice'), space });
      assert.equal(r.status, 200);
      await onB.waitFor(1);
      await onA.waitFor(1);
      assert.deepEqual(JSON.parse(onB.messages[0]), { type: 'poke', space });
      const p = await B.api.pull(pullBody(g, null), { auth: token('alice'), space });
      assert.equal(p.body.patch[1].value.content, 'via A');
      // And the other way round.
      await B.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'y', content: 'via B' })]), { auth: token('bob'), space });
      await onA.waitFor(2);
      await sleep(200);
      assert.equal(otherOnB.messages.length, 0);
      // A client group claimed on A is owned on B too.
      assert.equal((await B.api.pull(pullBody(g, null), { auth: token('mallory'), space })).status, 403);
    } finally {
      await Promise.all([onA.close(), onB.close(), otherOnB.close()]);
    }
  });

  it('12 clients split over both instances push to one space concurrently: exactly once', async () => {
    const space = uid('busy');
    const perClient = 10;
    const jobs = [];
    for (let i = 0; i < 12; i++) {
      const api = i % 2 ? A.api : B.api;
      const auth = token(`u${i}`);
      const group = `${space}-g${i}`;
      jobs.push(simulateClient({ api, space, group, clientID: `${space}-c${i}`, auth, mutations: perClient, batch: 2 })
        .then((r) => ({ ...r, space, auth })));
    }
    // `incr` is a read-modify-write on one key: a lost or doubled update across the two
    // instances (i.e. a missing serialization-failure retry) would show in the counter.
    const results = await Promise.all(jobs);
    await checkRun([A.api, B.api], [space], results, perClient);
  });
});
