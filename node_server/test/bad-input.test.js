// Bad input and auth, against every storage: each case gets the right status and a message
// that says what is wrong, and nothing is written.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { STORAGES, backend, startServer, token, uid, pushBody, pullBody, mut, SECRET } from './helpers.js';

function rawPost(port, path, { headers = {}, chunks = [], contentLength } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: {
      'Content-Type': 'application/json', ...(contentLength !== undefined ? { 'Content-Length': contentLength } : {}), ...headers,
    } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', (err) => resolve({ error: err }));
    (async () => {
      for (const c of chunks) {
        if (req.destroyed) break;
        if (!req.write(c)) {
          await new Promise((r) => {
            const done = () => { req.off('drain', done); req.off('close', done); r(); };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      req.end();
    })().catch(() => {});
  });
}

for (const kind of STORAGES) {
  describe(`bad input and auth on ${kind}`, { timeout: 60_000 }, () => {
    let b, server, api;
    const alice = token('alice');
    before(async () => {
      b = await backend(kind);
      server = await startServer(b.newStorage(), { bodyLimit: 64 * 1024, demoLogin: true });
      api = server.api;
    });
    after(async () => {
      await server?.close();
      await b?.stop();
    });

    async function assertNothingWritten(space) {
      const p = await api.pull(pullBody(uid('g'), null), { auth: alice, space });
      assert.deepEqual(p.body, { cookie: { order: 0, id: '' }, lastMutationIDChanges: {}, patch: [{ op: 'clear' }] });
    }

    it('missing or bad Authorization: 401', async () => {
      const space = uid('s');
      const body = pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'a', content: 'a' })]);
      for (const auth of [undefined, '', 'alice', 'alice.deadbeef', `bob.${alice.split('.')[1]}`, `${alice}0`, 'Bearer nope']) {
        const r = await api.push(body, { auth, space });
        assert.equal(r.status, 401, `auth ${auth}`);
        assert.equal(r.body.error, 'Unauthorized');
        const p = await api.pull(pullBody(uid('g'), null), { auth, space });
        assert.equal(p.status, 401);
      }
      assert.equal((await api.push(pushBody(uid('g'), []), { auth: `Bearer ${alice}`, space })).status, 200);
      await assertNothingWritten(space);
    });

    it('an authenticate hook replaces the token check', async () => {
      const s2 = await startServer(b.newStorage(), {
        demoSecret: undefined, authenticate: async (req, { token: t }) => (t === 'let-me-in' ? 'carol' : null),
      });
      try {
        assert.equal((await s2.api.pull(pullBody(uid('g'), null), { auth: 'let-me-in' })).status, 200);
        assert.equal((await s2.api.pull(pullBody(uid('g'), null), { auth: alice })).status, 401);
        assert.equal((await s2.api.post('/api/login', { name: 'x' })).status, 404, 'no demo login with a custom verifier');
      } finally {
        await s2.close();
      }
    });

    it('non-JSON and empty bodies: 400', async () => {
      for (const raw of ['', 'not json', '{"a":', '[1,2', 'nul']) {
        const r = await api.push(raw, { auth: alice, raw: true, space: uid('s') });
        assert.equal(r.status, 400, raw);
        assert.equal(r.body.error, 'BadRequest');
        assert.match(r.body.message, /JSON|empty/);
        const p = await api.pull(raw, { auth: alice, raw: true });
        assert.equal(p.status, 400);
      }
    });

    const g = 'g-shape';
    const good = pushBody(g, [mut('c-shape', 1, 'createMessage', { id: 'x', content: 'x' })]);
    const pushCases = [
      [[], /object/],
      [null, /object/],
      ['str', /object/],
      [{ ...good, profileID: 5 }, /profileID must be a string/],
      [{ ...good, profileID: undefined }, /profileID must be a string/],
      [{ ...good, clientGroupID: 7 }, /clientGroupID must be a string/],
      [{ ...good, clientGroupID: '' }, /clientGroupID must not be empty/],
      [{ ...good, clientGroupID: 'x'.repeat(600) }, /clientGroupID is longer/],
      [{ ...good, pushVersion: '1' }, /pushVersion must be an integer/],
      [{ ...good, pushVersion: undefined }, /pushVersion must be an integer/],
      [{ ...good, schemaVersion: 3 }, /schemaVersion must be a string/],
      [{ ...good, mutations: undefined }, /mutations must be an array/],
      [{ ...good, mutations: {} }, /mutations must be an array/],
      [{ ...good, mutations: [null] }, /mutations\[0\] must be an object/],
      [{ ...good, mutations: [{ ...good.mutations[0], clientID: 1 }] }, /mutations\[0\]\.clientID must be a string/],
      [{ ...good, mutations: [{ ...good.mutations[0], clientID: '' }] }, /clientID must not be empty/],
      [{ ...good, mutations: [{ ...good.mutations[0], id: 0 }] }, /id must be a positive safe integer/],
      [{ ...good, mutations: [{ ...good.mutations[0], id: -1 }] }, /id must be a positive safe integer/],
      [{ ...good, mutations: [{ ...good.mutations[0], id: 1.5 }] }, /id must be a positive safe integer/],
      [{ ...good, mutations: [{ ...good.mutations[0], id: '1' }] }, /id must be a positive safe integer/],
      [{ ...good, mutations: [{ ...good.mutations[0], id: 2 ** 60 }] }, /id must be a positive safe integer/],
      [{ ...good, mutations: [{ ...good.mutations[0], name: 3 }] }, /name must be a string/],
      [{ ...good, mutations: [{ ...good.mutations[0], timestamp: 'now' }] }, /timestamp must be a finite number/],
      [{ ...good, mutations: [{ ...good.mutations[0], timestamp: undefined }] }, /timestamp must be a finite number/],
      [{ ...good, mutations: [{ clientID: 'c', id: 1, name: 'n', timestamp: 1 }] }, /args is missing/],
      [{ ...good, mutations: [good.mutations[0], { ...good.mutations[0], name: 4 }] }, /mutations\[1\]\.name/],
    ];
    it('wrong-shaped push bodies: 400 naming the field, nothing written', async () => {
      const space = uid('s');
      for (const [body, re] of pushCases) {
        const r = await api.push(body, { auth: alice, space });
        assert.equal(r.status, 400, JSON.stringify(body)?.slice(0, 200));
        assert.match(r.body.message, re);
      }
      await assertNothingWritten(space);
      // The group was never claimed either.
      assert.deepEqual((await api.pull(pullBody(g, 1), { auth: alice, space })).body, { error: 'ClientStateNotFound' });
    });

    it('wrong-shaped pull bodies and non-number cookies: 400', async () => {
      const okPull = pullBody('g-pull-shape', null);
      const cases = [
        [{ ...okPull, cookie: undefined }, /cookie is missing/],
        [{ ...okPull, cookie: 'abc' }, /cookie must be null or a cookie issued by this server/],
        [{ ...okPull, cookie: { order: 1 } }, /cookie/],
        [{ ...okPull, cookie: 1.5 }, /cookie/],
        [{ ...okPull, cookie: -1 }, /cookie/],
        [{ ...okPull, pullVersion: '1' }, /pullVersion must be an integer/],
        [{ ...okPull, clientGroupID: null }, /clientGroupID must be a string/],
        [{ ...okPull, profileID: {} }, /profileID must be a string/],
        [{ ...okPull, schemaVersion: false }, /schemaVersion must be a string/],
        [[okPull], /object/],
      ];
      for (const [body, re] of cases) {
        const r = await api.pull(body, { auth: alice });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.body.message, re);
      }
    });

    it('bad space names: 400', async () => {
      for (const space of ['', 'a b', 'x'.repeat(129), '../etc', 'ä']) {
        const r = await api.pull(pullBody(uid('g'), null), { auth: alice, space });
        assert.equal(r.status, 400, space);
        assert.match(r.body.message, /space/);
      }
    });

    it('wrong pushVersion / pullVersion: 200 with VersionNotSupported, nothing written', async () => {
      const space = uid('s');
      const r = await api.push(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'v', content: 'v' })], { pushVersion: 0 }), { auth: alice, space });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { error: 'VersionNotSupported', versionType: 'push' });
      const p = await api.pull(pullBody(uid('g'), null, { pullVersion: 2 }), { auth: alice, space });
      assert.equal(p.status, 200);
      assert.deepEqual(p.body, { error: 'VersionNotSupported', versionType: 'pull' });
      await assertNothingWritten(space);
    });

    it('no schemaVersion configured: any schemaVersion is accepted', async () => {
      const r = await api.pull(pullBody(uid('g'), null, { schemaVersion: 'anything' }), { auth: alice, space: uid('s') });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.cookie, { order: 0, id: '' });
    });

    it('bodies over the limit: 413 by Content-Length, and while streaming (not buffered)', async () => {
      const space = uid('s');
      const big = JSON.stringify(pushBody(uid('g'), [mut(uid('c'), 1, 'createMessage', { id: 'big', content: 'x'.repeat(70 * 1024) })]));
      const r = await api.push(big, { auth: alice, raw: true, space });
      assert.equal(r.status, 413);
      assert.equal(r.body.error, 'PayloadTooLarge');
      // Chunked (no Content-Length), 64 MiB offered: the server answers 413 and stops reading.
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      const chunks = Array.from({ length: 256 }, () => chunk);
      const t0 = Date.now();
      const res = await rawPost(server.port, `/api/push?space=${space}`, { headers: { Authorization: alice, 'Transfer-Encoding': 'chunked' }, chunks });
      assert.ok(res.error || res.status === 413, `got ${res.status ?? res.error}`);
      if (!res.error) assert.match(res.text, /PayloadTooLarge/);
      assert.ok(Date.now() - t0 < 10_000);
      // A declared huge Content-Length is refused without reading.
      const res2 = await rawPost(server.port, `/api/pull?space=${space}`, { headers: { Authorization: alice }, contentLength: 10 * 1024 * 1024, chunks: ['{'] });
      assert.ok(res2.error || res2.status === 413);
      await assertNothingWritten(space);
      // The server still works.
      assert.equal((await api.pull(pullBody(uid('g'), null), { auth: alice, space })).status, 200);
    });

    it('login returns a working token; bad names are 400', async () => {
      const r = await api.post('/api/login', { name: 'dora' });
      assert.equal(r.status, 200);
      assert.equal(r.body.userID, 'dora');
      assert.equal(JSON.parse(Buffer.from(r.body.token.split('.')[1], 'base64url')).sub, 'dora');
      assert.ok(Date.parse(r.body.expiresAt) > Date.now() + 29 * 24 * 3600e3, 'a demo token lasts 30 days');
      assert.equal((await api.pull(pullBody(uid('g'), null), { auth: r.body.token })).status, 200);
      for (const body of [{}, { name: '' }, { name: 5 }, { name: 'x'.repeat(65) }, { name: 'a\nb' }, { name: ' pad' }, null]) {
        const bad = await api.post('/api/login', body);
        assert.equal(bad.status, 400, JSON.stringify(body));
      }
      assert.ok(SECRET);
    });

    it('wrong methods and unknown endpoints', async () => {
      assert.equal((await fetch(`${server.base}/api/push`)).status, 405);
      assert.equal((await fetch(`${server.base}/api/pull`, { method: 'PUT' })).status, 405);
      assert.equal((await fetch(`${server.base}/api/nothing`, { method: 'POST' })).status, 404);
      assert.equal((await fetch(`${server.base}/api/poke`)).status, 426);
    });
  });
}
