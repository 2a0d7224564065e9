// The push/pull rules, run against every storage (SQLite and a real PostgreSQL).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  STORAGES, backend, startServer, token, uid, pushBody, pullBody, mut, openPokeSocket, applyPatch, sleep,
} from './helpers.js';

for (const kind of STORAGES) {
  describe(`sync rules on ${kind}`, { timeout: 60_000 }, () => {
    let b, server, api;
    const alice = token('alice');
    const bob = token('bob');

    before(async () => {
      b = await backend(kind);
      server = await startServer(b.newStorage());
      api = server.api;
    });
    after(async () => {
      await server?.close();
      await b?.stop();
    });

    async function fullPull(space, group, auth = alice) {
      const r = await api.pull(pullBody(group, null), { auth, space });
      assert.equal(r.status, 200, r.text);
      return r.body;
    }

    it('healthz reports the storage', async () => {
      const res = await fetch(`${server.base}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true, storage: kind });
    });

    it('push then pull: first pull is clear + puts, with lmids', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const r = await api.push(pushBody(g, [
        mut(c, 1, 'createMessage', { id: 'm1', from: 'alice', content: 'hello', order: 0 }),
        mut(c, 2, 'createMessage', { id: 'm2', content: 'second' }),
      ]), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, {});
      const p = await fullPull(space, g);
      assert.equal(typeof p.cookie.order, 'number');
      assert.equal(typeof p.cookie.id, 'string');
      assert.deepEqual(p.lastMutationIDChanges, { [c]: 2 });
      assert.deepEqual(p.patch[0], { op: 'clear' });
      const view = applyPatch(new Map(), p.patch);
      assert.deepEqual(view.get('message/m1'), { from: 'alice', content: 'hello', order: view.get('message/m1').order });
      assert.ok(view.get('message/m2').order > view.get('message/m1').order, 'server order increases');
      assert.equal(view.size, 2);
    });

    it('pull with a cookie returns only changes since it, deletes as tombstones', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [
        mut(c, 1, 'createMessage', { id: 'a', content: 'A' }),
        mut(c, 2, 'createMessage', { id: 'b', content: 'B' }),
      ]), { auth: alice, space });
      const p1 = await fullPull(space, g);
      // Another group (another user) sees the same space.
      const g2 = uid('g');
      const c2 = uid('c');
      const p2 = await fullPull(space, g2, bob);
      assert.deepEqual(p2.cookie, p1.cookie);
      assert.deepEqual(p2.lastMutationIDChanges, {}, 'lmids of other groups are not reported');

      await api.push(pushBody(g, [
        mut(c, 3, 'deleteMessage', { id: 'a' }),
        mut(c, 4, 'updateMessage', { id: 'b', content: 'B2' }),
      ]), { auth: alice, space });
      await api.push(pushBody(g2, [mut(c2, 1, 'createMessage', { id: 'c', content: 'C' })]), { auth: bob, space });

      const d1 = (await api.pull(pullBody(g, p1.cookie), { auth: alice, space })).body;
      assert.ok(d1.cookie.order > p1.cookie.order);
      assert.deepEqual(d1.lastMutationIDChanges, { [c]: 4 });
      assert.deepEqual(d1.patch.map((o) => [o.op, o.key]), [['del', 'message/a'], ['put', 'message/b'], ['put', 'message/c']]);
      const d2 = (await api.pull(pullBody(g2, p2.cookie), { auth: bob, space })).body;
      assert.deepEqual(d2.lastMutationIDChanges, { [c2]: 1 });
      assert.deepEqual(d2.cookie, d1.cookie);
      assert.deepEqual(d2.patch, d1.patch, 'pull result depends on cookie, not on group');

      // Both incremental views converge with a fresh full pull, which omits tombstones.
      const v1 = applyPatch(applyPatch(new Map(), p1.patch), d1.patch);
      const full = await fullPull(space, uid('g'));
      assert.deepEqual([...v1], [...applyPatch(new Map(), full.patch)]);
      assert.ok(!full.patch.some((o) => o.op === 'del'));

      // Pull at the current cookie: nothing new.
      const same = (await api.pull(pullBody(g, d1.cookie), { auth: alice, space })).body;
      assert.deepEqual(same, { cookie: d1.cookie, lastMutationIDChanges: {}, patch: [] });
    });

    it('a tombstone reaches a pull from any older cookie', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'x', content: 'X' })]), { auth: alice, space });
      const p0 = await fullPull(space, g);
      for (let i = 2; i <= 5; i++) {
        await api.push(pushBody(g, [mut(c, i, 'createMessage', { id: `y${i}`, content: 'Y' })]), { auth: alice, space });
      }
      await api.push(pushBody(g, [mut(c, 6, 'deleteMessage', { id: 'x' })]), { auth: alice, space });
      for (let i = 7; i <= 8; i++) {
        await api.push(pushBody(g, [mut(c, i, 'createMessage', { id: `z${i}`, content: 'Z' })]), { auth: alice, space });
      }
      const d = (await api.pull(pullBody(g, p0.cookie), { auth: alice, space })).body;
      assert.ok(d.patch.some((o) => o.op === 'del' && o.key === 'message/x'));
      assert.equal(d.cookie.order, p0.cookie.order + 7, 'one version per processed mutation');
    });

    it('mutations already processed are skipped (exactly once), and the version does not move', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const muts = [mut(c, 1, 'createMessage', { id: 'once', content: '1' }), mut(c, 2, 'updateMessage', { id: 'once', content: '2' })];
      await api.push(pushBody(g, muts), { auth: alice, space });
      const p1 = await fullPull(space, g);
      const again = await api.push(pushBody(g, [...muts, mut(c, 3, 'updateMessage', { id: 'once', content: '3' })]), { auth: alice, space });
      assert.equal(again.status, 200);
      const d = (await api.pull(pullBody(g, p1.cookie), { auth: alice, space })).body;
      assert.equal(d.cookie.order, p1.cookie.order + 1, 'only mutation 3 was processed');
      assert.deepEqual(d.lastMutationIDChanges, { [c]: 3 });
      assert.deepEqual(d.patch, [{ op: 'put', key: 'message/once', value: { from: 'alice', content: '3', order: 1 } }]);
      // Resending everything again changes nothing.
      await api.push(pushBody(g, [...muts, mut(c, 3, 'updateMessage', { id: 'once', content: '3' })]), { auth: alice, space });
      const d2 = (await api.pull(pullBody(g, d.cookie), { auth: alice, space })).body;
      assert.deepEqual(d2, { cookie: d.cookie, lastMutationIDChanges: {}, patch: [] });
    });

    it('a mutation from the future is refused with 409 and nothing is written', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const r = await api.push(pushBody(g, [mut(c, 2, 'createMessage', { id: 'f', content: 'future' })]), { auth: alice, space });
      assert.equal(r.status, 409);
      assert.equal(r.body.error, 'MutationFromFuture');
      assert.equal(r.body.lastMutationID, 0);
      // Nothing written, not even the client group: a pull with a cookie does not know it.
      assert.deepEqual((await api.pull(pullBody(g, 0), { auth: alice, space })).body, { error: 'ClientStateNotFound' });
      const p = await fullPull(space, g);
      assert.deepEqual(p, { cookie: { order: 0, id: '' }, lastMutationIDChanges: {}, patch: [{ op: 'clear' }] });

      // Known client: lmid 1, then a push starting at 3 -> 409, lmid stays 1.
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'ok', content: 'ok' })]), { auth: alice, space });
      const c2 = uid('c');
      const r2 = await api.push(pushBody(g, [
        mut(c2, 1, 'createMessage', { id: 'other', content: 'other client, first in push' }),
        mut(c, 3, 'createMessage', { id: 'gap', content: 'gap' }),
      ]), { auth: alice, space });
      assert.equal(r2.status, 409);
      const p2 = await fullPull(space, g);
      assert.deepEqual(p2.lastMutationIDChanges, { [c]: 1 });
      assert.deepEqual(p2.patch.map((o) => o.key).filter(Boolean), ['message/ok'], 'no mutation of the refused push was written');
    });

    it('ids that do not follow each other inside one push are a 400', async () => {
      const g = uid('g');
      const c = uid('c');
      const r = await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'p', content: 'p' }), mut(c, 3, 'createMessage', { id: 'q', content: 'q' })]), { auth: alice, space: uid('s') });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /does not follow/);
    });

    it('a failing mutator advances the lmid, writes nothing else, and is logged', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const gb = uid('g');
      const cb = uid('c');
      await api.push(pushBody(gb, [mut(cb, 1, 'createMessage', { id: 'bobs', content: 'bob wrote this' })]), { auth: bob, space });
      const before = await fullPull(space, g);
      const r = await api.push(pushBody(g, [
        mut(c, 1, 'noSuchMutator', { id: 'z' }),
        mut(c, 2, 'createMessage', { id: 'bad id with spaces', content: 'x' }),
        mut(c, 3, 'createMessage', null),
        mut(c, 4, 'createMessage', { id: 'ok1', content: 42 }),
        mut(c, 5, 'updateMessage', { id: 'bobs', content: 'hijack' }),
        mut(c, 6, 'deleteMessage', { id: 'bobs' }),
        mut(c, 7, 'createMessage', { id: 'bobs', content: 'overwrite' }),
        mut(c, 8, 'createMessage', { id: 'imp', from: 'bob', content: 'impersonate' }),
        mut(c, 9, 'createMessage', { id: 'good', content: 'fine' }),
      ]), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      const d = (await api.pull(pullBody(g, before.cookie), { auth: alice, space })).body;
      assert.deepEqual(d.lastMutationIDChanges, { [c]: 9 });
      assert.deepEqual(d.patch, [{ op: 'put', key: 'message/good', value: { from: 'alice', content: 'fine', order: before.cookie.order + 9 } }]);
      const view = applyPatch(applyPatch(new Map(), before.patch), d.patch);
      assert.equal(view.get('message/bobs').content, 'bob wrote this');
      const errors = server.logger.entries.filter((e) => e.level === 'error' && e.clientID === c);
      assert.deepEqual(errors.map((e) => e.mutationID), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.match(errors[0].error.message, /unknown mutator/);
    });

    it('several clients of one group in one push; a client of another group is refused', async () => {
      const space = uid('s');
      const g = uid('g');
      const [c1, c2] = [uid('c'), uid('c')];
      const r = await api.push(pushBody(g, [
        mut(c1, 1, 'createMessage', { id: 'k1', content: '1' }),
        mut(c2, 1, 'createMessage', { id: 'k2', content: '2' }),
        mut(c1, 2, 'createMessage', { id: 'k3', content: '3' }),
      ]), { auth: alice, space });
      assert.equal(r.status, 200);
      const p = await fullPull(space, g);
      assert.deepEqual(p.lastMutationIDChanges, { [c1]: 2, [c2]: 1 });

      const g2 = uid('g');
      const r2 = await api.push(pushBody(g2, [mut(uid('c'), 1, 'createMessage', { id: 'k4', content: '4' }), mut(c1, 3, 'createMessage', { id: 'k5', content: '5' })]), { auth: alice, space });
      assert.equal(r2.status, 403);
      assert.match(r2.body.message, /another client group/);
      const after = await fullPull(space, g);
      assert.deepEqual(after.cookie, p.cookie, 'nothing written');
      assert.deepEqual((await api.pull(pullBody(g2, 0), { auth: alice, space })).body, { error: 'ClientStateNotFound' });
    });

    it('a client group belongs to its first user and space: others get 403 and nothing changes', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'mine', content: 'mine' })]), { auth: alice, space });
      const p = await fullPull(space, g);
      const r = await api.push(pushBody(g, [mut(c, 2, 'deleteMessage', { id: 'mine' })]), { auth: bob, space });
      assert.equal(r.status, 403);
      const r2 = await api.pull(pullBody(g, null), { auth: bob, space });
      assert.equal(r2.status, 403);
      const r3 = await api.pull(pullBody(g, null), { auth: alice, space: uid('other') });
      assert.equal(r3.status, 403);
      assert.match(r3.body.message, /another space/);
      const r4 = await api.push(pushBody(g, [mut(c, 2, 'createMessage', { id: 'elsewhere', content: 'x' })]), { auth: alice, space: uid('other') });
      assert.equal(r4.status, 403);
      const again = await fullPull(space, g);
      assert.deepEqual(again, p);
      // A group first used by a pull is claimed too.
      const g3 = uid('g');
      await fullPull(space, g3, bob);
      assert.equal((await api.push(pushBody(g3, []), { auth: alice, space })).status, 403);
    });

    it('pull of an unknown client group with a cookie: ClientStateNotFound', async () => {
      const r = await api.pull(pullBody(uid('g'), 5), { auth: alice, space: uid('s') });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { error: 'ClientStateNotFound' });
    });

    it('a cookie from the future gets a full reset, every lmid of the group, and a cookie above it', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'r', content: 'r' }), mut(c, 2, 'deleteMessage', { id: 'r' }), mut(c, 3, 'createMessage', { id: 's', content: 's' })]), { auth: alice, space });
      const p = await fullPull(space, g);
      const future = { order: p.cookie.order + 100, id: 'not-issued' };
      const r = (await api.pull(pullBody(g, future), { auth: alice, space })).body;
      assert.deepEqual(r.lastMutationIDChanges, { [c]: 3 });
      assert.deepEqual(r.patch, p.patch);
      assert.deepEqual(r.patch.map((o) => o.op), ['clear', 'put']);
      assert.equal(r.cookie.order, future.order + 1, 'cookies only grow: the space moved past the client\'s');
      // The new cookie is a good one: diffs from it, and later writes continue above it.
      assert.deepEqual((await api.pull(pullBody(g, r.cookie), { auth: alice, space })).body, { cookie: r.cookie, lastMutationIDChanges: {}, patch: [] });
      await api.push(pushBody(g, [mut(c, 4, 'createMessage', { id: 't', content: 't' })]), { auth: alice, space });
      const d = (await api.pull(pullBody(g, r.cookie), { auth: alice, space })).body;
      assert.equal(d.cookie.order, r.cookie.order + 1);
      assert.deepEqual(d.patch.map((o) => o.key), ['message/t']);
    });

    it('a cookie absurdly far above the space\'s version is refused and leaves the version alone', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'f', content: 'f' })]), { auth: alice, space });
      const p = await fullPull(space, g);
      for (const order of [p.cookie.order + 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
        const r = await api.pull(pullBody(g, { order, id: 'forged' }), { auth: alice, space });
        assert.equal(r.status, 400, r.text);
        assert.match(r.body.message, /far above this space's version/);
      }
      const after = (await api.pull(pullBody(g, p.cookie), { auth: alice, space })).body;
      assert.deepEqual(after.cookie, p.cookie, 'the version did not move');
    });

    it('a cookie whose id is not the one recorded for its version gets a full reset (another timeline)', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'a', content: 'a' }), mut(c, 2, 'createMessage', { id: 'b', content: 'b' })]), { auth: alice, space });
      const p = await fullPull(space, g);
      for (const cookie of [{ ...p.cookie, id: 'other' }, { order: 1, id: 'other' }]) {
        const r = (await api.pull(pullBody(g, cookie), { auth: alice, space })).body;
        assert.equal(r.patch[0].op, 'clear', JSON.stringify(cookie));
        assert.deepEqual(r.lastMutationIDChanges, { [c]: 2 });
        assert.ok(r.cookie.order > cookie.order, 'above the client\'s cookie');
        assert.notEqual(r.cookie.id, cookie.id);
      }
      // Every version issued has its own id; a good older cookie still diffs.
      const again = await fullPull(space, g);
      assert.notEqual(again.cookie.id, p.cookie.id);
      const d = (await api.pull(pullBody(g, p.cookie), { auth: alice, space })).body;
      assert.deepEqual(d.patch, []);
      assert.equal(d.cookie.order, again.cookie.order);
    });

    it('a bare-number cookie (servers before version ids) gets one full reset; version 0 is good in every timeline', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'n', content: 'n' })]), { auth: alice, space });
      const old = (await api.pull(pullBody(g, 1), { auth: alice, space })).body;
      assert.equal(old.patch[0].op, 'clear');
      assert.deepEqual(old.lastMutationIDChanges, { [c]: 1 });
      assert.ok(old.cookie.order > 1, 'the same version as a number, answered above it');
      const empty = (await api.pull(pullBody(g, { order: 0, id: '' }), { auth: alice, space })).body;
      assert.deepEqual(empty.patch.map((o) => o.op), ['put'], 'diffed from the empty space');
      assert.equal((await api.pull(pullBody(g, { order: 0, id: 'x' }), { auth: alice, space })).body.patch[0].op, 'clear');
    });

    it('a push from the future for a known group marks the client so its next pull shows the server\'s lmid', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const lost = uid('c');
      await api.push(pushBody(g, [mut(c, 1, 'createMessage', { id: 'k', content: 'k' })]), { auth: alice, space });
      const p = await fullPull(space, g);
      // `lost` confirmed up to 5 in a timeline this database no longer has; `c` up to 3.
      const r = await api.push(pushBody(g, [mut(lost, 6, 'createMessage', { id: 'x', content: 'x' }), mut(c, 4, 'createMessage', { id: 'y', content: 'y' })]), { auth: alice, space });
      assert.equal(r.status, 409);
      assert.equal(r.body.clientID, lost);
      const d = (await api.pull(pullBody(g, p.cookie), { auth: alice, space })).body;
      assert.deepEqual(d.lastMutationIDChanges, { [lost]: 0, [c]: 1 }, 'a diff from a good cookie names both');
      assert.deepEqual(d.patch, [], 'nothing of the refused push was written');
    });

    it('futureCookie: clientStateNotFound makes a cookie this database did not issue start the client over', async () => {
      const s2 = await startServer(b.newStorage(), { futureCookie: 'clientStateNotFound' });
      try {
        const space = uid('s');
        const g = uid('g');
        await s2.api.push(pushBody(g, [mut(uid('c'), 1, 'createMessage', { id: 'fc', content: 'x' })]), { auth: alice, space });
        const p = (await s2.api.pull(pullBody(g, null), { auth: alice, space })).body;
        assert.deepEqual((await s2.api.pull(pullBody(g, { order: p.cookie.order + 1, id: 'x' }), { auth: alice, space })).body, { error: 'ClientStateNotFound' });
        assert.deepEqual((await s2.api.pull(pullBody(g, { ...p.cookie, id: 'x' }), { auth: alice, space })).body, { error: 'ClientStateNotFound' });
        assert.deepEqual((await s2.api.pull(pullBody(g, p.cookie), { auth: alice, space })).body.cookie, p.cookie);
        // A bare number cannot be checked: a full reset (Replicache takes it: nothing goes down).
        assert.equal((await s2.api.pull(pullBody(g, 1), { auth: alice, space })).body.patch[0].op, 'clear');
      } finally {
        await s2.close();
      }
    });

    it('spaces are isolated', async () => {
      const [s1, s2] = [uid('s'), uid('s')];
      const g1 = uid('g');
      await api.push(pushBody(g1, [mut(uid('c'), 1, 'createMessage', { id: 'only1', content: '1' })]), { auth: alice, space: s1 });
      const p2 = await fullPull(s2, uid('g'));
      assert.deepEqual(p2, { cookie: { order: 0, id: '' }, lastMutationIDChanges: {}, patch: [{ op: 'clear' }] });
    });

    it('the default space is "default"', async () => {
      const g = uid('g');
      await api.push(pushBody(g, [mut(uid('c'), 1, 'createMessage', { id: uid('d'), content: 'd' })]), { auth: alice });
      const a = (await api.pull(pullBody(uid('g'), null), { auth: alice })).body;
      const b2 = (await api.pull(pullBody(uid('g'), null), { auth: alice, space: 'default' })).body;
      assert.deepEqual(a, b2);
      assert.ok(a.patch.length >= 2);
    });

    it('pokes go to sockets of the pushed space only, after commit', async () => {
      const [s1, s2] = [uid('s'), uid('s')];
      const a = await openPokeSocket(server.base, s1);
      const a2 = await openPokeSocket(server.base, s1);
      const other = await openPokeSocket(server.base, s2);
      try {
        const g = uid('g');
        await api.push(pushBody(g, [mut(uid('c'), 1, 'createMessage', { id: 'pk', content: 'poke' })]), { auth: alice, space: s1 });
        await a.waitFor(1);
        await a2.waitFor(1);
        assert.deepEqual(JSON.parse(a.messages[0]), { type: 'poke', space: s1 });
        // When the poke arrives the data is visible.
        const p = await fullPull(s1, uid('g'));
        assert.ok(p.patch.some((o) => o.key === 'message/pk'));
        // A push with nothing new (all skipped) or refused pokes nobody.
        await api.push(pushBody(g, []), { auth: alice, space: s1 });
        await sleep(150);
        assert.equal(other.messages.length, 0);
        assert.equal(a.messages.length, 1);
      } finally {
        await Promise.all([a.close(), a2.close(), other.close()]);
      }
    });

    it('pluggable mutators see get/has/set/put/del/scan and ctx', async () => {
      const seen = [];
      const s2 = await startServer(b.newStorage(), {
        mutators: {
          async fill(tx, args, ctx) {
            seen.push({ ...ctx });
            for (const k of ['a/1', 'a/2', 'a/3', 'b/1']) await tx.set(k, { k });
            await tx.put('a/4', [1, 2]);
          },
          async edit(tx) {
            assert.equal(await tx.has('a/1'), true);
            assert.deepEqual(await tx.get('a/2'), { k: 'a/2' });
            assert.equal(await tx.get('nope'), undefined);
            await tx.del('a/1');
            await tx.set('a/0', 'zero');
            const keys = await tx.scan({ prefix: 'a/' }).keys().toArray();
            assert.deepEqual(keys, ['a/0', 'a/2', 'a/3', 'a/4']);
            const values = await tx.scan({ prefix: 'a/' }).toArray();
            assert.deepEqual(values[0], 'zero');
            const entries = [];
            for await (const e of tx.scan({ prefix: 'b/' }).entries()) entries.push(e);
            assert.deepEqual(entries, [['b/1', { k: 'b/1' }]]);
            await tx.set('checked', true);
          },
          async writesThenThrows(tx) {
            await tx.set('should-not-exist', 1);
            throw new Error('boom');
          },
        },
      });
      try {
        const space = uid('s');
        const g = uid('g');
        const c = uid('c');
        const r = await s2.api.push(pushBody(g, [mut(c, 1, 'fill', null), mut(c, 2, 'edit', null), mut(c, 3, 'writesThenThrows', null)]), { auth: alice, space });
        assert.equal(r.status, 200);
        assert.deepEqual(seen[0], { userID: 'alice', clientID: c, clientGroupID: g, space, mutationID: 1, version: 1 });
        const p = (await s2.api.pull(pullBody(g, null), { auth: alice, space })).body;
        const view = applyPatch(new Map(), p.patch);
        assert.deepEqual([...view.keys()].sort(), ['a/0', 'a/2', 'a/3', 'a/4', 'b/1', 'checked']);
        assert.deepEqual(p.lastMutationIDChanges, { [c]: 3 });
      } finally {
        await s2.close();
      }
    });

    it('schemaVersion, when configured, must match', async () => {
      const s2 = await startServer(b.newStorage(), { schemaVersion: 'v2' });
      try {
        const space = uid('s');
        const g = uid('g');
        const bad = await s2.api.push(pushBody(g, [mut(uid('c'), 1, 'createMessage', { id: 'sv', content: 'x' })], { schemaVersion: 'v1' }), { auth: alice, space });
        assert.equal(bad.status, 200);
        assert.deepEqual(bad.body, { error: 'VersionNotSupported', versionType: 'schema' });
        const badPull = await s2.api.pull(pullBody(g, null, { schemaVersion: '' }), { auth: alice, space });
        assert.deepEqual(badPull.body, { error: 'VersionNotSupported', versionType: 'schema' });
        const ok = await s2.api.pull(pullBody(g, null, { schemaVersion: 'v2' }), { auth: alice, space });
        assert.deepEqual(ok.body, { cookie: { order: 0, id: '' }, lastMutationIDChanges: {}, patch: [{ op: 'clear' }] }, 'the refused push wrote nothing');
      } finally {
        await s2.close();
      }
    });
  });
}
