// Secondary indexes through the packed package: scans, watches and
// subscriptions by index, and that an index gives the same entries however
// its values arrived (a mutator's, which JS keys; a custom puller's, which
// JS keys too; the store's on reopening, which the core keys from their
// text). test/conformance.test.js compares the same API with Replicache.
import 'fake-indexeddb/auto';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, sleep, waitFor} from './helpers/server.js';

const {Replicache} = await loadReplicore();

let n = 0;
const uniqueName = (what) => `indexes-${what}-${process.pid}-${n++}`;
const ok = {httpStatusCode: 200, errorMessage: ''};

const mutators = {
  async putMany(tx, entries) {
    for (const [k, v] of entries) await tx.set(k, v);
  },
  async del(tx, key) {
    return tx.del(key);
  },
};

// Pointers and values at the edges of the rules (core/index.h).
const INDEXES = {
  name: {jsonPointer: '/name'},
  tags: {prefix: 't/', jsonPointer: '/tags', allowEmpty: true},
  escaped: {jsonPointer: '/a~1b/m~0n'},
  position: {jsonPointer: '/list/1x'}, // parseInt reads "1"
  negZero: {jsonPointer: '/list/-0'}, // element 0
  leadingZero: {jsonPointer: '/list/01'}, // nothing
  whole: {jsonPointer: ''},
  invalid: {jsonPointer: 'name'}, // not a pointer: nothing
};
const VALUES = [
  ['t/1', {name: 'Ünïcødé 🎉', tags: ['b', 'a', 'b']}],
  ['t/2', {name: 'plain', tags: ['a', 2]}],
  ['t/3', {name: 'nul\u0000inside', tags: []}],
  ['u/1', {name: 'outside the tags prefix', tags: ['a']}],
  ['v/1', {'a/b': {'m~n': 'escaped'}, list: ['zero', 'one']}],
  ['v/2', {list: ['only']}],
  ['v/3', {name: 5, list: [1, 'one']}],
  ['w/1', 'whole string'],
  ['w/2', ['s1', 's2', 's1']],
  ['w/3', ['s3', null]],
  ['x', null],
  ['y', {name: {nested: 'object'}}],
  ['prim\u0000ary', {name: 'nul in the primary key'}],
];

async function allIndexes(rep) {
  return rep.query(async (tx) => {
    const out = {};
    for (const name of Object.keys(INDEXES)) out[name] = await tx.scan({indexName: name}).entries().toArray();
    return out;
  });
}

test('an index gives the same entries for values from a mutator, a puller and the store', async () => {
  const name = uniqueName('sources');
  const a = new Replicache({name, mutators, pullInterval: null, logSinks: [memorySink()], indexes: INDEXES});
  await a.mutate.putMany(VALUES);
  const fromMutator = await allIndexes(a);
  // What the rules say, spot-checked.
  assert.deepEqual(fromMutator.name.map(([k]) => k), [
    ['nul in the primary key', 'prim\u0000ary'],
    ['outside the tags prefix', 'u/1'],
    ['plain', 't/2'],
    ['Ünïcødé 🎉', 't/1'],
  ]);
  assert.deepEqual(fromMutator.tags.map(([k]) => k), [['a', 't/1'], ['b', 't/1']]);
  assert.deepEqual(fromMutator.escaped, [[['escaped', 'v/1'], VALUES[4][1]]]);
  assert.deepEqual(fromMutator.position.map(([k]) => k), [['one', 'v/1'], ['one', 'v/3']]);
  assert.deepEqual(fromMutator.negZero.map(([k]) => k), [['only', 'v/2'], ['zero', 'v/1']]);
  assert.deepEqual(fromMutator.leadingZero, []);
  assert.deepEqual(fromMutator.whole.map(([k]) => k), [['s1', 'w/2'], ['s2', 'w/2'], ['whole string', 'w/1']]);
  assert.deepEqual(fromMutator.invalid, []);
  await a.flush();
  await a.close();

  // Reopened: the values come from the store as text, keyed by the core.
  const b = new Replicache({name, mutators, pullInterval: null, logSinks: [memorySink()], indexes: INDEXES});
  assert.deepEqual(await allIndexes(b), fromMutator);
  await b.close();

  // Pulled by a custom puller: JS keys its values.
  const c = new Replicache({
    name: uniqueName('puller'),
    kvStore: 'mem',
    mutators,
    pullInterval: null,
    logSinks: [memorySink()],
    indexes: INDEXES,
    puller: async () => ({
      response: {cookie: 1, lastMutationIDChanges: {}, patch: VALUES.map(([key, value]) => ({op: 'put', key, value}))},
      httpRequestInfo: ok,
    }),
  });
  await c.pull();
  assert.deepEqual(await allIndexes(c), fromMutator);
  await c.close();
});

