#!/usr/bin/env node
// CLI: node src/main.js. Env: PORT (8080), HOST (127.0.0.1), DATA_DIR, DATABASE_URL,
// authentication, exactly one of: AUTH_JWT_SECRET | AUTH_JWKS_URL | AUTH_JWT_PUBLIC_KEY_FILE (with
// AUTH_JWT_AUDIENCE, AUTH_JWT_ISSUER, ...), AUTH_MODULE exporting authenticate, DEMO_LOGIN=1 (with
// DEMO_SECRET, or a secret kept in DATA_DIR); AUTH_MODULE's authorize (see auth-config.js),
// SCHEMA_VERSION, BODY_LIMIT, WEB_DIR, PACKAGE_DIR (default: build-wasm/package; `off` serves no
// package), CORS_ORIGINS (comma-separated origins, or *), MUTATORS (a module whose default export
// replaces the chat mutators), FUTURE_COOKIE (reset | clientStateNotFound), LOG_LEVEL (info |
// error), LOG_FORMAT (json | pretty; unset: pretty on a terminal, else json), limits in
// milliseconds (0 turns one off; see README, "Limits and timeouts"): MUTATOR_TIMEOUT_MS,
// HEALTH_TIMEOUT_MS, and with DATABASE_URL PG_POOL_SIZE, PG_ACQUIRE_TIMEOUT_MS,
// PG_STATEMENT_TIMEOUT_MS, PG_IDLE_IN_TRANSACTION_TIMEOUT_MS; the HTTP server's
// HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS; and poke socket
// limits (counts and bytes; see README, "Limits"): MAX_POKE_SOCKETS_PER_USER, MAX_POKE_SOCKETS,
// MAX_POKE_BUFFERED_BYTES.
// Mistakes a user can fix (package not built, port taken, bad setting) end the process with one
// line on stderr saying what to do, and exit code 1, rather than a stack trace.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, DEFAULT_PACKAGE_DIR } from './server.js';
import { createJsonLogger, createPrettyLogger } from './log.js';
import { authOptionsFromEnv } from './auth-config.js';
import { loadMutators } from './load-mutators.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;

function fail(message) {
  process.stderr.write(`replicore server: ${message}\n`);
  process.exit(1);
}

// JSON lines are for log collectors, which read a pipe or a file; a person at a terminal gets
// text. LOG_FORMAT=json keeps JSON on a terminal too.
const LOGGERS = { json: createJsonLogger, pretty: createPrettyLogger };
const logFormat = env.LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json');
if (!Object.hasOwn(LOGGERS, logFormat)) fail(`LOG_FORMAT=${env.LOG_FORMAT} is not json or pretty.`);
const baseLogger = LOGGERS[logFormat]();
// LOG_LEVEL=error drops the per-request info lines (the load bench uses it).
const logger = env.LOG_LEVEL === 'error' ? { info() {}, error: baseLogger.error } : baseLogger;

function defaultDataDir() {
  // The repository's data/ folder (git-ignored) when run from a checkout, else ./data.
  return fs.existsSync(path.join(repoRoot, '.git')) ? path.join(repoRoot, 'data') : path.resolve('data');
}

// What the page loads from /replicore/: without them it would come up "online" and do nothing.
const PACKAGE_FILES = ['replicore.js', 'replicore_wasm.wasm'];

function packageDir() {
  if (env.PACKAGE_DIR === 'off') return null;
  const dir = env.PACKAGE_DIR ? path.resolve(env.PACKAGE_DIR) : DEFAULT_PACKAGE_DIR;
  const missing = PACKAGE_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length === 0) return dir;
  const what = `${dir} has no ${missing.join(', ')}`;
  if (env.PACKAGE_DIR) {
    fail(`PACKAGE_DIR is not a built replicore package (${what}). Point it at one (bash scripts/build-wasm.sh builds build-wasm/package), or set PACKAGE_DIR=off to serve the API only.`);
  }
  fail(`the replicore package is not built (${what}). Build it from the repository root with: bash scripts/build-wasm.sh (or set PACKAGE_DIR to a built package, or PACKAGE_DIR=off to serve the API only).`);
}

