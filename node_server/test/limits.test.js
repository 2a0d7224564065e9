// Nothing waits for ever (issue 15 item 7): a stuck server mutator holds other spaces at most
// mutatorTimeoutMs (SQLite: the one writer; PostgreSQL: the pool), /healthz reports a database
// that does not answer, and on PostgreSQL a request that gets no connection in time, a statement
// past statement_timeout or a session idle in a transaction too long answer 503. The CLI reads
// the limits from the environment.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { STORAGES, backend, startServer, token, uid, pushBody, pullBody, mut, applyPatch, until, gate, within } from './helpers.js';
import { spawnInstance } from './instances.js';
import { createPostgresStorage } from '../src/server.js';

const SLOW_MUTATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'slow-mutators.js');
const alice = token('alice');

async function healthz(server) {
  const res = await fetch(`${server.base}/healthz`);
  return { status: res.status, body: await res.json() };
}

async function pullState(api, space, g) {
  const r = await api.pull(pullBody(g, null), { auth: alice, space });
  assert.equal(r.status, 200, r.text);
  return { lmids: r.body.lastMutationIDChanges, view: Object.fromEntries(applyPatch(new Map(), r.body.patch)) };
}

for (const kind of STORAGES) {
  describe(`limits on ${kind}`, { timeout: 60_000 }, () => {
    let b;
    const held = [];
    const mutators = {
      async put(tx, { key }) {
        await tx.set(key, 'ok');
      },
      async stuck(tx, { key }) {
        await tx.set(key, 'never');
        const g = gate();
        held.push(g);
        await g.promise;
      },
    };
    const release = () => held.splice(0).forEach((g) => g.open());
    // SQLite: one stuck mutator holds the one writer. PostgreSQL: two take every connection of
    // a pool of two.
    const STUCK = kind === 'postgres' ? 2 : 1;

    before(async () => {
      b = await backend(kind);
    });
    after(async () => {
      release();
      await b?.stop();
    });

    it('holds pushes to other spaces only until the mutator timeout', async () => {
      const server = await startServer(
        kind === 'postgres' ? b.newStorage({ poolSize: STUCK }) : b.newStorage(),
        { mutators, mutatorTimeoutMs: 300 },
      );
      try {
        const stuck = [];
        for (let i = 0; i < STUCK; i++) {
          const space = uid('stuck');
          const g = uid('g');
          const c = uid('c');
          stuck.push({ space, g, c, push: server.api.push(pushBody(g, [mut(c, 1, 'stuck', { key: 'k' })]), { auth: alice, space }) });
        }
        await until(() => held.length === STUCK, 3000, 'the stuck mutators started');
        const space = uid('other');
        const g = uid('g');
        const c = uid('c');
        const r = await within(server.api.push(pushBody(g, [mut(c, 1, 'put', { key: 'k' })]), { auth: alice, space }), 3000, 'a push to another space');
        assert.equal(r.status, 200, r.text);
        assert.deepEqual((await pullState(server.api, space, g)).view, { k: 'ok' });
        for (const s of stuck) {
          const sr = await within(s.push, 3000, 'the stuck push');
          assert.equal(sr.status, 200, sr.text);
          assert.deepEqual(await pullState(server.api, s.space, s.g), { lmids: { [s.c]: 1 }, view: {} });
        }
      } finally {
        release();
        await server.close();
      }
    });

    it('/healthz answers 503 while the database is stuck, and 200 again after', async () => {
      // PostgreSQL: the stuck mutator holds the pool's only connection.
      const storage = kind === 'postgres' ? b.newStorage({ poolSize: 1, acquireTimeoutMs: 300 }) : b.newStorage();
      const server = await startServer(storage, { mutators, mutatorTimeoutMs: 20_000, healthTimeoutMs: 200 });
      try {
        assert.deepEqual(await healthz(server), { status: 200, body: { ok: true, storage: kind } });
        const space = uid('stuck');
        const push = server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'stuck', { key: 'k' })]), { auth: alice, space });
        await until(() => held.length === 1, 3000, 'the stuck mutator started');
        const started = Date.now();
        const h = await within(healthz(server), 3000, 'healthz');
        assert.ok(Date.now() - started < 2000);
        assert.deepEqual(h, { status: 503, body: { ok: false, storage: kind, error: 'the database did not answer within 200 ms' } });
        if (kind === 'postgres') {
          // No connection free: a request gives up after acquireTimeoutMs with a 503 the client retries.
          const other = await within(server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'put', { key: 'k' })]), { auth: alice, space: uid('other') }), 3000, 'a push');
          assert.equal(other.status, 503, other.text);
          assert.equal(other.body.error, 'StorageUnavailable');
          assert.match(other.body.message, /no PostgreSQL connection became free within 300 ms \(all 1 in use\)/);
        }
        release();
        assert.equal((await push).status, 200);
        assert.deepEqual(await healthz(server), { status: 200, body: { ok: true, storage: kind } });
      } finally {
        release();
        await server.close();
      }
    });

    if (kind === 'postgres') {
      it('a statement past statement_timeout answers 503, and the push succeeds once the lock is gone', async () => {
        const url = await b.newDatabaseURL();
        const server = await startServer(createPostgresStorage({ connectionString: url, statementTimeoutMs: 300 }), {
          mutators: { async put(tx, { key }) { await tx.set(key, 'ok'); } },
        });
        const locker = new pg.Client({ connectionString: url });
        await locker.connect();
        try {
          const space = uid('locked');
          const g = uid('g');
          const c = uid('c');
          // Another session holds the space's version row: the push's first statement on it waits.
          await locker.query('BEGIN');
          await locker.query('INSERT INTO replicore_space (space, version) VALUES ($1, 1)', [space]);
          const body = pushBody(g, [mut(c, 1, 'put', { key: 'k' })]);
          const r = await within(server.api.push(body, { auth: alice, space }), 3000, 'the blocked push');
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.error, 'StorageUnavailable');
          assert.match(r.body.message, /statement_timeout/);
          await locker.query('ROLLBACK');
          assert.equal((await server.api.push(body, { auth: alice, space })).status, 200);
          assert.deepEqual(await pullState(server.api, space, g), { lmids: { [c]: 1 }, view: { k: 'ok' } });
        } finally {
          await locker.end();
          await server.close();
        }
      });

      it('a session idle in a transaction too long is ended by PostgreSQL: 503, nothing written', async () => {
        const url = await b.newDatabaseURL();
        // (The server itself refuses an idle limit below its mutator timeout; this storage is built
        // by hand to show what PostgreSQL does.)
        const server = await startServer(createPostgresStorage({ connectionString: url, idleInTransactionTimeoutMs: 200 }), {
          mutators: (await import(SLOW_MUTATORS)).default,
          mutatorTimeoutMs: 0,
        });
        try {
          const space = uid('idle');
          const g = uid('g');
          const c = uid('c');
          const r = await within(server.api.push(pushBody(g, [mut(c, 1, 'wait', { key: 'k', ms: 600 })]), { auth: alice, space }), 3000, 'the push');
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.error, 'StorageUnavailable');
          assert.deepEqual(await pullState(server.api, space, g), { lmids: {}, view: {} });
        } finally {
          await server.close();
        }
      });
    }
  });
}

