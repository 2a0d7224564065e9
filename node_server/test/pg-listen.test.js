// The PostgreSQL poke listener survives losing its connection: it reconnects, pokes every local
// socket once (notifications sent meanwhile are lost), and pokes flow again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { STORAGES, backend, startServer, token, uid, pushBody, mut, openPokeSocket, sleep } from './helpers.js';

describe('postgres poke listener', { timeout: 60_000, skip: !STORAGES.includes('postgres') && 'REPLICORE_TEST_STORAGES excludes postgres' }, () => {
  let b, server, url;
  before(async () => {
    b = await backend('postgres');
    url = await b.newDatabaseURL();
    const { createPostgresStorage, createMemoryLogger } = await import('../src/server.js');
    const logger = createMemoryLogger();
    server = await startServer(createPostgresStorage({ connectionString: url, reconnectDelayMs: 100, logger }), { logger });
  });
  after(async () => {
    await server?.close();
    await b?.stop();
  });

  it('reconnects after its connection is killed and catches up with a poke', async () => {
    const space = uid('room');
    const sock = await openPokeSocket(server.base, space);
    try {
      await server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'a', content: 'a' })]), { auth: token('alice'), space });
      await sock.waitFor(1);
      const admin = new pg.Client({ connectionString: b.url });
      await admin.connect();
      const r = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
      await admin.end();
      assert.equal(r.rowCount, 1);
      // Catch-up poke after the reconnect.
      await sock.waitFor(2, 10_000);
      assert.equal(server.storage.stats.listenConnections, 2);
      await server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'b', content: 'b' })]), { auth: token('alice'), space });
      await sock.waitFor(3);
      await sleep(50);
      assert.ok(server.logger.entries.some((e) => /poke listener connection lost/.test(e.msg)));
    } finally {
      await sock.close();
    }
  });
});
