// How fast each engine's IndexedDB reads back 10 MB of records by their
// layout (a program that prints, not a test): as strings of several sizes
// or as bytes, each read with a get per key in one readonly transaction,
// in a database written and closed first, then opened again (a cold start
// reads like this). It weighs the store layout's page size and value type.
//
//   node bench/js/profile-idb.js [--engines chromium,firefox,webkit] [--runs 5]
//   (after bash bench/run.sh has installed the bench's packages; the record
//   sizes in KiB: SIZES=16,32,... for strings, BYTE_SIZES=80,... for bytes)
import {ENGINES, callPage, inEachEngine, startServer} from './pages.js';
import {option} from './options.js';

const engines = option('--engines', ENGINES.join(',')).split(',');
const runs = Number(option('--runs', 5));
const layouts = [
  ...(process.env.SIZES ?? "16,32,64,80,128,256,1024").split(",").map(Number).map((k) => ({name: `strings of ${k} KiB`, bytes: k * 1024})),
  ...(process.env.BYTE_SIZES ?? "80,1024").split(",").map(Number).map((k) => ({name: `bytes of ${k} KiB`, bytes: k * 1024, binary: true})),
];

const page = `<!doctype html><meta charset="utf-8"><title>idb</title><script>
const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
const open = (name) => { const r = indexedDB.open(name, 1); r.onupgradeneeded = () => r.result.createObjectStore('s'); return req(r); };
const done = (tx) => new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = tx.onabort = () => reject(tx.error); });
window.measure = async ({layout, runs}) => {
  const total = 10 * 1024 * 1024;
  const count = Math.ceil(total / layout.bytes);
  const text = ('{"k/0000001":{"id":1,"text":"' + 'abcdefghij'.repeat(layout.bytes / 10)).slice(0, layout.bytes);
  const name = 'profile-idb-' + layout.bytes + (layout.binary ? 'b' : 's');
  await req(indexedDB.deleteDatabase(name));
  let db = await open(name);
  const w = db.transaction('s', 'readwrite');
  for (let i = 0; i < count; i++) {
    const t = text.slice(0, -8) + String(i).padStart(8, '0');
    w.objectStore('s').put(layout.binary ? new TextEncoder().encode(t) : t, 'p' + i);
  }
  await done(w);
  db.close();
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    db = await open(name);
    const tx = db.transaction('s', 'readonly');
    const store = tx.objectStore('s');
    const gets = [];
    for (let i = 0; i < count; i++) gets.push(req(store.get('p' + i)));
    const values = await Promise.all(gets);
    await done(tx);
    best = Math.min(best, performance.now() - start);
    if (values.some((v) => !v)) throw new Error('lost a record');
    db.close();
  }
  await req(indexedDB.deleteDatabase(name));
  return {count, ms: best};
};
window.benchReady = true;
</script>`;

const {server, base} = await startServer({'/idb': page}, '/dev/null');
try {
  console.log(`10 MiB in IndexedDB: open, a get per record in one transaction, best of ${runs} (ms)`);
  console.log(`${'layout'.padEnd(22)}${'records'.padStart(8)}${engines.map((e) => e.padStart(10)).join('')}`);
  const results = await inEachEngine(engines, `${base}/idb`, async (tab) => {
    const out = [];
    for (const layout of layouts) out.push(await callPage(tab, 'measure', [{layout, runs}]));
    return out;
  });
  layouts.forEach((layout, i) => {
    const count = results[engines[0]][i].count;
    console.log(`${layout.name.padEnd(22)}${String(count).padStart(8)}${engines.map((e) => results[e][i].ms.toFixed(1).padStart(10)).join('')}`);
  });
} finally {
  server.close();
}
