// createServer(options): the replicore push/pull/poke HTTP server.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, badRequest } from './errors.js';
import { validatePull, validatePush } from './validate.js';
import { createSync, DEFAULT_MUTATOR_TIMEOUT_MS } from './sync.js';
import {
  createPokeHub, defaultMaxPokeSockets, DEFAULT_MAX_POKE_BUFFERED_BYTES, DEFAULT_MAX_POKE_SOCKETS_PER_USER,
} from './poke.js';
import { serveStatic } from './static.js';
import { createJsonLogger, errorInfo } from './log.js';
import {
  DEMO_TOKEN_TTL_SECONDS, createDemoVerifier, createJwtVerifier, isUsableUserID, isValidUserID, loadOrCreateDemoSecret,
  mintToken, tokenFromAuthorization, tokenFromUpgrade,
} from './auth.js';
import { chatMutators } from './chat-mutators.js';
import { createSqliteStorage } from './storage/sqlite.js';
import { createPostgresStorage, PG_DEFAULTS } from './storage/postgres.js';

export { mintToken, createJwtVerifier, createDemoVerifier, loadOrCreateDemoSecret } from './auth.js';
export { chatMutators } from './chat-mutators.js';
export { createSqliteStorage } from './storage/sqlite.js';
export { createPostgresStorage } from './storage/postgres.js';
export { silentLogger, createJsonLogger, createMemoryLogger } from './log.js';

const NODE_SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_WEB_DIR = path.resolve(NODE_SERVER_DIR, '../web');
// The package as `bash scripts/build-wasm.sh` assembles it: wasm/package holds only its sources.
export const DEFAULT_PACKAGE_DIR = path.resolve(NODE_SERVER_DIR, '../build-wasm/package');
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;
// Node's own defaults (60 s for headers, 300 s for a whole request) let a client that sends
// slowly hold a connection, and its file descriptor, for minutes.
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5000;
const SPACE_RE = /^[A-Za-z0-9_.-]{1,128}$/;
// The endpoints a page on another origin (a dev server such as Vite) calls; the poke WebSocket
// is not subject to CORS.
const CORS_PATHS = new Set(['/api/push', '/api/pull', '/api/login']);
// What Replicache's and replicore's requests carry besides the CORS-safe headers.
const CORS_ALLOW_HEADERS = 'Content-Type, Authorization, X-Replicache-RequestID';

/**
 * The `corsOrigins` option (or CORS_ORIGINS: comma-separated) as a predicate on the Origin
 * header. '*' allows every origin; nothing given allows none (same-origin pages only).
 */
export function parseCorsOrigins(value) {
  const list = (Array.isArray(value) ? value : String(value ?? '').split(','))
    .map((o) => String(o).trim()).filter((o) => o !== '');
  if (list.includes('*')) return () => true;
  const allowed = new Set(list.map((o) => {
    let u = null;
    try {
      u = new URL(o);
    } catch {
      // reported below
    }
    // An origin is scheme://host[:port]; a path or a missing scheme would never match what
    // browsers send, so it is refused here rather than silently ignored. URL() also writes it
    // the way browsers do (lower case, no default port).
    if (!u || u.origin === 'null' || u.pathname !== '/' || u.search || u.hash || u.username || u.password) {
      throw new TypeError(`CORS origin ${JSON.stringify(o)} is not an origin like http://localhost:5173 (scheme://host[:port], no path)`);
    }
    return u.origin;
  }));
  return (origin) => allowed.has(origin);
}

