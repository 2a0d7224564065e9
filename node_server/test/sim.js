// A protocol-level client simulation used by the concurrency tests and the load bench.
// Each simulated client keeps a local view fed only by incremental pulls (patches applied to
// its last confirmed state), resends its unconfirmed mutations on every push (like Replicache),
// and stops when all its mutations are confirmed.
import assert from 'node:assert/strict';
import { pushBody, pullBody, mut, applyPatch, token, uid } from './helpers.js';

export { countingMutators } from './counting-mutators.js';

export async function simulateClient({ api, space, group, clientID, auth, mutations, batch = 3, onLatency }) {
  let next = 1;
  let lmid = 0;
  let cookie = null;
  const view = new Map();
  const pending = [];
  const timed = async (kind, fn) => {
    const t0 = performance.now();
    const r = await fn();
    onLatency?.(kind, performance.now() - t0, r.status);
    return r;
  };
  const pull = async () => {
    const r = await timed('pull', () => api.pull(pullBody(group, cookie), { auth, space }));
    if (r.status !== 200 || r.body.error) throw new Error(`pull failed: ${r.status} ${r.text}`);
    if (cookie !== null && r.body.cookie.order < cookie.order) throw new Error('cookie went backwards');
    applyPatch(view, r.body.patch);
    cookie = r.body.cookie;
    const l = r.body.lastMutationIDChanges[clientID];
    if (l !== undefined) {
      if (l < lmid) throw new Error('lmid went backwards');
      lmid = l;
    }
    while (pending.length && pending[0].id <= lmid) pending.shift();
  };
  await pull();
  let rounds = 0;
  while (lmid < mutations) {
    if (++rounds > mutations * 20 + 100) throw new Error(`client ${clientID} made no progress`);
    for (let k = 0; k < batch && next <= mutations; k++, next++) {
      const name = next % 2 ? 'add' : 'incr';
      pending.push(mut(clientID, next, name, name === 'add' ? { key: `${clientID}-${next}` } : { by: 1 }, performance.now()));
    }
    const r = await timed('push', () => api.push(pushBody(group, pending), { auth, space }));
    if (r.status !== 200 || r.body?.error) throw new Error(`push failed: ${r.status} ${r.text}`);
    await pull();
  }
  return { clientID, group, lmid, cookie, view };
}

/** Expected server state after clients ran `mutations` each with the counting mutators. */
export function expectedCounts(clients, mutations) {
  const adds = Math.ceil(mutations / 2);
  const incrs = Math.floor(mutations / 2);
  return { items: clients * adds, counter: clients * incrs };
}

async function serverView(api, space) {
  const r = await api.pull(pullBody(uid('probe'), null), { auth: token('probe'), space });
  return { cookie: r.body.cookie, view: applyPatch(new Map(), r.body.patch) };
}

/** Assert exactly-once, lmids and convergence after simulated clients ran. */
export async function checkRun(apis, spaces, results, perClient) {
  for (const space of spaces) {
    const mine = results.filter((r) => r.space === space);
    const { cookie, view } = await serverView(apis[0], space);
    const exp = expectedCounts(mine.length, perClient);
    const items = [...view.keys()].filter((k) => k.startsWith('item/'));
    assert.equal(items.length, exp.items, `${space}: every add applied once`);
    assert.equal(view.get('counter'), exp.counter, `${space}: no lost or doubled increments`);
    assert.equal(cookie.order, mine.length * perClient, `${space}: one version per mutation`);
    for (const r of mine) {
      assert.equal(r.lmid, perClient);
      // Each client's incrementally-built view equals the server state at its cookie; pull once
      // more from it to reach the final state and compare.
      const d = await apis[0].pull(pullBody(r.group, r.cookie), { auth: r.auth, space });
      applyPatch(r.view, d.body.patch);
      assert.deepEqual([...r.view].sort(), [...view].sort(), `${r.clientID} converged`);
    }
  }
}

