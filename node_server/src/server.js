// createServer(options): the replicore push/pull/poke HTTP server.
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { HttpError, badRequest } from './errors.js';
import { validatePull, validatePush } from './validate.js';
import { createSync } from './sync.js';
import { createPokeHub } from './poke.js';
import { serveStatic } from './static.js';
import { createJsonLogger, errorInfo } from './log.js';
import { createTokenVerifier, isValidUserID, mintToken } from './auth.js';
import { chatMutators } from './chat-mutators.js';
import { createSqliteStorage } from './storage/sqlite.js';
import { createPostgresStorage } from './storage/postgres.js';

export { mintToken, createTokenVerifier } from './auth.js';
export { chatMutators } from './chat-mutators.js';
export { createSqliteStorage } from './storage/sqlite.js';
export { createPostgresStorage } from './storage/postgres.js';
export { silentLogger, createJsonLogger, createMemoryLogger } from './log.js';

const NODE_SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_WEB_DIR = path.resolve(NODE_SERVER_DIR, '../web');
// The package as `bash scripts/build-wasm.sh` assembles it: wasm/package holds only its sources.
export const DEFAULT_PACKAGE_DIR = path.resolve(NODE_SERVER_DIR, '../build-wasm/package');
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
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

/** Read the whole body, refusing (413) once it passes `limit` bytes without buffering the rest. */
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
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
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
 *   authSecret     secret of the default token verifier (and of POST /api/login)
 *   verifyAuth     (authHeader) => userID | null (may be async); replaces the default verifier
 *   schemaVersion  when a string, pushes/pulls with another schemaVersion get VersionNotSupported
 *   bodyLimit      bytes (default 1 MiB)
 *   corsOrigins    origins allowed to call push/pull/login from another origin: an array or a
 *                  comma-separated string of origins (http://localhost:5173), or '*' for all;
 *                  default none (same-origin pages only)
 *   webDir, packageDir   static folders served at / and /replicore/ (null disables; the
 *                  package default is build-wasm/package, which must have been built)
 *   logger         { info(obj), error(obj) } (default: JSON lines on stdout/stderr)
 *   heartbeatMs    WebSocket ping interval (default 30000)
 *   enableLogin    serve POST /api/login (default: true when the default verifier is used)
 *   futureCookie   what a pull with a cookie above the space's version gets: 'reset' (default:
 *                  clear + all live entries + the current cookie) or 'clientStateNotFound'
 */
export function createServer(options = {}) {
  const logger = options.logger ?? createJsonLogger();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const mutators = options.mutators ?? chatMutators;
  const schemaVersion = typeof options.schemaVersion === 'string' ? options.schemaVersion : null;
  const webDir = options.webDir === undefined ? DEFAULT_WEB_DIR : options.webDir;
  const packageDir = options.packageDir === undefined ? DEFAULT_PACKAGE_DIR : options.packageDir;
  const corsAllowed = parseCorsOrigins(options.corsOrigins);

  let authSecret = options.authSecret;
  let verifyAuth = options.verifyAuth;
  if (!verifyAuth) {
    if (!authSecret) {
      authSecret = randomBytes(32).toString('hex');
      logger.info({ msg: 'no AUTH_SECRET given: using a random one; tokens will not survive a restart or work across instances' });
    }
    verifyAuth = createTokenVerifier(authSecret);
  }
  const enableLogin = options.enableLogin ?? (!options.verifyAuth && !!authSecret);

  const storage = options.storage ??
    (options.databaseURL
      ? createPostgresStorage({ connectionString: options.databaseURL, logger })
      : createSqliteStorage({ file: options.sqliteFile, dataDir: options.dataDir ?? path.resolve('data') }));

  const pokeHub = createPokeHub({ heartbeatMs: options.heartbeatMs, logger });

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
  const sync = createSync({ storage, mutators, logger, onCommitted, futureCookie });

  function spaceOf(url) {
    const space = url.searchParams.get('space') ?? 'default';
    if (!SPACE_RE.test(space)) throw badRequest('space must be 1..128 characters of A-Z a-z 0-9 _ . -');
    return space;
  }

  async function authenticate(req, ctx) {
    let userID = null;
    try {
      userID = await verifyAuth(req.headers.authorization ?? '');
    } catch (err) {
      logger.error({ msg: 'auth verifier threw', error: errorInfo(err) });
    }
    if (typeof userID !== 'string' || userID === '') {
      throw new HttpError(401, { error: 'Unauthorized', message: 'missing or invalid Authorization' });
    }
    ctx.userID = userID;
    return userID;
  }

  function versionError(kind, version) {
    if (version !== 1) return { error: 'VersionNotSupported', versionType: kind };
    return null;
  }

  async function handlePush(req, res, url, ctx) {
    const space = spaceOf(url);
    const userID = await authenticate(req, ctx);
    const body = validatePush(await readJSON(req, bodyLimit));
    const vErr = versionError('push', body.pushVersion) ??
      (schemaVersion !== null && body.schemaVersion !== schemaVersion ? { error: 'VersionNotSupported', versionType: 'schema' } : null);
    if (vErr) return sendJSON(res, 200, vErr);
    await sync.push({ space, userID, requestID: ctx.requestID, push: body });
    sendJSON(res, 200, {});
  }

  async function handlePull(req, res, url, ctx) {
    const space = spaceOf(url);
    const userID = await authenticate(req, ctx);
    const body = validatePull(await readJSON(req, bodyLimit));
    const vErr = versionError('pull', body.pullVersion) ??
      (schemaVersion !== null && body.schemaVersion !== schemaVersion ? { error: 'VersionNotSupported', versionType: 'schema' } : null);
    if (vErr) return sendJSON(res, 200, vErr);
    sendJSON(res, 200, await sync.pull({ space, userID, pull: body }));
  }

  async function handleLogin(req, res, ctx) {
    const body = await readJSON(req, Math.min(bodyLimit, 4096));
    if (typeof body !== 'object' || body === null || !isValidUserID(body.name)) {
      throw badRequest('name must be a string of 1..64 characters without control characters or outer spaces');
    }
    ctx.userID = body.name;
    sendJSON(res, 200, { userID: body.name, token: mintToken(body.name, authSecret) });
  }

  async function handleHealth(res) {
    try {
      await storage.check();
      sendJSON(res, 200, { ok: true, storage: storage.kind });
    } catch (err) {
      sendJSON(res, 503, { ok: false, storage: storage.kind, error: err.message });
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
      if (!enableLogin) return sendJSON(res, 404, { error: 'NotFound', message: 'login is disabled' });
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

  const httpServer = http.createServer(async (req, res) => {
    const start = process.hrtime.bigint();
    const requestID = req.headers['x-replicache-requestid'];
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
      // After a 413 the rest of the body is not read: close the connection instead.
      sendJSON(res, status, body, status === 413 ? { Connection: 'close' } : {});
    }
  });

  httpServer.on('upgrade', (req, socket, head) => {
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      url = null;
    }
    const space = url?.searchParams.get('space') ?? 'default';
    if (!url || url.pathname !== '/api/poke' || !SPACE_RE.test(space)) {
      const status = url?.pathname === '/api/poke' ? '400 Bad Request' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      logger.info({ msg: 'request', method: 'GET', path: url?.pathname ?? req.url, status: parseInt(status, 10), upgrade: true });
      return;
    }
    socket.on('error', () => {});
    pokeHub.handleUpgrade(req, socket, head, space);
    logger.info({ msg: 'request', method: 'GET', path: url.pathname, status: 101, space, upgrade: true });
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
