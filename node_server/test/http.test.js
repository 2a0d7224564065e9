// Storage-independent HTTP behaviour: static files (content types, no traversal, ETags,
// compression), CORS, request logs, the poke socket heartbeat, the poke endpoint's own checks.
// (Run on SQLite only: none of this touches the storage beyond healthz.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { backend, startServer, token, uid, pushBody, pullBody, mut, openPokeSocket, sleep, SECRET } from './helpers.js';
import { createServer, createJsonLogger, silentLogger, parseCorsOrigins } from '../src/server.js';
import { resolveStatic, acceptedCodings, staticStats } from '../src/static.js';

/** Send a request line exactly as given (fetch/http would normalize `..`). */
function rawGet(port, target) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve({ status: Number(data.split(' ')[1]), text: data }));
    sock.on('error', reject);
  });
}

describe('http', { timeout: 60_000 }, () => {
  let b, server, root, web, pkg;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-static-'));
    web = path.join(root, 'web');
    pkg = path.join(root, 'pkg');
    fs.mkdirSync(path.join(web, 'sub'), { recursive: true });
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(root, 'SECRET.txt'), 'top secret');
    fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>demo</title>');
    fs.writeFileSync(path.join(web, 'app.js'), 'export {}');
    fs.writeFileSync(path.join(web, 'style.css'), 'body{}');
    fs.writeFileSync(path.join(web, 'sub', 'index.html'), 'sub');
    fs.writeFileSync(path.join(web, '.env'), 'SECRET=1');
    fs.symlinkSync(path.join(root, 'SECRET.txt'), path.join(web, 'link.txt'));
    fs.writeFileSync(path.join(pkg, 'replicore.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    fs.writeFileSync(path.join(pkg, 'replicore.mjs'), 'export default 1');
    fs.writeFileSync(path.join(pkg, 'package.json'), '{}');
    b = await backend('sqlite');
    server = await startServer(b.newStorage(), { webDir: web, packageDir: pkg, heartbeatMs: 100 });
  });
  after(async () => {
    await server?.close();
    await b?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves the demo folder at / and the package at /replicore/ with content types', async () => {
    const cases = [
      ['/', 'text/html; charset=utf-8', '<!doctype html><title>demo</title>'],
      ['/index.html', 'text/html; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/sub/', 'text/html; charset=utf-8', 'sub'],
      ['/replicore/replicore.wasm', 'application/wasm'],
      ['/replicore/replicore.mjs', 'text/javascript; charset=utf-8'],
      ['/replicore/package.json', 'application/json; charset=utf-8'],
    ];
    for (const [p, type, body] of cases) {
      const res = await fetch(server.base + p);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers.get('content-type'), type, p);
      const buf = Buffer.from(await res.arrayBuffer());
      if (body !== undefined) assert.equal(buf.toString(), body);
    }
    const wasm = await fetch(`${server.base}/replicore/replicore.wasm`);
    assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer())].slice(0, 4), [0, 0x61, 0x73, 0x6d]);
    const head = await fetch(`${server.base}/app.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`${server.base}/missing.js`)).status, 404);
    assert.equal((await fetch(`${server.base}/replicore`, { redirect: 'manual' })).status, 301);
    assert.equal((await fetch(`${server.base}/app.js`, { method: 'POST' })).status, 405);
  });

  it('refuses path traversal, dot-files and symlinks out of the root', async () => {
    const targets = [
      '/../SECRET.txt', '/../../etc/passwd', '/%2e%2e/SECRET.txt', '/%2E%2E%2FSECRET.txt', '/sub/../../SECRET.txt',
      '/..%2fSECRET.txt', '/..%5cSECRET.txt', '/%5c..%5cSECRET.txt', '/replicore/../SECRET.txt',
      '/replicore/%2e%2e/web/index.html', '/replicore/..%2f..%2fSECRET.txt', '/.env', '/sub/%2e%65nv',
      '/index.html%00.js', '/%', '/link.txt', '//etc/passwd', `/${encodeURIComponent(root)}/SECRET.txt`,
    ];
    const sanity = await rawGet(server.port, '/sub/index.html');
    assert.equal(sanity.status, 200);
    assert.ok(sanity.text.endsWith('sub'));
    for (const t of targets) {
      const res = await rawGet(server.port, t);
      assert.ok(res.status === 404 || res.status === 400, `${t} -> ${res.status}`);
      assert.ok(!res.text.includes('top secret') && !res.text.includes('root:') && !res.text.includes('SECRET=1'), t);
    }
    assert.equal(resolveStatic('/srv/web', '../x'), null);
    assert.equal(resolveStatic('/srv/web', 'a/%2e%2e/%2e%2e/x'), null);
    assert.equal(resolveStatic('/srv/web', 'a/b.js'), '/srv/web/a/b.js');
  });

  it('logs one JSON line per request with method, path, status, ms, requestID, userID, space, counts, reason', async () => {
    const lines = [];
    const stream = { write: (s) => lines.push(s) };
    const s2 = await startServer(b.newStorage(), { logger: createJsonLogger(stream, stream) });
    try {
      const g = uid('g');
      await s2.api.push(pushBody(g, [mut('c1', 1, 'createMessage', { id: 'l', content: 'l' })]), {
        auth: token('alice'), space: 'logs', headers: { 'X-Replicache-RequestID': 'c1-abc-0' },
      });
      await s2.api.pull(pullBody(g, null), { auth: 'bad', space: 'logs' });
      await s2.api.pull(pullBody(g, null), { auth: token('alice'), space: 'logs' });
      const entries = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request');
      assert.equal(entries.length, 3);
      const [push, pull, goodPull] = entries;
      assert.equal(push.method, 'POST');
      assert.equal(push.path, '/api/push');
      assert.equal(push.status, 200);
      assert.equal(typeof push.ms, 'number');
      assert.equal(push.requestID, 'c1-abc-0');
      assert.equal(push.userID, 'alice');
      assert.equal(typeof push.time, 'string');
      assert.equal(push.space, 'logs');
      assert.equal(push.mutations, 1);
      assert.equal(push.reason, undefined);
      assert.equal(pull.status, 401);
      assert.equal(pull.userID, undefined);
      assert.equal(pull.space, 'logs');
      assert.match(pull.reason, /^not authenticated: /);
      // clear, and the one message
      assert.equal(goodPull.patchOps, 2);
      assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    } finally {
      await s2.close();
    }
    // The silent logger really is silent (and is what tests may pass).
    silentLogger.info({});
    silentLogger.error({});
  });

  it('heartbeat drops sockets that stop answering pings, keeps live ones', async () => {
    const live = await openPokeSocket(server.base, 'hb');
    const dead = await openPokeSocket(server.base, 'hb', { autoPong: false });
    const closed = new Promise((resolve) => dead.ws.once('close', resolve));
    await closed;
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    await sleep(150);
    assert.equal(server.pokeHub.count('hb'), 1);
    await live.close();
  });

  it('poke endpoint: default space, bad space refused, other paths refused', async () => {
    const d = await openPokeSocket(server.base, undefined);
    await server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'pd', content: 'x' })]), { auth: token('alice') });
    await d.waitFor(1);
    assert.deepEqual(JSON.parse(d.messages[0]), { type: 'poke', space: 'default' });
    await d.close();
    await assert.rejects(openPokeSocket(server.base, 'bad space'), /400/);
    await assert.rejects(new Promise((resolve, reject) => {
      const ws = new WebSocket(`${server.base.replace('http', 'ws')}/api/other`);
      ws.on('open', resolve);
      ws.on('error', reject);
    }), /404/);
  });

  it('healthz reports 503 when the database is gone', async () => {
    const s2 = createServer({ storage: b.newStorage(), demoSecret: SECRET, logger: silentLogger, webDir: null, packageDir: null });
    await s2.listen(0);
    await s2.storage.close();
    const res = await fetch(`http://127.0.0.1:${s2.port}/healthz`);
    assert.equal(res.status, 503);
    assert.equal((await res.json()).ok, false);
    await s2.close();
  });
});

