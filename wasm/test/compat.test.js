// Replicache 15's exports and its puller, pusher and poke() (issue 14, items
// 4 and 6). Each test states what Replicache 15.3.0 does and runs the same
// steps on Replicache itself (kvStore 'mem': Node has no IndexedDB) and on
// replicore, so the expectations are checked against the real thing; a few
// replicore-only tests cover what Replicache cannot show in Node or what
// replicore adds.
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {loadReplicache} from './helpers/replicache.js';
import {startServer, mutators, memorySink, sleep, waitFor} from './helpers/server.js';

const C = await loadReplicore();
const R = await loadReplicache();
// [name, library] pairs to run a test on.
const libs = [['replicache', R], ['replicore', C]];

// The values Replicache 15.3.0 exports (its replicache.js), in order.
const REPLICACHE_VALUES = [
  'IDBNotFoundError', 'PullError', 'Replicache', 'TEST_LICENSE_KEY', 'TransactionClosedError', 'consoleLogSink',
  'deleteAllReplicacheData', 'dropAllDatabases', 'dropDatabase', 'filterAsyncIterable', 'getDefaultPuller',
  'isScanIndexOptions', 'makeIDBName', 'makeScanResult', 'mergeAsyncIterables', 'version',
];

let n = 0;
// Every client made, closed at the end even when a test fails (an open one
// keeps the process alive).
const made = [];
after(() => Promise.all(made.map((rep) => rep.close().catch(() => {}))));
function make(L, name, options = {}) {
  const sink = memorySink();
  const rep = new L.Replicache({
    name: `compat-${name}-${process.pid}-${n++}`,
    kvStore: 'mem',
    pullInterval: null,
    logSinks: [sink],
    mutators,
    ...options,
  });
  rep.sink = sink;
  made.push(rep);
  return rep;
}
const ok = {httpStatusCode: 200, errorMessage: ''};
// Asks for a pull and waits for its effect elsewhere (Replicache's pull()
// rejects if the client closes meanwhile).
const pullNow = (rep) => rep.pull().catch(() => {});
const pullBody = (cookie = null) => ({pullVersion: 1, schemaVersion: '', profileID: 'p1', clientGroupID: 'g1', cookie});

// ------------------------------------------------------------------ exports --

test('every value Replicache 15 exports is exported', async () => {
  assert.deepEqual(Object.keys(R).sort(), REPLICACHE_VALUES, 'the list above is Replicache 15.3.0\'s');
  const missing = REPLICACHE_VALUES.filter((k) => !(k in C));
  assert.deepEqual(missing, []);
  for (const k of REPLICACHE_VALUES) {
    assert.equal(typeof C[k], typeof R[k], k);
  }
  // Replicache's .d.ts declares PushError as a class, though its bundle does
  // not export it; replicore does, so that its .d.ts is true.
  assert.equal(typeof C.PushError, 'function');
});

test('TEST_LICENSE_KEY and the error classes', async () => {
  for (const [name, L] of libs) {
    assert.equal(L.TEST_LICENSE_KEY, 'This key only good for automated testing', name);
    const cause = new Error('boom');
    const pe = new L.PullError(cause);
    assert.ok(pe instanceof Error && pe instanceof L.PullError, name);
    assert.deepEqual({name: pe.name, message: pe.message, causedBy: pe.causedBy}, {name: 'PullError', message: 'Failed to pull', causedBy: cause}, name);
    assert.equal(new L.PullError().causedBy, undefined);
    const ie = new L.IDBNotFoundError('gone');
    assert.ok(ie instanceof Error, name);
    assert.deepEqual({name: ie.name, message: ie.message}, {name: 'IDBNotFoundError', message: 'gone'}, name);
    // A TEST_LICENSE_KEY as licenseKey is accepted (and ignored).
    const rep = make(L, name, {licenseKey: L.TEST_LICENSE_KEY});
    await rep.query(() => {}); // Replicache closed before it has opened leaves timers running
    await rep.close();
  }
  const push = new C.PushError(new Error('x'));
  assert.deepEqual({name: push.name, message: push.message, cause: push.causedBy.message}, {name: 'PushError', message: 'Failed to push', cause: 'x'});
});

