// `node src/main.js` as users start it: it serves the built package (build-wasm/package) at
// /replicore/, refuses to start without one, and reports a taken port in one line. Its
// authentication settings: none, a weak secret or two at once refuse to start; the demo login
// only with DEMO_LOGIN=1, its secret kept in DATA_DIR across restarts; AUTH_MODULE; a PEM key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import { makeAPI, pullBody, pushBody, mut } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '../src/main.js');
const BUILT = path.resolve(here, '../../build-wasm/package');
const PACKAGE_FILES = ['replicore.js', 'replicore_wasm.mjs', 'replicore_wasm.wasm'];
const CLI_SECRET = 'replicore-cli-secret-0123456789abcdef';

/**
 * Start main.js; resolves with {code, stdout, stderr} when it exits, or with {base, stop} once it
 * logs `listening` (whichever comes first).
 */
function run(env, dataDir) {
  const childEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DEMO_SECRET: CLI_SECRET, DATA_DIR: dataDir, ...env };
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

  // ---------------------------------------------------------------- authentication --

  /** Status of a first pull in `space` with `auth`, and of a poke socket upgrade with it. */
  async function access(base, auth, space = 'room') {
    const api = makeAPI(base);
    const pull = (await api.pull(pullBody(`g-${Math.random().toString(36).slice(2)}`, null), { auth, space })).status;
    const push = (await api.push(pushBody(`g-${Math.random().toString(36).slice(2)}`,
      [mut(`c-${Math.random().toString(36).slice(2)}`, 1, 'createMessage', { id: `m${Date.now()}`, content: 'x' })]), { auth, space })).status;
    const poke = await new Promise((resolve) => {
      const q = new URLSearchParams({ space, ...(auth ? { auth } : {}) });
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/poke?${q}`);
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (req, res) => {
        res.resume();
        resolve(res.statusCode);
      });
      ws.once('error', () => resolve(0));
    });
    return { pull, push, poke };
  }

  const login = async (base, name) => {
    const res = await fetch(`${base}/api/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }),
    });
    return { status: res.status, body: await res.json() };
  };

  it('refuses to start without authentication, with a weak secret, or with two ways at once', async () => {
    const base = { PACKAGE_DIR: fakePackage, DEMO_SECRET: undefined };
    assertOneLine(await run(base, dataDir), /no authentication is configured.*AUTH_JWT_SECRET.*AUTH_MODULE.*DEMO_LOGIN=1/);
    assertOneLine(await run({ ...base, DEMO_LOGIN: '1', DEMO_SECRET: 'change-me' }, dataDir),
      /DEMO_SECRET\) is too weak: 9 bytes, it needs at least 32.*openssl rand/);
    assertOneLine(await run({ ...base, AUTH_JWT_SECRET: 'x'.repeat(31) }, dataDir), /AUTH_JWT_SECRET\) is too weak: 31 bytes/);
    assertOneLine(await run({ ...base, AUTH_SECRET: 'x'.repeat(40) }, dataDir), /AUTH_SECRET is no longer read.*DEMO_SECRET.*DEMO_LOGIN=1/);
    assertOneLine(await run({ ...base, DEMO_LOGIN: '1', AUTH_JWT_SECRET: 'x'.repeat(40) }, dataDir),
      /authenticate one way: AUTH_JWT_SECRET and DEMO_LOGIN/);
    assertOneLine(await run({ ...base, AUTH_JWKS_URL: 'https://idp.example/jwks' }, dataDir), /needs an audience \(AUTH_JWT_AUDIENCE\)/);
    assertOneLine(await run({ ...base, AUTH_JWT_AUDIENCE: 'chat' }, dataDir), /AUTH_JWT_AUDIENCE is set, but no key/);
    assertOneLine(await run({ ...base, DEMO_LOGIN: 'perhaps' }, dataDir), /DEMO_LOGIN=perhaps is not on or off/);
    assertOneLine(await run({ ...base, AUTH_MODULE: path.join(tmp, 'missing.js') }, dataDir), /AUTH_MODULE=.*there is no module/);
  });

  it('serves the demo login only with DEMO_LOGIN=1', async () => {
    const off = await run({ PACKAGE_DIR: fakePackage }, dataDir);
    try {
      const r = await login(off.base, 'ann');
      assert.equal(r.status, 404);
      assert.match(r.body.message, /DEMO_LOGIN=1/);
    } finally {
      await off.stop();
    }
    const on = await run({ PACKAGE_DIR: fakePackage, DEMO_LOGIN: '1' }, dataDir);
    try {
      const r = await login(on.base, 'ann');
      assert.equal(r.status, 200);
      assert.equal(r.body.userID, 'ann');
      assert.ok(Date.parse(r.body.expiresAt) > Date.now() + 29 * 86400e3);
      assert.deepEqual(await access(on.base, r.body.token), { pull: 200, push: 200, poke: 101 });
      assert.deepEqual(await access(on.base, undefined), { pull: 401, push: 401, poke: 401 });
    } finally {
      await on.stop();
    }
  });

  it('keeps the demo secret in DATA_DIR (mode 0600), so tokens survive a restart', async () => {
    const dir = path.join(tmp, 'demo-data');
    const env = { PACKAGE_DIR: fakePackage, DEMO_LOGIN: '1', DEMO_SECRET: undefined };
    let s = await run(env, dir);
    let tokenBefore;
    try {
      tokenBefore = (await login(s.base, 'ann')).body.token;
      assert.equal((await access(s.base, tokenBefore)).pull, 200);
    } finally {
      await s.stop();
    }
    const file = path.join(dir, 'demo-secret');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const secret = fs.readFileSync(file, 'utf8').trim();
    assert.ok(Buffer.byteLength(secret) >= 32);
    // Made readable by others meanwhile: put back to 0600 at start, same secret.
    fs.chmodSync(file, 0o644);
    s = await run(env, dir);
    try {
      assert.deepEqual(await access(s.base, tokenBefore), { pull: 200, push: 200, poke: 101 });
    } finally {
      await s.stop();
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(file, 'utf8').trim(), secret);
    // A new secret (the file deleted) invalidates the old tokens.
    fs.rmSync(file);
    s = await run(env, dir);
    try {
      assert.deepEqual(await access(s.base, tokenBefore), { pull: 401, push: 401, poke: 401 });
    } finally {
      await s.stop();
    }
    // A damaged secret file is reported, not replaced.
    fs.writeFileSync(file, 'short\n', { mode: 0o600 });
    assertOneLine(await run(env, dir), /demo secret in .*demo-secret is too weak.*delete the file/);
  });

  it('AUTH_MODULE: its authenticate and authorize decide push, pull and poke', async () => {
    const s = await run({ PACKAGE_DIR: fakePackage, DEMO_SECRET: undefined, AUTH_MODULE: path.join(here, 'auth-hooks.js') }, dataDir);
    try {
      assert.deepEqual(await access(s.base, 'key-of-ann', 'team-red'), { pull: 200, push: 200, poke: 101 });
      assert.deepEqual(await access(s.base, 'key-of-ben', 'team-red'), { pull: 403, push: 403, poke: 403 });
      assert.deepEqual(await access(s.base, 'key-of-ben', 'team-blue'), { pull: 200, push: 200, poke: 101 });
      assert.deepEqual(await access(s.base, 'key-of-ben', 'lobby'), { pull: 200, push: 200, poke: 101 });
      assert.deepEqual(await access(s.base, 'key-of-nobody', 'lobby'), { pull: 401, push: 401, poke: 401 });
      assert.equal((await login(s.base, 'ann')).status, 404);
    } finally {
      await s.stop();
    }
    // An authorize-only module goes with another way to authenticate.
    const only = path.join(tmp, 'authorize-only.js');
    fs.writeFileSync(only, 'export const authorize = (userID, space, access) => access === "read";\n');
    const r = await run({ PACKAGE_DIR: fakePackage, AUTH_MODULE: only }, dataDir);
    try {
      const { mintToken } = await import('../src/auth.js');
      assert.deepEqual(await access(r.base, mintToken('ann', CLI_SECRET)), { pull: 200, push: 403, poke: 101 });
    } finally {
      await r.stop();
    }
  });

  it('AUTH_JWT_PUBLIC_KEY_FILE: tokens signed with its private half are accepted, with the audience checked', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const file = path.join(tmp, 'idp.pem');
    fs.writeFileSync(file, await exportSPKI(publicKey));
    const sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1h').sign(privateKey);
    const s = await run({
      PACKAGE_DIR: fakePackage, DEMO_SECRET: undefined, AUTH_JWT_PUBLIC_KEY_FILE: file,
      AUTH_JWT_AUDIENCE: 'replichat', AUTH_JWT_ISSUER: 'https://idp.example',
    }, dataDir);
    try {
      assert.deepEqual(await access(s.base, await sign({ sub: 'u1', aud: 'replichat', iss: 'https://idp.example' })),
        { pull: 200, push: 200, poke: 101 });
      assert.deepEqual(await access(s.base, await sign({ sub: 'u1', aud: 'other', iss: 'https://idp.example' })),
        { pull: 401, push: 401, poke: 401 });
    } finally {
      await s.stop();
    }
    const priv = path.join(tmp, 'idp-private.pem');
    fs.writeFileSync(priv, await exportPKCS8(privateKey));
    assertOneLine(await run({ PACKAGE_DIR: fakePackage, DEMO_SECRET: undefined, AUTH_JWT_PUBLIC_KEY_FILE: priv, AUTH_JWT_AUDIENCE: 'a' }, dataDir),
      /holds a PRIVATE key/);
  });
});
