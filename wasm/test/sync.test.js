// Push/pull over real HTTP against an in-process server: wire format
// (docs/protocol.md), rebase, errors, retries, auth, online status.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, mutators, sleep, startServer, waitFor} from './helpers/server.js';

const {Replicache} = await loadReplicore();

let n = 0;
function make(server, extra = {}) {
  const sink = memorySink();
  const rep = new Replicache({
    name: `sync-${process.pid}-${n++}`,
    pushURL: server.pushURL,
    pullURL: server.pullURL,
    pullInterval: null,
    logSinks: [sink],
    mutators,
    ...extra,
  });
  rep.sink = sink;
  return rep;
}

test('wire format: push and pull bodies and headers', async () => {
  const server = await startServer();
  const rep = make(server, {schemaVersion: '7'});
  await waitFor(() => server.requestsTo('/api/pull').length === 1, {what: 'first pull'});
  const firstPull = server.requestsTo('/api/pull')[0];
  const groupID = await rep.clientGroupID;
  const profileID = await rep.profileID;
  assert.equal(firstPull.method, 'POST');
  assert.equal(firstPull.headers['content-type'], 'application/json');
  assert.equal(firstPull.headers['authorization'], '', 'Authorization is sent even when empty');
  assert.deepEqual(firstPull.body, {profileID, clientGroupID: groupID, cookie: null, pullVersion: 1, schemaVersion: '7'});

  const t0 = performance.now();
  await rep.mutate.put({key: 'a', value: {text: 'hi'}});
  await waitFor(() => server.requestsTo('/api/push').length === 1, {what: 'push'});
  const push = server.requestsTo('/api/push')[0];
  assert.equal(push.headers['content-type'], 'application/json');
  assert.equal(push.headers['authorization'], '');
  assert.equal(push.body.profileID, profileID);
  assert.equal(push.body.clientGroupID, groupID);
  assert.equal(push.body.pushVersion, 1);
  assert.equal(push.body.schemaVersion, '7');
  assert.equal(push.body.mutations.length, 1);
  const m = push.body.mutations[0];
  assert.deepEqual(Object.keys(m).sort(), ['args', 'clientID', 'id', 'name', 'timestamp']);
  assert.equal(m.id, 1);
  assert.equal(m.name, 'put');
  assert.deepEqual(m.args, {key: 'a', value: {text: 'hi'}});
  assert.equal(m.clientID, rep.clientID);
  assert.equal(typeof m.timestamp, 'number');
  assert.ok(m.timestamp >= t0 - 1 && m.timestamp <= performance.now() + 1, 'timestamp is performance.now()-like');

  // Request IDs: <clientID>-<sessionHex>-<n>, n counting every request from 0.
  const ids = server.requests.map((r) => r.headers['x-replicache-requestid']);
  const re = new RegExp(`^${rep.clientID}-([0-9a-f]+)-(\\d+)$`);
  const parsed = ids.map((id) => id.match(re));
  assert.ok(parsed.every(Boolean), `request ids ${ids}`);
  assert.equal(new Set(parsed.map((p) => p[1])).size, 1, 'one session part');
  assert.deepEqual(
    parsed.map((p) => Number(p[2])),
    ids.map((_, i) => i),
  );

  // The poke-less server: pull to see the confirmation; the next pull
  // carries the cookie it was given.
  await rep.pull();
  const pulls = server.requestsTo('/api/pull');
  assert.equal(pulls.at(-1).body.cookie, 0);
  await rep.pull();
  assert.equal(server.requestsTo('/api/pull').at(-1).body.cookie, 1);
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  // A mutation called without args pushes args: null.
  await rep.close();
  await server.stop();
});

test('auth is sent, and a mutation without args pushes args null', async () => {
  const server = await startServer();
  const rep = make(server, {auth: 'Bearer abc', mutators: {...mutators, noargs: async (tx) => tx.set('z', 1)}});
  await rep.mutate.noargs();
  await waitFor(() => server.requestsTo('/api/push').length >= 1);
  const push = server.requestsTo('/api/push')[0];
  assert.equal(push.headers['authorization'], 'Bearer abc');
  assert.equal(push.body.mutations[0].args, null);
  assert.equal(server.requestsTo('/api/pull')[0].headers['authorization'], 'Bearer abc');
  rep.auth = 'Bearer def';
  assert.equal(rep.auth, 'Bearer def');
  await rep.pull();
  assert.equal(server.requestsTo('/api/pull').at(-1).headers['authorization'], 'Bearer def');
  await rep.close();
  await server.stop();
});

