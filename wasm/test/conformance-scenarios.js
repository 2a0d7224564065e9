// The scenarios of the differential conformance suite, and the rules that
// compare their results: each is written against Replicache's public API
// only, runs once against the real Replicache 15.3.0 and once against
// replicore (kvStore 'mem', no server: pulls and pushes go through scripted
// puller/pusher functions), and the two results must be equal but for the
// deliberate differences a scenario names. A scenario returns plain JSON
// describing what an app would observe (values read, callbacks seen and
// when, request bodies with the random ids replaced).
//
// Two runners import this module: wasm/test/conformance.test.js runs the
// scenarios in Node, tests/e2e/conformance.test.js bundles this module into
// a page and runs them in Chromium, Firefox and WebKit. So it imports
// nothing (no node: modules, no package): the runner hands it the two
// libraries and its assert.

/** Every scenario, in order: {name, run(lib) => JSON, differences, check}. */
export const scenarios = [];

// `differences` names the top-level fields of the result where replicore
// deliberately differs (each documented in the package README): the plain
// comparison leaves them out, and `check(theirs, ours, assert)` states what
// each library gives there instead.
function scenario(name, run, {differences = [], check} = {}) {
  scenarios.push({name, run, differences, check});
}

/**
 * Runs `scenario` against each library of `libs` ({replicache, replicore},
 * the modules), one after the other, and returns their results by name.
 */
export async function runScenario(scenario, libs) {
  const results = {};
  for (const name of ['replicache', 'replicore']) results[name] = await scenario.run(libs[name]);
  return results;
}

/** Asserts (with the runner's node:assert/strict) that the results of `scenario` agree. */
export function compare(scenario, results, assert) {
  const without = (r) => Object.fromEntries(Object.entries(r).filter(([k]) => !scenario.differences.includes(k)));
  assert.deepEqual(without(results.replicore), without(results.replicache));
  scenario.check?.(results.replicache, results.replicore, assert);
}

// Instance names: a counter, after an id of this load of the module, so that
// no two instances of a process or a page share a name (and so storage).
const runID = Math.random().toString(36).slice(2, 8);
let n = 0;

const quiet = {log() {}};

const mutators = {
  async put(tx, {key, value}) {
    await tx.set(key, value);
    return `put ${key}`;
  },
  async putMany(tx, entries) {
    for (const [k, v] of entries) await tx.set(k, v);
    return entries.length;
  },
  async del(tx, key) {
    return tx.del(key);
  },
  async incr(tx, key) {
    const v = (await tx.get(key)) ?? 0;
    await tx.set(key, v + 1);
    return v + 1;
  },
  async refuse(tx, key) {
    await tx.set(key, 'never');
    throw new Error(`refused ${key}`);
  },
  async describe(tx) {
    return {reason: tx.reason, isClient: typeof tx.clientID === 'string' && tx.clientID.length > 0, mutationID: tx.mutationID};
  },
};

function make(lib, extra = {}) {
  return new lib.Replicache({
    name: `conformance-${runID}-${n++}`,
    licenseKey: lib.TEST_LICENSE_KEY ?? 'test',
    kvStore: 'mem',
    pullInterval: null,
    logSinks: [quiet],
    mutators,
    ...extra,
  });
}