// A Replicache 15 StoreProvider in memory (both libraries accept one):
// writes are serialized and applied at commit.
function memoryProvider() {
  const dbs = new Map();
  const dropped = [];
  let writeLock = Promise.resolve();
  function create(name) {
    let closed = false;
    const data = () => dbs.get(name) ?? dbs.set(name, new Map()).get(name);
    const tx = (pending) => {
      const t = {
        closed: false,
        async has(k) {
          return pending?.has(k) ? pending.get(k) !== undefined : data().has(k);
        },
        async get(k) {
          return pending?.has(k) ? pending.get(k) : data().get(k);
        },
        release() {
          t.closed = true;
          t.unlock?.();
        },
      };
      if (pending) {
        t.put = async (k, v) => void pending.set(k, v);
        t.del = async (k) => void pending.set(k, undefined);
        t.commit = async () => {
          const d = data();
          for (const [k, v] of pending) v === undefined ? d.delete(k) : d.set(k, v);
        };
      }
      return t;
    };
    return {
      get closed() {
        return closed;
      },
      read: async () => tx(null),
      async write() {
        const before = writeLock;
        let unlock;
        writeLock = new Promise((r) => (unlock = r));
        await before;
        const t = tx(new Map());
        t.unlock = unlock;
        return t;
      },
      async close() {
        closed = true;
      },
    };
  }
  return {dbs, dropped, create, async drop(name) {
    dropped.push(name);
    dbs.delete(name);
  }};
}

test('deleteAllReplicacheData is dropAllDatabases under its old name', async () => {
  for (const [name, L] of libs) {
    const provider = memoryProvider();
    const rep = make(L, name, {kvStore: provider});
    await rep.mutate.put({key: 'a', value: 1});
    assert.equal(await rep.query((tx) => tx.get('a')), 1);
    await sleep(150); // the registry of database names is written after opening
    const idbName = rep.idbName;
    await rep.close();
    assert.ok(provider.dbs.has(idbName), `${name}: the client's database exists`);
    assert.deepEqual(await L.deleteAllReplicacheData({kvStore: provider}), {dropped: [idbName], errors: []}, name);
    assert.deepEqual(provider.dropped, [idbName], name);
    // Dropped names leave the registry (Replicache's may still list one for a while).
    if (L === C) assert.deepEqual(await L.deleteAllReplicacheData({kvStore: provider}), {dropped: [], errors: []}, name);
  }
});

// --------------------------------------------------------------- iterables --

async function* gen(items, log, tag) {
  try {
    for (const x of items) {
      await null;
      yield x;
    }
  } finally {
    log.push(`${tag} closed`);
  }
}
async function collect(iterable, max = Infinity) {
  const out = [];
  for await (const v of iterable) {
    out.push(v);
    if (out.length >= max) break;
  }
  return out;
}

