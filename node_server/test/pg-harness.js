// Start a throw-away PostgreSQL 15 for tests, unless DATABASE_URL is given.
//   const pg = await startPostgres();  // { url, stop() }
//   const pg = await startPostgres({ settings: { synchronous_commit: 'on' } });  // extra -c settings
// Without DATABASE_URL: initdb into a temp folder owned by `postgres` (the Debian server refuses
// to run as root), start it on a free loopback port with its socket in that folder, create a
// fresh database, and on stop() shut it down and delete the folder.
// With DATABASE_URL: create a fresh database on that server (so test runs do not see each
// other's data) and drop it on stop().
// A harness-started server also has restart(mode): `pg_ctl restart -m fast|immediate|smart` with
// the same options (fault tests); an external one has `external: true` and no restart.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import pg from 'pg';

const run = promisify(execFile);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function asPostgres(args) {
  // Running as root: drop to the postgres user; running as another user: run directly.
  if (process.getuid && process.getuid() === 0) return ['runuser', ['-u', 'postgres', '--', ...args]];
  return [args[0], args.slice(1)];
}

async function createDatabase(adminURL, name) {
  const c = new pg.Client({ connectionString: adminURL });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
}

async function dropDatabase(adminURL, name) {
  const c = new pg.Client({ connectionString: adminURL });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

function withDatabase(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function startPostgres({ log = () => {}, settings = {} } = {}) {
  const dbName = `replicore_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  if (process.env.DATABASE_URL) {
    const admin = process.env.DATABASE_URL;
    await createDatabase(admin, dbName);
    return {
      url: withDatabase(admin, dbName),
      external: true,
      async stop() {
        await dropDatabase(admin, dbName);
      },
    };
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-pg-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  if (process.getuid && process.getuid() === 0) {
    await run('chown', ['-R', 'postgres:postgres', dir]);
  }
  const port = await freePort();
  const [initCmd, initArgs] = asPostgres([path.join(PG_BIN, 'initdb'), '-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  await run(initCmd, initArgs, { cwd: dir });
  log(`initdb done in ${dataDir}`);
  // Later -c settings win, so `settings` can override the defaults (fault tests that stop the
  // server with -m immediate need synchronous_commit=on, or acknowledged commits can be lost).
  const extra = Object.entries(settings).map(([k, v]) => ` -c ${k}=${v}`).join('');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c synchronous_commit=off${extra}`;
  // -l is given on restart too: without it the postmaster keeps our stdout pipe open and
  // execFile would wait for the server to exit.
  const pgCtl = (...args) => asPostgres([path.join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', ...args]);
  const [ctlCmd, ctlArgs] = pgCtl('start');
  await run(ctlCmd, ctlArgs, { cwd: dir });
  log(`postgres started on port ${port}`);
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const [c, a] = asPostgres([path.join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    await run(c, a, { cwd: dir }).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await createDatabase(admin, dbName);
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = async (mode = 'fast') => {
    const [c, a] = pgCtl('-m', mode, 'restart');
    await run(c, a, { cwd: dir });
    log(`postgres restarted (-m ${mode})`);
  };
  return { url: withDatabase(admin, dbName), adminURL: admin, port, dir, dataDir, stop, restart };
}
