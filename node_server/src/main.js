#!/usr/bin/env node
// CLI: node src/main.js. Env: PORT (8080), HOST (127.0.0.1), DATA_DIR, DATABASE_URL, AUTH_SECRET,
// SCHEMA_VERSION, BODY_LIMIT, WEB_DIR, PACKAGE_DIR, MUTATORS (a module whose default export
// replaces the chat mutators), FUTURE_COOKIE (reset | clientStateNotFound),
// LOG_LEVEL (info | error).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer } from './server.js';
import { createJsonLogger } from './log.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const baseLogger = createJsonLogger();
// LOG_LEVEL=error drops the per-request info lines (the load bench uses it).
const logger = env.LOG_LEVEL === 'error' ? { info() {}, error: baseLogger.error } : baseLogger;

function defaultDataDir() {
  // The repository's data/ folder (git-ignored) when run from a checkout, else ./data.
  return fs.existsSync(path.join(repoRoot, '.git')) ? path.join(repoRoot, 'data') : path.resolve('data');
}

const mutators = env.MUTATORS ? (await import(pathToFileURL(path.resolve(env.MUTATORS)).href)).default : undefined;

const server = createServer({
  logger,
  mutators,
  futureCookie: env.FUTURE_COOKIE || undefined,
  databaseURL: env.DATABASE_URL || undefined,
  dataDir: env.DATA_DIR ? path.resolve(env.DATA_DIR) : defaultDataDir(),
  authSecret: env.AUTH_SECRET || undefined,
  schemaVersion: env.SCHEMA_VERSION,
  bodyLimit: env.BODY_LIMIT ? Number(env.BODY_LIMIT) : undefined,
  webDir: env.WEB_DIR ? path.resolve(env.WEB_DIR) : undefined,
  packageDir: env.PACKAGE_DIR ? path.resolve(env.PACKAGE_DIR) : undefined,
});

const port = Number(env.PORT ?? 8080);
const host = env.HOST ?? '127.0.0.1';
await server.listen(port, host);
baseLogger.info({ msg: 'listening', url: `http://${host}:${server.port}/`, storage: server.storage.kind });

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
