// Custom puller and pusher (Replicache's `puller`/`pusher` options): the
// core's transport calls back into JavaScript instead of fetch.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, mutators, sleep, waitFor} from './helpers/server.js';

const {Replicache, loadWasm} = await loadReplicore();
// The confirmed cookie's text, as the core holds it.
const cookieText = async (rep) => (await loadWasm()).coreCookie(rep._core);

let n = 0;
test('puller and pusher get request bodies and IDs; their responses are applied', async () => {
  const pulls = [];
  const pushes = [];
  let cookie = 0;
  const rep = new Replicache({
    name: `custom-${n++}`,
    pullInterval: null,
    logSinks: [memorySink()],
    mutators,
    schemaVersion: 's1',
    async puller(body, requestID) {
      pulls.push({body, requestID});
      cookie++;
      return {
        response: {cookie, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'p', value: {cookie}}]},
        httpRequestInfo: {httpStatusCode: 200, errorMessage: ''},
      };
    },
    async pusher(body, requestID) {
      pushes.push({body, requestID});
      return {httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  });
  await waitFor(() => pulls.length === 1);
  assert.deepEqual(pulls[0].body, {
    profileID: await rep.profileID,
    clientGroupID: await rep.clientGroupID,
    cookie: null,
    pullVersion: 1,
    schemaVersion: 's1',
  });
  assert.match(pulls[0].requestID, new RegExp(`^${rep.clientID}-[0-9a-f]+-0$`));
  await waitFor(async () => (await rep.query((tx) => tx.get('p')))?.cookie === 1);
  await rep.mutate.put({key: 'a', value: 1});
  await waitFor(() => pushes.length === 1);
  assert.equal(pushes[0].body.pushVersion, 1);
  assert.equal(pushes[0].body.mutations[0].name, 'put');
  assert.match(pushes[0].requestID, new RegExp(`^${rep.clientID}-[0-9a-f]+-1$`));
  await rep.pull();
  assert.equal(pulls[1].body.cookie, 1);
  assert.deepEqual(await rep.query((tx) => tx.get('p')), {cookie: 2});
  // a puller can be replaced
  rep.puller = async () => ({
    response: {cookie: 100, lastMutationIDChanges: {[rep.clientID]: 1}, patch: [{op: 'clear'}]},
    httpRequestInfo: {httpStatusCode: 200, errorMessage: ''},
  });
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.isEmpty()), true, 'clear applied; the put was confirmed');
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  await rep.close();
});

test('puller failures: HTTP errors retry, a throwing puller means offline', async () => {
  let mode = '500';
  let calls = 0;
  const rep = new Replicache({
    name: `custom-${n++}`,
    pullInterval: null,
    logSinks: [memorySink()],
    mutators,
    requestOptions: {minDelayMs: 10, maxDelayMs: 40},
    async puller() {
      calls++;
      if (mode === '500') return {httpRequestInfo: {httpStatusCode: 500, errorMessage: 'boom'}};
      if (mode === 'throw') throw new Error('no network');
      return {response: {cookie: 1, lastMutationIDChanges: {}, patch: []}, httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  });
  await waitFor(() => calls >= 3, {what: 'retries after 500'});
  assert.equal(rep.online, true);
  mode = 'throw';
  await waitFor(() => rep.online === false, {what: 'offline'});
  mode = 'ok';
  await waitFor(() => rep.online === true, {what: 'online', timeout: 3000});
  await rep.close();
  const after = calls;
  await sleep(60);
  assert.equal(calls, after);
});

// A puller's large values are held, not stringified (pullSkeleton in
// replicore.js): the same objects come back, frozen, an update op merges
// into a held value, and a response with a non-JSON or keyless put is
// refused whole with a clear error.
// A Replicache whose puller answers whatever `response()` returns, logging
// to `sink`, retrying fast; `options` adds to or overrides its options.
function scriptedReplicache(sink, response, options = {}) {
  return new Replicache({
    name: `custom-${n++}`,
    pullInterval: null,
    logSinks: [sink],
    mutators,
    requestOptions: {minDelayMs: 10, maxDelayMs: 20},
    async puller() {
      return {response: response(), httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
    ...options,
  });
}

test('puller values are held as given, and a bad puller response changes nothing', async () => {
  const pad = 'x'.repeat(300); // large enough to be held
  const sink = memorySink();
  let next = null;
  const rep = scriptedReplicache(sink, () => next);
  const a = {pad, list: [1, {deep: true}]};
  next = {cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'a', value: a}, {op: 'put', key: 'b', value: {pad, n: 2}}]};
  await rep.pull();
  assert.equal(await rep.query((tx) => tx.get('a')), a, 'the very object the puller gave');
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.list[1]));

  // update merges into a held value: the core asks JS for its text
  next = {cookie: 2, lastMutationIDChanges: {}, patch: [{op: 'update', key: 'a', merge: {more: 1}}]};
  await rep.pull();
  assert.deepEqual(await rep.query((tx) => tx.get('a')), {pad, list: [1, {deep: true}], more: 1});

  const before = await rep.query((tx) => tx.scan().entries().toArray());
  const bad = [
    [{cookie: 3, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'c', value: {pad, bad: NaN}}]}, /patch\[0\]\.value\.bad is NaN/],
    [{cookie: 3, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'c', value: {pad}}, {op: 'put', value: {pad}}]}, /key/],
  ];
  for (const [response, message] of bad) {
    next = response;
    sink.lines.length = 0;
    await rep.pull().catch(() => {});
    await waitFor(() => sink.lines.some((l) => message.test(l.text)), {what: `error matching ${message}`});
    assert.deepEqual(await rep.query((tx) => tx.scan().entries().toArray()), before, 'nothing applied');
    assert.equal(JSON.parse(await cookieText(rep)), 2, 'cookie unchanged');
  }
  await rep.close();
});

// The package parses numbers with the JavaScript engine's parser (a strtod
// shim, wasm/src/js_number.cpp): cookie orders in exponent form, exact
// integer cookies beyond double precision, and push timestamps.
test('numbers the core reads and writes: exponent cookies, big integer cookies, timestamps', async () => {
  const sink = memorySink();
  let next = null;
  const pushes = [];
  const rep = scriptedReplicache(sink, () => next, {
    async pusher(body) {
      pushes.push(body);
      return {httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  });
  const pull = async (cookie, value) => {
    next = {cookie, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'k', value}]};
    sink.lines.length = 0;
    await rep.pull().catch(() => {});
    return rep.query((tx) => tx.get('k'));
  };
  // JSON.stringify writes 2e21 as "2e+21": the core reads the exponent form.
  assert.equal(await pull({order: 2e21}, 1), 1);
  assert.equal(await cookieText(rep), '{"order":2e+21}', 'sent back as received');
  assert.equal(await pull({order: 1.5e21}, 2), 1, 'a lower cookie is refused');
  await waitFor(() => sink.lines.some((l) => /lower than the confirmed/.test(l.text)), {what: 'the refusal logged'});
  assert.equal(await pull({order: 2.5e21}, 3), 3);
  assert.equal(await pull({order: 2.5e-7}, 4), 3, 'a small exponent is lower still');

  await rep.mutate.put({key: 'x', value: 0.1});
  await waitFor(() => pushes.length === 1);
  const {timestamp} = pushes[0].mutations[0];
  assert.equal(typeof timestamp, 'number');
  assert.ok(Number.isFinite(timestamp) && timestamp > 0, `timestamp ${timestamp}`);
  assert.equal(pushes[0].mutations[0].args.value, 0.1);
  await rep.close();
});
