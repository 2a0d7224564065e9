// Fault: the SQLite database is restored from a backup under running replicore clients (the
// WebAssembly package from build-wasm/package, in this process), which is what a power loss with
// synchronous=NORMAL or a failover to a lagging replica does too: the server loses commits whose
// mutations the clients had seen confirmed. A real online backup (SQLite's backup API) is taken
// while the clients write; they write on; the server stops, the backup replaces its file, and it
// starts again on the same port. The server must see that the clients' cookies are not ones it
// issued, reset them (clear + its state + their lower lastMutationIDs), and the clients must push
// the lost mutations again: in the end every mutation is applied exactly once, every client shows
// the server's state, and each client's app was told (onClientStateReset).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { token, uid, pullBody, applyPatch } from '../helpers.js';
import { freePort } from '../pg-harness.js';
import { spawnInstance } from '../instances.js';
import { loadReplicore } from '../../../wasm/test/helpers/package.js';
import mutators from './restore-mutators.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MUTATORS = path.resolve(HERE, 'restore-mutators.js');
const CLIENTS = 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Wait until the async `cond()` holds (polled every 50 ms), failing after `ms`. */
async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

const { Replicache } = await loadReplicore();

describe('SQLite restored from a backup under running replicore clients', { timeout: 120_000 }, () => {
  let dataDir;
  let inst;
  const clients = [];
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-restore-'));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.rep.close().catch(() => {})));
    await inst?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('every mutation is applied exactly once, the clients converge, and each app is told', async (t) => {
    const port = await freePort();
    const file = path.join(dataDir, 'replicore.sqlite3');
    const backup = path.join(dataDir, 'backup.sqlite3');
    const start = async () => {
      inst = await spawnInstance({ PORT: String(port), DATA_DIR: dataDir, MUTATORS, LOG_LEVEL: 'error' });
    };
    await start();
    const base = inst.base;
    const space = uid('restore');
    const q = `space=${encodeURIComponent(space)}`;

    for (let i = 0; i < CLIENTS; i++) {
      const user = `u${i}`;
      const auth = token(user);
      const rep = new Replicache({
        name: `${space}-c${i}`,
        pushURL: `${base}/api/push?${q}`,
        pullURL: `${base}/api/pull?${q}`,
        pokeURL: `ws://127.0.0.1:${port}/api/poke?${q}&auth=${encodeURIComponent(auth)}`,
        auth,
        kvStore: 'mem',
        pullInterval: 500,
        requestOptions: { minDelayMs: 30, maxDelayMs: 300 },
        logSinks: [{ log() {} }],
        mutators,
      });
      const c = { rep, name: `c${i}`, made: 0, resets: [] };
      rep.onClientStateReset = (r) => c.resets.push(r);
      clients.push(c);
    }
    let stop = false;
    const load = Promise.all(clients.map(async (c) => {
      while (!stop) {
        await c.rep.mutate.add({ client: c.name, n: ++c.made });
        await sleep(15);
      }
    }));
    load.catch(() => {});

    // What the server has now, read with a first pull (nothing of a client's state).
    const serverState = async () => {
      const r = await fetch(`${base}/api/pull?${q}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: token('probe') },
        body: JSON.stringify(pullBody(uid('probe-g'), null)),
      });
      return applyPatch(new Map(), (await r.json()).patch);
    };
    const counts = async () => {
      const s = await serverState();
      return clients.map((c) => s.get(`count/${c.name}`) ?? 0);
    };
    // Confirmed by the server and pulled by the client: nothing older pending.
    const confirmedUpTo = async (c) => {
      const pending = (await c.rep.experimentalPendingMutations()).filter((m) => m.clientID === c.rep.clientID);
      return pending.length ? pending[0].id - 1 : c.made;
    };

    try {
      await until(async () => (await counts()).every((n) => n >= 20), 20_000, 'each client had mutations applied before the backup');
      // The online backup API copies pages while the server keeps writing through its own
      // connection; the copy is one consistent state.
      const src = new Database(file, { readonly: true });
      try {
        await src.backup(backup);
      } finally {
        src.close();
      }
      const atBackup = (() => {
        const b = new Database(backup, { readonly: true });
        try {
          return new Map(b.prepare('SELECT client_id, last_mutation_id FROM replicore_client').all()
            .map((r) => [r.client_id, r.last_mutation_id]));
        } finally {
          b.close();
        }
      })();
      // Writes after the backup, confirmed to the clients: these the restore will lose.
      const marks = await Promise.all(clients.map((c) => confirmedUpTo(c)));
      await until(async () => {
        const up = await Promise.all(clients.map((c) => confirmedUpTo(c)));
        return up.every((n, i) => n >= marks[i] + 15 && n > (atBackup.get(clients[i].rep.clientID) ?? 0) + 10);
      }, 20_000, 'each client saw 15 more of its mutations confirmed after the backup');

      await inst.stop();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
      fs.copyFileSync(backup, file);
      await sleep(200); // the clients find the server gone and keep their queues
      await start();
      // They go on writing against the restored database for a while.
      await sleep(1500);
    } finally {
      stop = true;
    }
    await load;

    await until(async () => {
      for (const c of clients) if ((await c.rep.experimentalPendingMutations()).length) return false;
      return true;
    }, 30_000, 'every client has nothing pending');
    const s = await serverState();
    for (const c of clients) {
      assert.equal(s.get(`count/${c.name}`), c.made, `${c.name}: the server applied each of its ${c.made} mutations once`);
      for (let n = 1; n <= c.made; n++) {
        assert.equal(s.get(`item/${c.name}/${String(n).padStart(6, '0')}`), n, `${c.name}: mutation ${n} is applied`);
      }
      assert.ok(c.resets.length >= 1, `${c.name}: the app was told`);
      const r = c.resets[0];
      assert.ok(r.knownLastMutationID > r.serverLastMutationID, `${c.name}: its lastMutationID went down (${JSON.stringify(r)})`);
      assert.equal(r.requeued, r.knownLastMutationID - r.serverLastMutationID, `${c.name}: all of the lost were queued again`);
      assert.equal(r.lost, 0);
      assert.equal(r.renumbered, false);
    }
    for (const c of clients) t.diagnostic(`${c.name}: ${c.made} mutations; reset ${JSON.stringify(c.resets)}`);
    // Every client shows the server's state.
    const expected = [...s].filter(([k]) => !k.startsWith('probe')).sort();
    for (const c of clients) {
      await c.rep.pull();
      const view = await c.rep.query((tx) => tx.scan().entries().toArray());
      assert.deepEqual(view, expected, `${c.name} shows the server's state`);
    }
  });
});
