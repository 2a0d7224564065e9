// PostgreSQL storage (pg). Transactions run at REPEATABLE READ and are retried on serialization
// failure (40001) and deadlock (40P01) with jittered backoff, at most `maxRetries` times.
// Every writer of a space first bumps that space's version row (an upsert), which takes the row
// lock; a writer whose snapshot is older than another writer's commit fails with 40001 and is
// re-run, so writes to one space are serialized while different spaces never touch the same rows.
// Pokes between instances go over LISTEN/NOTIFY on channel `replicore_poke` (payload = space).
// The listening connection reconnects when lost (with backoff); onPoke listeners then get `null`
// (= all spaces).
//
// Nothing waits for ever: a request that cannot get a pooled connection within acquireTimeoutMs
// fails with StorageUnavailableError (HTTP 503, the client retries), and every pooled connection
// is opened with statement_timeout (a statement that runs that long is cancelled, also a 503) and
// idle_in_transaction_session_timeout (PostgreSQL ends a session left inside a transaction that
// long, e.g. by a process that froze, so its row locks do not block the space for ever).
//
// The database may go away at any moment (restart, failover, pg_terminate_backend). node-postgres
// reports that as an 'error' event on the client, and an 'error' event nobody listens to kills
// the process, so every connection gets a listener from the moment it exists. A transaction whose
// connection is lost fails with StorageUnavailableError (HTTP 503): it committed as a whole or
// not at all (when COMMIT itself was cut we cannot know which), and the client's retry is
// deduplicated by lastMutationID. The pool drops dead connections and opens new ones on demand.
import pg from 'pg';
import { StorageUnavailableError } from '../errors.js';
import { newVersionID, pruneBelow } from './version-ids.js';

export const POKE_CHANNEL = 'replicore_poke';
export const PG_DEFAULTS = {
  poolSize: 10,
  acquireTimeoutMs: 5000,
  statementTimeoutMs: 15_000,
  // Longer than the server's mutator timeout (5 s): a mutator awaiting something leaves its
  // transaction idle meanwhile.
  idleInTransactionTimeoutMs: 30_000,
};
const RETRYABLE = new Set(['40001', '40P01']);
// Errors that say the connection is gone or the server takes none right now, as opposed to
// something wrong with a statement: socket errors; SQLSTATE class 08 (connection exception);
// 57P01..57P03 (terminated by an administrator or a shutdown, crash of another backend, server
// starting up or shutting down); 53300 (too many connections); 25P03 (the session ended by
// idle_in_transaction_session_timeout).
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '53300', '25P03',
]);
// query_canceled: statement_timeout, or a pg_cancel_backend from an operator. The connection
// stays usable; the request fails with 503 so the client tries again.
const STATEMENT_CANCELED = '57014';
// node-postgres reports a connection lost (or already unusable) with these messages and no code.
const CONNECTION_ERROR_MESSAGE = /Connection terminated|not queryable|timeout exceeded when trying to connect/;
// Probe idle sockets, so a server that vanished without closing them (a failed-over host) is
// noticed instead of a LISTEN connection waiting forever.
const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 };

function isConnectionError(err) {
  if (!err) return false;
  const code = typeof err.code === 'string' ? err.code : '';
  return CONNECTION_ERROR_CODES.has(code) || code.startsWith('08') || CONNECTION_ERROR_MESSAGE.test(String(err.message));
}

/** An error logger that writes at most one line per `ms`, counting the lines it dropped: while
 * the database is down every request fails the same way. */
