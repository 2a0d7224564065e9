// Where replicore's time goes in the IndexedDB rows (a program that prints,
// not a test): its cold start (row 7) and its flush (row 7p), in headless
// Chromium, timed from outside the package. Before the instance is made,
// the page wraps the functions of the loaded WebAssembly module (the core's
// calls: loadBegin/loadContinue, writePlan, get, scan...), TextEncoder/
// TextDecoder and IndexedDB's requests with performance.now() probes, then
// prints a timeline of one cold start: what ran inside wasm, what was
// encoding or decoding text, and the gaps (waiting for IndexedDB). It also
// reads the same records with plain IndexedDB (get per key as replicore
// does, and one getAll) to show what the store itself costs.
//
//   node bench/js/profile-persist.js [--keys 1000,10000,100000] [--runs 3] [--flush-only]
//   (after bash bench/run.sh has installed the bench's packages)
process.env.NODE_ENV = 'production';
import fs from 'node:fs';
import path from 'node:path';
import {bundleReplicache, launchChromium, replicoreEntry, startServer} from './chromium.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizes = option('--keys', '1000,10000,100000').split(',').map(Number);
const flushOnly = args.includes('--flush-only');
const runs = Number(option('--runs', 3));

const entry = path.basename(replicoreEntry());
// The probes, installed once the module is loaded and before the instance.
const page = `<!doctype html><meta charset="utf-8"><title>profile</title><script type="module">
import {Replicache, loadWasm} from '/replicore/${entry}';
import {benchMutators, keyOf, makeValue, pullIn, scriptedPuller, settle} from '/bench/workloads.js';
const now = () => performance.now();
const mutators = {...benchMutators, async putMany(tx, {entries}) { for (const [k, v] of entries) await tx.set(k, v); }};
const events = [];
const probe = (obj, name, label = name) => {
  const f = obj[name];
  if (typeof f !== 'function') return;
  obj[name] = function (...a) {
    const t0 = now();
    try {
      return f.apply(this, a);
    } finally {
      // Runs of the same call are merged as they come (Object.freeze runs
      // once per object of a value).
      const t1 = now();
      const last = events[events.length - 1];
      if (last && last[0] === label && !last[3]) {
        last[2] = t1;
        last[4] += t1 - t0;
        last[5] += 1;
      } else {
        events.push([label, t0, t1, false, t1 - t0, 1]);
      }
    }
  };
};
function probeAll(M) {
  for (const k of Object.keys(M)) if (/^(core|store)/.test(k) && typeof M[k] === 'function') probe(M, k);
  probe(M, '_malloc', 'malloc');
  probe(TextEncoder.prototype, 'encode', 'TextEncoder.encode');
  probe(TextEncoder.prototype, 'encodeInto', 'TextEncoder.encodeInto');
  probe(TextDecoder.prototype, 'decode', 'TextDecoder.decode');
  probe(JSON, 'parse', 'JSON.parse');
  probe(JSON, 'stringify', 'JSON.stringify');
  probe(Object, 'freeze', 'Object.freeze');
  // IndexedDB: requests issued (the wait is in the gaps) and transactions.
  probe(IDBObjectStore.prototype, 'get', 'idb get (issue)');
  probe(IDBObjectStore.prototype, 'put', 'idb put (issue)');
  const tx = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (...a) {
    const t = tx.apply(this, a);
    const t0 = now();
    const mode = a[1] || 'readonly';
    t.addEventListener('complete', () => events.push([\`idb \${mode} transaction, open to complete\`, t0, now(), true, 0, 1]));
    return t;
  };
}
let M = null;
window.setup = async ({name, keys, pending}) => {
  const scripted = scriptedPuller();
  const rep = new Replicache({name, kvStore: 'idb', pullInterval: null, logLevel: 'error', mutators, puller: scripted.puller});
  await settle(rep);
  if (pending) {
    const entries = [];
    for (let i = 0; i < keys; i++) entries.push([keyOf(i), makeValue(i, 1024)]);
    await rep.mutate.putMany({entries});
  }
  else await pullIn(rep, scripted, keys, {bytes: 1024, cookie: 1});
  await rep.flush();
  await rep.close();
};
window.coldStart = async ({name, keys, mode}) => {
  const tw = now();
  M = await loadWasm();
  const wasmLoad = now() - tw;
  probeAll(M);
  const scripted = scriptedPuller();
  events.length = 0;
  const t0 = now();
  const rep = new Replicache({name, kvStore: 'idb', pullInterval: null, logLevel: 'error', mutators, puller: scripted.puller});
  let n;
  if (mode === 'get') n = (await rep.query((tx) => tx.get(keyOf(keys >> 1)))) ? 1 : 0;
  else n = (await rep.query((tx) => tx.scan().entries().toArray())).length;
  const t1 = now();
  const ev = events.map(([label, a, b, async, busy, n]) => [label, a - t0, b - a, async, busy, n]);
  await rep.close();
  return {wasmLoad, total: t1 - t0, n, events: ev};
};
// The same records read with plain IndexedDB.
window.rawRead = async ({name}) => {
  const db = await new Promise((res, rej) => {
    const r = indexedDB.open('replicore:' + name + ':1');
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const keys = await new Promise((res) => {
    const r = db.transaction('chunks').objectStore('chunks').getAllKeys();
    r.onsuccess = () => res(r.result);
  });
  const t0 = now();
  const values = await new Promise((res) => {
    const os = db.transaction('chunks').objectStore('chunks');
    Promise.all(keys.map((k) => new Promise((ok) => {
      const r = os.get(k);
      r.onsuccess = () => ok(r.result);
    }))).then(res);
  });
  const t1 = now();
  await new Promise((res) => {
    const r = db.transaction('chunks').objectStore('chunks').getAll();
    r.onsuccess = () => res(r.result);
  });
  const t2 = now();
  const enc = new TextEncoder();
  let bytes = 0;
  const t3 = now();
  for (const v of values) if (typeof v === 'string') bytes += enc.encode(v).length;
  const t4 = now();
  db.close();
  return {records: keys.length, bytes, getEach: t1 - t0, getAll: t2 - t1, encode: t4 - t3};
};
window.flushProfile = async ({keys}) => {
  M = await loadWasm();
  probeAll(M);
  const scripted = scriptedPuller();
  const rep = new Replicache({name: 'flush-' + Math.random(), kvStore: 'idb', pullInterval: null, logLevel: 'error', mutators, puller: scripted.puller});
  await settle(rep);
  await rep.flush();
  const entries = [];
  for (let i = 0; i < keys; i++) entries.push([keyOf(i), makeValue(i, 1024)]);
  events.length = 0;
  const t0 = now();
  await rep.mutate.putMany({entries});
  const t1 = now();
  await rep.flush();
  const t2 = now();
  const ev = events.map(([label, a, b, async, busy, n]) => [label, a - t0, b - a, async, busy, n]);
  await rep.close();
  return {mutate: t1 - t0, flush: t2 - t1, events: ev};
};
window.ready = true;
</script>`;

