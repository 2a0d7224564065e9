// SQLite storage (better-sqlite3, WAL). One connection per process; transactions are serialized
// by an async mutex because the sync layer awaits between statements. SQLite has one writer at a
// time anyway, so pushes to different spaces do wait on each other here (unlike PostgreSQL): a
// server mutator that awaits something slow holds every space for as long as it runs, which the
// sync layer's mutator timeout bounds. Use one server process per SQLite file.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { Mutex } from '../mutex.js';
import { newVersionID, pruneBelow } from './version-ids.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS replicore_space (
  space TEXT PRIMARY KEY,
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS replicore_entry (
  space TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  version INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (space, key)
);
CREATE INDEX IF NOT EXISTS replicore_entry_version ON replicore_entry (space, version);
CREATE TABLE IF NOT EXISTS replicore_client_group (
  client_group_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  space TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replicore_client (
  client_id TEXT PRIMARY KEY,
  client_group_id TEXT NOT NULL,
  last_mutation_id INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replicore_client_group_version ON replicore_client (client_group_id, version);
-- The random id of each recent space version (the cookie's id; see version-ids.js). Created at
-- start in databases of older servers too; their spaces get an id for their current version at
-- the first pull.
CREATE TABLE IF NOT EXISTS replicore_space_version (
  space TEXT NOT NULL,
  version INTEGER NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (space, version)
);
`;

export function createSqliteStorage({ file, dataDir } = {}) {
  if (!file) {
    if (!dataDir) throw new Error('createSqliteStorage needs file or dataDir');
    fs.mkdirSync(dataDir, { recursive: true });
    file = path.join(dataDir, 'replicore.sqlite3');
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  db.defaultSafeIntegers(false);

  const s = {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    // The new version is one more than the current one, or `floor` when that is higher (a pull
    // whose cookie is ahead of a restored space moves the space past it).
    bump: db.prepare(`INSERT INTO replicore_space (space, version) VALUES (?, ?)
      ON CONFLICT (space) DO UPDATE SET version = MAX(version + 1, excluded.version) RETURNING version`),
    putVersionID: db.prepare(`INSERT INTO replicore_space_version (space, version, id) VALUES (?, ?, ?)
      ON CONFLICT (space, version) DO UPDATE SET id = excluded.id`),
    pruneVersionIDs: db.prepare('DELETE FROM replicore_space_version WHERE space = ? AND version < ?'),
    getVersionID: db.prepare('SELECT id FROM replicore_space_version WHERE space = ? AND version = ?'),
    oldestVersionID: db.prepare('SELECT MIN(version) AS oldest FROM replicore_space_version WHERE space = ?'),
    getVersion: db.prepare('SELECT version FROM replicore_space WHERE space = ?'),
    getEntry: db.prepare('SELECT value, deleted, version FROM replicore_entry WHERE space = ? AND key = ?'),
    scan: db.prepare(`SELECT key, value FROM replicore_entry
      WHERE space = ? AND key >= ? AND deleted = 0 ORDER BY key`),
    putEntry: db.prepare(`INSERT INTO replicore_entry (space, key, value, version, deleted) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (space, key) DO UPDATE SET value = excluded.value, version = excluded.version, deleted = excluded.deleted`),
    since: db.prepare(`SELECT key, value, deleted FROM replicore_entry
      WHERE space = ? AND version > ? ORDER BY key`),
    live: db.prepare('SELECT key, value FROM replicore_entry WHERE space = ? AND deleted = 0 ORDER BY key'),
    getGroup: db.prepare('SELECT user_id, space FROM replicore_client_group WHERE client_group_id = ?'),
    insertGroup: db.prepare(`INSERT INTO replicore_client_group (client_group_id, user_id, space) VALUES (?, ?, ?)
      ON CONFLICT (client_group_id) DO NOTHING`),
    getClient: db.prepare('SELECT client_group_id, last_mutation_id, version FROM replicore_client WHERE client_id = ?'),
    putClient: db.prepare(`INSERT INTO replicore_client (client_id, client_group_id, last_mutation_id, version) VALUES (?, ?, ?, ?)
      ON CONFLICT (client_id) DO UPDATE SET last_mutation_id = excluded.last_mutation_id, version = excluded.version`),
    ping: db.prepare('SELECT 1'),
    clientsSince: db.prepare(`SELECT client_id, last_mutation_id FROM replicore_client
      WHERE client_group_id = ? AND version > ?`),
  };

  const tx = {
    bumpSpaceVersion(space, floor = 1) {
      const { version } = s.bump.get(space, floor);
      tx.recordVersionID(space, version, floor > 1);
      return version;
    },
    recordVersionID(space, version, jumped = false) {
      const id = newVersionID();
      s.putVersionID.run(space, version, id);
      const below = pruneBelow(version, jumped);
      if (below !== null) s.pruneVersionIDs.run(space, below);
      return id;
    },
    getCookieInfo(space, order) {
      const version = tx.getSpaceVersion(space);
      return {
        version,
        id: s.getVersionID.get(space, version)?.id ?? null,
        cookieID: order === null ? null : (s.getVersionID.get(space, order)?.id ?? null),
        oldest: s.oldestVersionID.get(space)?.oldest ?? null,
      };
    },
    startMutation(space, clientID) {
      return { version: tx.bumpSpaceVersion(space), client: tx.getClient(clientID) };
    },
    finishMutation(space, version, writes, clientID, clientGroupID, lastMutationID) {
      for (const [key, value] of writes) tx.putEntry(space, key, value, version, value === null);
      tx.putClient(clientID, clientGroupID, lastMutationID, version);
    },
    getSpaceVersion: (space) => s.getVersion.get(space)?.version ?? 0,
    getEntry(space, key) {
      const r = s.getEntry.get(space, key);
      return r ? { value: r.value, deleted: r.deleted !== 0, version: r.version } : undefined;
    },
    scanEntries(space, prefix, limit = Infinity) {
      const out = [];
      if (limit <= 0) return out;
      for (const r of s.scan.iterate(space, prefix)) {
        if (!r.key.startsWith(prefix)) break;
        out.push({ key: r.key, value: r.value });
        if (out.length >= limit) break;
      }
      return out;
    },
    putEntry(space, key, value, version, deleted) {
      s.putEntry.run(space, key, deleted ? null : value, version, deleted ? 1 : 0);
    },
    entriesSince: (space, version) =>
      s.since.all(space, version).map((r) => ({ key: r.key, value: r.value, deleted: r.deleted !== 0 })),
    liveEntries: (space) => s.live.all(space),
    getClientGroup(id) {
      const r = s.getGroup.get(id);
      return r ? { userID: r.user_id, space: r.space } : undefined;
    },
    insertClientGroup: (id, userID, space) => void s.insertGroup.run(id, userID, space),
    getClient(id) {
      const r = s.getClient.get(id);
      return r ? { clientGroupID: r.client_group_id, lastMutationID: r.last_mutation_id, version: r.version } : undefined;
    },
    getClients(ids) {
      const out = new Map();
      for (const id of ids) {
        const c = tx.getClient(id);
        if (c) out.set(id, c);
      }
      return out;
    },
    putClient: (id, group, lmid, version) => void s.putClient.run(id, group, lmid, version),
    clientsChangedSince: (group, version) =>
      s.clientsSince.all(group, version).map((r) => ({ clientID: r.client_id, lastMutationID: r.last_mutation_id })),
  };

  const mutex = new Mutex();
  let closed = false;

  return {
    kind: 'sqlite',
    file,
    async init() {},
    // Waits its turn behind the transactions: the one connection answers at once even while a
    // transaction holds it, so only the queue shows a stuck writer (healthz puts a time limit on it).
    async check() {
      if (closed) throw new Error('storage closed');
      await mutex.run(async () => {
        if (closed) throw new Error('storage closed');
        s.ping.get();
      });
    },
    async transact(fn) {
      return mutex.run(async () => {
        if (closed) throw new Error('storage closed');
        s.begin.run();
        try {
          const result = await fn(tx);
          s.commit.run();
          return result;
        } catch (err) {
          if (db.inTransaction) s.rollback.run();
          throw err;
        }
      });
    },
    async close() {
      await mutex.run(async () => {
        if (!closed) {
          closed = true;
          db.close();
        }
      });
    },
  };
}