test('filterAsyncIterable and mergeAsyncIterables', async () => {
  const cmp = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const base = [['a', 1], ['c', 3], ['e', 5], ['g', 7]];
  const overlay = [['b', 'B'], ['c', 'C'], ['g', undefined], ['h', 'H']];
  const expected = {
    filtered: [2, 4, 6],
    filteredAsync: ['a', 'b'],
    merged: [['a', 1], ['b', 'B'], ['c', 'C'], ['e', 5], ['g', undefined], ['h', 'H']],
    mergedFiltered: [['a', 1], ['b', 'B'], ['c', 'C'], ['e', 5], ['h', 'H']],
    mergedEmpty: [['a', 1], ['c', 3], ['e', 5], ['g', 7]],
    mergedEarly: {items: [['a', 1], ['b', 'B']], log: ['base closed', 'overlay closed']},
  };
  for (const [name, L] of libs) {
    const log = [];
    const got = {
      filtered: await collect(L.filterAsyncIterable([1, 2, 3, 4, 5, 6], (x) => x % 2 === 0)),
      filteredAsync: await collect(L.filterAsyncIterable(gen(['a', 'bb', 'b'], [], 'x'), (x) => x.length === 1)),
      merged: await collect(L.mergeAsyncIterables(base, gen(overlay, [], 'o'), cmp)),
      mergedFiltered: await collect(
        L.filterAsyncIterable(L.mergeAsyncIterables(gen(base, [], 'b'), overlay, cmp), (e) => e[1] !== undefined),
      ),
      mergedEmpty: await collect(L.mergeAsyncIterables(base, [], cmp)),
      mergedEarly: {items: await collect(L.mergeAsyncIterables(gen(base, log, 'base'), gen(overlay, log, 'overlay'), cmp), 2), log},
    };
    assert.deepEqual(got, expected, name);
  }
});

// ------------------------------------------------------------ scan results --

const ENTRIES = [['a', 0], ['b/1', 1], ['b/2', 2], ['b/3', 3], ['c', 4], ['é', 5], ['😀', 6], ['\uffff', 7]];
const INDEX = [[['x', 'k1'], 'a'], [['x', 'k2'], 'b'], [['y', 'k3'], 'c'], [['y', 'k4'], 'd'], [['yz', 'k5'], 'e']];
const byCodePoint = (a, b) => {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};

test('makeScanResult applies prefix, start and limit to the iterator it asks for', async () => {
  const cases = [
    {},
    {prefix: 'b/'},
    {prefix: 'b/', limit: 2},
    {start: {key: 'b/2'}},
    {start: {key: 'b/2', exclusive: true}},
    {prefix: 'b/', start: {key: 'a'}},
    {prefix: 'b/', start: {key: 'b/2', exclusive: true}, limit: 1},
    {prefix: 'z'},
    {start: {key: 'd'}},
    {limit: 3},
    {prefix: 'b/', limit: 1.5},
    {limit: 0},
  ];
  const indexCases = [
    {indexName: 'i'},
    {indexName: 'i', prefix: 'y'},
    {indexName: 'i', start: {key: 'y'}},
    {indexName: 'i', start: {key: ['x', 'k2']}},
    {indexName: 'i', start: {key: ['x', 'k2'], exclusive: true}},
    {indexName: 'i', start: {key: 'x', exclusive: true}},
    {indexName: 'i', prefix: 'y', start: {key: ['x', 'k2']}, limit: 1},
  ];
  const results = {};
  for (const [name, L] of libs) {
    const out = [];
    for (const options of cases) {
      const asked = [];
      const sr = L.makeScanResult(options, (fromKey) => {
        asked.push(fromKey);
        return ENTRIES.filter(([k]) => byCodePoint(k, fromKey) >= 0);
      });
      // Each of these iterates the (array) iterable anew.
      out.push({options, asked, values: await sr.toArray(), keys: await sr.keys().toArray(), entries: await collect(sr.entries()), iter: await collect(sr)});
    }
    for (const options of indexCases) {
      const asked = [];
      const sr = L.makeScanResult(options, (indexName, secondary, primary) => {
        asked.push([indexName, secondary, primary]);
        return (async function* () {
          for (const e of INDEX) {
            const [s, p] = e[0];
            if (byCodePoint(s, secondary) > 0 || (s === secondary && (primary === undefined || byCodePoint(p, primary) >= 0))) yield e;
          }
        })();
      });
      // A generator is iterated once: entries only.
      out.push({options, asked, entries: await sr.entries().toArray()});
    }
    results[name] = out;
  }
  const ours = results.replicore;
  assert.deepEqual(ours, results.replicache);
  // The same, spelled out for a few cases.
  const at = (i) => ({asked: ours[i].asked, keys: ours[i].keys});
  assert.deepEqual(at(1), {asked: ['b/'], keys: ['b/1', 'b/2', 'b/3']});
  assert.deepEqual(at(2), {asked: ['b/'], keys: ['b/1', 'b/2']});
  assert.deepEqual(at(4), {asked: ['b/2'], keys: ['b/3', 'c', 'é', '😀', '\uffff']});
  assert.deepEqual(at(5), {asked: ['b/'], keys: ['b/1', 'b/2', 'b/3']});
  assert.deepEqual(at(7), {asked: ['z'], keys: []});
  assert.deepEqual(ours[0].entries[6], ['😀', 6], 'code point order');
  assert.deepEqual(ours[cases.length + 4], {
    options: indexCases[4],
    asked: [['i', 'x', 'k2']],
    entries: [[['y', 'k3'], 'c'], [['y', 'k4'], 'd'], [['yz', 'k5'], 'e']],
  });
  assert.deepEqual(ours[cases.length + 5].entries.map((e) => e[1]), ['c', 'd', 'e'], 'an exclusive secondary-only start skips all of it');
  // A limit of 0 is no limit (as Replicache's, and tx.scan's).
  assert.deepEqual(ours[cases.length - 1].keys, ENTRIES.map((e) => e[0]));
  // A scan result is a ScanResult: iterators have toArray and can stop early.
  const it = C.makeScanResult({}, () => ENTRIES).keys();
  assert.deepEqual([(await it.next()).value, (await it.next()).value], ['a', 'b/1']);
  assert.deepEqual(await it.toArray(), ['b/2', 'b/3', 'c', 'é', '😀', '\uffff']);
});