test('pull applies the server state; pending mutations rebase on top with reason rebase', async () => {
  const server = await startServer();
  server.serverPut('s/1', {from: 'server'});
  const reasons = [];
  const rep = make(server, {
    mutators: {
      ...mutators,
      async inc(tx, key) {
        reasons.push(tx.reason);
        const v = (await tx.get(key)) ?? 0;
        await tx.set(key, v + 1);
      },
    },
    pushURL: '', // keep the mutation pending
  });
  await rep.pull();
  assert.deepEqual(await rep.query((tx) => tx.get('s/1')), {from: 'server'});
  await rep.mutate.inc('count');
  server.serverPut('count', 10);
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('count')), 11, 'pending inc replayed on top of the server value');
  assert.deepEqual(reasons, ['initial', 'rebase']);
  assert.equal((await rep.experimentalPendingMutations()).length, 1);
  await rep.close();
  await server.stop();
});

test('a confirmed mutation is dropped from pending; others stay', async () => {
  const server = await startServer();
  const rep = make(server, {pushDelay: 0});
  await rep.mutate.put({key: 'a', value: 1});
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 1, {what: 'push processed'});
  await rep.pull();
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  assert.equal(await rep.query((tx) => tx.get('a')), 1);
  await rep.close();
  await server.stop();
});

test('a mutator that throws during rebase: the mutation stays pending and sync goes on', async () => {
  const server = await startServer();
  let fail = false;
  const rep = make(server, {
    pushURL: '',
    mutators: {
      ...mutators,
      async fragile(tx, v) {
        if (fail) throw new Error('fragile broke');
        await tx.set('f', v);
      },
    },
  });
  const replayErrors = [];
  rep.onReplayError = (e) => replayErrors.push(e);
  await rep.pull();
  await rep.mutate.fragile(1);
  await rep.mutate.put({key: 'after', value: 2});
  fail = true;
  server.serverPut('x', 'server');
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('x')), 'server', 'the pull was applied');
  assert.equal(await rep.query((tx) => tx.get('f')), undefined, 'the failed mutation has no effect this time');
  assert.equal(await rep.query((tx) => tx.get('after')), 2, 'later mutations still replay');
  assert.deepEqual(
    (await rep.experimentalPendingMutations()).map((m) => m.name),
    ['fragile', 'put'],
  );
  await waitFor(() => replayErrors.length === 1);
  assert.equal(replayErrors[0].name, 'fragile');
  assert.match(replayErrors[0].message, /fragile broke/);
  assert.ok(rep.sink.lines.some((l) => l.level === 'error' && /fragile broke/.test(l.text)));
  fail = false;
  server.serverPut('y', 'more');
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('f')), 1, 'it replays again on the next pull');
  assert.equal(await rep.query((tx) => tx.get('y')), 'more');
  await rep.close();
  await server.stop();
});

