// Authentication and authorization through createServer: JWTs of an app's own auth system
// (shared secret, a JWK Set served over HTTP, a PEM public key), an authenticate hook, demo
// tokens, the authorize hook on push, pull and the poke socket, and the poke socket's token.
// (SQLite only: none of this depends on the storage.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import { backend, startServer, token, uid, pushBody, pullBody, mut, openPokeSocket, sleep, SECRET } from './helpers.js';
import { createServer, silentLogger } from '../src/server.js';
import { createJwtVerifier, parsePublicKey } from '../src/auth.js';

const JWT_SECRET = 'an-app-shared-secret-of-at-least-32-bytes!';
const enc = (s) => new TextEncoder().encode(s);

/** An HS256 JWT (jose signs it, as an app's auth system would). */
function hsToken(claims, { secret = JWT_SECRET, exp = '1h', alg = 'HS256' } = {}) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(enc(secret));
}

/** A push of one new message to `space`, and a first pull of a fresh group, with `auth`. */
async function pushAndPull(api, auth, space) {
  const push = await api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: uid('m'), content: 'x' })]), { auth, space });
  const pull = await api.pull(pullBody(uid('g'), null), { auth, space });
  return { push: push.status, pull: pull.status, pushBody: push.body, pullBody: pull.body };
}