test('isScanIndexOptions', () => {
  for (const [name, L] of libs) {
    assert.deepEqual(
      [{}, {prefix: 'a'}, {indexName: 'i'}, {indexName: ''}, {indexName: undefined}].map((o) => L.isScanIndexOptions(o)),
      [false, false, true, true, false],
      name,
    );
  }
});

// ------------------------------------------------------ pullers and pushers --

test('getDefaultPuller: a POST to pullURL with auth; a 200 parsed, another status as errorMessage', async () => {
  const server = await startServer();
  try {
    server.serverPut('a', {x: 1});
    for (const [name, L] of libs) {
      server.requests.length = 0;
      const target = {pullURL: server.pullURL, auth: 'token-1'};
      const puller = L.getDefaultPuller(target);
      assert.deepEqual(await puller(pullBody(), 'req-1'), {
        response: {cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'a', value: {x: 1}}]},
        httpRequestInfo: ok,
      }, name);
      const r = server.requests[0];
      assert.deepEqual(
        {path: r.path, method: r.method, type: r.headers['content-type'], auth: r.headers.authorization, id: r.headers['x-replicache-requestid'], body: r.body},
        {path: '/api/pull', method: 'POST', type: 'application/json', auth: 'token-1', id: 'req-1', body: pullBody()},
        name,
      );
      // pullURL and auth are read at each call.
      target.auth = 'token-2';
      server.hook = () => ({status: 500, body: 'broken'});
      assert.deepEqual(await puller(pullBody(1), 'req-2'), {httpRequestInfo: {httpStatusCode: 500, errorMessage: 'broken'}}, name);
      assert.equal(server.requests[1].headers.authorization, 'token-2', name);
      server.hook = null;
      target.pullURL = `${server.url}/nowhere`;
      assert.deepEqual(await puller(pullBody(), 'req-3'), {httpRequestInfo: {httpStatusCode: 404, errorMessage: ''}}, name);
    }
  } finally {
    await server.stop();
  }
});

