// Fault: offline queues larger than the server's body limit (BODY_LIMIT lowered to 64 KiB). A
// client that comes back with more pending than one body may carry pushes it in ordered batches,
// each within the limit, each after the previous one succeeded (what replicore does with
// maxPushBytes); every mutation lands exactly once. At the edge: a body of exactly the limit is
// taken, one byte more is refused with 413, and a single mutation larger than the limit gets 413
// naming the limit, with nothing written.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uid, token, pushBody, pullBody, mut, sleep } from '../helpers.js';
import { spawnInstance } from '../instances.js';
import { FaultClient, newStats, assertExactlyOnceAndConverged } from '../fault-client.js';

const MUTATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'mutators.js');
const LIMIT = 64 * 1024;
const CLIENTS = 3;
const QUEUED = 100; // mutations per client, ~1.6 KB each: about 2.5 times the limit

describe('offline queues larger than the body limit', { timeout: 60_000 }, () => {
  let dataDir;
  let inst;
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-queue-'));
    inst = await spawnInstance({ DATA_DIR: dataDir, MUTATORS, BODY_LIMIT: String(LIMIT), LOG_LEVEL: 'error' });
  });
  after(async () => {
    await inst?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * POST a push body as is. A 413 may close the connection before the whole body was sent, which
   * the client can see as a network error instead of the answer: try again then (a few times).
   */
  async function rawPush(space, auth, text) {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${inst.base}/api/push?space=${encodeURIComponent(space)}`, {
          method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth }, body: text,
        });
        const body = await res.text();
        return { status: res.status, body: JSON.parse(body) };
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(20 * attempt);
      }
    }
  }

  async function lmidOf(space, auth, group, clientID) {
    const res = await fetch(`${inst.base}/api/pull?space=${encodeURIComponent(space)}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth }, body: JSON.stringify(pullBody(group, null)),
    });
    assert.equal(res.status, 200);
    return (await res.json()).lastMutationIDChanges[clientID];
  }

  it(`${CLIENTS} queues of ~2.5 times the limit go back in batches within it, each mutation applied once`, async (t) => {
    const space = uid('queue');
    const stats = newStats();
    const clients = Array.from({ length: CLIENTS }, (_, i) => new FaultClient({
      base: inst.base, space, clientID: `${space}-c${i}`, group: `${space}-g${i}`, userID: `u${i}`,
      stats, maxPushBytes: LIMIT, padBytes: 1500,
    }));
    // Offline: everything queues up first.
    for (const c of clients) {
      for (let i = 0; i < QUEUED; i++) c.mutateCounting();
      const queued = Buffer.byteLength(JSON.stringify(pushBody(c.group, c.pending)));
      assert.ok(queued > 2 * LIMIT, `the queue (${queued} bytes) is well over the limit`);
    }
    // Back online, all at once.
    await Promise.all(clients.map((c) => c.settle()));
    assert.deepEqual(stats.failures, []);
    assert.equal(stats.status[413], undefined, 'no push was over the limit');
    for (const c of clients) {
      assert.ok(c.batches >= 3, `${c.clientID} pushed in batches (${c.batches})`);
      assert.ok(c.largestPushBytes <= LIMIT, `${c.clientID}'s largest push ${c.largestPushBytes} bytes`);
    }
    await assertExactlyOnceAndConverged(clients);
    t.diagnostic(`${CLIENTS * QUEUED} mutations in ${clients.map((c) => c.batches).join(' + ')} pushes, largest ${Math.max(...clients.map((c) => c.largestPushBytes))} bytes of ${LIMIT}`);
  });

  it('a body of exactly the limit is taken; one byte more, or one mutation larger than the limit, gets 413 naming it', async () => {
    const space = uid('edge');
    const group = uid('g');
    const clientID = uid('c');
    const auth = token('edge');
    const bodyOf = (id, padLength) => JSON.stringify(pushBody(group, [mut(clientID, id, 'add', { key: `edge-${id}`, pad: 'x'.repeat(padLength) })]));
    // The padding that makes mutation 1's body exactly LIMIT bytes (all ASCII: a character is a byte).
    const pad = LIMIT - bodyOf(1, 0).length;
    assert.equal(Buffer.byteLength(bodyOf(1, pad)), LIMIT);

    const refused = async (text, what) => {
      const r = await rawPush(space, auth, text);
      assert.equal(r.status, 413, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'PayloadTooLarge');
      assert.match(r.body.message, new RegExp(`\\b${LIMIT} bytes`), `${what}: the message names the limit`);
    };
    await refused(bodyOf(1, pad + 1), 'one byte over the limit');
    assert.equal(await lmidOf(space, auth, group, clientID), undefined, 'nothing of the refused push was written');

    const taken = await rawPush(space, auth, bodyOf(1, pad));
    assert.equal(taken.status, 200, JSON.stringify(taken.body));
    assert.equal(await lmidOf(space, auth, group, clientID), 1);

    // One mutation larger than the limit by itself: no batching can carry it.
    await refused(bodyOf(2, LIMIT + 16 * 1024), 'a single mutation over the limit');
    assert.equal(await lmidOf(space, auth, group, clientID), 1, 'the oversized mutation was not applied');
    // And the server goes on taking pushes of that client.
    assert.equal((await rawPush(space, auth, bodyOf(2, 10))).status, 200);
    assert.equal(await lmidOf(space, auth, group, clientID), 2);
  });
});