/** The status a poke socket upgrade gets (101 when it opened), with the body of a refusal. */
function pokeStatus(base, { space = 'room', auth, headers, protocols } = {}) {
  const q = new URLSearchParams({ space });
  if (auth !== undefined) q.set('auth', auth);
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/poke?${q}`, protocols, { headers });
    ws.once('open', () => {
      const protocol = ws.protocol;
      ws.close();
      resolve({ status: 101, protocol });
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined }));
    });
    ws.once('error', (err) => resolve({ status: 0, error: err.message }));
  });
}

describe('authentication and authorization', { timeout: 60_000 }, () => {
  let b;
  const servers = [];
  const start = async (options) => {
    const s = await startServer(b.newStorage(), { demoSecret: undefined, ...options });
    servers.push(s);
    return s;
  };
  before(async () => {
    b = await backend('sqlite');
  });
  after(async () => {
    for (const s of servers) await s.close();
    await b?.stop();
  });

  describe('JWT with a shared secret (HS256)', () => {
    let server;
    before(async () => {
      server = await start({ jwt: { secret: JWT_SECRET, issuer: 'https://auth.example', audience: 'chat' } });
    });
    const good = { sub: 'alice', iss: 'https://auth.example', aud: 'chat' };

    it('accepts a valid token, with or without "Bearer ", on push, pull and the poke socket', async () => {
      const t = await hsToken(good);
      assert.deepEqual(await pushAndPull(server.api, t, 'hs').then(({ push, pull }) => [push, pull]), [200, 200]);
      assert.equal((await server.api.pull(pullBody(uid('g'), null), { auth: `Bearer ${t}`, space: 'hs' })).status, 200);
      assert.equal((await pokeStatus(server.base, { auth: t })).status, 101);
      // The user is the token's subject: the log line says so.
      assert.ok(server.logger.entries.some((e) => e.path === '/api/push' && e.status === 200 && e.userID === 'alice'));
    });

    it('refuses an expired token, a wrong audience or issuer, a wrong signature, no exp, no token: 401 with the reason', async () => {
      const cases = [
        [await hsToken(good, { exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
        [await hsToken({ ...good, aud: 'another-app' }), /"aud" claim/],
        [await hsToken({ ...good, iss: 'https://evil.example' }), /"iss" claim/],
        [await hsToken(good, { secret: 'not-the-secret-but-just-as-long-as-it!!' }), /signature/],
        [await hsToken(good, { exp: null }), /"exp" claim/],
        [await hsToken({ iss: good.iss, aud: good.aud }), /"sub" claim/],
        [await hsToken({ ...good, sub: 'a\u0000b' }), /not a usable user ID/],
        ['not.a.jwt', /not a valid JWT/],
        [undefined, /no token/],
      ];
      for (const [t, reason] of cases) {
        const r = await pushAndPull(server.api, t, 'hs');
        assert.equal(r.push, 401, String(reason));
        assert.equal(r.pull, 401, String(reason));
        assert.equal(r.pullBody.error, 'Unauthorized');
        assert.match(r.pullBody.message, reason);
        const poke = await pokeStatus(server.base, { auth: t });
        assert.equal(poke.status, 401, String(reason));
        assert.match(poke.body.message, reason);
      }
    });

    it('an unsigned token (alg none) or one signed for another algorithm is refused', async () => {
      const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
      const body = Buffer.from(JSON.stringify({ ...good, exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
      assert.equal((await pushAndPull(server.api, `${header}.${body}.`, 'hs')).pull, 401);
      const s2 = await start({ jwt: { secret: JWT_SECRET, algorithms: 'HS256', requireExp: false } });
      assert.equal((await pushAndPull(s2.api, await hsToken(good, { alg: 'HS512' }), 'hs')).pull, 401);
      // requireExp false: a token without exp is fine (an expired one still is not).
      assert.equal((await pushAndPull(s2.api, await hsToken(good, { exp: null }), 'hs')).pull, 200);
    });

    it('userClaim picks another claim as the user ID', async () => {
      const s2 = await start({ jwt: { secret: JWT_SECRET, userClaim: 'email' } });
      const r = await s2.api.pull(pullBody(uid('g'), null), { auth: await hsToken({ sub: '42', email: 'ann@example.com' }), space: 'uc' });
      assert.equal(r.status, 200);
      assert.ok(s2.logger.entries.some((e) => e.userID === 'ann@example.com'));
    });

    it('a weak, missing or second key source is refused when the server is made', () => {
      const make = (jwt) => () => createServer({ storage: {}, logger: silentLogger, jwt });
      assert.throws(make({ secret: 'short' }), /AUTH_JWT_SECRET\) is too weak: 5 bytes/);
      assert.throws(make({ secret: 'x'.repeat(31) }), /too weak: 31 bytes, it needs at least 32/);
      assert.throws(make({ issuer: 'x' }), /needs a key/);
      assert.throws(make({ secret: JWT_SECRET, jwksURL: 'https://x/jwks' }), /one key source/);
      assert.throws(() => createServer({ storage: {}, logger: silentLogger }), /no authentication is configured/);
      assert.throws(() => createServer({ storage: {}, logger: silentLogger, jwt: { secret: JWT_SECRET }, demoSecret: SECRET }),
        /one way/);
      assert.throws(() => createServer({ storage: {}, logger: silentLogger, demoSecret: 'short' }), /demo secret .* too weak/);
    });
  });

  describe('JWT with public keys', () => {
    let keys, jwksServer, jwksURL, served, fetches;
    before(async () => {
      keys = {
        rs: await generateKeyPair('RS256', { extractable: true }),
        es: await generateKeyPair('ES256', { extractable: true }),
        other: await generateKeyPair('RS256', { extractable: true }),
      };
      served = { keys: [
        { ...(await exportJWK(keys.rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(keys.es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
      ] };
      fetches = 0;
      jwksServer = http.createServer((req, res) => {
        fetches++;
        if (req.url !== '/.well-known/jwks.json') {
          res.writeHead(404);
          return res.end();
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(served));
      });
      await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
      jwksURL = `http://127.0.0.1:${jwksServer.address().port}/.well-known/jwks.json`;
    });
    after(async () => {
      jwksServer.closeAllConnections();
      await new Promise((r) => jwksServer.close(r));
    });

    const sign = (key, kid, alg, claims, exp = '1h') =>
      new SignJWT(claims).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime(exp).sign(key);

    it('a JWK Set fetched from a URL: the right keys pass, others and wrong audiences do not', async () => {
      const server = await start({ jwt: { jwksURL, audience: 'chat', issuer: 'https://idp.example' } });
      const claims = { sub: 'jay', aud: 'chat', iss: 'https://idp.example' };
      for (const [key, kid, alg] of [[keys.rs.privateKey, 'rs-1', 'RS256'], [keys.es.privateKey, 'es-1', 'ES256']]) {
        const t = await sign(key, kid, alg, claims);
        const r = await pushAndPull(server.api, t, 'jwks');
        assert.deepEqual([r.push, r.pull], [200, 200], alg);
        assert.equal((await pokeStatus(server.base, { auth: t })).status, 101, alg);
      }
      assert.ok(fetches >= 1, 'the key set was fetched');
      const refused = [
        [await sign(keys.other.privateKey, 'rs-1', 'RS256', claims), /signature/],
        [await sign(keys.other.privateKey, 'unknown', 'RS256', claims), /key the server does not know/],
        [await sign(keys.rs.privateKey, 'rs-1', 'RS256', { ...claims, aud: 'another-app' }), /"aud" claim/],
        [await sign(keys.rs.privateKey, 'rs-1', 'RS256', claims, Math.floor(Date.now() / 1000) - 60), /expired/],
        // The public key's bytes used as an HMAC secret (the classic algorithm confusion).
        [await hsToken(claims, { secret: JSON.stringify(served.keys[0]) }), /./],
      ];
      for (const [t, reason] of refused) {
        const r = await server.api.pull(pullBody(uid('g'), null), { auth: t, space: 'jwks' });
        assert.equal(r.status, 401, String(reason));
        assert.match(r.body.message, reason);
      }
    });

    it('a key set that cannot be fetched is the server\'s problem: 503, and the client retries', async () => {
      const dead = http.createServer((req, res) => {
        res.writeHead(500);
        res.end();
      });
      await new Promise((r) => dead.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${dead.address().port}/jwks`;
      try {
        const server = await start({ jwt: { jwksURL: url, audience: 'chat' } });
        const t = await sign(keys.rs.privateKey, 'rs-1', 'RS256', { sub: 'jay', aud: 'chat' });
        const r = await server.api.pull(pullBody(uid('g'), null), { auth: t, space: 'jwks' });
        assert.equal(r.status, 503);
        assert.equal(r.body.error, 'AuthUnavailable');
        assert.equal((await pokeStatus(server.base, { auth: t })).status, 503);
      } finally {
        await new Promise((r) => dead.close(r));
      }
    });

    it('public keys given up front: PEM, JWK, JWK Set; private keys and shared secrets there are refused', async () => {
      const claims = { sub: 'pem', aud: 'chat' };
      const pem = await exportSPKI(keys.rs.publicKey);
      const jwk = { ...(await exportJWK(keys.es.publicKey)), kid: 'es-1' };
      for (const [publicKey, key, kid, alg] of [
        [pem, keys.rs.privateKey, undefined, 'RS256'],
        [JSON.stringify(jwk), keys.es.privateKey, 'es-1', 'ES256'],
        [served, keys.rs.privateKey, 'rs-1', 'RS256'],
      ]) {
        const server = await start({ jwt: { publicKey, audience: 'chat' } });
        const ok = await server.api.pull(pullBody(uid('g'), null), { auth: await sign(key, kid, alg, claims), space: 'pem' });
        assert.equal(ok.status, 200, alg);
        const bad = await server.api.pull(pullBody(uid('g'), null), { auth: await sign(keys.other.privateKey, kid, 'RS256', claims), space: 'pem' });
        assert.equal(bad.status, 401, alg);
      }
      assert.throws(() => parsePublicKey(`-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`), /PRIVATE key/);
      const privateJWK = await exportJWK(keys.rs.privateKey);
      assert.throws(() => parsePublicKey(JSON.stringify(privateJWK)), /PRIVATE key/);
      assert.throws(() => parsePublicKey({ kty: 'oct', k: 'c2VjcmV0' }), /symmetric/);
      assert.throws(() => parsePublicKey('hello'), /neither PEM/);
      // Without an audience, an identity provider's token for any other app would pass.
      assert.throws(() => createJwtVerifier({ publicKey: pem }), /needs an audience \(AUTH_JWT_AUDIENCE\)/);
      assert.throws(() => createJwtVerifier({ jwksURL, issuer: 'x' }), /needs an audience/);
      assert.throws(() => createJwtVerifier({ jwksURL: 'file:///etc/passwd', audience: 'a' }), /not an http\(s\) URL/);
    });
  });

  describe('demo tokens', () => {
    let server;
    before(async () => {
      server = await start({ demoSecret: SECRET });
    });

    it('work until they expire; the login is off unless demoLogin is set', async () => {
      assert.equal((await pushAndPull(server.api, token('dee'), 'demo')).pull, 200);
      const expired = token('dee', { ttlSeconds: 60, now: Date.now() - 3600e3 });
      const r = await server.api.pull(pullBody(uid('g'), null), { auth: expired, space: 'demo' });
      assert.equal(r.status, 401);
      assert.match(r.body.message, /expired/);
      assert.equal((await server.api.post('/api/login', { name: 'dee' })).status, 404);
      // A JWT of the right shape signed with another secret is not a demo token.
      assert.equal((await server.api.pull(pullBody(uid('g'), null), {
        auth: await hsToken({ sub: 'dee', iss: 'replicore-demo', aud: 'replicore-demo' }), space: 'demo',
      })).status, 401);
    });

    it('demoLogin serves tokens valid for demoTokenTTL', async () => {
      const s2 = await start({ demoSecret: SECRET, demoLogin: true, demoTokenTTL: 120 });
      const login = await s2.api.post('/api/login', { name: 'eve' });
      assert.equal(login.status, 200);
      const exp = Date.parse(login.body.expiresAt);
      assert.ok(exp > Date.now() + 100e3 && exp <= Date.now() + 121e3, login.body.expiresAt);
      assert.equal((await pushAndPull(s2.api, login.body.token, 'demo')).pull, 200);
    });

    it('a poke socket is closed when its token expires', async () => {
      // Valid for about one more second, the 5 s of clock tolerance included.
      const soon = token('dee', { ttlSeconds: 1, now: Date.now() - 4500 });
      const sock = await openPokeSocket(server.base, 'expiring', { auth: soon });
      const code = await new Promise((resolve) => sock.ws.once('close', resolve));
      assert.equal(code, 4001);
    });
  });

  describe('the poke socket authenticates like push and pull', () => {
    let server;
    before(async () => {
      server = await start({ demoSecret: SECRET });
    });

    it('without a token, or with a bad one: 401 before the upgrade, and no socket is kept', async () => {
      for (const auth of [undefined, '', 'nope', `${token('al')}x`]) {
        const r = await pokeStatus(server.base, { auth });
        assert.equal(r.status, 401, String(auth));
        assert.equal(r.body.error, 'Unauthorized');
      }
      assert.equal(server.pokeHub.count(), 0);
      await assert.rejects(openPokeSocket(server.base, 'room', { auth: null }), /401/);
    });

    it('takes the token from the query, a subprotocol auth.<token>, or an Authorization header', async () => {
      const t = token('al');
      assert.equal((await pokeStatus(server.base, { auth: t })).status, 101);
      // The plain protocol offered alongside is the one chosen, so the token is not echoed.
      const viaProtocol = await pokeStatus(server.base, { protocols: ['replicore', `auth.${t}`] });
      assert.deepEqual(viaProtocol, { status: 101, protocol: 'replicore' });
      assert.equal((await pokeStatus(server.base, { protocols: [`auth.${t}x`] })).status, 401);
      assert.equal((await pokeStatus(server.base, { headers: { Authorization: `Bearer ${t}` } })).status, 101);
      // The token is not in the request log.
      assert.ok(!server.logger.entries.some((e) => JSON.stringify(e).includes(t)));
      // A socket with a token gets its space's pokes.
      const sock = await openPokeSocket(server.base, 'room2', { auth: t });
      await server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'p', content: 'x' })]), { auth: t, space: 'room2' });
      await sock.waitFor(1);
      await sock.close();
    });
  });

  describe('an authenticate hook', () => {
    it('gets the request and the token, for push, pull and poke; its answer is the user', async () => {
      const calls = [];
      const server = await start({
        authenticate: async (request, info) => {
          calls.push({ ...info, hasHeaders: typeof request.headers === 'object' });
          if (request.headers['x-api-key'] === 'key-of-kim') return 'kim';
          return info.token?.startsWith('user:') ? info.token.slice(5) : null;
        },
      });
      const r = await pushAndPull(server.api, 'user:lou', 'hook');
      assert.deepEqual([r.push, r.pull], [200, 200]);
      assert.equal((await server.api.pull(pullBody(uid('g'), null), { space: 'hook', headers: { 'X-API-Key': 'key-of-kim' } })).status, 200);
      assert.equal((await pokeStatus(server.base, { auth: 'user:lou', space: 'hook' })).status, 101);
      assert.equal((await server.api.pull(pullBody(uid('g'), null), { auth: 'nobody', space: 'hook' })).status, 401);
      assert.equal((await pokeStatus(server.base, { space: 'hook' })).status, 401);
      assert.deepEqual(calls.slice(0, 2).map((c) => [c.action, c.space, c.token, c.hasHeaders]),
        [['push', 'hook', 'user:lou', true], ['pull', 'hook', 'user:lou', true]]);
      assert.ok(calls.some((c) => c.action === 'poke' && c.token === 'user:lou'));
      assert.ok(server.logger.entries.some((e) => e.userID === 'kim'));
    });

    it('a hook that throws or returns something odd is a 500 (not a logout); an HttpError it throws is answered', async () => {
      const { HttpError } = await import('../src/errors.js');
      const server = await start({
        authenticate: async (req, { token: t }) => {
          if (t === 'boom') throw new Error('auth backend down');
          if (t === 'busy') throw new HttpError(503, { error: 'Busy', message: 'try later' });
          if (t === 'object') return { id: 1 };
          return null;
        },
      });
      const status = async (auth) => (await server.api.pull(pullBody(uid('g'), null), { auth, space: 'h' })).status;
      assert.equal(await status('boom'), 500);
      assert.equal(await status('busy'), 503);
      assert.equal(await status('object'), 500);
      assert.equal(await status('other'), 401);
      assert.ok(server.logger.entries.some((e) => e.msg === 'authenticate hook threw' && e.error.message === 'auth backend down'));
    });
  });

  describe('the authorize hook', () => {
    let server;
    const asked = [];
    before(async () => {
      server = await start({
        demoSecret: SECRET,
        // private-<user>: only that user; announcements: everyone reads, only "boss" writes.
        authorize: async (userID, space, access, { claims, request }) => {
          asked.push({ userID, space, access, exp: typeof claims?.exp, url: request.url });
          if (space.startsWith('private-')) return space === `private-${userID}`;
          if (space === 'announcements') return access === 'read' || userID === 'boss';
          if (space === 'broken') throw new Error('policy store down');
          return true;
        },
      });
    });

    it('denies push, pull and poke in a space it forbids (403), allows the rest', async () => {
      const amy = token('amy');
      const bo = token('bo');
      assert.deepEqual(Object.values(await pushAndPull(server.api, amy, 'private-amy')).slice(0, 2), [200, 200]);
      const denied = await pushAndPull(server.api, bo, 'private-amy');
      assert.deepEqual([denied.push, denied.pull], [403, 403]);
      assert.equal(denied.pullBody.error, 'Forbidden');
      assert.match(denied.pullBody.message, /bo may not read space private-amy/);
      assert.equal((await pokeStatus(server.base, { auth: bo, space: 'private-amy' })).status, 403);
      assert.equal((await pokeStatus(server.base, { auth: amy, space: 'private-amy' })).status, 101);
      // Read but not write.
      const ann = await pushAndPull(server.api, amy, 'announcements');
      assert.deepEqual([ann.push, ann.pull], [403, 200]);
      assert.match(ann.pushBody.message, /amy may not write space announcements/);
      assert.equal((await pokeStatus(server.base, { auth: amy, space: 'announcements' })).status, 101);
      assert.deepEqual(Object.values(await pushAndPull(server.api, token('boss'), 'announcements')).slice(0, 2), [200, 200]);
      // Other spaces are open.
      assert.deepEqual(Object.values(await pushAndPull(server.api, bo, 'lobby')).slice(0, 2), [200, 200]);
      // Nothing of the refused push was written: amy's private space has only her message.
      const p = await server.api.pull(pullBody(uid('g'), null), { auth: amy, space: 'private-amy' });
      assert.equal(p.body.patch.filter((o) => o.op === 'put').length, 1);
      // What the hook was told.
      assert.ok(asked.some((a) => a.userID === 'bo' && a.space === 'private-amy' && a.access === 'write' && a.exp === 'number'));
      assert.ok(asked.some((a) => a.access === 'read' && a.url.startsWith('/api/poke')));
    });

    it('a poke for a space goes only to sockets it admitted', async () => {
      const amySock = await openPokeSocket(server.base, 'private-amy', { auth: token('amy') });
      await server.api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: uid('m'), content: 'x' })]),
        { auth: token('amy'), space: 'private-amy' });
      await amySock.waitFor(1);
      assert.equal(server.pokeHub.count('private-amy'), 1);
      await amySock.close();
    });

    it('a hook that throws is a 500, logged', async () => {
      assert.equal((await server.api.pull(pullBody(uid('g'), null), { auth: token('amy'), space: 'broken' })).status, 500);
      assert.equal((await pokeStatus(server.base, { auth: token('amy'), space: 'broken' })).status, 500);
      assert.ok(server.logger.entries.some((e) => e.msg === 'authorize hook threw'));
      await sleep(10);
    });
  });
});

