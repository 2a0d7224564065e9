// Cookies the server can check ({order: version, id}), on both stores: a database written by a
// server before version ids (the table is created at start, the bare-number cookies of its
// clients get one full reset), and ids pruned after VERSION_HISTORY versions (a cookie that old
// gets a full reset, never ClientStateNotFound: nothing was lost). The restore itself:
// rules.test.js (cookies of another timeline) and faults/sqlite-restore.test.js (a real one).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { STORAGES, backend, startServer, token, uid, pushBody, pullBody, mut } from './helpers.js';
import { createSqliteStorage } from '../src/storage/sqlite.js';
import { createPostgresStorage } from '../src/storage/postgres.js';
import { VERSION_HISTORY, PRUNE_EVERY } from '../src/storage/version-ids.js';

const alice = token('alice');

for (const kind of STORAGES) {
  describe(`cookies on ${kind}`, { timeout: 120_000 }, () => {
    let b;
    before(async () => {
      b = await backend(kind);
    });
    after(async () => {
      await b?.stop();
    });

    // Two storages on one database, one after the other, and a way to run SQL on it.
    async function database() {
      if (kind === 'sqlite') {
        const first = await b.newStorage();
        const file = first.file;
        return {
          first,
          again: () => createSqliteStorage({ file }),
          async sql(text) {
            const db = new Database(file);
            try {
              return db.prepare(text).all();
            } catch {
              db.exec(text);
              return [];
            } finally {
              db.close();
            }
          },
        };
      }
      const url = await b.newDatabaseURL();
      return {
        first: createPostgresStorage({ connectionString: url }),
        again: () => createPostgresStorage({ connectionString: url }),
        async sql(text) {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            return (await c.query(text)).rows ?? [];
          } finally {
            await c.end();
          }
        },
      };
    }

    it('a database of a server before version ids: the table is made at start, a bare-number cookie gets one full reset', async () => {
      const d = await database();
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      let server = await startServer(d.first);
      await server.api.push(pushBody(g, [1, 2, 3].map((n) => mut(c, n, 'createMessage', { id: `m${n}`, content: 'x' }))), { auth: alice, space });
      await server.close();
      // What an older server left: no version ids at all.
      await d.sql('DROP TABLE replicore_space_version');
      server = await startServer(d.again());
      try {
        const r = (await server.api.pull(pullBody(g, 3), { auth: alice, space })).body;
        assert.equal(r.patch[0].op, 'clear');
        assert.equal(r.patch.length, 4);
        assert.deepEqual(r.lastMutationIDChanges, { [c]: 3 });
        assert.equal(r.cookie.order, 4, 'above the bare number');
        assert.equal(typeof r.cookie.id, 'string');
        const d2 = (await server.api.pull(pullBody(g, r.cookie), { auth: alice, space })).body;
        assert.deepEqual(d2, { cookie: r.cookie, lastMutationIDChanges: {}, patch: [] }, 'the new cookie diffs');
        await server.api.push(pushBody(g, [mut(c, 4, 'createMessage', { id: 'm4', content: 'y' })]), { auth: alice, space });
        const d3 = (await server.api.pull(pullBody(g, r.cookie), { auth: alice, space })).body;
        assert.deepEqual(d3.patch.map((o) => o.key), ['message/m4']);
      } finally {
        await server.close();
      }
    });

    it(`ids older than ${VERSION_HISTORY} versions are pruned; a cookie that old gets a full reset, not ClientStateNotFound`, async () => {
      const d = await database();
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const server = await startServer(d.first, { futureCookie: 'clientStateNotFound' });
      try {
        await server.api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'old', content: 'x' })]), { auth: alice, space });
        const old = (await server.api.pull(pullBody(g, null), { auth: alice, space })).body.cookie;
        // Versions without mutations (as pulls that reset make them), in one transaction.
        await server.storage.transact(async (tx) => {
          for (let i = 0; i < VERSION_HISTORY + PRUNE_EVERY; i++) await tx.bumpSpaceVersion(space);
        });
        const [{ n }] = await d.sql(`SELECT count(*) AS n FROM replicore_space_version WHERE space = '${space}'`);
        assert.ok(Number(n) <= VERSION_HISTORY + PRUNE_EVERY, `pruned: ${n} ids kept`);
        const r = (await server.api.pull(pullBody(g, old), { auth: alice, space })).body;
        assert.equal(r.patch[0].op, 'clear', JSON.stringify(r).slice(0, 200));
        assert.deepEqual(r.lastMutationIDChanges, { [c]: 1 });
        assert.equal(r.cookie.order, VERSION_HISTORY + PRUNE_EVERY + 1);
      } finally {
        await server.close();
      }
    });
  });
}
