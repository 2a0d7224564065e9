// How a server mutator's failure is taken, on every storage: whatever it throws (falsy values
// included) and when it runs past mutatorTimeoutMs, its writes are dropped, the lmid advances,
// the failure is logged, and the rest of the push goes on. A timed-out mutator that carries on
// cannot reach the transaction any more.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORAGES, backend, startServer, token, uid, pushBody, pullBody, mut, applyPatch, gate, within } from './helpers.js';
import { StorageUnavailableError } from '../src/errors.js';

const MUTATOR_TIMEOUT_MS = 150;
// What the falsy-throw mutator throws, by name (JSON args cannot carry `undefined`).
const FALSY = { undefined, zero: 0, empty: '', null: null };

for (const kind of STORAGES) {
  describe(`mutator failures on ${kind}`, { timeout: 60_000 }, () => {
    let b, server, api;
    const alice = token('alice');
    // The held mutator of the running test, and what its calls after the timeout gave.
    let hold = gate();
    const late = [];
    const mutators = {
      async put(tx, { key }) {
        await tx.set(key, 'ok');
      },
      async throwFalsy(tx, { key, what }) {
        await tx.set(key, 'written before the throw');
        throw FALSY[what];
      },
      async slow(tx, { key }) {
        await tx.set(`${key}/before`, 1);
        await hold.promise;
        for (const call of [() => tx.set(`${key}/after`, 1), () => tx.get(`${key}/before`), () => tx.scan({ prefix: key }).toArray()]) {
          try {
            await call();
            late.push('done');
          } catch (err) {
            late.push(err.message);
          }
        }
      },
      // A synchronous loop cannot be interrupted; it still counts as failed once it returns.
      busy(tx, { key, ms }) {
        const end = Date.now() + ms;
        while (Date.now() < end);
        return tx.set(key, 1);
      },
    };

    before(async () => {
      b = await backend(kind);
      server = await startServer(b.newStorage(), { mutators, mutatorTimeoutMs: MUTATOR_TIMEOUT_MS });
      api = server.api;
    });
    after(async () => {
      hold.open();
      await server?.close();
      await b?.stop();
    });

    async function state(space, g) {
      const r = await api.pull(pullBody(g, null), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      return { lmids: r.body.lastMutationIDChanges, view: Object.fromEntries(applyPatch(new Map(), r.body.patch)) };
    }

    const failures = (c) => server.logger.entries.filter((e) => e.level === 'error' && e.clientID === c);

    it('a mutator that throws undefined, 0, "" or null after writing has its writes rolled back', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const names = Object.keys(FALSY);
      const r = await api.push(pushBody(g, [
        ...names.map((what, i) => mut(c, i + 1, 'throwFalsy', { key: `falsy/${what}`, what })),
        mut(c, names.length + 1, 'put', { key: 'after' }),
      ]), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      const { lmids, view } = await state(space, g);
      assert.deepEqual(lmids, { [c]: names.length + 1 });
      assert.deepEqual(view, { after: 'ok' }, 'nothing a falsy-throwing mutator wrote was committed');
      const logged = failures(c);
      assert.deepEqual(logged.map((e) => e.mutationID), [1, 2, 3, 4]);
      assert.deepEqual(logged.map((e) => e.error.message), ['undefined', '0', '', 'null']);
    });

    it('an async mutator past the timeout fails, the push goes on, and its later calls are refused', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      hold = gate();
      late.length = 0;
      try {
        const started = Date.now();
        const r = await within(api.push(pushBody(g, [
          mut(c, 1, 'slow', { key: 'slow' }),
          mut(c, 2, 'put', { key: 'next' }),
        ]), { auth: alice, space }), 3000, 'the push with a stuck mutator');
        assert.equal(r.status, 200, r.text);
        assert.ok(Date.now() - started >= MUTATOR_TIMEOUT_MS, 'the mutator had its time');
        let s = await state(space, g);
        assert.deepEqual(s.lmids, { [c]: 2 });
        assert.deepEqual(s.view, { next: 'ok' }, 'the timed-out mutator wrote nothing');
        const [failure] = failures(c);
        assert.equal(failure.mutationID, 1);
        assert.equal(failure.error.name, 'MutatorTimeoutError');
        assert.match(failure.error.message, new RegExp(`did not finish within ${MUTATOR_TIMEOUT_MS} ms`));

        // The mutator carries on: every call it makes now is refused, and nothing lands later.
        hold.open();
        for (let i = 0; i < 50 && late.length < 3; i++) await new Promise((res) => setTimeout(res, 10));
        assert.equal(late.length, 3);
        for (const message of late) assert.match(message, /transaction is closed/);
        await api.push(pushBody(g, [mut(c, 3, 'put', { key: 'last' })]), { auth: alice, space });
        s = await state(space, g);
        assert.deepEqual(s.view, { next: 'ok', last: 'ok' });
      } finally {
        // (Else, before the fix, the held mutator would keep the next test waiting.)
        hold.open();
      }
    });

    it('a synchronous mutator that took longer than the timeout counts as failed', async () => {
      const space = uid('s');
      const g = uid('g');
      const c = uid('c');
      const r = await api.push(pushBody(g, [
        mut(c, 1, 'busy', { key: 'busy', ms: MUTATOR_TIMEOUT_MS + 100 }),
        mut(c, 2, 'busy', { key: 'quick', ms: 0 }),
      ]), { auth: alice, space });
      assert.equal(r.status, 200, r.text);
      const s = await state(space, g);
      assert.deepEqual(s.lmids, { [c]: 2 });
      assert.deepEqual(s.view, { quick: 1 });
      assert.deepEqual(failures(c).map((e) => [e.mutationID, e.error.name]), [[1, 'MutatorTimeoutError']]);
    });
  });
}