function throttledError(logger, ms = 1000) {
  let last = -Infinity;
  let suppressed = 0;
  return (entry) => {
    const now = Date.now();
    if (now - last < ms) {
      suppressed++;
      return;
    }
    last = now;
    logger?.error(suppressed ? { ...entry, suppressed } : entry);
    suppressed = 0;
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS replicore_space (
  space TEXT COLLATE "C" PRIMARY KEY,
  version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS replicore_entry (
  space TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  value TEXT,
  version BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT false,
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
  last_mutation_id BIGINT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS replicore_client_group_version ON replicore_client (client_group_id, version);
-- The random id of each recent space version (the cookie's id; see version-ids.js). Created at
-- start in databases of older servers too; their spaces get an id for their current version at
-- the first pull.
CREATE TABLE IF NOT EXISTS replicore_space_version (
  space TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (space, version)
);
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeTx(client) {
  const q = (text, values) => client.query({ text, values });
  // Rarely (once per PRUNE_EVERY versions, and after a jump): one more round trip.
  const pruneVersionIDs = async (space, version, jumped = false) => {
    const below = pruneBelow(version, jumped);
    if (below !== null) await q('DELETE FROM replicore_space_version WHERE space = $1 AND version < $2', [space, below]);
  };
  return {
    // The new version is one more than the current one, or `floor` when that is higher (a pull
    // whose cookie is ahead of a restored space moves the space past it); its id is recorded in
    // the same statement.
    async bumpSpaceVersion(space, floor = 1) {
      const r = await q(`WITH v AS (
          INSERT INTO replicore_space (space, version) VALUES ($1, $2)
          ON CONFLICT (space) DO UPDATE SET version = GREATEST(replicore_space.version + 1, EXCLUDED.version) RETURNING version),
        i AS (INSERT INTO replicore_space_version (space, version, id) SELECT $1, v.version, $3 FROM v
          ON CONFLICT (space, version) DO UPDATE SET id = EXCLUDED.id)
        SELECT version FROM v`, [space, floor, newVersionID()]);
      const version = Number(r.rows[0].version);
      await pruneVersionIDs(space, version, floor > 1);
      return version;
    },
    async recordVersionID(space, version) {
      const id = newVersionID();
      await q(`INSERT INTO replicore_space_version (space, version, id) VALUES ($1, $2, $3)
        ON CONFLICT (space, version) DO UPDATE SET id = EXCLUDED.id`, [space, version, id]);
      return id;
    },
    async getCookieInfo(space, order) {
      const r = await q(`SELECT s.version, cur.id, ck.id AS cookie_id,
          (SELECT min(version) FROM replicore_space_version WHERE space = $1) AS oldest
        FROM (SELECT COALESCE((SELECT version FROM replicore_space WHERE space = $1), 0) AS version) s
        LEFT JOIN replicore_space_version cur ON cur.space = $1 AND cur.version = s.version
        LEFT JOIN replicore_space_version ck ON ck.space = $1 AND ck.version = $2`, [space, order ?? -1]);
      const row = r.rows[0];
      return {
        version: Number(row.version),
        id: row.id ?? null,
        cookieID: row.cookie_id ?? null,
        oldest: row.oldest === null ? null : Number(row.oldest),
      };
    },
    // One round trip for the start of every mutation: bump the space version (locking the
    // space row), record its id, and read the client.
    async startMutation(space, clientID) {
      const r = await q(`WITH v AS (
          INSERT INTO replicore_space (space, version) VALUES ($1, 1)
          ON CONFLICT (space) DO UPDATE SET version = replicore_space.version + 1 RETURNING version),
        i AS (INSERT INTO replicore_space_version (space, version, id) SELECT $1, v.version, $3 FROM v
          ON CONFLICT (space, version) DO UPDATE SET id = EXCLUDED.id)
        SELECT v.version, c.client_group_id, c.last_mutation_id, c.version AS client_version
        FROM v LEFT JOIN replicore_client c ON c.client_id = $2`, [space, clientID, newVersionID()]);
      const row = r.rows[0];
      await pruneVersionIDs(space, Number(row.version));
      return {
        version: Number(row.version),
        client: row.client_group_id === null ? undefined : {
          clientGroupID: row.client_group_id, lastMutationID: Number(row.last_mutation_id), version: Number(row.client_version),
        },
      };
    },
    // One round trip for the end of every mutation: its writes (possibly none) and the lmid.
    async finishMutation(space, version, writes, clientID, clientGroupID, lastMutationID) {
      await q(`WITH e AS (
          INSERT INTO replicore_entry (space, key, value, version, deleted)
          SELECT $1, w.key, w.value, $2, w.value IS NULL FROM unnest($3::text[], $4::text[]) AS w(key, value)
          ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, deleted = EXCLUDED.deleted)
        INSERT INTO replicore_client (client_id, client_group_id, last_mutation_id, version) VALUES ($5, $6, $7, $2)
        ON CONFLICT (client_id) DO UPDATE SET last_mutation_id = EXCLUDED.last_mutation_id, version = EXCLUDED.version`,
        [space, version, writes.map(([k]) => k), writes.map(([, v]) => v), clientID, clientGroupID, lastMutationID]);
    },
    async getSpaceVersion(space) {
      const r = await q('SELECT version FROM replicore_space WHERE space = $1', [space]);
      return r.rows.length ? Number(r.rows[0].version) : 0;
    },
    async getEntry(space, key) {
      const r = await q('SELECT value, deleted, version FROM replicore_entry WHERE space = $1 AND key = $2', [space, key]);
      if (!r.rows.length) return undefined;
      const row = r.rows[0];
      return { value: row.value, deleted: row.deleted, version: Number(row.version) };
    },
    async scanEntries(space, prefix, limit = Infinity) {
      if (limit <= 0) return [];
      const lim = Number.isFinite(limit) ? limit : null;
      const r = await q(`SELECT key, value FROM replicore_entry
        WHERE space = $1 AND key >= $2 AND starts_with(key, $2) AND NOT deleted ORDER BY key LIMIT $3`,
        [space, prefix, lim]);
      return r.rows;
    },
    async putEntry(space, key, value, version, deleted) {
      await q(`INSERT INTO replicore_entry (space, key, value, version, deleted) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, deleted = EXCLUDED.deleted`,
        [space, key, deleted ? null : value, version, deleted]);
    },
    async entriesSince(space, version) {
      const r = await q(`SELECT key, value, deleted FROM replicore_entry
        WHERE space = $1 AND version > $2 ORDER BY key`, [space, version]);
      return r.rows;
    },
    async liveEntries(space) {
      const r = await q('SELECT key, value FROM replicore_entry WHERE space = $1 AND NOT deleted ORDER BY key', [space]);
      return r.rows;
    },
    async getClientGroup(id) {
      const r = await q('SELECT user_id, space FROM replicore_client_group WHERE client_group_id = $1', [id]);
      return r.rows.length ? { userID: r.rows[0].user_id, space: r.rows[0].space } : undefined;
    },
    async insertClientGroup(id, userID, space) {
      await q(`INSERT INTO replicore_client_group (client_group_id, user_id, space) VALUES ($1, $2, $3)
        ON CONFLICT (client_group_id) DO NOTHING`, [id, userID, space]);
    },
    async getClient(id) {
      const r = await q('SELECT client_group_id, last_mutation_id, version FROM replicore_client WHERE client_id = $1', [id]);
      if (!r.rows.length) return undefined;
      const row = r.rows[0];
      return { clientGroupID: row.client_group_id, lastMutationID: Number(row.last_mutation_id), version: Number(row.version) };
    },
    async getClients(ids) {
      const r = await q('SELECT client_id, client_group_id, last_mutation_id, version FROM replicore_client WHERE client_id = ANY($1)', [ids]);
      return new Map(r.rows.map((row) => [row.client_id, {
        clientGroupID: row.client_group_id, lastMutationID: Number(row.last_mutation_id), version: Number(row.version),
      }]));
    },
    async putClient(id, group, lmid, version) {
      await q(`INSERT INTO replicore_client (client_id, client_group_id, last_mutation_id, version) VALUES ($1, $2, $3, $4)
        ON CONFLICT (client_id) DO UPDATE SET last_mutation_id = EXCLUDED.last_mutation_id, version = EXCLUDED.version`,
        [id, group, lmid, version]);
    },
    async clientsChangedSince(group, version) {
      const r = await q(`SELECT client_id, last_mutation_id FROM replicore_client
        WHERE client_group_id = $1 AND version > $2`, [group, version]);
      return r.rows.map((row) => ({ clientID: row.client_id, lastMutationID: Number(row.last_mutation_id) }));
    },
  };
}

export function createPostgresStorage({
  connectionString,
  poolSize = PG_DEFAULTS.poolSize,
  acquireTimeoutMs = PG_DEFAULTS.acquireTimeoutMs,
  statementTimeoutMs = PG_DEFAULTS.statementTimeoutMs,
  idleInTransactionTimeoutMs = PG_DEFAULTS.idleInTransactionTimeoutMs,
  maxRetries = 20,
  reconnectDelayMs = 1000,
  maxReconnectDelayMs = 30_000,
  logger,
} = {}) {
  if (!connectionString) throw new Error('createPostgresStorage needs connectionString');
  // pg: connectionTimeoutMillis bounds both the wait for a free connection and the opening of a
  // new one; the two settings go in the startup packet (0 turns each off, as in PostgreSQL).
  const pool = new pg.Pool({
    connectionString, max: poolSize, ...KEEPALIVE,
    connectionTimeoutMillis: acquireTimeoutMs,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
  });
  // Idle connections that die are removed by the pool, which then emits 'error' here. A dying
  // connection can report several errors (the server's FATAL message, then the closed socket):
  // one line per connection is enough.
  const reported = new WeakSet();
  pool.on('error', (err, client) => {
    if (client && reported.has(client)) return;
    if (client) reported.add(client);
    logger?.error({ msg: 'pg pool error', error: err.message, code: err.code });
  });
  // Connections that reported an error, i.e. are dead; transact() checks this after a failure.
  const lostClients = new WeakSet();
  // 'connect' is emitted synchronously before a new connection is handed out, so this listener
  // is in place whether the connection dies idle, checked out, or between two queries.
  pool.on('connect', (client) => client.on('error', () => lostClients.add(client)));
  const logUnavailable = throttledError(logger);
  const stats = { retries: 0, listenConnections: 0, unavailable: 0 };
  const pokeListeners = new Set();
  let listenClient = null;
  let closed = false;
  let reconnectTimer = null;
  let listenFailures = 0;

  function unavailable(err, message) {
    stats.unavailable++;
    logUnavailable({ msg: `${message}; the request fails with 503`, error: err?.message, code: err?.code });
    return new StorageUnavailableError(`${message}; retry later`, err);
  }

  /** Reconnect the listener after a delay that doubles per failed attempt (jittered, so that
   * instances do not all reconnect in the same instant after a failover). */
  function scheduleListen() {
    if (closed) return;
    const base = Math.min(maxReconnectDelayMs, reconnectDelayMs * 2 ** listenFailures);
    reconnectTimer = setTimeout(async () => {
      reconnectTimer = null;
      if (closed) return;
      try {
        await startListening();
        listenFailures = 0;
      } catch (e) {
        listenFailures++;
        logger?.error({ msg: 'poke listener reconnect failed', error: e.message, code: e.code });
        scheduleListen();
      }
    }, base / 2 + (Math.random() * base) / 2);
  }

  async function startListening() {
    const client = new pg.Client({ connectionString, ...KEEPALIVE });
    client.on('notification', (n) => {
      if (n.channel !== POKE_CHANNEL) return;
      for (const cb of pokeListeners) cb(n.payload);
    });
    let established = false;
    let lost = false;
    const onLost = (err) => {
      if (lost) return;
      lost = true;
      client.end().catch(() => {});
      // Before it was established, whoever called startListening() sees the failure and retries.
      if (!established) return;
      if (listenClient === client) listenClient = null;
      if (closed) return;
      logger?.error({ msg: 'poke listener connection lost; reconnecting', error: err?.message, code: err?.code });
      scheduleListen();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${POKE_CHANNEL}`);
    } catch (err) {
      onLost(err);
      throw err;
    }
    if (lost) throw new Error('poke listener connection lost while subscribing');
    if (closed) {
      lost = true;
      await client.end().catch(() => {});
      return;
    }
    established = true;
    listenClient = client;
    // After a reconnect, pokes sent while we were not listening are lost: tell the listeners
    // (space null = "every space") so they can poke all their sockets once.
    if (stats.listenConnections++ > 0) for (const cb of pokeListeners) cb(null);
  }

  return {
    kind: 'postgres',
    stats,
    async init() {
      const client = await pool.connect();
      try {
        // Two instances may start at once: serialize schema creation with an advisory lock.
        await client.query('SELECT pg_advisory_lock(7274720421)');
        try {
          await client.query(SCHEMA);
        } finally {
          await client.query('SELECT pg_advisory_unlock(7274720421)');
        }
      } finally {
        client.release();
      }
      await startListening();
    },
    async check() {
      await pool.query('SELECT 1');
    },
    async transact(fn) {
      for (let attempt = 0; ; attempt++) {
        let client;
        const busy = pool.totalCount >= poolSize;
        try {
          client = await pool.connect();
        } catch (err) {
          // Every connection busy for acquireTimeoutMs (slow transactions hold them), or the
          // server down, restarting, or refusing connections: nothing was sent.
          if (busy && /timeout exceeded/.test(String(err.message))) {
            throw unavailable(err, `no PostgreSQL connection became free within ${acquireTimeoutMs} ms (all ${poolSize} in use)`);
          }
          throw unavailable(err, 'cannot connect to PostgreSQL');
        }
        let broken = false; // true: close this connection instead of returning it to the pool
        try {
          await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
          try {
            const result = await fn(makeTx(client));
            await client.query('COMMIT');
            return result;
          } catch (err) {
            await client.query('ROLLBACK').catch(() => { broken = true; });
            throw err;
          }
        } catch (err) {
          if (lostClients.has(client) || isConnectionError(err)) {
            // No retry here: the database is likely still away, and the client retries anyway.
            broken = true;
            throw unavailable(err, 'the PostgreSQL connection was lost during a transaction (it committed entirely or not at all)');
          }
          if (err.code === STATEMENT_CANCELED) throw unavailable(err, 'a PostgreSQL statement was cancelled (statement_timeout)');
          if (!RETRYABLE.has(err.code) || attempt >= maxRetries) throw err;
        } finally {
          client.release(broken || lostClients.has(client));
        }
        // Serialization failure or deadlock: the transaction rolled back; run it again.
        stats.retries++;
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    },
    async publishPoke(space) {
      await pool.query('SELECT pg_notify($1, $2)', [POKE_CHANNEL, space]);
    },
    onPoke(cb) {
      pokeListeners.add(cb);
      return () => pokeListeners.delete(cb);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      pokeListeners.clear();
      const lc = listenClient;
      listenClient = null;
      if (lc) await lc.end().catch(() => {});
      await pool.end();
    },
  };
}
