// A protocol-level client for the fault tests (faults/*.test.js). It treats the
// server the way a Replicache or replicore client does, so a fault shows what real clients would
// live through:
// - mutations queue locally with consecutive ids and stay pending until a pull confirms them
//   (lastMutationIDChanges);
// - a push sends every pending mutation, in order, in batches of at most maxPushBytes each, each
//   batch after the previous one succeeded (replicore's maxPushBytes; Replicache sends one body);
// - a push or pull answered 5xx, or cut by a network error, is retried after a backoff (30 ms
//   doubling to maxDelayMs), and the retry resends everything still pending: the server skips
//   what it already applied by lastMutationID;
// - pulls are incremental from the client's cookie and patch the client's own view, so comparing
//   the views at the end checks convergence, not only the server's state.
// Anything a retry cannot fix (a 4xx, an error body, a cookie or lastMutationID going backwards,
// a request with no answer at all) is a failure of the server under test: it throws.
import assert from 'node:assert/strict';
import { pushBody, pullBody, mut, applyPatch, sleep, token, uid } from './helpers.js';

const MIN_DELAY_MS = 30;
// A request the server never answers would otherwise stall the test until its own timeout,
// without saying which request hung.
const REQUEST_TIMEOUT_MS = 15_000;

const byteLength = (text) => Buffer.byteLength(text, 'utf8');

/** Counters shared by the clients of one test run. */
export function newStats() {
  return {
    status: {}, // HTTP status → count, pushes and pulls
    failures: [], // `${status} ${body}` of every 5xx
    networkErrors: { push: 0, pull: 0 },
    lastNetworkError: null,
    inFlight: { push: 0, pull: 0 },
    maxLatencyMs: { push: 0, pull: 0 }, // of requests that got an answer
    pulls: 0, // successful pulls: the progress the fault drivers wait for
  };
}

export class FaultClient {
  /**
   * base: the server's URL; userID: whose demo token the client sends; maxPushBytes: the largest
   * push body it sends (a mutation that could not go alone is refused by mutate(), as replicore's
   * mutate() does); padBytes: filler added to the args of counting mutations (makes queues large);
   * serverGone(): a reason when the server process died (no point retrying then), else null.
   */
  constructor({ base, space, clientID, group, userID, stats = newStats(), maxPushBytes = Infinity, padBytes = 0, maxDelayMs = 500, serverGone = () => null }) {
    Object.assign(this, { base, space, clientID, group, stats, maxPushBytes, padBytes, maxDelayMs, serverGone });
    this.auth = token(userID);
    this.made = []; // every mutation made, in order
    this.pending = []; // made and not yet confirmed by a pull
    this.lmid = 0;
    this.cookie = null;
    this.view = new Map();
    this.batches = 0; // push requests answered 200
    this.splitPushes = 0; // pushes whose queue needed more than one batch
    this.largestPushBytes = 0;
    this.delay = MIN_DELAY_MS;
    this.sizes = new WeakMap(); // mutation → bytes of its JSON
    this.envelopeBytes = byteLength(JSON.stringify(pushBody(group, [])));
  }

  mutate(name, args) {
    const m = mut(this.clientID, this.made.length + 1, name, args, Date.now());
    const size = byteLength(JSON.stringify(m));
    if (this.envelopeBytes + size > this.maxPushBytes) {
      throw new Error(`${this.clientID}: a push of mutation ${m.id} alone would be ${this.envelopeBytes + size} bytes, more than maxPushBytes (${this.maxPushBytes})`);
    }
    this.sizes.set(m, size);
    this.made.push(m);
    this.pending.push(m);
    return m;
  }

  /** The next counting mutation (test/counting-mutators.js): odd ids add an item, even ones increment the counter. */
  mutateCounting() {
    const id = this.made.length + 1;
    const pad = this.padBytes ? { pad: 'x'.repeat(this.padBytes) } : {};
    return id % 2 ? this.mutate('add', { key: `${this.clientID}-${id}`, ...pad }) : this.mutate('incr', { by: 1, ...pad });
  }

  /** Push every pending mutation in ordered batches. false: a batch failed and was backed off (retry by calling again). */
  async push() {
    for (let start = 0, batch = 0; start < this.pending.length; batch++) {
      // JSON.stringify composes, so a batch's body is the envelope plus its mutations and commas.
      let end = start;
      let size = this.envelopeBytes;
      while (end < this.pending.length) {
        const more = this.sizes.get(this.pending[end]) + (end > start ? 1 : 0);
        if (size + more > this.maxPushBytes) break;
        size += more;
        end++;
      }
      const text = JSON.stringify(pushBody(this.group, this.pending.slice(start, end)));
      assert.equal(byteLength(text), size, 'push body size arithmetic');
      if (batch === 1) this.splitPushes++;
      if ((await this.request('push', text)) === null) return false;
      this.batches++;
      this.largestPushBytes = Math.max(this.largestPushBytes, size);
      start = end;
    }
    return true;
  }