scenario('reads: get, has, isEmpty and every form of scan', async (lib) => {
  const rep = make(lib);
  const out = {empty: await rep.query((tx) => tx.isEmpty())};
  out.count = await rep.mutate.putMany([
    ['a/1', 1],
    ['a/2', {x: [1, 2]}],
    ['a/3', 'three'],
    ['b/1', null],
    ['b/2', true],
    ['c', 0],
  ]);
  out.reads = await rep.query(async (tx) => ({
    get: [await tx.get('a/2'), await tx.get('nope'), await tx.get('b/1')],
    has: [await tx.has('a/1'), await tx.has('nope'), await tx.has('b/1')],
    isEmpty: await tx.isEmpty(),
    all: await tx.scan().entries().toArray(),
    prefix: await tx.scan({prefix: 'a/'}).keys().toArray(),
    start: await tx.scan({start: {key: 'a/2'}}).keys().toArray(),
    startExclusive: await tx.scan({start: {key: 'a/2', exclusive: true}}).keys().toArray(),
    startBetween: await tx.scan({start: {key: 'a/25'}}).keys().toArray(),
    limit: await tx.scan({limit: 2}).values().toArray(),
    prefixLimit: await tx.scan({prefix: 'b/', limit: 1}).entries().toArray(),
    prefixStart: await tx.scan({prefix: 'a/', start: {key: 'a/3'}}).keys().toArray(),
    noMatch: await tx.scan({prefix: 'z'}).toArray(),
    zeroLimit: await tx.scan({limit: 0}).toArray(),
    iterated: await (async () => {
      const seen = [];
      for await (const v of tx.scan({prefix: 'a/'})) seen.push(v);
      for await (const [k] of tx.scan({prefix: 'b/'}).entries()) seen.push(k);
      return seen;
    })(),
  }));
  await rep.close();
  return out;
});

scenario('mutators: return values, del, a throwing mutator changes nothing, the transaction', async (lib) => {
  const rep = make(lib);
  const out = {};
  out.put = await rep.mutate.put({key: 'k', value: 1});
  out.delExisting = await rep.mutate.del('k');
  out.delMissing = await rep.mutate.del('k');
  out.incr = [await rep.mutate.incr('n'), await rep.mutate.incr('n')];
  try {
    await rep.mutate.refuse('r');
    out.refused = 'resolved';
  } catch (e) {
    out.refused = e.message;
  }
  out.afterRefusal = await rep.query(async (tx) => [await tx.has('r'), await tx.scan().keys().toArray()]);
  out.describe = await rep.mutate.describe();
  out.pending = (await rep.experimentalPendingMutations()).map(({name, id, args}) => ({name, id, args}));
  await rep.close();
  return out;
});

scenario('subscriptions: data when mutate resolves, re-runs only for keys read, no call for equal data', async (lib) => {
  const rep = make(lib);
  const log = [];
  const unsubA = rep.subscribe((tx) => tx.scan({prefix: 'a/'}).entries().toArray(), {
    onData: (d) => log.push(['a', d]),
  });
  const unsubX = rep.subscribe((tx) => tx.get('x'), {onData: (d) => log.push(['x', d ?? null])});
  // The first data of both, before any mutation.
  const {steps, step} = await subscriptionSteps(log, 2);
  await step('put a/1', () => rep.mutate.put({key: 'a/1', value: 1}));
  await step('put b (read by none)', () => rep.mutate.put({key: 'b', value: 1}));
  await step('put x', () => rep.mutate.put({key: 'x', value: 'y'}));
  await step('put a/1 same value', () => rep.mutate.put({key: 'a/1', value: 1}));
  await step('put a/2', () => rep.mutate.put({key: 'a/2', value: [2]}));
  await step('del a/1', () => rep.mutate.del('a/1'));
  unsubA();
  await step('put a/3 after unsubscribe', () => rep.mutate.put({key: 'a/3', value: 3}));
  unsubX();
  await rep.close();
  return {first: log.slice(0, 2), steps};
});

scenario('watch: diffs by prefix, with and without the initial values', async (lib) => {
  const rep = make(lib);
  await rep.mutate.putMany([
    ['p/1', 1],
    ['q', 0],
  ]);
  const diffs = [];
  const initial = [];
  const stop = rep.experimentalWatch((d) => diffs.push(d), {prefix: 'p/'});
  const stopInitial = rep.experimentalWatch((d) => initial.push(d), {prefix: 'p/', initialValuesInFirstDiff: true});
  await new Promise((r) => setTimeout(r, 20));
  await rep.mutate.put({key: 'p/2', value: {a: 1}});
  await rep.mutate.put({key: 'p/2', value: {a: 2}});
  await rep.mutate.put({key: 'q', value: 1});
  await rep.mutate.del('p/1');
  await rep.mutate.putMany([
    ['p/3', 3],
    ['p/4', 4],
  ]);
  await new Promise((r) => setTimeout(r, 20));
  stop();
  stopInitial();
  await rep.mutate.put({key: 'p/5', value: 5});
  await new Promise((r) => setTimeout(r, 20));
  await rep.close();
  return {diffs, initial};
});