test('rep.puller and rep.pusher are working default HTTP functions when none was given', async () => {
  const server = await startServer();
  try {
    for (const [name, L] of libs) {
      const rep = make(L, name, {pullURL: server.pullURL, pushURL: server.pushURL, auth: 'tok'});
      assert.equal(typeof rep.puller, 'function', name);
      assert.equal(rep.puller, rep.puller, `${name}: the same function each time`);
      assert.equal(typeof rep.pusher, 'function', name);
      // The pusher POSTs to pushURL: the server applies the mutation.
      const key = `pushed-by-${name}`;
      const push = {
        pushVersion: 1, schemaVersion: '', profileID: 'p1', clientGroupID: 'g-' + name,
        mutations: [{id: 1, clientID: 'c-' + name, name: 'put', args: {key, value: 1}, timestamp: 1}],
      };
      assert.deepEqual(await rep.pusher(push, 'push-1'), {httpRequestInfo: ok}, name);
      assert.equal(server.entries.get(key)?.value, 1, name);
      const sent = server.requests.findLast((r) => r.headers['x-replicache-requestid'] === 'push-1');
      assert.deepEqual([sent.path, sent.headers.authorization, sent.body], ['/api/push', 'tok', push], name);
      // An error body of a push is its response; another body is not.
      server.hook = () => ({body: {error: 'VersionNotSupported', versionType: 'push'}});
      assert.deepEqual(await rep.pusher(push, 'push-2'), {response: {error: 'VersionNotSupported', versionType: 'push'}, httpRequestInfo: ok}, name);
      server.hook = () => ({status: 401, body: 'who?'});
      assert.deepEqual(await rep.pusher(push, 'push-3'), {httpRequestInfo: {httpStatusCode: 401, errorMessage: 'who?'}}, name);
      server.hook = null;
      // The puller POSTs to pullURL.
      const res = await rep.puller(pullBody(), 'pull-1');
      assert.equal(res.response.patch.some((op) => op.key === key), true, name);
      assert.deepEqual(res.httpRequestInfo, ok, name);
      // A new pullURL is used by the same function.
      rep.pullURL = `${server.url}/gone`;
      assert.equal((await rep.puller(pullBody(), 'pull-2')).httpRequestInfo.httpStatusCode, 404, name);
      await rep.close();
    }
  } finally {
    await server.stop();
  }
});

test('a puller or pusher set after construction is used from the next request', async () => {
  const server = await startServer();
  try {
    for (const [name, L] of libs) {
      const rep = make(L, name, {pullURL: server.pullURL, pushURL: server.pushURL, pushDelay: 0});
      // Over HTTP first.
      await rep.mutate.put({key: `http-${name}`, value: 1});
      await waitFor(() => server.entries.has(`http-${name}`), {what: `${name}: a push over HTTP`});
      const pushes = [];
      rep.pusher = async (body, requestID) => {
        pushes.push({body, requestID});
        return {httpRequestInfo: ok};
      };
      await rep.mutate.put({key: `custom-${name}`, value: 2});
      // (replicore's switch also pushes what is pending at once: the same
      // mutations, which the server applies once.)
      const keys = (p) => p.body.mutations.map((m) => m.args.key);
      await waitFor(() => pushes.some((p) => keys(p).includes(`custom-${name}`)), {what: `${name}: the new pusher called`});
      assert.equal(pushes[0].body.pushVersion, 1, name);
      assert.deepEqual(keys(pushes.at(-1)), [`http-${name}`, `custom-${name}`], `${name}: pending until a pull confirms them`);
      assert.equal(server.entries.has(`custom-${name}`), false, `${name}: not sent over HTTP`);
      const pulls = [];
      rep.puller = async (body, requestID) => {
        pulls.push({body, requestID});
        return {response: {cookie: 1000, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'from-puller', value: name}]}, httpRequestInfo: ok};
      };
      const before = server.requestsTo('/api/pull').length;
      pullNow(rep);
      await waitFor(async () => (await rep.query((tx) => tx.get('from-puller'))) === name, {what: `${name}: the new puller's data`});
      assert.equal(pulls[0].body.pullVersion, 1, name);
      assert.equal(server.requestsTo('/api/pull').length, before, `${name}: no pull over HTTP`);
      // Back to HTTP through a default puller made for this client.
      rep.puller = L.getDefaultPuller(rep);
      server.serverPut('back-to-http', 1);
      await sleep(20);
      pullNow(rep);
      await waitFor(() => server.requestsTo('/api/pull').length > before, {what: `${name}: a pull over HTTP again`});
      assert.equal(server.requestsTo('/api/pull').at(-1).body.cookie, 1000, name);
      await rep.close();
    }
  } finally {
    await server.stop();
  }
});

