// What the stores cannot keep, refused the same way on SQLite and PostgreSQL: NUL characters and
// lone surrogates in IDs and keys, invalid UTF-8 bodies, values nested deeper than our client
// reads. A bad ID is the request's fault (400); a bad key or value written by a server mutator
// fails that mutation only (its lastMutationID advances), so the client's queue moves on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { STORAGES, backend, startServer, token, uid, pushBody, pullBody, mut, applyPatch } from './helpers.js';
import { MAX_VALUE_DEPTH } from '../src/validate.js';

/** A value of `depth` nested containers (objects and arrays by turns) around a string. */
function nested(depth) {
  let v = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? { d: v } : [v];
  return v;
}

/** Containers on the deepest path of JSON text, counted as the client's parser does. */
function textDepth(text) {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

const testMutators = {
  // The args themselves, at a key of the mutation's own.
  async putArgs(tx, args, ctx) {
    await tx.set(`args/${ctx.clientID}/${ctx.mutationID}`, args);
  },
  // The args one level deeper than they came.
  async wrapArgs(tx, args) {
    await tx.set('wrapped', [args]);
  },
  async set(tx, { key, value }) {
    await tx.set(key, value);
  },
  async del(tx, { key }) {
    await tx.del(key);
  },
  async get(tx, { key }) {
    await tx.set('read', (await tx.get(key)) ?? null);
  },
  async scan(tx, { prefix }) {
    await tx.set('scanned', await tx.scan({ prefix }).keys().toArray());
  },
};

const BAD_TEXT = [
  ['a NUL', 'a\u0000b'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', '\udc00'],
  ['a surrogate pair reversed', 'x\udc00\ud800'],
];

for (const kind of STORAGES) {
  describe(`data limits on ${kind}`, { timeout: 60_000 }, () => {
    let b, server, api;
    const alice = token('alice');

    before(async () => {
      b = await backend(kind);
      server = await startServer(b.newStorage(), { mutators: testMutators, demoLogin: true });
      api = server.api;
    });
    after(async () => {
      await server?.close();
      await b?.stop();
    });

    const fullPull = async (space, group) => {
      const r = await api.pull(pullBody(group, null), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      return r;
    };
    const failures = () => server.logger.entries.filter((e) => e.msg?.startsWith('mutation failed'));

    /** Push one mutation per args on a fresh client; every push must be 200. Returns the view and lmid. */
    async function pushEach(space, name, argsList) {
      const g = uid('g');
      const c = uid('c');
      for (let i = 0; i < argsList.length; i++) {
        const r = await api.push(pushBody(g, [mut(c, i + 1, name, argsList[i])]), { auth: alice, space });
        assert.equal(r.status, 200, `${name} #${i + 1}: ${r.text}`);
      }
      const p = await fullPull(space, g);
      return { view: applyPatch(new Map(), p.body.patch), lmid: p.body.lastMutationIDChanges[c], pull: p };
    }

    it('client and client group IDs with a NUL or a lone surrogate: 400, nothing written', async () => {
      const space = uid('s');
      for (const [what, bad] of BAD_TEXT) {
        const asGroup = await api.push(pushBody(`g-${bad}`, [mut(uid('c'), 1, 'putArgs', 1)]), { auth: alice, space });
        assert.equal(asGroup.status, 400, `${what} in clientGroupID: ${asGroup.text}`);
        assert.match(asGroup.body.message, /clientGroupID .*(NUL|surrogate)/);
        const asClient = await api.push(pushBody(uid('g'), [mut(`c-${bad}`, 1, 'putArgs', 1)]), { auth: alice, space });
        assert.equal(asClient.status, 400, `${what} in clientID: ${asClient.text}`);
        assert.match(asClient.body.message, /mutations\[0\]\.clientID .*(NUL|surrogate)/);
        const pulled = await api.pull(pullBody(`g-${bad}`, null), { auth: alice, space });
        assert.equal(pulled.status, 400, `${what} in a pull's clientGroupID: ${pulled.text}`);
        assert.match(pulled.body.message, /clientGroupID .*(NUL|surrogate)/);
      }
      assert.deepEqual((await fullPull(space, uid('g'))).body, { cookie: { order: 0, id: '' }, lastMutationIDChanges: {}, patch: [{ op: 'clear' }] });
      // Non-ASCII IDs that are proper text are fine.
      const g = `grüppe-😀-${uid()}`;
      const c = `klient-ж-${uid()}`;
      assert.equal((await api.push(pushBody(g, [mut(c, 1, 'putArgs', 1)]), { auth: alice, space })).status, 200);
      assert.deepEqual((await fullPull(space, g)).body.lastMutationIDChanges, { [c]: 1 });
    });

    it('a server mutator using a key with a NUL or a lone surrogate fails its mutation; the queue moves on', async () => {
      const space = uid('s');
      const before = failures().length;
      const args = [];
      for (const [, bad] of BAD_TEXT) {
        args.push(['set', { key: `k/${bad}`, value: 1 }], ['del', { key: `k/${bad}` }], ['get', { key: bad }], ['scan', { prefix: bad }]);
      }
      const g = uid('g');
      const c = uid('c');
      let id = 0;
      for (const [name, a] of args) {
        // Sent twice, as a client that got no answer would: the second time it is skipped.
        for (let attempt = 0; attempt < 2; attempt++) {
          const r = await api.push(pushBody(g, [mut(c, id + 1, name, a)]), { auth: alice, space });
          assert.equal(r.status, 200, `${name} ${JSON.stringify(a)}: ${r.text}`);
        }
        id++;
      }
      // Then a good one goes through.
      assert.equal((await api.push(pushBody(g, [mut(c, ++id, 'set', { key: 'k/ключ/😀', value: 'ok' })]), { auth: alice, space })).status, 200);
      const p = await fullPull(space, g);
      assert.deepEqual(p.body.lastMutationIDChanges, { [c]: id });
      assert.deepEqual(applyPatch(new Map(), p.body.patch), new Map([['k/ключ/😀', 'ok']]));
      const logged = failures().slice(before);
      assert.equal(logged.length, args.length, 'each bad mutation is logged once');
      for (const e of logged) assert.match(e.error.message, /NUL|surrogate/);
    });

    it('keys that differ only in their lone surrogates never collapse into one', async () => {
      const space = uid('s');
      const { lmid } = await pushEach(space, 'set', [{ key: 'dup/\ud800', value: 1 }, { key: 'dup/\udbff', value: 2 }]);
      assert.equal(lmid, 2);
      // Stored as is, both would have become dup/\ufffd (what a UTF-8 encoder makes of them).
      const { view } = await pushEach(space, 'get', [{ key: 'dup/\ufffd' }]);
      assert.deepEqual(view, new Map([['read', null]]));
    });

    it('values holding NUL and lone surrogates come back exactly as written', async () => {
      const value = { nul: 'a\u0000b', high: 'x\ud800y', low: '\udc00', ['key\u0000\ud800']: ['\u0000'] };
      const { view, lmid } = await pushEach(uid('s'), 'set', [{ key: 'odd', value }]);
      assert.equal(lmid, 1);
      assert.deepEqual(view.get('odd'), value);
    });

    it('a body that is not valid UTF-8: 400, nothing written', async () => {
      const space = uid('s');
      const g = uid('g');
      const text = JSON.stringify(pushBody(g, [mut(uid('c'), 1, 'set', { key: 'utf8', value: 'AB' })]));
      const [head, tail] = text.split('AB');
      for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80] /* an encoded surrogate */, [0xc0, 0x80] /* overlong NUL */]) {
        const body = Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
        const r = await api.push(body, { auth: alice, space, raw: true });
        assert.equal(r.status, 400, `bytes ${bytes}: ${r.text}`);
        assert.match(r.body.message, /UTF-8/);
        const l = await api.post('/api/login', Buffer.concat([Buffer.from('{"name":"a'), Buffer.from(bytes), Buffer.from('"}')]), { raw: true });
        assert.equal(l.status, 400);
      }
      assert.deepEqual((await fullPull(space, uid('g'))).body.patch, [{ op: 'clear' }]);
      // Proper UTF-8 passes.
      const ok = await api.push(Buffer.from(text.replace('AB', 'Ä😀')), { auth: alice, space, raw: true });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(applyPatch(new Map(), (await fullPull(space, g)).body.patch).get('utf8'), 'Ä😀');
    });

    it('demo login: any Unicode name gets an ASCII token that works as a header; lone surrogates and controls are 400', async () => {
      for (const name of ['日本語', 'Zoë', '😀 smile']) {
        const r = await api.post('/api/login', { name });
        assert.equal(r.status, 200, r.text);
        assert.match(r.body.token, /^[A-Za-z0-9_.-]+$/);
        const p = await api.pull(pullBody(uid('g'), null), { auth: r.body.token, space: uid('s') });
        assert.equal(p.status, 200, p.text);
        const ws = new WebSocket(`${server.base.replace(/^http/, 'ws')}/api/poke?space=s`, { headers: { Authorization: `Bearer ${r.body.token}` } });
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        ws.terminate();
      }
      for (const name of ['\ud800', 'a\udc00b', 'x\u0085y', 'x\u009fy']) {
        const r = await api.post('/api/login', { name });
        assert.equal(r.status, 400, `${JSON.stringify(name)}: ${r.text}`);
      }
    });

    it(`values nest at most ${MAX_VALUE_DEPTH} levels, counted as the client counts: the deepest comes back, one more fails its mutation`, async () => {
      assert.equal(MAX_VALUE_DEPTH, 250);
      const space = uid('s');
      const before = failures().length;
      const { view, lmid, pull } = await pushEach(space, 'putArgs', [nested(MAX_VALUE_DEPTH), nested(MAX_VALUE_DEPTH + 1), 'after']);
      assert.equal(lmid, 3, 'the mutation with too deep args is done with; the next one runs');
      const values = [...view.values()];
      assert.deepEqual(values, [nested(MAX_VALUE_DEPTH), 'after']);
      // The whole pull body stays within what the client parses (protocol.h ParseLimits.maxDepth).
      assert.ok(textDepth(pull.text) <= 256, `pull body nests ${textDepth(pull.text)} deep`);
      const logged = failures().slice(before);
      assert.equal(logged.length, 1);
      assert.equal(logged[0].mutator, 'putArgs');
      assert.match(logged[0].error.message, /args.*deeper than 250/);
    });

    it('a value a server mutator makes too deep fails its mutation', async () => {
      const space = uid('s');
      const before = failures().length;
      const first = await pushEach(space, 'wrapArgs', [nested(MAX_VALUE_DEPTH - 1)]);
      assert.deepEqual(first.view.get('wrapped'), [nested(MAX_VALUE_DEPTH - 1)]);
      const second = await pushEach(space, 'wrapArgs', [nested(MAX_VALUE_DEPTH)]);
      assert.equal(second.lmid, 1);
      assert.deepEqual(second.view.get('wrapped'), [nested(MAX_VALUE_DEPTH - 1)], 'the failed mutation wrote nothing');
      const logged = failures().slice(before);
      assert.equal(logged.length, 1);
      assert.match(logged[0].error.message, /wrapped.*deeper than 250/);
    });

    it('a hostile push nesting 100,000 deep is handled like any too deep args', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const text = JSON.stringify(pushBody(g, [mut(c, 1, 'putArgs', 'X')])).replace('"X"', deep);
      const r = await api.push(text, { auth: alice, space, raw: true });
      assert.equal(r.status, 200, r.text);
      const p = await fullPull(space, g);
      assert.deepEqual(p.body.lastMutationIDChanges, { [c]: 1 });
      assert.deepEqual(p.body.patch, [{ op: 'clear' }]);
    });
  });
}