/** A request with exactly these headers; the body comes back as raw bytes (never decoded). */
function request(base, method, p, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${p}`, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const decoders = { br: zlib.brotliDecompressSync, gzip: zlib.gunzipSync };

describe('static files: ETag, 304, compression', { timeout: 60_000 }, () => {
  let b, server, root, pkg, jsText, wasmBytes;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-etag-'));
    pkg = path.join(root, 'pkg');
    fs.mkdirSync(pkg);
    jsText = Array.from({ length: 800 }, (_, i) => `export const value${i} = ${JSON.stringify(`item ${i % 17}`)};\n`).join('');
    fs.writeFileSync(path.join(pkg, 'replicore.js'), jsText);
    // Compressible but not trivially so: a repeated pattern with some noise.
    wasmBytes = Buffer.alloc(64 * 1024);
    for (let i = 0; i < wasmBytes.length; i++) wasmBytes[i] = (i % 251) ^ ((i * 7) % 13 === 0 ? 0xff : 0);
    wasmBytes.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    fs.writeFileSync(path.join(pkg, 'replicore_wasm.wasm'), wasmBytes);
    fs.writeFileSync(path.join(pkg, 'tiny.js'), 'x');
    fs.writeFileSync(path.join(pkg, 'logo.png'), Buffer.alloc(4096, 7));
    b = await backend('sqlite');
    server = await startServer(b.newStorage(), { webDir: pkg, packageDir: pkg });
  });
  after(async () => {
    await server?.close();
    await b?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('compresses per Accept-Encoding; the bytes decompress to the file', async () => {
    const cases = [
      ['br', 'br'], ['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['br;q=0.5, gzip;q=0.8', 'gzip'],
      ['gzip, br;q=0', 'gzip'], ['*', 'br'], ['identity', null], ['br;q=0, gzip;q=0', null], [undefined, null],
      ['x-gzip', 'gzip'], ['BR', 'br'],
    ];
    const etags = new Map();
    for (const [p, file] of [['/replicore/replicore.js', Buffer.from(jsText)], ['/replicore/replicore_wasm.wasm', wasmBytes]]) {
      for (const [accept, want] of cases) {
        const res = await request(server.base, 'GET', p, accept === undefined ? {} : { 'Accept-Encoding': accept });
        const label = `${p} with ${accept}`;
        assert.equal(res.status, 200, label);
        assert.equal(res.headers['content-encoding'], want ?? undefined, label);
        assert.equal(res.headers.vary, 'Accept-Encoding', label);
        assert.equal(res.headers['cache-control'], 'no-cache', label);
        assert.equal(Number(res.headers['content-length']), res.body.length, label);
        const plain = want ? decoders[want](res.body) : res.body;
        assert.ok(plain.equals(file), label);
        if (want) assert.ok(res.body.length < file.length / 2, `${label}: ${res.body.length} of ${file.length}`);
        // A strong validator, one per representation.
        assert.match(res.headers.etag, /^"[A-Za-z0-9_-]+"$/, label);
        if (etags.has(`${p} ${want}`)) assert.equal(res.headers.etag, etags.get(`${p} ${want}`), label);
        etags.set(`${p} ${want}`, res.headers.etag);
      }
      assert.equal(new Set([null, 'br', 'gzip'].map((c) => etags.get(`${p} ${c}`))).size, 3);
    }
    // HEAD: the same headers, no body.
    const head = await request(server.base, 'HEAD', '/replicore/replicore.js', { 'Accept-Encoding': 'br' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-encoding'], 'br');
    assert.equal(head.headers.etag, etags.get('/replicore/replicore.js br'));
    assert.equal(head.body.length, 0);
    // Not worth it (a 1-byte file) or not compressible (an image): sent as is.
    const tiny = await request(server.base, 'GET', '/replicore/tiny.js', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(tiny.headers['content-encoding'], undefined);
    assert.equal(tiny.body.toString(), 'x');
    const png = await request(server.base, 'GET', '/logo.png', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.headers.vary, undefined);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.ok(png.body.equals(Buffer.alloc(4096, 7)));
    assert.match(png.headers.etag, /^"[A-Za-z0-9_-]+"$/);
    // fetch (which decodes by itself) reads the same bytes.
    const viaFetch = Buffer.from(await (await fetch(`${server.base}/replicore/replicore_wasm.wasm`)).arrayBuffer());
    assert.ok(viaFetch.equals(wasmBytes));
  });

  it('answers If-None-Match with 304, and a changed file gets a new ETag', async () => {
    const p = '/replicore/replicore.js';
    for (const accept of ['br', 'gzip', 'identity']) {
      const first = await request(server.base, 'GET', p, { 'Accept-Encoding': accept });
      const etag = first.headers.etag;
      for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await request(server.base, 'GET', p, { 'Accept-Encoding': accept, 'If-None-Match': inm });
        assert.equal(again.status, 304, `${accept} ${inm}`);
        assert.equal(again.body.length, 0);
        assert.equal(again.headers.etag, etag);
        assert.equal(again.headers['cache-control'], 'no-cache');
        assert.equal(again.headers.vary, 'Accept-Encoding');
      }
      const other = await request(server.base, 'GET', p, { 'Accept-Encoding': accept, 'If-None-Match': '"other"' });
      assert.equal(other.status, 200);
    }
    // The br ETag does not validate the plain representation.
    const br = await request(server.base, 'GET', p, { 'Accept-Encoding': 'br' });
    const plain = await request(server.base, 'GET', p, { 'If-None-Match': br.headers.etag });
    assert.equal(plain.status, 200);
    assert.ok(plain.body.equals(Buffer.from(jsText)));

    // A rebuild: same name, new bytes (and a later mtime).
    const file = path.join(pkg, 'replicore.js');
    const newText = `${jsText}export const rebuilt = true;\n`;
    fs.writeFileSync(file, newText);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const after = await request(server.base, 'GET', p, { 'Accept-Encoding': 'br', 'If-None-Match': br.headers.etag });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.etag, br.headers.etag);
    assert.ok(zlib.brotliDecompressSync(after.body).equals(Buffer.from(newText)));
    const stale = await request(server.base, 'GET', p, { 'If-None-Match': plain.headers.etag });
    assert.equal(stale.status, 200);
    assert.ok(stale.body.equals(Buffer.from(newText)));
  });

  it('reads and compresses a file once per version, not per request', async () => {
    const p = '/replicore/replicore_wasm.wasm';
    await request(server.base, 'GET', p, { 'Accept-Encoding': 'br' });
    await request(server.base, 'GET', p, { 'Accept-Encoding': 'gzip' });
    const before = { ...staticStats };
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      request(server.base, 'GET', p, { 'Accept-Encoding': i % 2 ? 'br' : 'gzip' })));
    assert.ok(answers.every((a) => a.status === 200 && a.headers['content-encoding']));
    assert.deepEqual(staticStats, before);
    // A new version: read once and compressed once more per coding, even under concurrent requests.
    const file = path.join(pkg, 'replicore_wasm.wasm');
    const newBytes = Buffer.concat([wasmBytes, wasmBytes.subarray(0, 1000)]);
    fs.writeFileSync(file, newBytes);
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(file, later, later);
    await request(server.base, 'GET', p);
    const fresh = await Promise.all(Array.from({ length: 6 }, () => request(server.base, 'GET', p, { 'Accept-Encoding': 'br' })));
    assert.ok(fresh.every((a) => zlib.brotliDecompressSync(a.body).equals(newBytes)));
    assert.equal(staticStats.reads, before.reads + 1);
    assert.equal(staticStats.compressions, before.compressions + 1);
  });

  it('acceptedCodings follows q-values, prefers brotli at equal weight', () => {
    assert.deepEqual(acceptedCodings(undefined), []);
    assert.deepEqual(acceptedCodings(''), []);
    assert.deepEqual(acceptedCodings('gzip, deflate'), ['gzip']);
    assert.deepEqual(acceptedCodings('gzip, br'), ['br', 'gzip']);
    assert.deepEqual(acceptedCodings('gzip;q=1, br;q=0.9'), ['gzip', 'br']);
    assert.deepEqual(acceptedCodings('*;q=0.1, gzip;q=0'), ['br']);
    assert.deepEqual(acceptedCodings('identity;q=1, *;q=0'), []);
  });
});

describe('CORS', { timeout: 60_000 }, () => {
  const ORIGIN = 'http://localhost:5173';
  let b, server, open, closed;
  before(async () => {
    b = await backend('sqlite');
    server = await startServer(b.newStorage(), { corsOrigins: `${ORIGIN}/, https://app.example.com`, demoLogin: true });
    open = await startServer(b.newStorage(), { corsOrigins: '*' });
    closed = await startServer(b.newStorage());
  });
  after(async () => {
    await server?.close();
    await open?.close();
    await closed?.close();
    await b?.stop();
  });

  const preflight = (base, p, origin) => request(base, 'OPTIONS', p, {
    Origin: origin,
    'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'authorization,content-type,x-replicache-requestid',
  });

  it('answers the preflight of an allowed origin for push, pull and login', async () => {
    for (const p of ['/api/push', '/api/pull', '/api/login', '/api/pull?space=room-1']) {
      const res = await preflight(server.base, p, ORIGIN);
      assert.equal(res.status, 204, p);
      assert.equal(res.headers['access-control-allow-origin'], ORIGIN, p);
      assert.match(res.headers.vary, /\bOrigin\b/, p);
      assert.ok(res.headers['access-control-allow-methods'].split(/,\s*/).includes('POST'), p);
      const allowed = res.headers['access-control-allow-headers'].toLowerCase().split(/,\s*/);
      for (const h of ['content-type', 'authorization', 'x-replicache-requestid']) assert.ok(allowed.includes(h), `${p} ${h}`);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
      assert.ok(Number(res.headers['access-control-max-age']) > 0);
    }
    const second = await preflight(server.base, '/api/push', 'https://app.example.com');
    assert.equal(second.headers['access-control-allow-origin'], 'https://app.example.com');
  });

  it('marks the actual answers, errors included, for an allowed origin', async () => {
    const g = uid('g');
    const headers = {
      Origin: ORIGIN, 'Content-Type': 'application/json', Authorization: token('alice'), 'X-Replicache-RequestID': 'r1',
    };
    const push = await request(server.base, 'POST', '/api/push?space=cors', headers,
      JSON.stringify(pushBody(g, [mut('c1', 1, 'createMessage', { id: 'm1', content: 'hi' })])));
    assert.equal(push.status, 200);
    assert.equal(push.headers['access-control-allow-origin'], ORIGIN);
    assert.match(push.headers.vary, /\bOrigin\b/);
    const pull = await request(server.base, 'POST', '/api/pull?space=cors', headers, JSON.stringify(pullBody(g, null)));
    assert.equal(pull.status, 200);
    assert.equal(pull.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(JSON.parse(pull.body).patch.find((op) => op.op === 'put')?.value.content, 'hi');
    // A 401 must be readable by the page too: that is how Replicache knows to call getAuth.
    const denied = await request(server.base, 'POST', '/api/pull?space=cors', { ...headers, Authorization: 'bad' },
      JSON.stringify(pullBody(g, null)));
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['access-control-allow-origin'], ORIGIN);
    const login = await request(server.base, 'POST', '/api/login', { Origin: ORIGIN, 'Content-Type': 'application/json' },
      JSON.stringify({ name: 'bob' }));
    assert.equal(login.status, 200);
    assert.equal(login.headers['access-control-allow-origin'], ORIGIN);
  });

  it('gives another origin no allow header, and by default allows none', async () => {
    for (const [base, origin] of [[server.base, 'http://evil.example'], [server.base, 'http://localhost:5174'],
      [server.base, 'null'], [closed.base, ORIGIN]]) {
      const res = await preflight(base, '/api/push', origin);
      assert.equal(res.status, 403, origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      assert.match(JSON.parse(res.body).message, /CORS_ORIGINS/);
      const post = await request(base, 'POST', '/api/pull', {
        Origin: origin, 'Content-Type': 'application/json', Authorization: token('alice'),
      }, JSON.stringify(pullBody(uid('g'), null)));
      assert.equal(post.status, 200);
      assert.equal(post.headers['access-control-allow-origin'], undefined, origin);
    }
    // Same-origin requests (no Origin header) work as before and carry no CORS headers.
    const same = await closed.api.pull(pullBody(uid('g'), null), { auth: token('alice') });
    assert.equal(same.status, 200);
    assert.equal(same.headers.get('access-control-allow-origin'), null);
    // OPTIONS that is not a preflight: just what is allowed.
    const plain = await request(closed.base, 'OPTIONS', '/api/push');
    assert.equal(plain.status, 204);
    assert.equal(plain.headers.allow, 'POST, OPTIONS');
    // Static files and other paths are not opened up.
    const other = await request(server.base, 'OPTIONS', '/healthz', { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it("'*' echoes any origin", async () => {
    const res = await preflight(open.base, '/api/push', 'http://anything.example:3000');
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'http://anything.example:3000');
    assert.match(res.headers.vary, /\bOrigin\b/);
  });

  it('refuses a setting that is not a list of origins', () => {
    for (const bad of ['localhost:5173', 'http://localhost:5173/app', 'not a url']) {
      assert.throws(() => createServer({ storage: {}, corsOrigins: bad, demoSecret: SECRET, logger: silentLogger }), TypeError, bad);
    }
    assert.equal(parseCorsOrigins('HTTP://LOCALHOST:80')('http://localhost'), true);
    assert.equal(parseCorsOrigins(['https://a.example', ' https://b.example '])('https://b.example'), true);
    assert.equal(parseCorsOrigins(undefined)('https://a.example'), false);
  });
});