// A scripted server behind puller/pusher: pushes are recorded, pulls answer
// what the test queued. Random ids (client, group, profile) are replaced by
// their role so bodies compare.
// Waits (up to 250 ms) for the first data of the `count` subscriptions that
// log [tag, data] into `log`, sorted by tag; then step(what, f) runs f and
// records in `steps` what the subscriptions logged meanwhile.
async function subscriptionSteps(log, count) {
  for (let i = 0; i < 50 && log.length < count; i++) await new Promise((r) => setTimeout(r, 5));
  log.sort((p, q) => (p[0] < q[0] ? -1 : 1));
  const steps = [];
  const step = async (what, f) => {
    const before = log.length;
    await f();
    steps.push([what, log.slice(before)]);
  };
  return {steps, step};
}

function scriptedSync(rep) {
  const pushes = [];
  const pulls = [];
  const answers = [];
  const anonymize = (body) =>
    JSON.parse(
      JSON.stringify(body)
        .replaceAll(rep.clientID, '<client>')
        .replace(/"clientGroupID":"[^"]*"/g, '"clientGroupID":"<group>"')
        .replace(/"profileID":"[^"]*"/g, '"profileID":"<profile>"')
        .replace(/"timestamp":[0-9.e+-]+/g, '"timestamp":"<time>"'),
    );
  return {
    pushes,
    pulls,
    answers,
    anonymize,
    puller: async (body) => {
      pulls.push(anonymize(body));
      const response = answers.shift() ?? {cookie: body.cookie, lastMutationIDChanges: {}, patch: []};
      return {response: JSON.parse(JSON.stringify(response).replaceAll('<client>', rep.clientID)), httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
    pusher: async (body) => {
      pushes.push(anonymize(body));
      return {httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  };
}

scenario('sync: request bodies, rebase on a pull, confirmation, patch ops', async (lib) => {
  let sync;
  const rep = make(lib, {
    puller: (b, id) => sync.puller(b, id),
    pusher: (b, id) => sync.pusher(b, id),
    pushDelay: 0,
    schemaVersion: 's1',
  });
  sync = scriptedSync(rep);
  const out = {};
  await rep.pull();
  await rep.mutate.incr('n');
  await rep.mutate.put({key: 'local', value: true});
  await rep.push();
  for (let i = 0; i < 50 && sync.pushes.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  out.firstPull = sync.pulls[0];
  out.pushMutations = sync.pushes.flatMap((p) => p.mutations);
  out.pushShape = Object.keys(sync.pushes[0]).sort();
  out.pushVersion = [sync.pushes[0].pushVersion, sync.pushes[0].schemaVersion];
  // The server has other writes and has not applied ours yet: ours rebase on top.
  sync.answers.push({cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'n', value: 10}, {op: 'put', key: 'server', value: 's'}]});
  await rep.pull();
  out.afterRebase = await rep.query((tx) => tx.scan().entries().toArray());
  out.pendingAfterRebase = (await rep.experimentalPendingMutations()).map(({name, id}) => [name, id]);
  out.secondPullCookie = sync.pulls.at(-1).cookie;
  // Now the server has applied the first one (n: 11) but not the second.
  sync.answers.push({cookie: 2, lastMutationIDChanges: {'<client>': 1}, patch: [{op: 'put', key: 'n', value: 11}]});
  await rep.pull();
  out.afterConfirm = await rep.query((tx) => tx.scan().entries().toArray());
  out.pendingAfterConfirm = (await rep.experimentalPendingMutations()).map(({name, id}) => [name, id]);
  // clear, del and an equal cookie (a no-op).
  sync.answers.push({cookie: 3, lastMutationIDChanges: {'<client>': 2}, patch: [{op: 'clear'}, {op: 'put', key: 'a', value: 1}, {op: 'put', key: 'b', value: 2}, {op: 'del', key: 'a'}]});
  await rep.pull();
  out.afterClear = await rep.query((tx) => tx.scan().entries().toArray());
  sync.answers.push({cookie: 3, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'ignored', value: 1}]});
  await rep.pull();
  out.afterSameCookie = await rep.query((tx) => tx.scan().keys().toArray());
  out.pending = await rep.experimentalPendingMutations();
  await rep.close();
  return out;
});

scenario('errors: a closed instance, a closed transaction, a query that throws, subscription callbacks', async (lib) => {
  const rep = make(lib);
  const out = {};
  let kept;
  await rep.query((tx) => {
    kept = tx;
  });
  try {
    await kept.get('a');
    out.closedTx = 'resolved';
  } catch (e) {
    out.closedTx = e.name;
  }
  try {
    await rep.query(() => {
      throw new Error('query failed');
    });
  } catch (e) {
    out.queryError = e.message;
  }
  const events = [];
  const unsub = rep.subscribe(
    async (tx) => {
      if (await tx.has('boom')) throw new Error('body threw');
      return (await tx.get('v')) ?? null;
    },
    {onData: (d) => events.push(['data', d]), onError: (e) => events.push(['error', e.message]), onDone: () => events.push(['done'])},
  );
  await new Promise((r) => setTimeout(r, 20));
  await rep.mutate.put({key: 'v', value: 1});
  await rep.mutate.put({key: 'boom', value: 1});
  await rep.mutate.del('boom');
  unsub();
  await new Promise((r) => setTimeout(r, 20));
  out.events = events;
  await rep.close();
  out.closed = rep.closed;
  for (const [what, f] of [
    ['query', () => rep.query((tx) => tx.get('v'))],
    ['mutate', () => rep.mutate.put({key: 'x', value: 1})],
  ]) {
    try {
      await f();
      out[what] = 'resolved';
    } catch (e) {
      out[what] = 'rejected';
    }
  }
  return out;
}, {
  differences: ['closedTx', 'events', 'query', 'mutate'],
  check(theirs, ours, assert) {
    // The same error class; replicore also names it (err.name) where
    // Replicache leaves 'Error'.
    assert.deepEqual([theirs.closedTx, ours.closedTx], ['Error', 'TransactionClosedError']);
    // onDone: Replicache 15.3.0 documents it as "called when the subscription
    // is removed/done" but does not call it on unsubscribe; replicore does.
    assert.deepEqual(ours.events, [...theirs.events, ['done']]);
    // After close(), Replicache's query and mutate resolve (doing nothing);
    // replicore's reject with "Replicache instance is closed".
    assert.deepEqual([theirs.query, theirs.mutate, ours.query, ours.mutate], ['resolved', 'resolved', 'rejected', 'rejected']);
  },
});

scenario('sync errors: ClientStateNotFound, VersionNotSupported, a failing puller, 401 and getAuth', async (lib) => {
  const out = {};
  const answer = (response, status = 200) => async () => ({response, httpRequestInfo: {httpStatusCode: status, errorMessage: status === 200 ? '' : 'no'}});
  // ClientStateNotFound on pull: the callback, then no more pulls.
  let pulls = 0;
  const a = make(lib, {puller: async (...args) => (pulls++, answer({error: 'ClientStateNotFound'})(...args))});
  let notFound = 0;
  a.onClientStateNotFound = () => notFound++;
  await a.pull();
  await new Promise((r) => setTimeout(r, 50));
  out.notFound = notFound;
  await a.pull();
  out.pullsAfterNotFound = pulls;
  await a.close();
  // VersionNotSupported: the reason.
  const reasons = [];
  const b = make(lib, {puller: answer({error: 'VersionNotSupported', versionType: 'schema'})});
  b.onUpdateNeeded = (r) => reasons.push(r);
  await b.pull();
  await new Promise((r) => setTimeout(r, 50));
  out.reasons = reasons;
  await b.close();
  // 401: getAuth's answer is used for the retry.
  const auths = [];
  const c = make(lib, {
    auth: 'stale',
    puller: async (body) => {
      return answer({cookie: 1, lastMutationIDChanges: {}, patch: [{op: 'put', key: 'ok', value: 1}]}, 200)(body);
    },
  });
  c.getAuth = async () => {
    auths.push('asked');
    return 'fresh';
  };
  await c.pull();
  out.pulled = await c.query((tx) => tx.get('ok'));
  out.auths = auths;
  await c.close();
  return out;
});

// --- Secondary indexes ---------------------------------------------------------
// The `indexes` option as Replicache 15 reads it: prefix on the primary key,
// jsonPointer into the value (escapes, array positions, the whole value),
// allowEmpty. Values the pointer does not find a string (or an array of
// strings) in are not indexed.
const INDEXES = {
  byName: {jsonPointer: '/name'},
  todoTags: {prefix: 'todo/', jsonPointer: '/tags', allowEmpty: true},
  escaped: {jsonPointer: '/a~1b/~0c', allowEmpty: true},
  second: {jsonPointer: '/list/1'},
  whole: {jsonPointer: ''},
};
const INDEXED = [
  ['todo/1', {name: 'walk', tags: ['home', 'dog']}],
  ['todo/2', {name: 'shop', tags: ['home', 'home']}],
  ['todo/3', {name: 'walk', tags: []}],
  ['todo/4', {name: 7, tags: ['x', 1]}],
  ['note/1', {name: 'walk', tags: ['home']}],
  ['note/2', {'a/b': {'~c': 'escaped!'}, list: ['zero', 'one']}],
  ['note/3', {list: ['only']}],
  ['s/1', 'plain string'],
  ['s/2', ['arr', 'of', 'strings']],
  ['s/3', 'walk'],
  ['n', null],
];

scenario('indexes: scans by index, every option and result form', async (lib) => {
  const rep = make(lib, {indexes: INDEXES});
  await rep.mutate.putMany(INDEXED);
  const scan = (tx, o) => tx.scan(o).entries().toArray();
  const out = await rep.query(async (tx) => ({
    byName: await scan(tx, {indexName: 'byName'}),
    todoTags: await scan(tx, {indexName: 'todoTags'}),
    escaped: await scan(tx, {indexName: 'escaped'}),
    second: await scan(tx, {indexName: 'second'}),
    whole: await tx.scan({indexName: 'whole'}).keys().toArray(),
    prefix: await tx.scan({indexName: 'byName', prefix: 'wa'}).keys().toArray(),
    startString: await tx.scan({indexName: 'byName', start: {key: 'shop'}}).keys().toArray(),
    startSecondary: await tx.scan({indexName: 'byName', start: {key: ['walk']}}).keys().toArray(),
    startSecondaryExclusive: await tx.scan({indexName: 'byName', start: {key: ['shop'], exclusive: true}}).keys().toArray(),
    startBoth: await tx.scan({indexName: 'byName', start: {key: ['walk', 'note/2']}}).keys().toArray(),
    startBothExclusive: await tx.scan({indexName: 'byName', start: {key: ['walk', 'todo/1'], exclusive: true}}).keys().toArray(),
    startBothUndefined: await tx.scan({indexName: 'byName', start: {key: ['walk', undefined], exclusive: true}}).keys().toArray(),
    startBetween: await tx.scan({indexName: 'byName', start: {key: 'sz'}}).keys().toArray(),
    prefixAndStart: await tx.scan({indexName: 'todoTags', prefix: 'h', start: {key: ['home', 'todo/2']}}).keys().toArray(),
    startBeforePrefix: await tx.scan({indexName: 'todoTags', prefix: 'h', start: {key: ['a']}}).keys().toArray(),
    startAfterPrefix: await tx.scan({indexName: 'todoTags', prefix: 'd', start: {key: ['e']}}).keys().toArray(),
    limit: await tx.scan({indexName: 'byName', limit: 2}).values().toArray(),
    limitStart: await tx.scan({indexName: 'byName', limit: 1, start: {key: ['walk', 'note/1'], exclusive: true}}).entries().toArray(),
    zeroLimit: await tx.scan({indexName: 'byName', limit: 0}).keys().toArray(),
    toArray: await tx.scan({indexName: 'todoTags', prefix: 'ho'}).toArray(),
    iterated: await (async () => {
      const seen = [];
      for await (const v of tx.scan({indexName: 'byName', prefix: 'shop'})) seen.push(v);
      for await (const [k] of tx.scan({indexName: 'todoTags'}).entries()) seen.push(k);
      const it = tx.scan({indexName: 'whole'}).keys();
      seen.push((await it.next()).value);
      return seen;
    })(),
    unknown: await tx.scan({indexName: 'nope'}).toArray().then(() => 'resolved', (e) => e.message),
  }));
  await rep.close();
  return out;
});

scenario('indexes: kept by mutations (read inside them too), pulls and rebases', async (lib) => {
  let sync;
  const rep = make(lib, {
    indexes: INDEXES,
    puller: (b, id) => sync.puller(b, id),
    pusher: (b, id) => sync.pusher(b, id),
    // Holds pushes back for the scenario (well under a second). Not longer:
    // Replicache leaves this timer running after close(), and Node waits
    // for it before the test file ends.
    pushDelay: 10000,
    mutators: {
      ...mutators,
      // Writes, then reads its own writes through the index.
      async rename(tx, {key, name}) {
        const v = (await tx.get(key)) ?? {};
        await tx.set(key, {...v, name});
        return tx.scan({indexName: 'byName'}).keys().toArray();
      },
      async delThenScan(tx, key) {
        await tx.del(key);
        return tx.scan({indexName: 'byName'}).keys().toArray();
      },
      // Copies the count of walks into `walks` (replayed on a rebase).
      async countWalks(tx) {
        const n = (await tx.scan({indexName: 'byName', prefix: 'walk'}).keys().toArray()).length;
        await tx.set('walks', n);
        return n;
      },
    },
  });
  sync = scriptedSync(rep);
  const out = {};
  const byName = () => rep.query((tx) => tx.scan({indexName: 'byName'}).entries().toArray());
  await rep.mutate.putMany(INDEXED);
  out.rename = await rep.mutate.rename({key: 'todo/2', name: 'walk'});
  out.renameAway = await rep.mutate.rename({key: 'todo/1', name: 'zzz'});
  out.delThenScan = await rep.mutate.delThenScan('s/3');
  out.count = await rep.mutate.countWalks();
  out.afterMutations = await byName();
  // The server has other data: the pending mutations rebase onto it.
  sync.answers.push({
    cookie: 1,
    lastMutationIDChanges: {},
    patch: [
      {op: 'put', key: 'srv/1', value: {name: 'walk'}},
      {op: 'put', key: 'srv/2', value: {name: 'run'}},
      {op: 'put', key: 'todo/2', value: {name: 'server says', tags: ['work']}},
    ],
  });
  await rep.pull();
  out.afterRebase = await byName();
  out.walksAfterRebase = await rep.query((tx) => tx.get('walks'));
  out.tagsAfterRebase = await rep.query((tx) => tx.scan({indexName: 'todoTags'}).keys().toArray());
  // Everything confirmed; the server deletes and changes entries.
  sync.answers.push({
    cookie: 2,
    lastMutationIDChanges: {'<client>': 5},
    patch: [
      {op: 'del', key: 'srv/1'},
      {op: 'put', key: 'srv/2', value: {name: 'jog', tags: ['a']}},
      {op: 'put', key: 'todo/9', value: {name: 'new', tags: ['z', 'a']}},
    ],
  });
  await rep.pull();
  out.afterPatch = await byName();
  out.tagsAfterPatch = await rep.query((tx) => tx.scan({indexName: 'todoTags'}).entries().toArray());
  // A clear: only what comes after it is indexed.
  sync.answers.push({cookie: 3, lastMutationIDChanges: {}, patch: [{op: 'clear'}, {op: 'put', key: 'x', value: {name: 'after clear'}}]});
  await rep.pull();
  out.afterClear = await byName();
  out.wholeAfterClear = await rep.query((tx) => tx.scan({indexName: 'whole'}).keys().toArray());
  await rep.close();
  return out;
});

scenario('indexes: watch by index, with and without the initial values', async (lib) => {
  const rep = make(lib, {indexes: INDEXES});
  await rep.mutate.putMany([
    ['todo/1', {name: 'a', tags: ['x']}],
    ['note/1', {name: 'b'}],
  ]);
  const diffs = [];
  const initial = [];
  const tags = [];
  const stop = rep.experimentalWatch((d) => diffs.push(d), {indexName: 'byName'});
  const stopInitial = rep.experimentalWatch((d) => initial.push(d), {indexName: 'byName', prefix: 'b', initialValuesInFirstDiff: true});
  const stopTags = rep.experimentalWatch((d) => tags.push(d), {indexName: 'todoTags'});
  await new Promise((r) => setTimeout(r, 20));
  await rep.mutate.put({key: 'todo/1', value: {name: 'a', tags: ['x', 'y']}}); // same name: change
  await rep.mutate.put({key: 'note/1', value: {name: 'bb'}}); // moves: del + add
  await rep.mutate.put({key: 'note/2', value: {other: 1}}); // not indexed: nothing
  await rep.mutate.putMany([
    ['todo/2', {name: 'b2', tags: ['y']}],
    ['todo/3', {name: 'a'}],
  ]);
  await rep.mutate.del('todo/1');
  await rep.mutate.put({key: 'todo/3', value: {name: 'a'}}); // equal value: no diff
  await new Promise((r) => setTimeout(r, 20));
  stop();
  stopInitial();
  stopTags();
  await rep.mutate.put({key: 'todo/5', value: {name: 'late'}});
  await new Promise((r) => setTimeout(r, 20));
  await rep.close();
  return {diffs, initial, tags};
});

scenario('indexes: subscriptions over index scans re-run when their entries change', async (lib) => {
  const rep = make(lib, {indexes: INDEXES});
  const log = [];
  rep.subscribe((tx) => tx.scan({indexName: 'byName', prefix: 'w'}).entries().toArray(), {onData: (d) => log.push(['w', d])});
  rep.subscribe((tx) => tx.scan({indexName: 'todoTags', start: {key: ['m']}, limit: 2}).keys().toArray(), {onData: (d) => log.push(['tags', d])});
  const {steps, step} = await subscriptionSteps(log, 2);
  await step('walk', () => rep.mutate.put({key: 'a', value: {name: 'walk'}}));
  await step('run (no w)', () => rep.mutate.put({key: 'b', value: {name: 'run'}}));
  await step('b to wade', () => rep.mutate.put({key: 'b', value: {name: 'wade'}}));
  await step('todo tags', () => rep.mutate.put({key: 'todo/1', value: {tags: ['p', 'a']}}));
  await step('more tags', () => rep.mutate.put({key: 'todo/2', value: {tags: ['n', 'o']}}));
  await step('del a', () => rep.mutate.del('a'));
  await step('same value', () => rep.mutate.put({key: 'b', value: {name: 'wade'}}));
  await rep.close();
  return {first: log.slice(0, 2), steps};
});