describe('limits from the environment (src/main.js)', { timeout: 60_000 }, () => {
  let dataDir;
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-limits-'));
  });
  after(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('MUTATOR_TIMEOUT_MS fails a mutator that takes longer', async () => {
    const inst = await spawnInstance({ DATA_DIR: dataDir, MUTATORS: SLOW_MUTATORS, MUTATOR_TIMEOUT_MS: '100', HEALTH_TIMEOUT_MS: '1000' });
    try {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const r = await inst.api.push(pushBody(g, [mut(c, 1, 'wait', { key: 'slow', ms: 400 }), mut(c, 2, 'wait', { key: 'quick', ms: 0 })]), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(await pullState(inst.api, space, g), { lmids: { [c]: 2 }, view: { quick: 0 } });
      assert.ok(inst.errors.some((l) => /MutatorTimeoutError/.test(l) && /did not finish within 100 ms/.test(l)), inst.errors.join('\n'));
    } finally {
      await inst.stop();
    }
  });

  it('refuses to start with a limit that is not a number, or an idle limit below the mutator timeout', async () => {
    await assert.rejects(spawnInstance({ DATA_DIR: dataDir, MUTATOR_TIMEOUT_MS: '5s' }),
      /exited with 1: replicore server: MUTATOR_TIMEOUT_MS=5s is not a whole number of milliseconds/);
    await assert.rejects(spawnInstance({
      DATA_DIR: dataDir, DATABASE_URL: 'postgres://127.0.0.1:1/none', MUTATOR_TIMEOUT_MS: '10000', PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '5000',
    }), /exited with 1: replicore server: pgIdleInTransactionTimeoutMs \(PG_IDLE_IN_TRANSACTION_TIMEOUT_MS, 5000\) must be longer than mutatorTimeoutMs \(MUTATOR_TIMEOUT_MS, 10000\)/);
  });
});