test('a puller set on a client without pullURL makes it pull', async () => {
  for (const [name, L] of libs) {
    const rep = make(L, name);
    let calls = 0;
    rep.puller = async () => {
      calls++;
      return {response: {cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'k', value: 1}]}, httpRequestInfo: ok};
    };
    pullNow(rep);
    await waitFor(async () => (await rep.query((tx) => tx.get('k'))) === 1, {what: `${name}: pulled`});
    assert.ok(calls >= 1, name);
    await rep.close();
  }
});

test('setting a puller or pusher that is not a function throws (replicore)', async () => {
  const rep = make(C, 'replicore');
  assert.throws(() => (rep.puller = 'x'), TypeError);
  assert.throws(() => (rep.pusher = 1), TypeError);
  const custom = async () => ({httpRequestInfo: ok});
  rep.pusher = custom;
  assert.equal(rep.pusher, custom);
  rep.pusher = null; // back to the default
  assert.notEqual(rep.pusher, custom);
  assert.equal(typeof rep.pusher, 'function');
  await rep.close();
});

// ------------------------------------------------------------------- poke --

test('poke applies a pull response when the base cookie is the client\'s', async () => {
  for (const [name, L] of libs) {
    const rep = make(L, name);
    const reasons = [];
    rep.onUpdateNeeded = (r) => reasons.push(r);
    const get = (k) => rep.query((tx) => tx.get(k));
    await rep.poke({baseCookie: null, pullResponse: {cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'a', value: {v: 1}}]}});
    assert.deepEqual(await get('a'), {v: 1}, name);
    // A stale base cookie: rejected with Replicache's message, nothing applied.
    const stale = {baseCookie: null, pullResponse: {cookie: 2, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'b', value: 2}]}};
    await assert.rejects(rep.poke(stale), {message: `unexpected base cookie for poke: ${JSON.stringify(stale)}`}, name);
    assert.equal(await get('b'), undefined, name);
    // A pending mutation is replayed on the poked state, and dropped once
    // the response confirms it.
    await rep.mutate.put({key: 'mine', value: 'local'});
    await rep.poke({baseCookie: 1, pullResponse: {cookie: 2, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'b', value: 2}]}});
    assert.deepEqual([await get('b'), await get('mine')], [2, 'local'], name);
    assert.equal((await rep.experimentalPendingMutations()).length, 1, name);
    await rep.poke({
      baseCookie: 2,
      pullResponse: {cookie: 3, lastMutationIDChanges: {[rep.clientID]: 1}, patch: [{op: 'put', key: 'mine', value: 'server'}, {op: 'del', key: 'a'}]},
    });
    assert.deepEqual([await get('mine'), await get('a')], ['server', undefined], name);
    assert.deepEqual(await rep.experimentalPendingMutations(), [], name);
    // A cookie lower than the client's: rejected, nothing applied. (With a
    // clear, replicore takes it as a reset, Replicache does not: sync.test.js.)
    await assert.rejects(rep.poke({baseCookie: 3, pullResponse: {cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'del', key: 'b'}]}}), Error, name);
    assert.equal(await get('b'), 2, name);
    // An error body, whatever the cookie: handled as a pull's.
    await rep.poke({baseCookie: 'any', pullResponse: {error: 'VersionNotSupported', versionType: 'pull'}});
    await waitFor(() => reasons.length === 1, {what: `${name}: onUpdateNeeded`});
    assert.deepEqual(reasons, [{type: 'VersionNotSupported', versionType: 'pull'}], name);
    await rep.close();
  }
});

