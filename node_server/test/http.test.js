// Storage-independent HTTP behaviour: static files (content types, no traversal), request logs,
// the poke socket heartbeat, the poke endpoint's own checks. (Run on SQLite only: none of this
// touches the storage beyond healthz.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import WebSocket from 'ws';
import { backend, startServer, token, uid, pushBody, pullBody, mut, openPokeSocket, sleep } from './helpers.js';
import { createServer, createJsonLogger, silentLogger } from '../src/server.js';
import { resolveStatic } from '../src/static.js';

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

  it('logs one JSON line per request with method, path, status, ms, requestID, userID', async () => {
    const lines = [];
    const stream = { write: (s) => lines.push(s) };
    const s2 = await startServer(b.newStorage(), { logger: createJsonLogger(stream, stream) });
    try {
      const g = uid('g');
      await s2.api.push(pushBody(g, [mut('c1', 1, 'createMessage', { id: 'l', content: 'l' })]), {
        auth: token('alice'), space: 'logs', headers: { 'X-Replicache-RequestID': 'c1-abc-0' },
      });
      await s2.api.pull(pullBody(g, null), { auth: 'bad', space: 'logs' });
      const entries = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request');
      assert.equal(entries.length, 2);
      const [push, pull] = entries;
      assert.equal(push.method, 'POST');
      assert.equal(push.path, '/api/push');
      assert.equal(push.status, 200);
      assert.equal(typeof push.ms, 'number');
      assert.equal(push.requestID, 'c1-abc-0');
      assert.equal(push.userID, 'alice');
      assert.equal(typeof push.time, 'string');
      assert.equal(pull.status, 401);
      assert.equal(pull.userID, undefined);
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
    const s2 = createServer({ storage: b.newStorage(), authSecret: 'x', logger: silentLogger, webDir: null, packageDir: null });
    await s2.listen(0);
    await s2.storage.close();
    const res = await fetch(`http://127.0.0.1:${s2.port}/healthz`);
    assert.equal(res.status, 503);
    assert.equal((await res.json()).ok, false);
    await s2.close();
  });
});