test('malformed pull responses change nothing and are reported', async () => {
  const server = await startServer();
  server.serverPut('keep', 1);
  const rep = make(server, {requestOptions: {minDelayMs: 10000, maxDelayMs: 10000}});
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('keep')), 1);
  const bodies = [
    '{"cookie":5,"lastMutationIDChanges":{},"patch":[{"op":"put","key":"bad"}]}', // put without value
    '{"cookie":5,"lastMutationIDChanges":{},"patch":[{"op":"explode","key":"x"}]}',
    '{"cookie":5,"lastMutationIDChanges":"nope","patch":[]}',
    '{"cookie":[1],"lastMutationIDChanges":{},"patch":[]}',
    '{"cookie":5,"lastMutationIDChanges":{},"patch":[{"op":"put","key":"ok","value":1},{"op":"del"}]}',
    '[1,2,3]',
  ];
  for (const body of bodies) {
    const before = rep.sink.lines.length;
    server.hook = (r) => (r.path === '/api/pull' ? {status: 200, body} : null);
    await rep.pull();
    assert.equal(await rep.query((tx) => tx.get('keep')), 1, body);
    assert.equal(await rep.query((tx) => tx.has('ok')), false, body);
    assert.equal(await rep.query((tx) => tx.has('bad')), false, body);
    assert.ok(
      rep.sink.lines.slice(before).some((l) => l.level === 'error' && /pull/.test(l.text)),
      `error reported for ${body}: ${JSON.stringify(rep.sink.lines.slice(before))}`,
    );
  }
  // A lower cookie than the confirmed one is refused.
  server.hook = null;
  server.serverPut('k2', 2);
  await rep.pull(); // a retry timer may be pending; pull() skips it
  assert.equal(await rep.query((tx) => tx.get('k2')), 2);
  const resets = [];
  rep.onClientStateReset = (r) => resets.push(r);
  server.hook = (r) => (r.path === '/api/pull' ? {status: 200, body: {cookie: 0, lastMutationIDChanges: {}, patch: [{op: 'del', key: 'k2'}]}} : null);
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('k2')), 2, 'lower cookie refused');
  // With a clear it is the whole state (a server that lost its own): a
  // reset, which the app is told of.
  server.hook = (r) => (r.path === '/api/pull' ? {status: 200, body: {cookie: 0, lastMutationIDChanges: {}, patch: [{op: 'clear'}]}} : null);
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('k2')), undefined, 'lower cookie with a clear taken');
  await waitFor(() => resets.length === 1, {what: 'onClientStateReset'});
  assert.equal(resets[0].cookieWentBack, true);
  assert.equal(resets[0].requeued, 0);
  await rep.close();
  await server.stop();
});

test('backoff after 500s: retries roughly double from minDelayMs', async () => {
  const server = await startServer();
  server.hook = (r) => (r.path === '/api/pull' ? {status: 500, body: 'oops'} : null);
  const rep = make(server, {requestOptions: {minDelayMs: 30, maxDelayMs: 1000}});
  await waitFor(() => server.requestsTo('/api/pull').length >= 6, {timeout: 5000, what: '6 pull attempts'});
  const at = server.requestsTo('/api/pull').map((r) => r.at);
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  // expected about 30, 60, 120, 240, 480
  const expected = [30, 60, 120, 240, 480];
  const shown = gaps.map((g) => g.toFixed(1)).join(" ");
  gaps.slice(0, 5).forEach((g, i) => {
    assert.ok(g >= expected[i] * 0.7 - 5 && g <= expected[i] * 2 + 60, `gap ${i} = ${g.toFixed(1)} ms, expected about ${expected[i]} (gaps ${shown})`);
  });
  assert.equal(rep.online, true, 'HTTP errors do not make the client offline');
  // Success resets the delay.
  server.hook = null;
  await waitFor(() => rep.sink.lines.length > 0);
  await rep.close();
  await server.stop();
});

test('online/offline: server down -> online false -> back up -> true', async () => {
  const server = await startServer();
  const changes = [];
  const rep = make(server, {requestOptions: {minDelayMs: 20, maxDelayMs: 80}});
  rep.onOnlineChange = (o) => changes.push(o);
  await rep.pull();
  assert.equal(rep.online, true);
  await server.stop();
  await rep.mutate.put({key: 'k', value: 1});
  await waitFor(() => rep.online === false, {what: 'offline'});
  await waitFor(() => changes.length === 1);
  assert.deepEqual(changes, [false]);
  await server.restart();
  await waitFor(() => rep.online === true, {what: 'online again', timeout: 3000});
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 1, {what: 'push after reconnect'});
  await waitFor(() => changes.length === 2);
  assert.deepEqual(changes, [false, true]);
  await rep.close();
  await server.stop();
});

test('onSync reports syncing true then false', async () => {
  const server = await startServer();
  const rep = make(server);
  try {
    const events = [];
    rep.onSync = (s) => events.push(s);
    await rep.pull(); // the start-up pull is over
    await sleep(5);
    events.length = 0;
    await rep.pull();
    await sleep(5);
    assert.deepEqual(events, [true, false]);
  } finally {
    await rep.close();
    await server.stop();
  }
});

// Syncing starts a task after opening; a pull the app asks for before then
// starts it, and joins the start-up pull. It used to run first, with the
// start-up pull after it had resolved (the test above then saw that pull's
// onSync events, once in a CI run).
test('a pull asked for at construction is over, start-up pull included, when it resolves', async () => {
  const server = await startServer();
  const rep = make(server);
  try {
    await rep.pull();
    const resolvedAt = performance.now();
    await sleep(100);
    const pulls = server.requestsTo('/api/pull');
    assert.equal(pulls.length, 2, 'the start-up pull, and the one asked for after it');
    assert.deepEqual(pulls.filter((r) => r.at > resolvedAt).map((r) => r.at - resolvedAt), [], 'no pull arrived after pull() resolved');
  } finally {
    await rep.close();
    await server.stop();
  }
});