const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT=${env.PORT} is not a port number (0..65535; 0 picks a free one).`);
const host = env.HOST || '127.0.0.1';

/** A whole number from the environment, or undefined (the server's default) when not set. */
function wholeFromEnv(name, what = 'a whole number of milliseconds (0 turns it off)', min = 0) {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) fail(`${name}=${text} is not ${what}.`);
  return n;
}

let server;
try {
  const mutators = await loadMutators(env.MUTATORS);
  const auth = await authOptionsFromEnv(env);
  server = createServer({
    ...auth,
    corsOrigins: env.CORS_ORIGINS || undefined,
    logger,
    mutators,
    futureCookie: env.FUTURE_COOKIE || undefined,
    databaseURL: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR ? path.resolve(env.DATA_DIR) : defaultDataDir(),
    schemaVersion: env.SCHEMA_VERSION,
    bodyLimit: env.BODY_LIMIT ? Number(env.BODY_LIMIT) : undefined,
    webDir: env.WEB_DIR ? path.resolve(env.WEB_DIR) : undefined,
    packageDir: packageDir(),
    mutatorTimeoutMs: wholeFromEnv('MUTATOR_TIMEOUT_MS'),
    healthTimeoutMs: wholeFromEnv('HEALTH_TIMEOUT_MS'),
    pgPoolSize: wholeFromEnv('PG_POOL_SIZE', 'a whole number of connections (at least 1)', 1),
    pgAcquireTimeoutMs: wholeFromEnv('PG_ACQUIRE_TIMEOUT_MS'),
    pgStatementTimeoutMs: wholeFromEnv('PG_STATEMENT_TIMEOUT_MS'),
    pgIdleInTransactionTimeoutMs: wholeFromEnv('PG_IDLE_IN_TRANSACTION_TIMEOUT_MS'),
    headersTimeoutMs: wholeFromEnv('HTTP_HEADERS_TIMEOUT_MS'),
    requestTimeoutMs: wholeFromEnv('HTTP_REQUEST_TIMEOUT_MS'),
    keepAliveTimeoutMs: wholeFromEnv('HTTP_KEEP_ALIVE_TIMEOUT_MS'),
    maxPokeSocketsPerUser: wholeFromEnv('MAX_POKE_SOCKETS_PER_USER', 'a whole number of sockets (at least 1)', 1),
    maxPokeSockets: wholeFromEnv('MAX_POKE_SOCKETS', 'a whole number of sockets (at least 1)', 1),
    maxPokeBufferedBytes: wholeFromEnv('MAX_POKE_BUFFERED_BYTES', 'a whole number of bytes'),
  });
} catch (err) {
  // Settings refused (MUTATORS, auth, CORS_ORIGINS, FUTURE_COOKIE, limits) are the user's to fix.
  if (err instanceof TypeError) fail(err.message);
  throw err;
}

// Errors of listen() the user fixes with PORT or HOST.
const LISTEN_ERRORS = {
  EADDRINUSE: () => `port ${port} on ${host} is already in use (is another server still running?). Pick another port with PORT=${port === 65535 ? 8080 : port + 1}, or PORT=0 for any free one.`,
  EACCES: () => `not allowed to listen on port ${port} of ${host} (ports below 1024 need privileges). Pick another port with PORT=8080.`,
  EADDRNOTAVAIL: () => `HOST=${host} is not an address of this machine. Use HOST=127.0.0.1 (this machine only) or HOST=0.0.0.0 (all interfaces).`,
  ENOTFOUND: () => `HOST=${host} does not resolve. Use HOST=127.0.0.1 (this machine only) or HOST=0.0.0.0 (all interfaces).`,
};
try {
  await server.listen(port, host);
} catch (err) {
  const message = LISTEN_ERRORS[err?.code];
  if (!message) throw err;
  await server.close().catch(() => {});
  fail(message());
}
// Only now is the URL true.
const url = `http://${host}:${server.port}/`;
baseLogger.info({ msg: 'listening', url, storage: server.storage.kind });
if (process.stdout.isTTY) process.stdout.write(`\nServing on ${url}  (Ctrl-C stops the server)\n\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    logger.info({ msg: 'shutting down', signal: sig });
    await server.close().catch((err) => logger.error({ msg: 'close failed', error: err.message }));
    process.exit(0);
  });
}