const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

// Sums the probes by name (nested probes are counted in both) and prints a
// timeline in which runs of the same call are merged.
function report(title, total, events) {
  console.log(`\n  ${title}: ${fmt(total)} ms`);
  const sums = new Map();
  for (const [label, , , async, busy, n] of events) {
    if (async) continue;
    const s = sums.get(label) ?? {ms: 0, n: 0};
    s.ms += busy;
    s.n += n;
    sums.set(label, s);
  }
  const sorted = [...sums.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log('    synchronous time by call (a call made inside another probed call counts in both):');
  for (const [label, s] of sorted.slice(0, 16)) console.log(`      ${label.padEnd(40)} ${fmt(s.ms).padStart(8)} ms  ×${s.n}`);
  console.log('    timeline (ms from construction; runs of one call merged; gaps are waits, mostly IndexedDB):');
  for (const [label, at, d, async, busy, n] of [...events].sort((a, b) => a[1] - b[1])) {
    if (!async && busy < 0.5) continue;  // small calls
    console.log(`      ${fmt(at).padStart(8)} → ${fmt(at + d).padStart(8)}  ${label}${n > 1 ? ` ×${n}` : ''}${async ? '' : ` (busy ${fmt(busy)})`}`);
  }
}

const bundle = await bundleReplicache();
const {server, base} = await startServer({'/profile': page}, bundle, {cacheLibraries: true});
const {context, dispose} = await launchChromium();
const open = async () => {
  const tab = await context.newPage();
  tab.on('pageerror', (e) => console.error('[chromium] page error:', e.message));
  tab.on('console', (m) => (m.type() === 'error' ? console.error('[chromium]', m.text()) : null));
  await tab.goto(`${base}/profile`);
  await tab.waitForFunction(() => window.ready === true);
  return tab;
};
try {
  for (const keys of sizes) {
    for (const pending of flushOnly ? [] : [false, true]) {
      if (pending && keys > 10000) continue;
      const name = `profile-${keys}-${pending ? 'pending' : 'pulled'}-${Math.random().toString(36).slice(2)}`;
      let tab = await open();
      await tab.evaluate((p) => window.setup(p), {name, keys, pending});
      await tab.close();
      console.log(`\n=== replicore cold start, ${keys} keys of 1 KiB, ${pending ? 'written by one putMany mutation (pending: replayed on open)' : 'from a pull (confirmed)'}`);
      for (const mode of ['get', 'scan']) {
        let best = null;
        for (let r = 0; r < runs + 1; r++) {  // the first is a warm-up
          tab = await open();
          const v = await tab.evaluate((p) => window.coldStart(p), {name, keys, mode});
          await tab.close();
          if (r > 0 && (!best || v.total < best.total)) best = v;
        }
        report(`to the first ${mode === 'get' ? 'get' : 'full scan'} (fastest of ${runs}; wasm already loaded: its load took ${fmt(best.wasmLoad)} ms)`, best.total, best.events);
      }
      if (!pending) {
        tab = await open();
        const raw = await tab.evaluate((p) => window.rawRead(p), {name});
        await tab.close();
        console.log(`\n  plain IndexedDB, the same ${raw.records} records (${(raw.bytes / 1048576).toFixed(1)} MiB UTF-8): ` +
          `a get per key in one transaction ${fmt(raw.getEach)} ms, one getAll ${fmt(raw.getAll)} ms; TextEncoder.encode of them all ${fmt(raw.encode)} ms`);
      }
    }
    if (keys <= 10000) {
      const tab = await open();
      const v = await tab.evaluate((p) => window.flushProfile(p), {keys});
      await tab.close();
      console.log(`\n=== replicore 7p: one mutation putting ${keys} keys given in its arguments (${fmt(v.mutate)} ms), then flush()`);
      report('mutation + flush', v.mutate + v.flush, v.events);
    }
  }
} finally {
  await dispose();
  server.close();
  fs.rmSync(bundle, {force: true});
}