test('HTTP 401: getAuth gives new auth and the request is retried at once', async () => {
  const server = await startServer();
  server.hook = (r) => (r.headers['authorization'] !== 'good' ? {status: 401, body: 'no'} : null);
  let calls = 0;
  const rep = make(server, {
    auth: 'stale',
    getAuth: async () => {
      calls++;
      return 'good';
    },
  });
  await waitFor(() => server.requests.some((r) => r.path === '/api/pull' && r.headers['authorization'] === 'good'), {what: 'retry with new auth'});
  assert.ok(calls >= 1);
  assert.equal(rep.auth, 'good');
  await rep.mutate.put({key: 'a', value: 1});
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 1);
  await rep.close();

  // getAuth giving null (or none, or throwing): the request is retried with
  // backoff, and auth the app sets later goes out at once (Replicache).
  for (const getAuth of [() => null, undefined, () => { throw new Error('no session'); }]) {
    let authCalls = 0;
    server.requests.length = 0;
    const rep2 = make(server, {
      auth: 'stale',
      requestOptions: {minDelayMs: 1000, maxDelayMs: 60000},
      getAuth: getAuth && (() => { authCalls++; return getAuth(); }),
    });
    await waitFor(() => server.requestsTo('/api/pull').length >= 2, {what: 'a retry after 401 without new auth'});
    if (getAuth) await waitFor(() => authCalls >= 2, {what: 'asked again on the later 401'});
    await rep2.mutate.put({key: 'late', value: 1});
    await waitFor(() => server.requestsTo('/api/push').length === 1, {what: 'the refused push'});
    await sleep(30);
    // The push now waits 1000 ms and the pull 2000 ms; new auth cuts both.
    const t0 = performance.now();
    rep2.auth = 'good';
    await waitFor(() => server.clients.get(rep2.clientID)?.lmid === 1, {what: 'push with the new auth'});
    const took = performance.now() - t0;
    assert.ok(took < 500, `pushed ${took.toFixed(0)} ms after rep.auth was set (the backoff was 1000 ms)`);
    await rep2.close();
  }
  await server.stop();
});

test('pull() resolves when the pull it joined ends syncing (ClientStateNotFound, VersionNotSupported)', async () => {
  for (const error of ['ClientStateNotFound', 'VersionNotSupported']) {
    const server = await startServer();
    let release;
    const gate = new Promise((r) => (release = r));
    server.hook = async (r) => {
      if (r.path !== '/api/pull') return null;
      await gate;
      return {status: 200, body: {error}};
    };
    const rep = make(server);
    rep.onClientStateNotFound = () => {};
    rep.onUpdateNeeded = () => {};
    await waitFor(() => server.requestsTo('/api/pull').length === 1, {what: 'the start-up pull'});
    // Called while the start-up pull is out: joins a follow-up pull that
    // will never run.
    const pulled = rep.pull().then(() => 'resolved');
    release();
    const outcome = await Promise.race([pulled, sleep(2000).then(() => 'hung')]);
    assert.equal(outcome, 'resolved', error);
    await rep.close();
    await server.stop();
  }
});

test('ClientStateNotFound stops syncing and calls onClientStateNotFound', async () => {
  const server = await startServer();
  server.hook = (r) => (r.path === '/api/pull' ? {status: 200, body: {error: 'ClientStateNotFound'}} : null);
  let called = 0;
  const rep = make(server);
  rep.onClientStateNotFound = () => called++;
  await waitFor(() => called === 1, {what: 'onClientStateNotFound'});
  const count = server.requests.length;
  await rep.mutate.put({key: 'a', value: 1});
  await rep.pull();
  await sleep(50);
  assert.equal(server.requests.length, count, 'no more requests');
  assert.equal(await rep.query((tx) => tx.get('a')), 1, 'local state still works');
  await rep.close();

  // on push too
  server.hook = (r) => (r.path === '/api/push' ? {status: 200, body: {error: 'ClientStateNotFound'}} : null);
  let called2 = 0;
  const rep2 = make(server);
  rep2.onClientStateNotFound = () => called2++;
  await rep2.mutate.put({key: 'a', value: 1});
  await waitFor(() => called2 === 1, {what: 'onClientStateNotFound on push'});
  await rep2.close();
  await server.stop();
});

