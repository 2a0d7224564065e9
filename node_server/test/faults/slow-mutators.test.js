// Fault: a server mutator that awaits far longer than MUTATOR_TIMEOUT_MS (a stuck fetch, say)
// while other clients push to other spaces, on every storage. Each slow mutation fails: its
// client's lastMutationID moves past it, nothing it wrote lands (not even once it finally
// returns), it is logged as a MutatorTimeoutError, and the rest of its push is applied. Pushes to
// the other spaces go on meanwhile: held at most about one mutator timeout (SQLite's one writer)
// or not at all (PostgreSQL), never until the slow mutator returns; and everything is applied
// exactly once with every client converging. (limits.test.js holds the single-request cases.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STORAGES, uid, until, sleep } from '../helpers.js';
import { startPostgres } from '../pg-harness.js';
import { spawnInstance } from '../instances.js';
import { FaultClient, newStats, assertExactlyOnceAndConverged } from '../fault-client.js';

const MUTATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'mutators.js');
const TIMEOUT_MS = 200;
// Ten times the timeout: a push held until a slow mutator returned would take at least this long.
const SLOW_MS = 2000;
const SLOW_PUSHES = 3;
const OTHER_SPACES = 3;

/** The server's `mutation failed` log entries (stderr, JSON lines). */
function failedMutations(inst) {
  const out = [];
  for (const line of inst.errors) {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (/^mutation failed/.test(e.msg)) out.push(e);
  }
  return out;
}

for (const kind of STORAGES) {
  describe(`slow mutators on ${kind}`, { timeout: 60_000 }, () => {
    let dataDir;
    let pgs;
    let inst;
    before(async () => {
      let storageEnv;
      if (kind === 'postgres') {
        pgs = await startPostgres();
        storageEnv = { DATABASE_URL: pgs.url };
      } else {
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-slow-'));
        storageEnv = { DATA_DIR: dataDir };
      }
      inst = await spawnInstance({ ...storageEnv, MUTATORS, MUTATOR_TIMEOUT_MS: String(TIMEOUT_MS), LOG_LEVEL: 'error' });
    });
    after(async () => {
      await inst?.stop();
      await pgs?.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('a mutator past MUTATOR_TIMEOUT_MS fails its mutation while pushes to other spaces go on', async (t) => {
      const run = uid('slow');
      const stats = newStats();
      const others = Array.from({ length: OTHER_SPACES }, (_, i) => new FaultClient({
        base: inst.base, space: `${run}-s${i}`, clientID: `${run}-c${i}`, group: `${run}-g${i}`, userID: `u${i}`, stats,
      }));
      const slowStats = newStats();
      const slow = new FaultClient({
        base: inst.base, space: `${run}-slow`, clientID: `${run}-slow-c`, group: `${run}-slow-g`, userID: 'slowpoke', stats: slowStats,
      });
      let stop = false;
      const load = Promise.all(others.map((c) => c.runLoad({ stopping: () => stop, thinkMs: 5 })));
      load.catch(() => {}); // awaited below; a client failing early must not be an unhandled rejection
      await until(() => stats.pulls >= 20, 15_000, 'the other clients got going');

      const slowIDs = [];
      let lastSlowSent = 0;
      let othersDuringSlow = 0;
      try {
        for (let r = 0; r < SLOW_PUSHES; r++) {
          // The slow one first, then an incr and an add in the same push: they must still apply.
          slowIDs.push(slow.mutate('wait', { key: `slow/${r}`, ms: SLOW_MS }).id);
          slow.mutateCounting();
          slow.mutateCounting();
          const pullsBefore = stats.pulls;
          lastSlowSent = Date.now();
          const started = performance.now();
          await slow.settle();
          const took = performance.now() - started;
          othersDuringSlow += stats.pulls - pullsBefore;
          assert.ok(took >= TIMEOUT_MS, `the slow mutator had its ${TIMEOUT_MS} ms (the push took ${took} ms)`);
          assert.ok(took < SLOW_MS, `the push did not wait for the slow mutator to return (${took} ms)`);
        }
      } finally {
        stop = true;
      }
      await load;

      assert.ok(othersDuringSlow > 0, 'the other spaces made progress while the slow pushes ran');
      // Held at most about one timeout per request on SQLite, not at all on PostgreSQL; a push held
      // until the slow mutator returned would have taken SLOW_MS.
      assert.ok(stats.maxLatencyMs.push < SLOW_MS * 0.75, `pushes to other spaces were not held for the slow mutator (slowest ${Math.round(stats.maxLatencyMs.push)} ms)`);
      assert.deepEqual([...stats.failures, ...slowStats.failures], [], 'no 5xx');

      // A timed-out mutator goes on running and tries to write once its wait is over; that write
      // must be refused. Its wait ends at a known time (no event shows it from outside): let it.
      await sleep(Math.max(0, lastSlowSent + SLOW_MS + 200 - Date.now()));
      // The slow client's space: its incrs and adds once each, no `slow/` key, one version per
      // mutation (a failed one included), lastMutationID at its last mutation.
      const state = await assertExactlyOnceAndConverged([slow]);
      assert.ok(![...state.view.keys()].some((k) => k.startsWith('slow/')), 'nothing a slow mutator wrote landed');
      for (const c of others) await assertExactlyOnceAndConverged([c]);

      const failed = failedMutations(inst);
      assert.deepEqual(failed.map((e) => [e.clientID, e.mutationID, e.mutator, e.error?.name]),
        slowIDs.map((id) => [slow.clientID, id, 'wait', 'MutatorTimeoutError']), 'exactly the slow mutations failed, as timeouts');
      assert.match(failed[0].error.message, new RegExp(`did not finish within ${TIMEOUT_MS} ms`));
      t.diagnostic(`${others.reduce((n, c) => n + c.made.length, 0)} mutations in ${OTHER_SPACES} other spaces (${othersDuringSlow} pulls during the slow pushes, slowest push ${Math.round(stats.maxLatencyMs.push)} ms), ${slow.made.length} in the slow space (${SLOW_PUSHES} timed out)`);
    });
  });
}