/** A timeout option: whole milliseconds, 0 turning it off (as PostgreSQL's settings do). */
function msOption(options, name, fallback) {
  const value = options[name] ?? fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a whole number of milliseconds (0 turns it off)`);
  return value;
}

/** A count option: a whole number, at least `min`. */
function countOption(options, name, fallback, min = 1) {
  const value = options[name] ?? fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new TypeError(`${name} must be a whole number of at least ${min}`);
  return value;
}

/**
 * The HTTP server's timeouts from createServer's options. Node checks them every
 * connectionsCheckingInterval (30 s by default, as long as the request timeout itself): a
 * quarter of the shortest keeps a slow client from lasting much longer than its timeout.
 */
function httpTimeouts(options) {
  const headersTimeout = msOption(options, 'headersTimeoutMs', DEFAULT_HEADERS_TIMEOUT_MS);
  const requestTimeout = msOption(options, 'requestTimeoutMs', DEFAULT_REQUEST_TIMEOUT_MS);
  const keepAliveTimeout = msOption(options, 'keepAliveTimeoutMs', DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    throw new TypeError(`headersTimeoutMs (${headersTimeout}) must not be longer than requestTimeoutMs (${requestTimeout})`);
  }
  const shortest = Math.min(...[headersTimeout, requestTimeout].filter((ms) => ms > 0), 120_000);
  return { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval: Math.max(25, Math.floor(shortest / 4)) };
}

// Fatal: replacing invalid bytes with U+FFFD would store something other than what was sent.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Read the whole body as UTF-8 text, refusing (413) once it passes `limit` bytes without
 * buffering the rest, and (400) bytes that are not UTF-8.
 */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, { error: 'PayloadTooLarge', message: `body is larger than ${limit} bytes` }));
      return;
    }
    const chunks = [];
    let size = 0;
    let done = false;
    const onData = (chunk) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(new HttpError(413, { error: 'PayloadTooLarge', message: `body is larger than ${limit} bytes` }));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (done) return;
      done = true;
      try {
        resolve(utf8.decode(Buffer.concat(chunks)));
      } catch {
        reject(badRequest('body is not valid UTF-8'));
      }
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      // The client went, or was dropped by requestTimeout (Node has answered 408): not a
      // failure of ours, and nobody is left to answer.
      if (err?.code === 'ECONNRESET') {
        reject(new HttpError(400, { error: 'BadRequest', message: 'the connection closed before the body ended' }));
        return;
      }
      reject(err);
    });
  });
}

async function readJSON(req, limit) {
  const text = await readBody(req, limit);
  if (text.trim() === '') throw badRequest('body is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`body is not valid JSON: ${err.message}`);
  }
}

function sendJSON(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...extraHeaders,
  });
  res.end(text);
}

/**
 * options:
 *   storage        a storage object (see storage/interface.md); otherwise built from
 *   databaseURL    -> PostgreSQL, or dataDir / sqliteFile -> SQLite (default ./data)
 *   mutators       { name: async (tx, args, ctx) => void }   (default: the chat mutators)
 * Authentication, exactly one of (see README, "Authentication and authorization"):
 *   jwt            verify JWTs of the app's auth system: {secret | jwksURL | publicKey, issuer,
 *                  audience, userClaim, algorithms, clockTolerance, requireExp} (auth.js)
 *   authenticate   async (request, {token, action, space}) => userID | null; `request` is the
 *                  http.IncomingMessage (body unread), `token` what the client sent (Authorization
 *                  header without "Bearer ", or for the poke socket also the `auth` subprotocol or
 *                  query parameter), `action` 'push' | 'pull' | 'poke'
 *   demoSecret     accept demo tokens (mintToken) signed with this secret (>= 32 bytes)
 *   demoLogin      true: also serve POST /api/login {name}, anyone as anyone (demo only); without
 *                  demoSecret the secret is kept in dataDir (made once, mode 0600)
 *   demoTokenTTL   seconds a demo login token is valid (default 30 days)
 * Authorization:
 *   authorize      async (userID, space, 'read' | 'write', {request, claims}) => true to allow
 *                  (default: everything); checked on push (write), pull and poke (read)
 *   schemaVersion  when a string, pushes/pulls with another schemaVersion get VersionNotSupported
 *   bodyLimit      bytes (default 1 MiB)
 *   corsOrigins    origins allowed to call push/pull/login from another origin: an array or a
 *                  comma-separated string of origins (http://localhost:5173), or '*' for all;
 *                  default none (same-origin pages only)
 *   webDir, packageDir   static folders served at / and /replicore/ (null disables; the
 *                  package default is build-wasm/package, which must have been built)
 *   logger         { info(obj), error(obj) } (default: JSON lines on stdout/stderr)
 *   heartbeatMs    WebSocket ping interval (default 30000)
 *   futureCookie   what a pull with a cookie this database could not have issued (restored,
 *                  or lost its last commits) gets: 'reset' (default: clear + all live entries +
 *                  every lastMutationID of the group + a cookie above the client's; replicore
 *                  clients push again what the database lost) or 'clientStateNotFound' (for
 *                  Replicache clients, which fail every pull that lowers a lastMutationID)
 * Limits (milliseconds; 0 turns one off; see README, "Limits and timeouts"):
 *   mutatorTimeoutMs  a server mutator still running after this fails its mutation (5000)
 *   healthTimeoutMs   /healthz answers 503 when the database does not answer within this (2000)
 *   pgPoolSize, pgAcquireTimeoutMs, pgStatementTimeoutMs, pgIdleInTransactionTimeoutMs
 *                  with databaseURL: the pool's size (10), how long a request waits for a
 *                  connection before its 503 (5000), PostgreSQL's statement_timeout (15000) and
 *                  idle_in_transaction_session_timeout (30000, must exceed mutatorTimeoutMs)
 *   headersTimeoutMs, requestTimeoutMs   a request whose headers (20000), or whole request
 *                  body included (30000), have not arrived by then is answered 408 and closed
 *   keepAliveTimeoutMs   an idle keep-alive connection is closed after this (5000)
 *   maxPokeSocketsPerUser  poke sockets one user may have open (20); more: 429
 *   maxPokeSockets   poke sockets in all (4000, or half the open-file limit if lower); more: 503
 *   maxPokeBufferedBytes  a poke socket whose unsent data stays above this (4096 bytes) is
 *                  not reading: it is terminated
 */
export function createServer(options = {}) {
  const logger = options.logger ?? createJsonLogger();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const mutators = options.mutators ?? chatMutators;
  const schemaVersion = typeof options.schemaVersion === 'string' ? options.schemaVersion : null;
  const webDir = options.webDir === undefined ? DEFAULT_WEB_DIR : options.webDir;
  const packageDir = options.packageDir === undefined ? DEFAULT_PACKAGE_DIR : options.packageDir;
  const corsAllowed = parseCorsOrigins(options.corsOrigins);
  const mutatorTimeoutMs = msOption(options, 'mutatorTimeoutMs', DEFAULT_MUTATOR_TIMEOUT_MS);
  const healthTimeoutMs = msOption(options, 'healthTimeoutMs', DEFAULT_HEALTH_TIMEOUT_MS);
  const timeouts = httpTimeouts(options);
  const pokeLimits = {
    maxSocketsPerUser: countOption(options, 'maxPokeSocketsPerUser', DEFAULT_MAX_POKE_SOCKETS_PER_USER),
    maxSockets: countOption(options, 'maxPokeSockets', defaultMaxPokeSockets()),
    maxBufferedBytes: countOption(options, 'maxPokeBufferedBytes', DEFAULT_MAX_POKE_BUFFERED_BYTES, 0),
  };

  const auth = createAuth(options, logger);

  const storage = options.storage ??
    (options.databaseURL
      ? createPostgresStorage({ connectionString: options.databaseURL, logger, ...pgLimits(options, mutatorTimeoutMs) })
      : createSqliteStorage({ file: options.sqliteFile, dataDir: options.dataDir ?? path.resolve('data') }));

  const pokeHub = createPokeHub({ heartbeatMs: options.heartbeatMs, logger, ...pokeLimits });

  function onCommitted(space) {
    if (storage.publishPoke) {
      // Every instance (this one included) pokes its sockets when the notification arrives.
      storage.publishPoke(space).catch((err) => {
        logger.error({ msg: 'poke publish failed; poking local sockets only', space, error: errorInfo(err) });
        pokeHub.poke(space);
      });
    } else {
      pokeHub.poke(space);
    }
  }
  const unsubscribePokes = storage.onPoke
    ? storage.onPoke((space) => (space === null ? pokeHub.pokeAll() : pokeHub.poke(space)))
    : () => {};

  const futureCookie = options.futureCookie ?? 'reset';
  if (futureCookie !== 'reset' && futureCookie !== 'clientStateNotFound') {
    throw new TypeError("futureCookie must be 'reset' or 'clientStateNotFound'");
  }
  const sync = createSync({ storage, mutators, logger, onCommitted, futureCookie, mutatorTimeoutMs });

  function spaceOf(url) {
    const space = url.searchParams.get('space') ?? 'default';
    if (!SPACE_RE.test(space)) throw badRequest('space must be 1..128 characters of A-Z a-z 0-9 _ . -');
    return space;
  }

  /**
   * Who sent the request, and may they do `access` ('read' | 'write') in `space`: the user ID,
   * else an HttpError (401 not authenticated, 403 not allowed, 503 keys unreachable, 500 a hook
   * failed).
   */
  async function admit(req, ctx, { token, action, space, access }) {
    const who = await auth.identify(req, { token, action, space });
    ctx.userID = who.userID;
    await auth.check(req, who, space, access);
    return who;
  }

  function versionError(kind, version) {
    if (version !== 1) return { error: 'VersionNotSupported', versionType: kind };
    return null;
  }

  async function handlePush(req, res, url, ctx) {
    const space = spaceOf(url);
    ctx.space = space;
    const { userID } = await admit(req, ctx, { token: tokenFromAuthorization(req.headers.authorization), action: 'push', space, access: 'write' });
    const body = validatePush(await readJSON(req, bodyLimit));
    ctx.mutations = body.mutations.length;
    const vErr = versionError('push', body.pushVersion) ??
      (schemaVersion !== null && body.schemaVersion !== schemaVersion ? { error: 'VersionNotSupported', versionType: 'schema' } : null);
    if (vErr) {
      ctx.reason = `${vErr.error} (${vErr.versionType})`;
      return sendJSON(res, 200, vErr);
    }
    await sync.push({ space, userID, requestID: ctx.requestID, push: body });
    sendJSON(res, 200, {});
  }

  async function handlePull(req, res, url, ctx) {
    const space = spaceOf(url);
    ctx.space = space;
    const { userID } = await admit(req, ctx, { token: tokenFromAuthorization(req.headers.authorization), action: 'pull', space, access: 'read' });
    const body = validatePull(await readJSON(req, bodyLimit));
    const vErr = versionError('pull', body.pullVersion) ??
      (schemaVersion !== null && body.schemaVersion !== schemaVersion ? { error: 'VersionNotSupported', versionType: 'schema' } : null);
    if (vErr) {
      ctx.reason = `${vErr.error} (${vErr.versionType})`;
      return sendJSON(res, 200, vErr);
    }
    const response = await sync.pull({ space, userID, pull: body });
    if (response.error) ctx.reason = response.error;
    else ctx.patchOps = response.patch.length;
    sendJSON(res, 200, response);
  }

  async function handleLogin(req, res, ctx) {
    const body = await readJSON(req, Math.min(bodyLimit, 4096));
    if (typeof body !== 'object' || body === null || !isValidUserID(body.name)) {
      throw badRequest('name must be a string of 1..64 characters without control characters, lone surrogates or outer spaces');
    }
    ctx.userID = body.name;
    const now = Date.now();
    const token = mintToken(body.name, auth.demoSecret, { ttlSeconds: auth.demoTokenTTL, now });
    const expiresAt = new Date((Math.floor(now / 1000) + auth.demoTokenTTL) * 1000).toISOString();
    sendJSON(res, 200, { userID: body.name, token, expiresAt });
  }

  // A database that hangs (a stuck transaction holding SQLite's writer, an exhausted pool, a
  // server that stopped answering) is reported like one that is down.
  async function handleHealth(res) {
    let timer;
    try {
      const stuck = new Promise((_, reject) => {
        if (healthTimeoutMs > 0) {
          timer = setTimeout(() => reject(new Error(`the database did not answer within ${healthTimeoutMs} ms`)), healthTimeoutMs);
        }
      });
      await Promise.race([storage.check(), stuck]);
      sendJSON(res, 200, { ok: true, storage: storage.kind });
    } catch (err) {
      sendJSON(res, 503, { ok: false, storage: storage.kind, error: err.message });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * CORS for the API: an allowed Origin is echoed (with Vary: Origin, as the answer depends on
   * it) on the preflight and on every answer, errors included, so a page can read a 401.
   * Returns true when the request was a preflight and has been answered.
   */
  function cors(req, res, p) {
    if (!CORS_PATHS.has(p)) return false;
    const origin = req.headers.origin;
    const allowed = typeof origin === 'string' && corsAllowed(origin);
    res.setHeader('Vary', 'Origin');
    if (allowed) res.setHeader('Access-Control-Allow-Origin', origin);
    if (req.method !== 'OPTIONS') return false;
    if (typeof origin !== 'string' || !req.headers['access-control-request-method']) {
      res.writeHead(204, { Allow: 'POST, OPTIONS' });
      res.end();
      return true;
    }
    if (!allowed) {
      sendJSON(res, 403, {
        error: 'Forbidden',
        message: `origin ${origin} is not allowed: add it to CORS_ORIGINS (the corsOrigins option), or proxy /api through your dev server`,
      });
      return true;
    }
    res.writeHead(204, {
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
      'Access-Control-Max-Age': '600',
    });
    res.end();
    return true;
  }

  async function route(req, res, url, ctx) {
    const p = url.pathname;
    const m = req.method;
    if (cors(req, res, p)) return;
    if (p === '/api/push' || p === '/api/pull' || p === '/api/login') {
      if (m !== 'POST') return sendJSON(res, 405, { error: 'MethodNotAllowed', message: 'use POST' }, { Allow: 'POST' });
      if (p === '/api/push') return handlePush(req, res, url, ctx);
      if (p === '/api/pull') return handlePull(req, res, url, ctx);
      if (!auth.demoLogin) return sendJSON(res, 404, { error: 'NotFound', message: 'the demo login is disabled (DEMO_LOGIN=1 enables it)' });
      return handleLogin(req, res, ctx);
    }
    if (p === '/api/poke') return sendJSON(res, 426, { error: 'UpgradeRequired', message: 'open a WebSocket' }, { Upgrade: 'websocket' });
    if (p === '/healthz') return handleHealth(res);
    if (p.startsWith('/api/')) return sendJSON(res, 404, { error: 'NotFound', message: `no endpoint ${p}` });
    if (m !== 'GET' && m !== 'HEAD') return sendJSON(res, 405, { error: 'MethodNotAllowed', message: 'use GET' }, { Allow: 'GET, HEAD' });
    const rawPath = req.url.split('?')[0];
    if (rawPath === '/replicore') {
      res.writeHead(301, { Location: '/replicore/' });
      return res.end();
    }
    if (rawPath.startsWith('/replicore/')) {
      if (!packageDir) return sendJSON(res, 404, { error: 'NotFound' });
      return serveStatic(req, res, packageDir, rawPath.slice('/replicore/'.length));
    }
    if (!webDir) return sendJSON(res, 404, { error: 'NotFound' });
    return serveStatic(req, res, webDir, rawPath.slice(1));
  }

  const httpServer = http.createServer({
    headersTimeout: timeouts.headersTimeout,
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
  }, async (req, res) => {
    const start = process.hrtime.bigint();
    const requestID = req.headers['x-replicache-requestid'];
    // What the request's log line says besides method, path, status and time; the handlers fill
    // in what they learn (space, mutations, patchOps, and a reason when the answer is a refusal).
    const ctx = { requestID: typeof requestID === 'string' ? requestID : undefined, userID: undefined };
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      url = null;
    }
    res.on('finish', () => {
      logger.info({
        msg: 'request', method: req.method, path: req.url.split('?')[0], status: res.statusCode,
        ms: Number(process.hrtime.bigint() - start) / 1e6, requestID: ctx.requestID, userID: ctx.userID,
        space: ctx.space, mutations: ctx.mutations, patchOps: ctx.patchOps, reason: ctx.reason,
      });
    });
    try {
      if (!url) throw badRequest('bad URL');
      await route(req, res, url, ctx);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) logger.error({ msg: 'request failed', path: url?.pathname, requestID: ctx.requestID, error: errorInfo(err) });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = err instanceof HttpError ? err.body : { error: 'InternalServerError', message: 'internal error' };
      ctx.reason = body.message ?? body.error;
      // After a 413 the rest of the body is not read: close the connection instead.
      sendJSON(res, status, body, status === 413 ? { Connection: 'close' } : {});
    }
  });

  // The poke socket: authenticated and authorized (read) like a pull, before the upgrade
  // completes, so a refused client gets a plain HTTP 401/403 and never a socket.
  httpServer.on('upgrade', async (req, socket, head) => {
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      url = null;
    }
    const space = url?.searchParams.get('space') ?? 'default';
    const refuse = (status, body, extra = {}) => {
      const text = body ? JSON.stringify(body) : '';
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
      logger.info({
        msg: 'request', method: 'GET', path: url?.pathname ?? req.url.split('?')[0], status, upgrade: true, ...extra,
        reason: body?.message ?? body?.error,
      });
    };
    if (!url || url.pathname !== '/api/poke' || !SPACE_RE.test(space)) {
      refuse(url?.pathname === '/api/poke' ? 400 : 404);
      return;
    }
    socket.on('error', () => {});
    // Full already: no need to run the authentication hooks.
    const full = pokeHub.refusal();
    if (full) {
      refuse(full.status, full.body, { space });
      return;
    }
    const ctx = { userID: undefined };
    let who;
    try {
      who = await admit(req, ctx, { token: tokenFromUpgrade(req, url), action: 'poke', space, access: 'read' });
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      // (A hook's failure is an HttpError by now, already logged.)
      if (!(err instanceof HttpError)) logger.error({ msg: 'poke socket authentication failed', space, error: errorInfo(err) });
      const body = err instanceof HttpError ? err.body : { error: 'InternalServerError', message: 'internal error' };
      refuse(status, body, { space, userID: ctx.userID });
      return;
    }
    // The client may have gone while the hooks ran.
    if (socket.destroyed) return;
    const refused = pokeHub.refusal(who.userID);
    if (refused) {
      refuse(refused.status, refused.body, { space, userID: who.userID });
      return;
    }
    pokeHub.handleUpgrade(req, socket, head, space, { expiresAt: who.expiresAt, userID: who.userID });
    logger.info({ msg: 'request', method: 'GET', path: url.pathname, status: 101, space, userID: who.userID, upgrade: true });
  });

  let initialized = null;
  const init = () => (initialized ??= storage.init());

  return {
    httpServer,
    storage,
    pokeHub,
    get port() {
      const a = httpServer.address();
      return a && typeof a === 'object' ? a.port : undefined;
    },
    async listen(port = 8080, host = '127.0.0.1') {
      await init();
      await new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      return this;
    },
    async close() {
      unsubscribePokes();
      await pokeHub.close();
      await new Promise((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      await storage.close();
    },
  };
}

/** The PostgreSQL pool's limits from createServer's options (see createPostgresStorage). */
function pgLimits(options, mutatorTimeoutMs) {
  const limits = {
    poolSize: countOption(options, 'pgPoolSize', PG_DEFAULTS.poolSize),
    acquireTimeoutMs: msOption(options, 'pgAcquireTimeoutMs', PG_DEFAULTS.acquireTimeoutMs),
    statementTimeoutMs: msOption(options, 'pgStatementTimeoutMs', PG_DEFAULTS.statementTimeoutMs),
    idleInTransactionTimeoutMs: msOption(options, 'pgIdleInTransactionTimeoutMs', PG_DEFAULTS.idleInTransactionTimeoutMs),
  };
  // A mutator awaiting something keeps its transaction idle: PostgreSQL would end the session
  // (a 503, retried for ever) before the mutator's own limit failed the mutation.
  const idle = limits.idleInTransactionTimeoutMs;
  if (idle > 0 && (mutatorTimeoutMs === 0 || idle <= mutatorTimeoutMs)) {
    throw new TypeError(`pgIdleInTransactionTimeoutMs (PG_IDLE_IN_TRANSACTION_TIMEOUT_MS, ${idle}) must be longer than ` +
      `mutatorTimeoutMs (MUTATOR_TIMEOUT_MS, ${mutatorTimeoutMs || 'off'}), or 0`);
  }
  return limits;
}

/**
 * The server's authentication (one method of options.jwt, options.authenticate, demo tokens)
 * and authorization (options.authorize). Throws a TypeError for a setting that cannot work.
 */
function createAuth(options, logger) {
  const demoLogin = options.demoLogin === true;
  let demoSecret = options.demoSecret;
  if (demoLogin && !demoSecret) demoSecret = loadOrCreateDemoSecret(options.dataDir ?? path.resolve('data'), { logger });
  const methods = [
    options.jwt && 'jwt',
    options.authenticate && 'authenticate',
    demoSecret && (demoLogin ? 'demoLogin' : 'demoSecret'),
  ].filter(Boolean);
  if (methods.length === 0) {
    throw new TypeError('no authentication is configured: verify the JWTs of your auth system (the jwt option), ' +
      'pass an authenticate(request) hook, or enable the demo login (demoLogin: true)');
  }
  if (methods.length > 1) throw new TypeError(`authenticate one way, not with ${methods.join(' and ')} at once`);
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') throw new TypeError('authenticate must be a function');
  if (options.authorize !== undefined && typeof options.authorize !== 'function') throw new TypeError('authorize must be a function');
  const demoTokenTTL = options.demoTokenTTL ?? DEMO_TOKEN_TTL_SECONDS;
  if (!Number.isSafeInteger(demoTokenTTL) || demoTokenTTL <= 0) throw new TypeError('demoTokenTTL must be a positive whole number of seconds');

  let verify = null;
  if (options.jwt) verify = createJwtVerifier(options.jwt);
  else if (demoSecret) verify = createDemoVerifier(demoSecret);
  const hook = options.authenticate;
  // Rooms of the demo are public; an app that has private spaces passes its own.
  const authorize = options.authorize ?? (() => true);

  // A hook that throws something other than an HttpError is a bug or an outage of the
  // operator's code: 500 (the client retries), not 401 (which would log the user out).
  const hookFailed = (which, err) => {
    if (err instanceof HttpError) return err;
    logger.error({ msg: `${which} hook threw`, error: errorInfo(err) });
    return new HttpError(500, { error: 'InternalServerError', message: `${which} failed` });
  };
  const unauthorized = (reason) => new HttpError(401, {
    error: 'Unauthorized', message: `not authenticated${reason ? `: ${reason}` : ''}`,
  });

  return {
    demoLogin,
    demoSecret,
    demoTokenTTL,
    /** {userID, claims?} of the request, or throws 401 (or 503 / 500). */
    async identify(req, info) {
      if (verify) {
        const r = await verify(info.token);
        if (!r.userID) throw unauthorized(r.reason);
        return r;
      }
      let id;
      try {
        id = await hook(req, info);
      } catch (err) {
        throw hookFailed('authenticate', err);
      }
      if (id === null || id === undefined || id === false || id === '') throw unauthorized(info.token ? 'the token is not accepted' : 'no token');
      if (!isUsableUserID(id)) {
        logger.error({ msg: 'authenticate returned something that is not a usable user ID (a string of 1..256 characters without control characters)', type: typeof id });
        throw new HttpError(500, { error: 'InternalServerError', message: 'authenticate failed' });
      }
      return { userID: id };
    },
    /** Throws 403 unless authorize() answers true for this user, space and access. */
    async check(req, who, space, access) {
      let ok;
      try {
        ok = await authorize(who.userID, space, access, { request: req, claims: who.claims });
      } catch (err) {
        throw hookFailed('authorize', err);
      }
      // Only a plain `true` allows: a hook that forgets to return denies.
      if (ok !== true) {
        throw new HttpError(403, { error: 'Forbidden', message: `${who.userID} may not ${access} space ${space}` });
      }
    },
  };
}