test('VersionNotSupported calls onUpdateNeeded', async () => {
  const server = await startServer();
  server.hook = (r) => (r.path === '/api/pull' ? {status: 200, body: {error: 'VersionNotSupported', versionType: 'schema'}} : null);
  const reasons = [];
  const rep = make(server);
  rep.onUpdateNeeded = (r) => reasons.push(r);
  await waitFor(() => reasons.length === 1);
  assert.deepEqual(reasons[0], {type: 'VersionNotSupported', versionType: 'schema'});
  server.hook = (r) => (r.path === '/api/push' ? {status: 200, body: {error: 'VersionNotSupported'}} : null);
  await rep.mutate.put({key: 'a', value: 1});
  await waitFor(() => reasons.length === 2);
  assert.deepEqual(reasons[1], {type: 'VersionNotSupported'});
  await rep.close();
  await server.stop();
});

test('pullInterval pulls periodically', async () => {
  const server = await startServer();
  const rep = make(server, {pullInterval: 40});
  await waitFor(() => server.requestsTo('/api/pull').length >= 3, {what: 'interval pulls', timeout: 2000});
  await rep.close();
  const count = server.requests.length;
  await sleep(100);
  assert.equal(server.requests.length, count, 'nothing after close');
  await server.stop();
});

test('two clients converge through the server', async () => {
  const server = await startServer();
  const a = make(server, {pokeURL: server.pokeURL});
  const b = make(server, {pokeURL: server.pokeURL});
  const seen = [];
  b.subscribe((tx) => tx.get('shared'), (v) => seen.push(v));
  await sleep(50);
  await a.mutate.put({key: 'shared', value: 'from a'});
  await waitFor(() => seen.at(-1) === 'from a', {what: 'b sees a\'s write'});
  await Promise.all([a.close(), b.close()]);
  await server.stop();
});

test('value cache stays bounded and correct across rebases (sweeps)', async () => {
  const server = await startServer();
  const rep = make(server, {pushURL: '', experimentalCacheSweepAt: 16});
  for (let i = 0; i < 10; i++) await rep.mutate.put({key: `p/${i}`, value: {i}});
  const seen = [];
  rep.subscribe((tx) => tx.scan({prefix: 'p/'}).toArray(), (v) => seen.push(v));
  for (let round = 0; round < 30; round++) {
    server.serverPut(`s/${round % 3}`, {round});
    await rep.pull(); // replays the 10 pending puts: new ids, equal values
    const all = await rep.query((tx) => tx.scan().entries().toArray());
    assert.equal(all.length, 13 > 10 + Math.min(round + 1, 3) ? 10 + Math.min(round + 1, 3) : 13);
    for (const [k, v] of all) {
      if (k.startsWith('p/')) assert.deepEqual(v, {i: Number(k.slice(2))});
      else assert.ok(typeof v.round === 'number');
    }
  }
  assert.ok(rep._cache.size <= 64, `cache size ${rep._cache.size}`);
  assert.equal(seen.length, 1, 'equal values after rebases never re-fire the subscription');
  await rep.close();
  await server.stop();
});

test('pushDelay delays the push; logLevel filters what reaches the log sinks', async () => {
  const server = await startServer();
  const rep = make(server, {pushDelay: 120, logLevel: 'debug', pokeURL: server.pokeURL});
  await rep.pull();
  const t0 = performance.now();
  await rep.mutate.put({key: 'a', value: 1});
  await waitFor(() => server.requestsTo('/api/push').length === 1, {what: 'push'});
  const waited = server.requestsTo('/api/push')[0].at - t0;
  assert.ok(waited >= 100, `push after ${waited.toFixed(1)} ms`);
  await waitFor(() => rep.sink.lines.some((l) => l.level === 'debug' && /poke socket open/.test(l.text)), {what: 'debug line'});
  await rep.close();

  const quiet = make(server, {logLevel: 'error', pokeURL: server.pokeURL});
  server.hook = (r) => (r.path === '/api/pull' ? {status: 500, body: 'x'} : null);
  await waitFor(() => quiet.sink.lines.some((l) => l.level === 'error' && /pull failed: HTTP 500/.test(l.text)), {what: 'error line'});
  await sleep(50);
  assert.ok(quiet.sink.lines.every((l) => l.level === 'error'), JSON.stringify(quiet.sink.lines));
  await quiet.close();
  await server.stop();
});

