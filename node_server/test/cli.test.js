// `node src/main.js` as users start it: it serves the built package (build-wasm/package) at
// /replicore/, refuses to start without one, and reports a taken port in one line. Its
// authentication settings: none, a weak secret or two at once refuse to start; the demo login
// only with DEMO_LOGIN=1, its secret kept in DATA_DIR across restarts; AUTH_MODULE; a PEM key.
// A MUTATORS module that cannot be used is reported in one line; LOG_FORMAT=pretty logs text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import { makeAPI, pullBody, pushBody, mut, uid, sleep } from './helpers.js';
import { mintToken } from '../src/auth.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '../src/main.js');
const BUILT = path.resolve(here, '../../build-wasm/package');
const PACKAGE_FILES = ['replicore.js', 'replicore_wasm.wasm'];
const CLI_SECRET = 'replicore-cli-secret-0123456789abcdef';

/** The URL of a `listening` line, JSON or pretty; undefined for any other line. */
function listeningURL(line) {
  try {
    const entry = JSON.parse(line);
    return entry?.msg === 'listening' ? entry.url : undefined;
  } catch {
    return /^\d\d:\d\d:\d\d listening on (http:\/\/\S+)/.exec(line)?.[1];
  }
}

/**
 * Start main.js; resolves with {code, stdout, stderr} when it exits, or with {base, stop,
 * output()} once it logs `listening` (whichever comes first); output() is {stdout, stderr} so far.
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
    let listening = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      // Whole lines only: a URL cut between two chunks must not be taken for the whole.
      const url = listening ? undefined : stdout.split('\n').slice(0, -1).map(listeningURL).find(Boolean);
      if (!url) return;
      listening = true;
      clearTimeout(timer);
      resolve({
        base: url.replace(/\/$/, ''),
        output: () => ({ stdout, stderr }),
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

// util-linux's script(1) runs a command on a pseudo-terminal: how main.js logs on a terminal.
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const shellQuote = (text) => `'${text.replace(/'/g, "'\\''")}'`;

/** main.js's output on a terminal up to its `listening` line (ANSI colors kept), then stopped. */
function outputOnTerminal(env, dataDir) {
  const childEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DEMO_SECRET: CLI_SECRET, DATA_DIR: dataDir, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const command = `${shellQuote(process.execPath)} ${shellQuote(MAIN)}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.js did not listen on a terminal: ${output}`));
    }, 20_000);
    let stopping = false;
    child.stdout.on('data', (d) => {
      output += d;
      if (stopping) return;
      // (Lines end in \r\n on a terminal.) script(1) ends the command when it gets a SIGTERM
      // itself, which takes it some 3 s.
      if (!/listening[^\n]*\n/.test(output)) return;
      stopping = true;
      child.kill('SIGTERM');
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
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
    const result = await run({ PACKAGE_DIR: empty }, dataDir);
    assertOneLine(result, /PACKAGE_DIR.*replicore\.js, replicore_wasm\.wasm.*bash scripts\/build-wasm\.sh/);
    // One file there, the other named alone.
    fs.writeFileSync(path.join(empty, 'replicore.js'), '');
    const again = await run({ PACKAGE_DIR: empty }, dataDir);
    assertOneLine(again, /PACKAGE_DIR.*has no replicore_wasm\.wasm\).*bash scripts\/build-wasm\.sh/);
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

  it('reports a MUTATORS module that cannot be used in one line: missing, throwing, or without mutators', async () => {
    const withMutators = (file) => ({ PACKAGE_DIR: fakePackage, MUTATORS: file });
    const writeModule = (name, text) => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const loading = 'MUTATORS=.*: the mutators module could not be loaded: ';
    assertOneLine(await run(withMutators(path.join(tmp, 'no-such-mutators.js')), dataDir),
      new RegExp(`${loading}there is no file .*no-such-mutators\\.js .*Point MUTATORS at the file of your server mutators`));
    assertOneLine(await run(withMutators(tmp), dataDir), new RegExp(`${loading}.* is a folder\\. Point MUTATORS at the module file in it`));
    assertOneLine(await run(withMutators(writeModule('throws.mjs', 'const ready = false;\nif (!ready) throw new Error("no database URL");\nexport default {};\n')), dataDir),
      new RegExp(`${loading}it threw Error: no database URL \\(at .*throws\\.mjs:2\\)\\. Fix the module`));
    assertOneLine(await run(withMutators(writeModule('syntax.mjs', 'export default {\n  a() {} +\n};\n')), dataDir),
      new RegExp(`${loading}it threw SyntaxError: .*\\(node --check .*syntax\\.mjs shows where\\)`));
    assertOneLine(await run(withMutators(writeModule('imports-missing.mjs', 'import "no-such-package-here";\nexport default {a() {}};\n')), dataDir),
      new RegExp(`${loading}it threw Error \\[ERR_MODULE_NOT_FOUND\\]: Cannot find package 'no-such-package-here'`));
    assertOneLine(await run(withMutators(writeModule('named.mjs', 'export function addTodo() {}\nexport function toggle() {}\n')), dataDir),
      new RegExp(`${loading}it has no default export\\. It has named exports addTodo, toggle: .*export default \\{addTodo, toggle\\}`));
    assertOneLine(await run(withMutators(writeModule('function.mjs', 'export default function addTodo() {}\n')), dataDir),
      new RegExp(`${loading}its default export is a function, not an object of mutator functions`));
    assertOneLine(await run(withMutators(writeModule('empty.mjs', 'export default {};\n')), dataDir), new RegExp(`${loading}its default export has no mutators`));
    assertOneLine(await run(withMutators(writeModule('constant.mjs', 'export default {addTodo() {}, version: 2};\n')), dataDir),
      new RegExp(`${loading}its default export's "version" is a number, not a function`));
    // A CommonJS module's exports object is its default export.
    const s = await run(withMutators(writeModule('mutators.cjs', 'module.exports = {async addTodo() {}};\n')), dataDir);
    try {
      assert.ok(s.base, 'started');
    } finally {
      await s.stop();
    }
  });

  it('LOG_FORMAT=pretty: one line of text per request, and an error in one line', async () => {
    const s = await run({ PACKAGE_DIR: fakePackage, LOG_FORMAT: 'pretty' }, dataDir);
    try {
      const api = makeAPI(s.base);
      const auth = mintToken('ann', CLI_SECRET);
      const g = uid('g');
      const c = uid('c');
      const messages = [1, 2, 3].map((id) => mut(c, id, 'createMessage', { id: `m${id}`, content: 'hello' }));
      assert.equal((await api.push(pushBody(g, messages), { auth, space: 'pretty-room' })).status, 200);
      assert.equal((await api.pull(pullBody(g, null), { auth, space: 'pretty-room' })).status, 200);
      assert.equal((await api.pull(pullBody(g, null), { auth: 'not-a-token', space: 'pretty-room' })).status, 401);
      assert.equal((await api.push(pushBody(g, [mut(c, 4, 'noSuchMutator', {})]), { auth, space: 'pretty-room' })).status, 200);
      // A request's line is written once its answer is sent, which the client may see first.
      const deadline = Date.now() + 5000;
      while (s.output().stdout.split('\n').filter((l) => / (push|pull) /.test(l)).length < 4 && Date.now() < deadline) await sleep(20);
      const { stdout, stderr } = s.output();
      const lines = stdout.split('\n').filter((l) => l !== '');
      assert.ok(lines.every((l) => /^\d\d:\d\d:\d\d /.test(l)), stdout);
      assert.doesNotMatch(stdout, /^\{/m);
      const requests = lines.filter((l) => / (push|pull) /.test(l));
      assert.equal(requests.length, 4, stdout);
      const ms = '\\d+(\\.\\d)? ms';
      assert.match(requests[0], new RegExp(`^\\d\\d:\\d\\d:\\d\\d push   space=pretty-room  user=ann  3 mutations  200  ${ms}$`));
      assert.match(requests[1], new RegExp(`^\\d\\d:\\d\\d:\\d\\d pull   space=pretty-room  user=ann  4 patch ops  200  ${ms}$`));
      assert.match(requests[2], new RegExp(`^\\d\\d:\\d\\d:\\d\\d pull   space=pretty-room  401  ${ms}  not authenticated: `));
      assert.match(requests[3], /push {3}space=pretty-room {2}user=ann {2}1 mutation {2}200 /);
      // The failed mutation: one line on stderr, the error last.
      const errors = stderr.split('\n').filter((l) => l !== '');
      assert.equal(errors.length, 1, stderr);
      assert.match(errors[0], new RegExp(`^\\d\\d:\\d\\d:\\d\\d error  mutation failed; .*user=ann  space=pretty-room  clientID=${c}  mutationID=4  mutator=noSuchMutator  Error: unknown mutator noSuchMutator$`));
    } finally {
      await s.stop();
    }
    assertOneLine(await run({ PACKAGE_DIR: fakePackage, LOG_FORMAT: 'xml' }, dataDir), /LOG_FORMAT=xml is not json or pretty/);
  });

  it('logs pretty lines on a terminal (colored) unless LOG_FORMAT=json', { skip: !HAS_SCRIPT && 'no script(1) to run main.js on a terminal' }, async () => {
    const env = { PACKAGE_DIR: fakePackage, LOG_FORMAT: undefined, NO_COLOR: undefined };
    const pretty = await outputOnTerminal(env, dataDir);
    assert.match(pretty, /^\x1b\[2m\d\d:\d\d:\d\d\x1b\[0m listening on http:\/\/127\.0\.0\.1:\d+\/ \(sqlite\)\r?$/m);
    assert.doesNotMatch(pretty, /"msg"/);
    const json = await outputOnTerminal({ ...env, LOG_FORMAT: 'json' }, dataDir);
    assert.match(json, /^\{"time":"[^"]+","level":"info","msg":"listening"/m);
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
