// What one client can hold of the server: poke sockets per user and in all, pokes queued on a
// socket that does not drain, and HTTP requests whose headers or body never finish.
// (SQLite only: none of this touches the storage.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { backend, startServer, token, uid, openPokeSocket, sleep } from './helpers.js';
import { createServer } from '../src/server.js';

/** Try to open a poke socket: {ws} when it opened, {status, body} when the upgrade was refused. */
function tryPokeSocket(base, space, user) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/poke?space=${space}&auth=${token(user)}`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    ws.once('error', reject);
  });
}

/**
 * The server's end of each upgraded connection, in order. Corking one stands for a client that
 * stopped reading: the kernel's buffers would otherwise take megabytes before the server saw any.
 */
function captureServerEnds(server) {
  const ends = [];
  server.httpServer.prependListener('upgrade', (req, socket) => ends.push(socket));
  return ends;
}

const closed = (ws) => new Promise((resolve) => {
  if (ws.readyState === WebSocket.CLOSED) resolve();
  else ws.once('close', resolve);
});

/** Open a raw connection, send `text`, and resolve with what the server answered once it closes. */
function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('close', () => resolve({ text: data, ms: Date.now() - t0 }));
    sock.on('error', reject);
  });
}

describe('connection limits', { timeout: 60_000 }, () => {
  let b;
  before(async () => {
    b = await backend('sqlite');
  });
  after(async () => {
    await b?.stop();
  });

  it('poke sockets per user and in all: the extra ones are refused before the upgrade', async () => {
    const server = await startServer(b.newStorage(), { maxPokeSocketsPerUser: 3, maxPokeSockets: 5 });
    try {
      const space = uid('s');
      const open = [];
      for (let i = 0; i < 3; i++) open.push((await tryPokeSocket(server.base, space, 'alice')).ws);
      assert.ok(open.every(Boolean));
      const fourth = await tryPokeSocket(server.base, space, 'alice');
      assert.equal(fourth.status, 429);
      assert.equal(fourth.body.error, 'TooManyPokeSockets');
      assert.match(fourth.body.message, /alice .*3 poke sockets/);
      // Another user still gets in, up to the server's limit.
      for (let i = 0; i < 2; i++) open.push((await tryPokeSocket(server.base, uid('s'), 'bob')).ws);
      assert.ok(open.every(Boolean));
      const full = await tryPokeSocket(server.base, space, 'carol');
      assert.equal(full.status, 503);
      assert.equal(full.body.error, 'PokeSocketsFull');
      assert.equal(server.pokeHub.count(), 5);
      // A socket closed frees its place.
      open[0].close();
      await closed(open[0]);
      await sleep(50);
      const again = await tryPokeSocket(server.base, space, 'alice');
      assert.ok(again.ws, 'alice may open one again');
      open.push(again.ws);
      assert.equal(server.pokeHub.count(), 5);
      for (const ws of open) ws.terminate();
    } finally {
      await server.close();
    }
  });

  it('the limits are options, checked when the server is made', async () => {
    for (const [name, value] of [['maxPokeSocketsPerUser', 0], ['maxPokeSockets', -1], ['maxPokeBufferedBytes', 1.5],
      ['requestTimeoutMs', 'x'], ['headersTimeoutMs', -5], ['keepAliveTimeoutMs', -1]]) {
      assert.throws(() => createServer({ demoSecret: 'x'.repeat(32), storage: {}, [name]: value }), new RegExp(name), `${name}: ${value}`);
    }
    assert.throws(() => createServer({ demoSecret: 'x'.repeat(32), storage: {}, requestTimeoutMs: 1000, headersTimeoutMs: 2000 }), /headersTimeoutMs/);
  });

  it('pokes coalesce: one not yet sent is enough, however many pushes come meanwhile', async () => {
    const server = await startServer(b.newStorage(), { heartbeatMs: 60_000 });
    const serverEnds = captureServerEnds(server);
    try {
      const space = uid('s');
      const s = await openPokeSocket(server.base, space);
      // In one tick nothing has gone out yet: the 50 pokes make one message.
      for (let i = 0; i < 50; i++) server.pokeHub.poke(space);
      await s.waitFor(1);
      await sleep(200);
      assert.equal(s.messages.length, 1);
      // Once sent, the next poke is sent again.
      server.pokeHub.poke(space);
      await s.waitFor(2);
      // A client that stopped reading: its unsent data stays one poke, not one per push.
      const [end] = serverEnds;
      end.cork();
      for (let i = 0; i < 200; i++) server.pokeHub.poke(space);
      await sleep(50);
      assert.ok(end.writableLength > 0 && end.writableLength < 100, `one poke waits: ${end.writableLength} bytes`);
      end.uncork();
      await s.waitFor(3);
      await sleep(200);
      assert.equal(s.messages.length, 3);
      assert.equal(s.ws.readyState, WebSocket.OPEN);
      await s.close();
    } finally {
      await server.close();
    }
  });

  it('a socket whose unsent data stays above the bound is dropped at the next poke', async () => {
    const server = await startServer(b.newStorage(), { maxPokeBufferedBytes: 16, heartbeatMs: 60_000 });
    const serverEnds = captureServerEnds(server);
    try {
      const space = uid('s');
      const stuck = await openPokeSocket(server.base, space);
      const healthy = await openPokeSocket(server.base, space);
      serverEnds[0].cork();
      server.pokeHub.poke(space); // a poke (some 50 bytes) waits unsent: above the bound
      await healthy.waitFor(1);
      assert.equal(stuck.ws.readyState, WebSocket.OPEN);
      const dropped = closed(stuck.ws);
      server.pokeHub.poke(space); // still there: the socket does not drain
      await Promise.race([dropped, sleep(3000).then(() => assert.fail('the socket that does not drain was not dropped'))]);
      await healthy.waitFor(2);
      assert.equal(server.pokeHub.count(space), 1, 'the healthy socket stays');
      assert.ok(server.logger.entries.some((e) => /does not drain/.test(e.msg ?? '')));
      await healthy.close();
    } finally {
      await server.close();
    }
  });

  it('HTTP: headers and bodies that never finish are dropped after the timeouts', async () => {
    const server = await startServer(b.newStorage(), { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 700 });
    try {
      assert.equal(server.httpServer.headersTimeout, 300);
      assert.equal(server.httpServer.requestTimeout, 600);
      assert.equal(server.httpServer.keepAliveTimeout, 700);
      // Headers that stop half way.
      // The timeouts are the HTTP request's: a poke socket outlives them.
      const pokeSpace = uid('s');
      const poke = await openPokeSocket(server.base, pokeSpace);
      const slowHeaders = await rawRequest(server.port, 'POST /api/pull HTTP/1.1\r\nHost: x\r\n');
      assert.ok(slowHeaders.ms < 3000, `closed after ${slowHeaders.ms} ms`);
      assert.match(slowHeaders.text, /^HTTP\/1\.1 408/);
      // A body that stops half way.
      const slowBody = await rawRequest(server.port, `POST /api/pull HTTP/1.1\r\nHost: x\r\nAuthorization: ${token('alice')}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"profileID":');
      assert.ok(slowBody.ms < 3000, `closed after ${slowBody.ms} ms`);
      assert.ok(slowBody.ms >= 500, `not before the request timeout: ${slowBody.ms} ms`);
      assert.match(slowBody.text, /^HTTP\/1\.1 408/);
      // Not a server failure.
      assert.ok(!server.logger.entries.some((e) => e.level === 'error'), JSON.stringify(server.logger.entries.filter((e) => e.level === 'error')));
      // The server still answers.
      assert.equal((await fetch(`${server.base}/healthz`)).status, 200);
      assert.equal(poke.ws.readyState, WebSocket.OPEN);
      server.pokeHub.poke(pokeSpace);
      await poke.waitFor(1);
      await poke.close();
    } finally {
      await server.close();
    }
  });
});