test('pullURL, pushURL, pullInterval and pushDelay can change after construction', async () => {
  const one = await startServer();
  const two = await startServer();
  const rep = make(one, {pushURL: ''});
  await rep.pull();
  await rep.mutate.put({key: 'a', value: 1});
  await sleep(30);
  assert.equal(one.requestsTo('/api/push').length, 0, 'no pushURL yet');
  rep.pushURL = two.pushURL;
  assert.equal(rep.pushURL, two.pushURL);
  await waitFor(() => two.requestsTo('/api/push').length === 1, {what: 'pending mutation pushed to the new URL'});
  rep.pullURL = two.pullURL;
  await rep.pull();
  assert.ok(two.requestsTo('/api/pull').length >= 1);
  assert.deepEqual(await rep.experimentalPendingMutations(), [], 'confirmed by the new server');
  const before = two.requestsTo('/api/pull').length;
  rep.pullInterval = 30;
  await waitFor(() => two.requestsTo('/api/pull').length >= before + 3, {what: 'interval pulls'});
  rep.pullInterval = null;
  assert.equal(rep.pullInterval, null);
  rep.pushDelay = 80;
  await sleep(20);
  const t0 = performance.now();
  await rep.mutate.put({key: 'b', value: 2});
  await waitFor(() => two.requestsTo('/api/push').length === 2);
  assert.ok(two.requestsTo('/api/push')[1].at - t0 >= 60, 'the new pushDelay applies');
  assert.throws(() => (rep.pushDelay = -1), /pushDelay/);
  await rep.close();
  await one.stop();
  await two.stop();
});

test('a queue larger than maxPushBytes goes in ordered batches under the limit, each mutation once', async () => {
  const server = await startServer();
  const limit = 64 * 1024;
  server.hook = (r) => (r.path === '/api/push' && Buffer.byteLength(r.rawBody) > limit ? {status: 413, body: {error: 'PayloadTooLarge'}} : null);
  const rep = make(server, {maxPushBytes: limit, pushURL: ''});
  // 40 messages of 9,000 characters (~360 KB) queued offline (no push URL).
  const text = (i) => `${i}:`.padEnd(9000, 'x');
  for (let i = 0; i < 40; i++) await rep.mutate.put({key: `m${String(i).padStart(2, '0')}`, value: text(i)});
  rep.pushURL = server.pushURL;
  await rep.push();
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 40, {what: 'all 40 pushed'});
  const pushes = server.requestsTo('/api/push');
  assert.ok(pushes.length >= 6, `${pushes.length} pushes`);
  const ids = [];
  for (const p of pushes) {
    assert.ok(Buffer.byteLength(p.rawBody) <= limit, `a push of ${Buffer.byteLength(p.rawBody)} bytes`);
    for (const m of p.body.mutations) ids.push(m.id);
  }
  assert.deepEqual(ids, Array.from({length: 40}, (_, i) => i + 1), 'each once, in order');
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('m39')), text(39));
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  await rep.close();
  await server.stop();
});

test('mutate() refuses a mutation no push could carry, before it runs or enters the queue', async () => {
  const server = await startServer();
  let ran = 0;
  const counted = async (tx, v) => {
    ran++;
    await tx.set('big', v);
  };
  const rep = make(server, {maxPushBytes: 4096, mutators: {...mutators, counted}});
  await assert.rejects(rep.mutate.counted('y'.repeat(5000)), /mutate\.counted: .*4096 bytes a push may carry/);
  assert.equal(ran, 0, 'the mutator did not run');
  assert.equal(await rep.query((tx) => tx.has('big')), false);
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  // The queue goes on: the next mutation gets the next id and is pushed.
  await rep.mutate.put({key: 'small', value: 1});
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 1, {what: 'the next mutation pushed as id 1'});
  assert.throws(() => make(server, {maxPushBytes: 10}), /maxPushBytes/);
  await rep.close();
  await server.stop();
});