test('index scans: result forms, options, errors', async () => {
  const rep = new Replicache({name: uniqueName('forms'), kvStore: 'mem', mutators, pullInterval: null, logSinks: [memorySink()], indexes: INDEXES});
  await rep.mutate.putMany([
    ['a', {name: 'x'}],
    ['b', {name: 'y'}],
    ['c', {name: 'x'}],
  ]);
  await rep.query(async (tx) => {
    const s = tx.scan({indexName: 'name'});
    assert.deepEqual(await s.keys().toArray(), [['x', 'a'], ['x', 'c'], ['y', 'b']]);
    assert.deepEqual(await s.values().toArray(), [{name: 'x'}, {name: 'x'}, {name: 'y'}]);
    assert.deepEqual(await s.toArray(), [{name: 'x'}, {name: 'x'}, {name: 'y'}]);
    // Values are the stored values, shared with primary reads.
    const [first] = await tx.scan({indexName: 'name', limit: 1}).values().toArray();
    assert.equal(first, await tx.get('a'));
    assert.ok(Object.isFrozen(first));
    const seen = [];
    for await (const [k, v] of tx.scan({indexName: 'name', prefix: 'x'}).entries()) seen.push([k[1], v.name]);
    assert.deepEqual(seen, [['a', 'x'], ['c', 'x']]);
    // An iterator stopped early, then the rest.
    const it = tx.scan({indexName: 'name'}).keys();
    assert.deepEqual((await it.next()).value, ['x', 'a']);
    assert.deepEqual(await it.toArray(), [['x', 'c'], ['y', 'b']]);
    await assert.rejects(tx.scan({indexName: 'missing'}).toArray(), /Unknown index name: missing/);
    assert.throws(() => tx.scan({indexName: 'name', start: {key: 5}}), TypeError);
    assert.throws(() => tx.scan({indexName: 3}), TypeError);
  });
  assert.throws(() => new Replicache({name: 'bad', kvStore: 'mem', indexes: {i: {}}}), /jsonPointer/);
  assert.throws(() => new Replicache({name: 'bad', kvStore: 'mem', indexes: {i: {jsonPointer: '/a', prefix: 1}}}), /prefix/);
  await rep.close();
});

test('index watches and subscriptions follow mutations, pulls and rebases', async () => {
  let answer = null;
  const rep = new Replicache({
    name: uniqueName('live'),
    kvStore: 'mem',
    mutators,
    pullInterval: null,
    pushDelay: 1e9,
    logSinks: [memorySink()],
    indexes: INDEXES,
    puller: async (body) => ({response: answer ?? {cookie: body.cookie, lastMutationIDChanges: {}, patch: []}, httpRequestInfo: ok}),
    pusher: async () => ({httpRequestInfo: ok}),
  });
  const diffs = [];
  const results = [];
  rep.experimentalWatch((d) => diffs.push(...d.map((o) => [o.op, o.key])), {indexName: 'name', prefix: 'b'});
  rep.subscribe((tx) => tx.scan({indexName: 'tags', prefix: 'a'}).keys().toArray(), {onData: (d) => results.push(d)});
  await waitFor(() => results.length === 1);
  await rep.mutate.putMany([
    ['k1', {name: 'bob'}],
    ['t/1', {tags: ['a1', 'b1']}],
  ]);
  assert.deepEqual(diffs, [['add', ['bob', 'k1']]]);
  assert.deepEqual(results.at(-1), [['a1', 't/1']]);
  // A pull that the pending mutations rebase onto.
  answer = {
    cookie: 1,
    lastMutationIDChanges: {},
    patch: [
      {op: 'put', key: 'k2', value: {name: 'bea'}},
      {op: 'put', key: 't/2', value: {tags: ['a2']}},
    ],
  };
  await rep.pull();
  await sleep(10);
  assert.deepEqual(diffs.slice(1), [['add', ['bea', 'k2']]]);
  assert.deepEqual(results.at(-1), [['a1', 't/1'], ['a2', 't/2']]);
  // The pull confirms everything and clears; what the mutations wrote goes.
  answer = {cookie: 2, lastMutationIDChanges: {[rep.clientID]: 1}, patch: [{op: 'clear'}, {op: 'put', key: 'k3', value: {name: 'ben'}}]};
  await rep.pull();
  await sleep(10);
  // In key order, as Replicache's diffs are.
  assert.deepEqual(diffs.slice(2), [
    ['del', ['bea', 'k2']],
    ['add', ['ben', 'k3']],
    ['del', ['bob', 'k1']],
  ]);
  assert.deepEqual(results.at(-1), []);
  const runs = results.length;
  await rep.mutate.putMany([['u', {name: 'unrelated'}]]);
  await sleep(10);
  assert.equal(results.length, runs);
  await rep.close();
});

test('a lazy open answers an index scan only with every page read', async () => {
  const name = uniqueName('lazy');
  const a = new Replicache({name, mutators, pullInterval: null, logSinks: [memorySink()]});
  const entries = [];
  for (let i = 0; i < 2000; i++) entries.push([`k${String(i).padStart(5, '0')}`, {name: `n${i % 7}`, pad: 'x'.repeat(500)}]);
  for (let i = 0; i < entries.length; i += 500) await a.mutate.putMany(entries.slice(i, i + 500));
  await a.flush();
  await a.close();
  const b = new Replicache({name, mutators, pullInterval: null, logSinks: [memorySink()], indexes: INDEXES});
  // Before the background loader has read anything.
  const [keys, one] = await Promise.all([
    b.query((tx) => tx.scan({indexName: 'name', prefix: 'n3'}).keys().toArray()),
    b.query((tx) => tx.get('k00003')),
  ]);
  assert.equal(one.name, 'n3');
  assert.equal(keys.length, entries.filter(([, v]) => v.name === 'n3').length);
  assert.deepEqual(keys[0], ['n3', 'k00003']);
  assert.ok(b._persist.pages.done);
  await b.close();
});
