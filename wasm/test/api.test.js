// The local API: mutators, reads, scans, subscriptions, watches, values,
// errors. No server (pullInterval null, no URLs).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, sleep, waitFor} from './helpers/server.js';

const {Replicache, TransactionClosedError} = await loadReplicore();

let n = 0;
function make(mutators = {}, extra = {}) {
  const sink = memorySink();
  const rep = new Replicache({
    name: `api-${process.pid}-${n++}`,
    pullInterval: null,
    logSinks: [sink],
    mutators: {
      async put(tx, {key, value}) {
        await tx.set(key, value);
      },
      async del(tx, key) {
        return tx.del(key);
      },
      async putMany(tx, entries) {
        for (const [k, v] of entries) await tx.set(k, v);
      },
      ...mutators,
    },
    ...extra,
  });
  rep.sink = sink;
  return rep;
}

test('construction: options are checked', () => {
  assert.throws(() => new Replicache(), /options/);
  assert.throws(() => new Replicache({name: ''}), /name/);
  assert.throws(() => new Replicache({name: 'x', mutators: {a: 1}}), /mutator "a"/);
});

test('identity: clientID, clientGroupID, profileID, name, schemaVersion', async () => {
  const a = make({}, {schemaVersion: '3'});
  const b = make();
  assert.equal(typeof a.clientID, 'string');
  assert.ok(a.clientID.length >= 10);
  assert.notEqual(a.clientID, b.clientID);
  assert.ok(a.clientGroupID instanceof Promise);
  const g = await a.clientGroupID;
  assert.equal(typeof g, 'string');
  assert.notEqual(g, await b.clientGroupID); // different name and schema
  const c = new Replicache({name: a.name, schemaVersion: '3', pullInterval: null, mutators: {put() {}, del() {}, putMany() {}}});
  // No store here (Node has no IndexedDB): each instance is a group of its
  // own, never shared with another user's (persist.test.js covers groups
  // shared through a store).
  assert.notEqual(await c.clientGroupID, g);
  assert.match(await a.profileID, /^p/);
  assert.equal(a.schemaVersion, '3');
  assert.equal(a.online, true);
  assert.equal(a.closed, false);
  assert.deepEqual(a.requestOptions, {minDelayMs: 30, maxDelayMs: 60000});
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('mutate resolves to the mutator result; tx has mutationID, reason, clientID', async () => {
  const seen = [];
  const rep = make({
    async info(tx, args) {
      seen.push({id: tx.mutationID, reason: tx.reason, clientID: tx.clientID, args});
      await tx.set('k', args);
      return {echo: args};
    },
    sync(tx) {
      return 42;
    },
  });
  assert.deepEqual(await rep.mutate.info({x: 1}), {echo: {x: 1}});
  assert.equal(await rep.mutate.sync(), 42);
  assert.deepEqual(await rep.mutate.info('two'), {echo: 'two'});
  assert.deepEqual(seen, [
    {id: 1, reason: 'initial', clientID: rep.clientID, args: {x: 1}},
    {id: 3, reason: 'initial', clientID: rep.clientID, args: 'two'},
  ]);
  const pending = await rep.experimentalPendingMutations();
  assert.deepEqual(pending, [
    {name: 'info', id: 1, args: {x: 1}, clientID: rep.clientID},
    {name: 'sync', id: 2, args: null, clientID: rep.clientID},
    {name: 'info', id: 3, args: 'two', clientID: rep.clientID},
  ]);
  await rep.close();
});

test('writes are serialized in call order and reads see their own writes', async () => {
  const rep = make({
    async append(tx, x) {
      const cur = (await tx.get('list')) ?? [];
      await sleep(Math.random() * 3);
      await tx.set('list', [...cur, x]);
      assert.deepEqual(await tx.get('list'), [...cur, x]);
      assert.equal(await tx.has('list'), true);
    },
  });
  await Promise.all([1, 2, 3, 4, 5].map((i) => rep.mutate.append(i)));
  assert.deepEqual(await rep.query((tx) => tx.get('list')), [1, 2, 3, 4, 5]);
  await rep.close();
});

test('a throwing mutator writes nothing and rejects', async () => {
  const rep = make({
    async bad(tx) {
      await tx.set('x', 1);
      throw new Error('nope');
    },
  });
  await assert.rejects(rep.mutate.bad(), /nope/);
  assert.equal(await rep.query((tx) => tx.has('x')), false);
  assert.deepEqual(await rep.experimentalPendingMutations(), []);
  await rep.mutate.put({key: 'y', value: 2});
  assert.equal(await rep.query((tx) => tx.get('y')), 2);
  await rep.close();
});

test('query: get, has, isEmpty, del', async () => {
  const rep = make();
  assert.equal(await rep.query((tx) => tx.isEmpty()), true);
  assert.equal(await rep.query((tx) => tx.get('a')), undefined);
  await rep.mutate.put({key: 'a', value: {n: 1, s: 'é😀', arr: [1, null, true]}});
  assert.deepEqual(await rep.query((tx) => tx.get('a')), {n: 1, s: 'é😀', arr: [1, null, true]});
  assert.equal(await rep.query((tx) => tx.has('a')), true);
  assert.equal(await rep.query((tx) => tx.isEmpty()), false);
  assert.equal(await rep.mutate.del('a'), true);
  assert.equal(await rep.mutate.del('a'), false);
  assert.equal(await rep.query((tx) => tx.has('a')), false);
  assert.equal(await rep.query(() => 'plain'), 'plain');
  await rep.close();
});

test('scan: empty, NUL and non-ASCII keys come back exactly; a value set and read back is a copy', async () => {
  const rep = make();
  const original = {deep: {list: [1, 'two', null]}};
  await rep.mutate.putMany([
    ['', 'empty'],
    ['x\u0000y', 'nul'],
    ['\u00e9\u4e2d\ud83d\ude00', 'wide'],
    ['o', original],
  ]);
  original.deep.list.push('later');
  const entries = await rep.query((tx) => tx.scan().entries().toArray());
  assert.deepEqual(entries, [
    ['', 'empty'],
    ['o', {deep: {list: [1, 'two', null]}}],
    ['x\u0000y', 'nul'],
    ['\u00e9\u4e2d\ud83d\ude00', 'wide'],
  ]);
  assert.ok(Object.isFrozen(entries[1][1].deep.list));
  assert.ok(!Object.isFrozen(original), 'mutation args are copies: the caller\'s object is not frozen');
  const again = await rep.query((tx) => tx.scan({prefix: 'x'}).entries().toArray());
  assert.deepEqual(again, [['x\u0000y', 'nul']]);
  await rep.close();
});

test('scan: prefix, start, exclusive, limit, keys/values/entries/toArray/for await', async () => {
  const rep = make();
  await rep.mutate.putMany([
    ['a/1', 1],
    ['a/2', 2],
    ['a/3', 3],
    ['b/1', 'b1'],
    ['c', {c: true}],
  ]);
  const r = await rep.query(async (tx) => ({
    all: await tx.scan().toArray(),
    keys: await tx.scan({prefix: 'a/'}).keys().toArray(),
    values: await tx.scan({prefix: 'a/'}).values().toArray(),
    entries: await tx.scan({prefix: 'a/', limit: 2}).entries().toArray(),
    start: await tx.scan({start: {key: 'a/2'}}).keys().toArray(),
    excl: await tx.scan({start: {key: 'a/2', exclusive: true}, limit: 2}).keys().toArray(),
    prefixStart: await tx.scan({prefix: 'a/', start: {key: 'a/3'}}).keys().toArray(),
    none: await tx.scan({prefix: 'zzz'}).toArray(),
    limit0: await tx.scan({limit: 0}).toArray(),
  }));
  assert.deepEqual(r.all, [1, 2, 3, 'b1', {c: true}]);
  assert.deepEqual(r.keys, ['a/1', 'a/2', 'a/3']);
  assert.deepEqual(r.values, [1, 2, 3]);
  assert.deepEqual(r.entries, [
    ['a/1', 1],
    ['a/2', 2],
  ]);
  assert.deepEqual(r.start, ['a/2', 'a/3', 'b/1', 'c']);
  assert.deepEqual(r.excl, ['a/3', 'b/1']);
  assert.deepEqual(r.prefixStart, ['a/3']);
  assert.deepEqual(r.none, []);
  assert.deepEqual(r.limit0, r.all, 'limit 0 is no limit, as in Replicache 15');
  const iterated = await rep.query(async (tx) => {
    const out = [];
    for await (const v of tx.scan({prefix: 'a/'})) out.push(v);
    for await (const [k, v] of tx.scan({prefix: 'b/'}).entries()) out.push(k, v);
    for await (const k of tx.scan({prefix: 'a/'}).keys()) {
      out.push(k);
      break;
    }
    return out;
  });
  assert.deepEqual(iterated, [1, 2, 3, 'b/1', 'b1', 'a/1']);
  // scans inside a mutator see the mutator's own writes
  const inside = await new Promise((resolve, reject) => {
    const r2 = make({
      async m(tx) {
        await tx.set('x/2', 2);
        await tx.set('x/1', 1);
        await tx.del('x/1');
        return tx.scan({prefix: 'x/'}).entries().toArray();
      },
    });
    r2.mutate.m().then((v) => r2.close().then(() => resolve(v)), reject);
  });
  assert.deepEqual(inside, [['x/2', 2]]);
  await rep.close();
});

test('values read are frozen, shared while unchanged, and set() freezes what it keeps', async () => {
  const rep = make();
  const mine = {a: {b: [1, 2]}};
  await rep.mutate.put({key: 'k', value: mine});
  // put's args are a frozen copy; the mutator set that copy, frozen.
  assert.ok(!Object.isFrozen(mine), 'mutation args are copied, not frozen in place');
  mine.a.b.push(3); // does not change what is stored
  const v1 = await rep.query((tx) => tx.get('k'));
  const v2 = await rep.query(async (tx) => (await tx.scan().toArray())[0]);
  assert.deepEqual(v1, {a: {b: [1, 2]}});
  assert.equal(v1, v2, 'the same value object is returned until it changes');
  assert.ok(Object.isFrozen(v1) && Object.isFrozen(v1.a) && Object.isFrozen(v1.a.b));
  assert.throws(() => {
    'use strict';
    v1.a.b.push(9);
  }, TypeError);
  // values given to mutators as args are frozen copies too
  let argsFrozen = null;
  const rep2 = make({
    async m(tx, args) {
      argsFrozen = Object.isFrozen(args) && Object.isFrozen(args.inner);
    },
  });
  await rep2.mutate.m({inner: {x: 1}});
  assert.equal(argsFrozen, true);
  await Promise.all([rep.close(), rep2.close()]);
});

test('set() keeps the value it is given, frozen, and reads return that very object', async () => {
  let made = null, sameInTx = false, pushError = null;
  const rep = make({
    async build(tx) {
      made = {list: [1, {deep: 'x'}], n: 2};
      await tx.set('b', made);
      sameInTx = (await tx.get('b')) === made;
      try {
        made.list.push(3);
      } catch (e) {
        pushError = e;
      }
    },
  });
  await rep.mutate.build();
  assert.ok(sameInTx, 'a mutator reads back its own write');
  assert.ok(pushError instanceof TypeError, 'the value set is frozen');
  assert.ok(Object.isFrozen(made.list[1]), 'deeply');
  assert.equal(await rep.query((tx) => tx.get('b')), made, 'no copy is made');
  assert.deepEqual(await rep.query((tx) => tx.scan().entries().toArray()), [['b', {list: [1, {deep: 'x'}], n: 2}]]);
  await rep.close();
});

test('non-JSON values get clear errors', async () => {
  const rep = make({
    async setRaw(tx, which) {
      const bad = {
        undef: undefined,
        fn: () => 1,
        nan: NaN,
        inf: {x: Infinity},
        date: {when: new Date(0)},
        sym: Symbol('s'),
        big: 10n,
        arrUndef: [1, undefined],
      };
      if (which === 'deep') {
        let d = 1;
        for (let i = 0; i < 300; i++) d = [d];
        await tx.set('k', d);
      }
      if (which === 'cycle') {
        const o = {};
        o.self = o;
        await tx.set('k', o);
      }
      await tx.set('k', bad[which]);
    },
  });
  for (const [which, re] of [
    ['undef', /undefined/],
    ['fn', /function/],
    ['nan', /NaN/],
    ['inf', /Infinity/],
    ['date', /Date/],
    ['sym', /symbol/],
    ['big', /bigint/],
    ['arrUndef', /\[1\] is undefined/],
    ['cycle', /cycle/],
    ['deep', /nests deeper than 250 levels/],
  ]) {
    await assert.rejects(rep.mutate.setRaw(which), re, which);
  }
  // undefined object properties are dropped like JSON.stringify does
  await rep.mutate.put({key: 'u', value: {a: 1, b: undefined}});
  assert.deepEqual(await rep.query((tx) => tx.get('u')), {a: 1});
  // mutator args are checked before anything runs
  await assert.rejects(rep.mutate.put({key: 'n', value: NaN}), /NaN/);
  await assert.rejects(rep.mutate.put(() => 1), /function/);
  // keys must be strings
  await assert.rejects(rep.query((tx) => tx.get(1)), /key must be a string/);
  assert.equal(await rep.query((tx) => tx.has('k')), false);
  await rep.close();
});

test('unknown mutator: a clear error', async () => {
  const rep = make();
  await assert.rejects(rep.mutate.nope({}), /unknown mutator "nope"/);
  await rep.close();
});

test('transactions are closed after their body returns', async () => {
  const rep = make({
    async leak(tx) {
      return tx;
    },
  });
  const rtx = await rep.query((tx) => tx);
  await assert.rejects(rtx.get('a'), TransactionClosedError);
  assert.throws(() => rtx.scan(), TransactionClosedError);
  const lazy = await rep.query((tx) => tx.scan());
  await assert.rejects(lazy.toArray(), TransactionClosedError);
  const wtx = await rep.mutate.leak();
  await assert.rejects(wtx.set('a', 1), TransactionClosedError);
  await rep.close();
});

test('subscribe: initial onData, re-runs only when read keys change, onData only on change', async () => {
  const rep = make();
  await rep.mutate.putMany([
    ['a', 1],
    ['b', 1],
    ['list/1', 'x'],
  ]);
  let runsA = 0;
  const dataA = [];
  const unsubA = rep.subscribe(
    async (tx) => {
      runsA++;
      return tx.get('a');
    },
    (d) => dataA.push(d),
  );
  let runsList = 0;
  const dataList = [];
  const unsubList = rep.subscribe(
    async (tx) => {
      runsList++;
      return tx.scan({prefix: 'list/'}).entries().toArray();
    },
    {onData: (d) => dataList.push(d)},
  );
  await waitFor(() => dataA.length === 1 && dataList.length === 1, {what: 'initial data'});
  assert.deepEqual(dataA, [1]);
  await rep.mutate.put({key: 'b', value: 2}); // neither subscription read b
  await sleep(20);
  assert.equal(runsA, 1);
  assert.equal(runsList, 1);
  await rep.mutate.put({key: 'a', value: 2});
  await waitFor(() => dataA.length === 2, {what: 'a changed'});
  assert.deepEqual(dataA, [1, 2]);
  await rep.mutate.put({key: 'a', value: 2}); // same value: no change at all
  await rep.mutate.put({key: 'list/2', value: 'y'}); // inside the scanned prefix
  await waitFor(() => dataList.length === 2, {what: 'list changed'});
  assert.deepEqual(dataList[1], [
    ['list/1', 'x'],
    ['list/2', 'y'],
  ]);
  assert.equal(runsA, 2);
  unsubA();
  await rep.mutate.put({key: 'a', value: 3});
  await sleep(20);
  assert.deepEqual(dataA, [1, 2]);
  unsubList();
  await rep.close();
});

test('subscribe: when mutate() resolves, the subscriptions it changed have their new data', async () => {
  // Replicache's order: "await mutate, then assert or unsubscribe" sees the
  // new value. Many times, since a race would pass now and then.
  const rep = make();
  await rep.mutate.put({key: 'n', value: 0});
  const seen = [];
  const unsub = rep.subscribe(async (tx) => {
    await sleep(0); // a query that awaits something else too
    return tx.get('n');
  }, (v) => seen.push(v));
  await waitFor(() => seen.length === 1, {what: 'initial data'});
  for (let i = 1; i <= 50; i++) {
    await rep.mutate.put({key: 'n', value: i});
    assert.equal(seen.at(-1), i, `after mutate ${i}`);
  }
  // A subscription that did not read the key does not hold mutate up.
  unsub();
  await rep.mutate.put({key: 'n', value: 'done'});
  assert.equal(seen.at(-1), 50);
  await rep.close();
});

test('subscribe: isEqual, onError, onDone', async () => {
  const rep = make();
  await rep.mutate.put({key: 'n', value: 1});
  const data = [];
  let done = 0;
  const unsub = rep.subscribe(async (tx) => ({n: await tx.get('n'), t: Math.random()}), {
    onData: (d) => data.push(d.n),
    isEqual: (a, b) => a.n === b.n,
    onDone: () => done++,
  });
  await waitFor(() => data.length === 1);
  await rep.mutate.put({key: 'n', value: 2});
  await waitFor(() => data.length === 2);
  assert.deepEqual(data, [1, 2]);
  unsub();
  await waitFor(() => done === 1, {what: 'onDone'});

  const errors = [];
  rep.subscribe(
    async (tx) => {
      const v = await tx.get('boom');
      if (v) throw new Error(`bad ${v}`);
      return v ?? null;
    },
    {onData: () => {}, onError: (e) => errors.push(e.message)},
  );
  await sleep(10);
  await rep.mutate.put({key: 'boom', value: 'x'});
  await waitFor(() => errors.length === 1, {what: 'onError'});
  assert.deepEqual(errors, ['bad x']);
  await rep.close();
});

test('subscription results that are the same objects as before do not fire', async () => {
  const rep = make();
  await rep.mutate.putMany([
    ['p/1', {v: 1}],
    ['q', 0],
  ]);
  const data = [];
  rep.subscribe((tx) => tx.scan({prefix: 'p/'}).toArray(), (d) => data.push(d));
  await waitFor(() => data.length === 1);
  // rewriting with an equal value does not re-fire
  await rep.mutate.put({key: 'p/1', value: {v: 1}});
  await sleep(20);
  assert.equal(data.length, 1);
  await rep.close();
});

test('experimentalWatch: prefix, diff ops, initialValuesInFirstDiff', async () => {
  const rep = make();
  await rep.mutate.putMany([
    ['w/a', 1],
    ['other', 1],
  ]);
  const diffs = [];
  const stop = rep.experimentalWatch((d) => diffs.push(d), {prefix: 'w/', initialValuesInFirstDiff: true});
  await waitFor(() => diffs.length === 1, {what: 'initial diff'});
  assert.deepEqual(diffs[0], [{op: 'add', key: 'w/a', newValue: 1}]);
  await rep.mutate.putMany([
    ['w/a', 2],
    ['w/b', {x: 1}],
    ['other', 2],
  ]);
  await waitFor(() => diffs.length === 2);
  assert.deepEqual(diffs[1], [
    {op: 'change', key: 'w/a', oldValue: 1, newValue: 2},
    {op: 'add', key: 'w/b', newValue: {x: 1}},
  ]);
  await rep.mutate.del('w/b');
  await waitFor(() => diffs.length === 3);
  assert.deepEqual(diffs[2], [{op: 'del', key: 'w/b', oldValue: {x: 1}}]);
  assert.ok(Object.isFrozen(diffs[2][0]) && Object.isFrozen(diffs[2][0].oldValue));
  stop();
  await rep.mutate.put({key: 'w/c', value: 1});
  await sleep(20);
  assert.equal(diffs.length, 3);

  const all = [];
  const stopAll = rep.experimentalWatch((d) => all.push(d));
  await sleep(10);
  await rep.mutate.put({key: 'z', value: 1});
  await waitFor(() => all.length === 1);
  assert.deepEqual(all[0], [{op: 'add', key: 'z', newValue: 1}]);
  stopAll();
  // initialValuesInFirstDiff with nothing under the prefix: an empty diff
  const empty = [];
  rep.experimentalWatch((d) => empty.push(d), {prefix: 'nothing/', initialValuesInFirstDiff: true});
  await waitFor(() => empty.length === 1);
  assert.deepEqual(empty[0], []);
  await rep.close();
});

test('close: closed, errors after close, subscriptions done', async () => {
  const rep = make();
  await rep.mutate.put({key: 'a', value: 1});
  let done = 0;
  rep.subscribe((tx) => tx.get('a'), {onData() {}, onDone: () => done++});
  await sleep(5);
  const p = rep.close();
  assert.equal(rep.closed, true);
  await p;
  await rep.close(); // twice is fine
  await assert.rejects(rep.mutate.put({key: 'b', value: 1}), /closed/);
  await assert.rejects(rep.query((tx) => tx.get('a')), /closed/);
  await assert.rejects(rep.experimentalPendingMutations(), /closed/);
  await assert.rejects(rep.pull(), /closed/);
  await assert.rejects(rep.push(), /closed/);
  assert.throws(() => rep.subscribe((tx) => tx.get('a'), () => {}), /closed/);
  assert.throws(() => rep.experimentalWatch(() => {}), /closed/);
  await waitFor(() => done === 1, {what: 'onDone at close'});
});

test('close while a mutation is queued rejects the queued one cleanly', async () => {
  const rep = make({
    async slow(tx) {
      await sleep(20);
      await tx.set('s', 1);
      return 'slow';
    },
  });
  const a = rep.mutate.slow();
  const b = rep.mutate.put({key: 'b', value: 1});
  await sleep(1);
  const c = rep.close();
  assert.equal(await a, 'slow');
  await assert.rejects(b, /closed/);
  await c;
});

test('many values: scan crosses once and values stay cached', async () => {
  const rep = make();
  const entries = [];
  for (let i = 0; i < 5000; i++) entries.push([`k/${String(i).padStart(5, '0')}`, {i, text: 'x'.repeat(20)}]);
  await rep.mutate.putMany(entries);
  const first = await rep.query((tx) => tx.scan({prefix: 'k/'}).toArray());
  assert.equal(first.length, 5000);
  assert.deepEqual(first[1234], {i: 1234, text: 'x'.repeat(20)});
  const second = await rep.query((tx) => tx.scan({prefix: 'k/'}).toArray());
  for (let i = 0; i < 5000; i += 97) assert.equal(first[i], second[i]);
  await rep.close();
});

test('reads run while a mutator runs (they see the last committed state); a mutator may await a query', async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  const rep = make({
    async slow(tx) {
      await tx.set('s', 'new');
      await gate;
    },
    async nested(tx) {
      const outside = await rep.query((rtx) => rtx.get('s'));
      await tx.set('copy', outside);
      return outside;
    },
  });
  await rep.mutate.put({key: 's', value: 'old'});
  const m = rep.mutate.slow();
  await sleep(5);
  assert.equal(await rep.query((tx) => tx.get('s')), 'old', 'a read is not blocked by a running mutator');
  release();
  await m;
  assert.equal(await rep.query((tx) => tx.get('s')), 'new');
  assert.equal(await rep.mutate.nested(), 'new', 'no deadlock');
  assert.equal(await rep.query((tx) => tx.get('copy')), 'new');
  await rep.close();
});

test('a commit waits for open reads, so a read transaction sees one state', async () => {
  const rep = make();
  await rep.mutate.putMany([
    ['a', 1],
    ['b', 1],
  ]);
  let step;
  const stepped = new Promise((r) => (step = r));
  const read = rep.query(async (tx) => {
    const a = await tx.get('a');
    step();
    await sleep(20);
    const b = await tx.get('b');
    return [a, b];
  });
  await stepped;
  const write = rep.mutate.putMany([
    ['a', 2],
    ['b', 2],
  ]);
  assert.deepEqual(await read, [1, 1]);
  await write;
  assert.deepEqual(await rep.query(async (tx) => [await tx.get('a'), await tx.get('b')]), [2, 2]);
  await rep.close();
});

// set() values live in the JS cache for as long as the core holds them
// (host-held values, core/value.h): overwriting a key releases the old one,
// and the next commit's note drops it from the cache.
test('values set are dropped from the JS cache once the core releases them', async () => {
  const rep = make();
  for (let i = 0; i < 200; i++) await rep.mutate.put({key: 'k', value: {i, pad: 'x'.repeat(20)}});
  await rep.mutate.put({key: 'other', value: {n: 1}});
  assert.ok(rep._cache.size <= 4, `cache holds ${rep._cache.size} values for 2 keys`);
  assert.deepEqual(await rep.query((tx) => tx.get('k')), {i: 199, pad: 'x'.repeat(20)});
  await rep.close();
});

// A pending value the server confirms with an equal value (as text, from
// the pull) is not a change: no watch diff, no new onData.
test('confirming a pending write with an equal value notifies no one', async () => {
  let response = null;
  const rep = make({}, {
    async puller() {
      return {response, httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
    },
  });
  response = {cookie: 1, lastMutationIDChanges: {}, patch: []};
  await rep.pull();
  const diffs = [];
  const stop = rep.experimentalWatch((d) => diffs.push(d), {prefix: 'k'});
  const data = [];
  const unsub = rep.subscribe((tx) => tx.get('k'), {onData: (v) => data.push(v)});
  await waitFor(() => data.length === 1, {what: 'initial data'});
  await rep.mutate.put({key: 'k', value: {a: 1, list: [1, 2]}});
  await waitFor(() => data.length === 2 && diffs.length === 1, {what: 'the write'});
  // The server's value: equal JSON, keys in another order, from the pull.
  response = {cookie: 2, lastMutationIDChanges: {[rep.clientID]: 1}, patch: [{op: 'put', key: 'k', value: {list: [1, 2], a: 1}}]};
  await rep.pull();
  assert.deepEqual(await rep.experimentalPendingMutations(), [], 'confirmed');
  await sleep(30);
  assert.equal(diffs.length, 1, JSON.stringify(diffs));
  assert.equal(data.length, 2);
  stop();
  unsub();
  await rep.close();
});