test('poke with ClientStateNotFound calls onClientStateNotFound', async () => {
  for (const [name, L] of libs) {
    const rep = make(L, name);
    let called = 0;
    rep.onClientStateNotFound = () => called++;
    await rep.poke({baseCookie: null, pullResponse: {error: 'ClientStateNotFound'}});
    await waitFor(() => called === 1, {what: `${name}: onClientStateNotFound`});
    await rep.close();
  }
});

test('after a poke, a client that pulls over HTTP still pulls from its server', async () => {
  const server = await startServer();
  try {
    for (const [name, L] of libs) {
      server.serverPut(`s-${name}`, 1);
      const rep = make(L, name, {pullURL: server.pullURL, auth: 'tok'});
      const get = (k) => rep.query((tx) => tx.get(k));
      await waitFor(async () => (await get(`s-${name}`)) === 1, {what: `${name}: first pull`});
      const cookie = server.version;
      await rep.poke({baseCookie: cookie, pullResponse: {cookie: cookie + 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'poked', value: name}]}});
      assert.equal(await get('poked'), name, name);
      server.serverPut(`skipped-${name}`, 0); // version cookie + 1: the client has that version (the poke's)
      server.serverPut(`after-${name}`, 2);
      const before = server.requestsTo('/api/pull').length;
      pullNow(rep);
      await waitFor(async () => (await get(`after-${name}`)) === 2, {what: `${name}: a pull after the poke`});
      const r = server.requestsTo('/api/pull')[before];
      assert.deepEqual([r.body.cookie, r.headers.authorization], [cookie + 1, 'tok'], name);
      assert.equal(await get(`skipped-${name}`), undefined, name);
      await rep.close();
    }
  } finally {
    await server.stop();
  }
});

test('poke on a client without pullURL: later pulls send nothing (replicore)', async () => {
  const rep = make(C, 'replicore');
  await rep.poke({baseCookie: null, pullResponse: {cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'a', value: 1}]}});
  const realFetch = globalThis.fetch;
  let fetches = 0;
  globalThis.fetch = (...args) => {
    fetches++;
    return realFetch(...args);
  };
  try {
    await rep.pull(); // answered without a request, as Replicache skips it
    await rep.mutate.put({key: 'b', value: 2});
    await rep.push();
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(fetches, 0);
  assert.equal(await rep.query((tx) => tx.get('a')), 1);
  assert.deepEqual(rep.sink.lines.filter((l) => l.level === 'error'), []);
  await rep.close();
});

test('a poke whose base cookie a pull in flight moves on is rejected (replicore)', async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  const seen = [];
  const rep = make(C, 'replicore', {
    async puller(body) {
      seen.push(body.cookie);
      if (seen.length === 1) await gate;
      return {response: {cookie: seen.length, lastMutationIDChanges: {}, patch: []}, httpRequestInfo: ok};
    },
  });
  await waitFor(() => seen.length === 1, {what: 'the first pull'});
  const poke = {baseCookie: null, pullResponse: {cookie: 5, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'p', value: 1}]}};
  const poked = rep.poke(poke);
  release();
  await assert.rejects(poked, {message: `unexpected base cookie for poke: ${JSON.stringify(poke)}`});
  assert.equal(await rep.query((tx) => tx.get('p')), undefined);
  await rep.close();
  await assert.rejects(rep.poke(poke), /closed/);
  const other = make(C, 'replicore');
  await assert.rejects(other.poke({baseCookie: null}), TypeError);
  await other.close();
});