// A mutator that times out while a storage call of its own is still running: the call's end is
// awaited (the connection is not free before that anyway). A call that then fails is the
// database's fault, not the mutator's: the push fails with the storage's error, nothing is
// written, and the client's retry runs the mutation again.
describe('a storage read still running when the mutator times out', { timeout: 60_000 }, () => {
  let b, server;
  const alice = token('alice');
  let slowRead = null; // (stx, space, key) => promise, for keys under slow/
  before(async () => {
    b = await backend('sqlite');
    const storage = b.newStorage();
    const wrapped = {
      ...storage,
      transact: (fn) => storage.transact((stx) => fn({
        ...stx,
        getEntry: (space, key) => (key.startsWith('slow/') && slowRead ? slowRead(stx, space, key) : stx.getEntry(space, key)),
      })),
    };
    server = await startServer(wrapped, {
      mutators: {
        async readSlowly(tx, { key }) {
          await tx.set(`${key}/mark`, 1);
          await tx.get(`slow/${key}`);
        },
      },
      mutatorTimeoutMs: 100,
    });
  });
  after(async () => {
    await server?.close();
    await b?.stop();
  });

  async function run(read) {
    const space = uid('s');
    const g = uid('g');
    const c = uid('c');
    slowRead = read;
    const r = await server.api.push(pushBody(g, [mut(c, 1, 'readSlowly', { key: 'k' })]), { auth: alice, space });
    slowRead = null;
    const p = await server.api.pull(pullBody(g, null), { auth: alice, space });
    return { r, lmids: p.body.lastMutationIDChanges, patch: p.body.patch };
  }

  it('fails the push with the storage error when the read fails', async () => {
    const { r, lmids, patch } = await run(() => new Promise((_, reject) => setTimeout(
      () => reject(new StorageUnavailableError('the test database went away')), 300)));
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error, 'StorageUnavailable');
    assert.deepEqual(lmids, {}, 'not processed: the retry runs it again');
    assert.deepEqual(patch, [{ op: 'clear' }]);
  });

  it('fails the mutation (timeout) when the read answers late', async () => {
    const { r, lmids, patch } = await run((stx, space, key) => new Promise((resolve) => setTimeout(
      () => resolve(stx.getEntry(space, key)), 300)));
    assert.equal(r.status, 200, r.text);
    assert.equal(Object.values(lmids)[0], 1);
    assert.deepEqual(patch, [{ op: 'clear' }]);
    assert.equal(server.logger.entries.filter((e) => e.error?.name === 'MutatorTimeoutError').length, 1);
  });
});