test('offline, each failing retry is logged once as an error, then at debug', async () => {
  const server = await startServer();
  server.hook = (r) => (r.path === '/api/pull' ? {destroy: true} : null);
  const rep = make(server, {logLevel: 'debug', requestOptions: {minDelayMs: 10, maxDelayMs: 20}});
  await waitFor(() => server.requestsTo('/api/pull').length >= 5, {what: 'retries'});
  const pullErrors = rep.sink.lines.filter((l) => /pull failed/.test(l.text));
  assert.ok(pullErrors.length >= 4);
  assert.equal(pullErrors.filter((l) => l.level === 'error').length, 1, JSON.stringify(pullErrors.slice(0, 3)));
  assert.ok(!/network error: network error/.test(pullErrors[0].text), pullErrors[0].text);
  // Sinks get Replicache's context argument.
  assert.deepEqual(pullErrors[0].context, {name: rep.name});
  await rep.close();
  await server.stop();
});

test("logLevel 'debug' traces each push, pull, poke and rebase", async () => {
  const server = await startServer();
  const rep = make(server, {logLevel: 'debug'});
  await rep.pull();
  await rep.mutate.put({key: 'a', value: 1});
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 1, {what: 'push'});
  await rep.pull();
  const debug = rep.sink.lines.filter((l) => l.level === 'debug').map((l) => l.text);
  const has = (re) => assert.ok(debug.some((t) => re.test(t)), `no debug line like ${re}:\n${debug.join('\n')}`);
  has(/^replicore: pull sent: from cookie null$/);
  has(/^replicore: pull answered: HTTP 200, \d+ bytes, after \d+ ms$/);
  has(new RegExp(`^replicore: push sent: 1 mutation \\(${rep.clientID} 1\\), \\d+ bytes$`));
  has(/^replicore: push answered: HTTP 200/);
  has(/^replicore: rebase: applied, 1 mutation\(s\) confirmed, 0 replayed, 0 failed$/);
  await rep.close();
  // At the default level, none of it.
  const quiet = make(server);
  await quiet.pull();
  assert.equal(quiet.sink.lines.filter((l) => l.level === 'debug').length, 0);
  await quiet.close();
  await server.stop();
});

// The server lost mutations it had confirmed (a restored database): a pull
// lowers this client's lastMutationID. replicore queues those mutations
// again, with their ids, pushes them, and tells the app; each is applied
// once. (Replicache fails such a pull for ever.)
test('a pull that lowers the lastMutationID queues the lost mutations again and tells the app', async () => {
  const server = await startServer();
  const rep = new Replicache({
    name: `lost-${process.pid}`,
    pushURL: server.pushURL,
    pullURL: server.pullURL,
    pullInterval: null,
    pushDelay: 0,
    logSinks: [memorySink()],
    mutators,
  });
  const resets = [];
  rep.onClientStateReset = (r) => resets.push(r);
  for (let i = 1; i <= 3; i++) await rep.mutate.put({key: `k${i}`, value: i});
  await waitFor(() => server.clients.get(rep.clientID)?.lmid === 3, {what: 'all three applied'});
  await rep.pull();
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  // The restore: the server has mutation 1 only.
  server.entries.delete('k2');
  server.entries.delete('k3');
  const v = ++server.version;
  server.entries.set('k2', {value: null, version: v, deleted: true});
  server.entries.set('k3', {value: null, version: v, deleted: true});
  server.clients.get(rep.clientID).lmid = 1;
  server.clients.get(rep.clientID).version = v;
  const pushesBefore = server.requestsTo('/api/push').length;
  await rep.pull();
  await waitFor(() => resets.length === 1, {what: 'onClientStateReset'});
  assert.deepEqual({...resets[0]}, {
    cookieWentBack: false, knownLastMutationID: 3, serverLastMutationID: 1, requeued: 2, lost: 0, renumbered: false, droppedForeign: 0,
  });
  // Pushed again without a new mutation, and applied.
  await waitFor(() => server.clients.get(rep.clientID).lmid === 3, {what: 'the lost ones applied again'});
  const pushed = server.requestsTo('/api/push').slice(pushesBefore).flatMap((r) => r.body.mutations.map((m) => m.id));
  assert.deepEqual([...new Set(pushed)], [2, 3]);
  await rep.pull();
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  assert.deepEqual(await rep.query((tx) => tx.scan().entries().toArray()), [['k1', 1], ['k2', 2], ['k3', 3]]);
  await rep.close();
  await server.stop();
});
