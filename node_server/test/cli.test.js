// `node src/main.js` as users start it: it serves the built package (build-wasm/package) at
// /replicore/, refuses to start without one, and reports a taken port in one line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '../src/main.js');
const BUILT = path.resolve(here, '../../build-wasm/package');
const PACKAGE_FILES = ['replicore.js', 'replicore_wasm.mjs', 'replicore_wasm.wasm'];

/**
 * Start main.js; resolves with {code, stdout, stderr} when it exits, or with {base, stop} once it
 * logs `listening` (whichever comes first).
 */
function run(env, dataDir) {
  const childEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', AUTH_SECRET: 'cli-secret', DATA_DIR: dataDir, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.js neither listened nor exited: ${stdout}\n${stderr}`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n').map((l) => { try { return JSON.parse(l); } catch { return null; } })
        .find((e) => e?.msg === 'listening');
      if (!line) return;
      clearTimeout(timer);
      resolve({
        base: line.url.replace(/\/$/, ''),
        stop: () => new Promise((r) => {
          if (child.exitCode !== null) return r();
          child.once('exit', r);
          child.kill('SIGTERM');
        }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** The one line a user gets instead of a stack trace. */
function assertOneLine(result, pattern) {
  assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
  assert.doesNotMatch(result.stdout, /listening|http:\/\//);
}

describe('main.js', { timeout: 120_000 }, () => {
  let tmp, dataDir, fakePackage;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-cli-'));
    dataDir = path.join(tmp, 'data');
    fakePackage = path.join(tmp, 'pkg');
    fs.mkdirSync(fakePackage);
    for (const f of PACKAGE_FILES) fs.writeFileSync(path.join(fakePackage, f), `// ${f}\n`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('serves build-wasm/package by default, or says how to build it', async () => {
    const built = PACKAGE_FILES.every((f) => fs.existsSync(path.join(BUILT, f)));
    const result = await run({ PACKAGE_DIR: undefined }, dataDir);
    if (!built) {
      assertOneLine(result, /not built.*build-wasm\/package.*bash scripts\/build-wasm\.sh/);
      return;
    }
    try {
      for (const f of PACKAGE_FILES) {
        const res = await fetch(`${result.base}/replicore/${f}`);
        assert.equal(res.status, 200, f);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(BUILT, f))), f);
      }
      // The demo page is served too.
      assert.equal((await fetch(`${result.base}/`)).status, 200);
    } finally {
      await result.stop();
    }
  });

  it('refuses a PACKAGE_DIR without a built package, naming what is missing and how to build it', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    fs.writeFileSync(path.join(empty, 'replicore.js'), '');
    const result = await run({ PACKAGE_DIR: empty }, dataDir);
    assertOneLine(result, /PACKAGE_DIR.*replicore_wasm\.mjs, replicore_wasm\.wasm.*bash scripts\/build-wasm\.sh/);
  });

  it('serves the package of PACKAGE_DIR; PACKAGE_DIR=off serves none', async () => {
    const s = await run({ PACKAGE_DIR: fakePackage }, dataDir);
    try {
      const res = await fetch(`${s.base}/replicore/replicore.js`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '// replicore.js\n');
    } finally {
      await s.stop();
    }
    const off = await run({ PACKAGE_DIR: 'off' }, dataDir);
    try {
      assert.equal((await fetch(`${off.base}/replicore/replicore.js`)).status, 404);
      assert.equal((await fetch(`${off.base}/healthz`)).status, 200);
    } finally {
      await off.stop();
    }
  });

  it('reports a taken port in one line, with how to pick another, and no URL', async () => {
    const holder = net.createServer();
    await new Promise((r) => holder.listen(0, '127.0.0.1', r));
    const { port } = holder.address();
    try {
      const result = await run({ PORT: String(port), PACKAGE_DIR: fakePackage }, dataDir);
      assertOneLine(result, new RegExp(`port ${port} .*already in use.*PORT=${port + 1}.*PORT=0`));
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it('reports bad settings in one line', async () => {
    assertOneLine(await run({ PORT: 'eighty', PACKAGE_DIR: fakePackage }, dataDir), /PORT=eighty is not a port number/);
    assertOneLine(await run({ CORS_ORIGINS: 'localhost:5173', PACKAGE_DIR: fakePackage }, dataDir),
      /CORS origin "localhost:5173" is not an origin/);
  });

  it('CORS_ORIGINS opens push and pull to the listed origin', async () => {
    const s = await run({ CORS_ORIGINS: 'http://localhost:5173', PACKAGE_DIR: fakePackage }, dataDir);
    try {
      const res = await fetch(`${s.base}/api/push`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'POST' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:5173');
    } finally {
      await s.stop();
    }
  });
});
