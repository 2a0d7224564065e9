// Shared test helpers: start a server on SQLite or PostgreSQL, talk push/pull, open poke sockets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { createServer, mintToken, createMemoryLogger, createSqliteStorage, createPostgresStorage } from '../src/server.js';
import { startPostgres } from './pg-harness.js';

// The demo secret of every test server (at least 32 bytes, or the server refuses it).
export const SECRET = 'replicore-test-secret-0123456789abcdef';
export const token = (user, options) => mintToken(user, SECRET, options);
export const STORAGES = (process.env.REPLICORE_TEST_STORAGES ?? 'sqlite,postgres').split(',');

/**
 * A storage backend for a test file: `const b = await backend('postgres')`, then
 * `b.newStorage()` for each server (a fresh database on PostgreSQL, a fresh file on SQLite),
 * `b.sharedStorage()` for servers that must share one database, and `b.stop()` at the end.
 */
export async function backend(kind) {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-sqlite-'));
    let n = 0;
    return {
      kind,
      newStorage: () => createSqliteStorage({ file: path.join(dir, `db${n++}.sqlite3`) }),
      async stop() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const pgServer = await startPostgres();
  let n = 0;
  return {
    kind,
    url: pgServer.url,
    // A fresh schema per call keeps tests independent (CREATE DATABASE is much slower);
    // the URL selects it with `options=-c search_path=...`.
    async newDatabaseURL() {
      const name = `t${process.pid}_${n++}`;
      const c = new pg.Client({ connectionString: pgServer.url });
      await c.connect();
      await c.query(`CREATE SCHEMA ${name}`);
      await c.end();
      const u = new URL(pgServer.url);
      u.searchParams.set('options', `-c search_path=${name}`);
      return u.toString();
    },
    async newStorage(opts = {}) {
      return createPostgresStorage({ connectionString: await this.newDatabaseURL(), ...opts });
    },
    stop: () => pgServer.stop(),
  };
}

export async function startServer(storage, options = {}) {
  const logger = options.logger ?? createMemoryLogger();
  const server = createServer({
    storage: await storage,
    demoSecret: SECRET,
    logger,
    webDir: null,
    packageDir: null,
    ...options,
  });
  await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${server.port}`;
  return Object.assign(server, { base, logger, api: makeAPI(base) });
}

export function makeAPI(base) {
  async function post(p, body, { auth, space, headers = {}, raw = false } = {}) {
    const url = `${base}${p}${space === undefined ? '' : `?space=${encodeURIComponent(space)}`}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(auth !== undefined ? { Authorization: auth } : {}), ...headers },
      body: raw ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text, headers: res.headers };
  }
  return {
    post,
    push: (body, opts) => post('/api/push', body, opts),
    pull: (body, opts) => post('/api/pull', body, opts),
  };
}

let seq = 0;
export const uid = (p = 'x') => `${p}${process.pid}-${Date.now().toString(36)}-${seq++}`;

export function pushBody(clientGroupID, mutations, extra = {}) {
  return { profileID: 'p1', clientGroupID, pushVersion: 1, schemaVersion: '', mutations, ...extra };
}

export function pullBody(clientGroupID, cookie, extra = {}) {
  return { profileID: 'p1', clientGroupID, pullVersion: 1, schemaVersion: '', cookie, ...extra };
}

export function mut(clientID, id, name, args, timestamp = 1) {
  return { clientID, id, name, args, timestamp };
}

/**
 * Open a poke socket and collect its messages. `auth`: the token sent in the `auth` query
 * parameter (default: a demo token of user `watcher`; null sends none); the rest goes to ws.
 */
export async function openPokeSocket(base, space, { auth = token('watcher'), ...opts } = {}) {
  const query = new URLSearchParams();
  if (space !== undefined) query.set('space', space);
  if (auth !== null) query.set('auth', auth);
  const qs = query.toString();
  const url = `${base.replace(/^http/, 'ws')}/api/poke${qs ? `?${qs}` : ''}`;
  const ws = new WebSocket(url, opts);
  const messages = [];
  const waiters = [];
  ws.on('message', (data) => {
    messages.push(String(data));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    /** Resolve when at least `n` messages arrived; reject after `ms`. */
    waitFor(n = 1, ms = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} poke(s), got ${messages.length}`)), ms);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve(messages);
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () => new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', resolve);
      ws.close();
    }),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond()` holds (polled every 5 ms), failing after `ms`. */
export async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

/** Apply a pull response's patch to a Map (a minimal client view). */
export function applyPatch(map, patch) {
  for (const op of patch) {
    if (op.op === 'clear') map.clear();
    else if (op.op === 'put') map.set(op.key, op.value);
    else if (op.op === 'del') map.delete(op.key);
  }
  return map;
}

/** A promise a test settles by hand (`open()`), to hold a mutator as long as it needs. */
export function gate() {
  let open;
  const promise = new Promise((resolve) => (open = resolve));
  return { promise, open };
}

/** `p`, or a rejection after `ms`: a request that hangs fails the test instead of stalling it. */
export function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
