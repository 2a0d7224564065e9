// Fault: the server process on SQLite is killed with SIGKILL (no shutdown of any kind) five
// times while clients push, each time while a push is on its way, and started again on the same
// DATA_DIR and port. SQLite (WAL) must keep every commit the server acknowledged and nothing of
// a transaction the kill cut; the clients, retrying like Replicache (everything unconfirmed is
// resent, the server skips what it has by lastMutationID), must end with every mutation
// applied exactly once and the same view.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uid, until } from '../helpers.js';
import { freePort } from '../pg-harness.js';
import { spawnInstance } from '../instances.js';
import { FaultClient, newStats, assertExactlyOnceAndConverged } from '../fault-client.js';

const MUTATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'mutators.js');
const KILLS = 5;
const CLIENTS = 4;

describe('kill -9 of the server on SQLite during pushes', { timeout: 60_000 }, () => {
  let dataDir;
  let inst;
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-kill-'));
  });
  after(async () => {
    await inst?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`applies every mutation exactly once across ${KILLS} kills, and the clients converge`, async (t) => {
    // One port for every run of the server, so the clients keep their URL, as behind a balancer.
    const port = await freePort();
    const start = async () => {
      inst = await spawnInstance({ PORT: String(port), DATA_DIR: dataDir, MUTATORS, LOG_LEVEL: 'error' });
    };
    await start();
    const base = inst.base;
    const space = uid('kill');
    const stats = newStats();
    let stop = false;
    // Pushes of at most 1 KiB (about four mutations): the queue that piles up while the server is
    // down goes back in several batches, so a kill can also land between two batches of one push.
    const clients = Array.from({ length: CLIENTS }, (_, i) => new FaultClient({
      base, space, clientID: `${space}-c${i}`, group: `${space}-g${i}`, userID: `u${i}`,
      stats, maxPushBytes: 1024, padBytes: 150, maxDelayMs: 200,
    }));
    const load = Promise.all(clients.map((c, i) => c.runLoad({ stopping: () => stop, perRound: 1 + (i % 2), thinkMs: 5 })));
    load.catch(() => {}); // awaited below; a client failing early must not be an unhandled rejection
    const progress = async (n, what) => {
      const from = stats.pulls;
      await until(() => stats.pulls >= from + n, 15_000, what);
    };
    const networkErrors = () => stats.networkErrors.push + stats.networkErrors.pull;
    let kills = 0;
    try {
      for (let k = 1; k <= KILLS; k++) {
        await progress(20, `the clients got going again before kill ${k}`);
        // Sent and not answered yet: the kill lands somewhere between the request and the answer.
        await until(() => stats.inFlight.push > 0, 5000, `a push in flight before kill ${k}`);
        const exited = new Promise((resolve) => inst.child.once('exit', (code, signal) => resolve(signal)));
        inst.child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL');
        kills++;
        const seen = networkErrors();
        await until(() => networkErrors() > seen, 5000, `a client saw the server gone after kill ${k}`);
        await start();
      }
      await progress(20, 'the clients got going again after the last kill');
    } finally {
      stop = true;
    }
    await load;

    assert.equal(kills, KILLS);
    assert.deepEqual(stats.failures, [], 'the server never answered 5xx: the clients only found it gone');
    assert.ok(clients.some((c) => c.splitPushes > 0), 'a queue that piled up went back in several batches');
    await assertExactlyOnceAndConverged(clients);
    const made = clients.reduce((n, c) => n + c.made.length, 0);
    t.diagnostic(`${made} mutations by ${CLIENTS} clients in ${clients.reduce((n, c) => n + c.batches, 0)} pushes (${clients.reduce((n, c) => n + c.splitPushes, 0)} queues sent in several batches), ${kills} kills, statuses ${JSON.stringify(stats.status)}, network errors ${JSON.stringify(stats.networkErrors)} (last: ${stats.lastNetworkError})`);
  });
});