  /** Pull from the client's cookie and apply it. false: failed and backed off. */
  async pull() {
    const r = await this.request('pull', JSON.stringify(pullBody(this.group, this.cookie)));
    if (r === null) return false;
    if (this.cookie !== null && r.cookie.order < this.cookie.order) throw new Error(`${this.clientID}: cookie went backwards (${r.cookie.order} < ${this.cookie.order})`);
    applyPatch(this.view, r.patch);
    this.cookie = r.cookie;
    const lmid = r.lastMutationIDChanges[this.clientID];
    if (lmid !== undefined) {
      // Lower: the database lost a commit the server had acknowledged. Higher: it applied
      // something this client never sent.
      if (lmid < this.lmid) throw new Error(`${this.clientID}: lastMutationID went backwards (${lmid} < ${this.lmid})`);
      if (lmid > this.made.length) throw new Error(`${this.clientID}: lastMutationID ${lmid} is past the ${this.made.length} mutations made`);
      this.lmid = lmid;
    }
    while (this.pending.length && this.pending[0].id <= this.lmid) this.pending.shift();
    this.stats.pulls++;
    return true;
  }

  /** Push and pull until every mutation is confirmed, ending with a successful pull. */
  async settle(ms = 30_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (Date.now() > deadline) {
        throw new Error(`${this.clientID}: ${this.pending.length} mutation(s) still pending after ${ms} ms (lastMutationID ${this.lmid} of ${this.made.length})`);
      }
      if (this.pending.length && !(await this.push())) continue;
      if (!(await this.pull())) continue;
      if (this.pending.length === 0) return this;
    }
  }

  /**
   * Keep making counting mutations (perRound per round; a round pushes everything pending and,
   * if that went through, pulls) until stopping(), then settle. A failed push leaves the queue to
   * grow with the next round's mutations, as an app that goes on while offline.
   */
  async runLoad({ stopping, perRound = 1, thinkMs = 0, settleMs } = {}) {
    while (!stopping()) {
      for (let k = 0; k < perRound; k++) this.mutateCounting();
      if (await this.push()) await this.pull();
      if (thinkMs) await sleep(thinkMs);
    }
    return this.settle(settleMs);
  }

  /** One attempt. The answer's body on success; null after a 5xx or a network error (backed off). */
  async request(kind, text) {
    const gone = this.serverGone();
    if (gone) throw new Error(`${this.clientID}: the server process died: ${gone}`);
    const { stats } = this;
    stats.inFlight[kind]++;
    const started = performance.now();
    let res;
    let body;
    try {
      res = await fetch(`${this.base}/api/${kind}?space=${encodeURIComponent(this.space)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: this.auth },
        body: text,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      body = await res.text();
    } catch (err) {
      stats.inFlight[kind]--;
      if (err.name === 'TimeoutError') throw new Error(`${this.clientID}: a ${kind} got no answer within ${REQUEST_TIMEOUT_MS} ms`);
      stats.networkErrors[kind]++;
      stats.lastNetworkError = err.cause?.code ?? err.cause?.message ?? err.message;
      await this.backOff();
      return null;
    }
    stats.inFlight[kind]--;
    stats.maxLatencyMs[kind] = Math.max(stats.maxLatencyMs[kind], performance.now() - started);
    stats.status[res.status] = (stats.status[res.status] ?? 0) + 1;
    let json;
    try {
      json = JSON.parse(body);
    } catch {}
    if (res.status === 200 && json && json.error === undefined) {
      this.delay = MIN_DELAY_MS;
      return json;
    }
    if (res.status >= 500) {
      stats.failures.push(`${res.status} ${body}`);
      await this.backOff();
      return null;
    }
    throw new Error(`${this.clientID}: ${kind} got ${res.status} ${body}`);
  }

  async backOff() {
    await sleep(this.delay);
    this.delay = Math.min(this.delay * 2, this.maxDelayMs);
  }
}

/**
 * What the counting mutators must have left in a space after these clients' mutations, each
 * applied once: an item per add, the counter at the sum of the increments, and nothing from any
 * other mutation (the fault tests' other mutators are meant to fail).
 */
export function expectedView(clients) {
  const view = new Map();
  let counter = 0;
  for (const c of clients) {
    for (const m of c.made) {
      if (m.name === 'add') view.set(`item/${m.args.key}`, { by: c.clientID });
      else if (m.name === 'incr') counter += m.args.by;
    }
  }
  if (counter) view.set('counter', counter);
  return view;
}

/**
 * After a fault run, with the server up: each client pulls once more (its final pull); the
 * space holds exactly what applying each mutation once gives, at one version per mutation; each
 * client's lastMutationID is its last mutation and its own view equals the space.
 * Returns the space's state as a fresh client pulls it.
 */
export async function assertExactlyOnceAndConverged(clients) {
  const { base, space } = clients[0];
  for (const c of clients) assert.equal(c.space, space, 'clients of one space');
  for (const c of clients) await c.settle();
  const probe = await new FaultClient({ base, space, clientID: uid('probe'), group: uid('probe-g'), userID: 'probe' }).settle();
  const expected = expectedView(clients);
  // Keys first: on a failure the list of missing or extra items is the readable part.
  assert.deepEqual([...probe.view.keys()].sort(), [...expected.keys()].sort(), `${space}: every add applied once, nothing else written`);
  assert.deepEqual(probe.view, expected, `${space}: the space holds what applying each mutation once gives`);
  const made = clients.reduce((n, c) => n + c.made.length, 0);
  assert.equal(probe.cookie.order, made, `${space}: one space version per mutation (none applied twice)`);
  for (const c of clients) {
    assert.equal(c.lmid, c.made.length, `${c.clientID}: lastMutationID is its last mutation`);
    assert.deepEqual(c.view, probe.view, `${c.clientID} converged`);
  }
  return probe;
}
