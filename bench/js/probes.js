// Timing probes for the profilers (profile-persist.js, profile-rows.js), in
// any engine: no engine's profiler is scriptable in all three, so calls are
// wrapped with performance.now() probes in the page instead. `events` are
// [label, start, end, async, busy ms, count], runs of one call merged;
// report() prints them (in Node, from what the page returned).
const now = () => performance.now();
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export const events = [];
export const probe = (obj, name, label = name) => {
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
// Probes the core's calls of the loaded WebAssembly module `M` (its
// exports starting with core/store, and malloc), text encoding, JSON and
// Object.freeze; with `idb`, IndexedDB's requests and transactions too.
// Once per page: a second call would probe the probes.
let probed = false;
export function probeAll(M, {idb = false} = {}) {
  if (probed) return;
  probed = true;
  for (const k of Object.keys(M)) if (/^(core|store)/.test(k) && typeof M[k] === 'function') probe(M, k);
  probe(M, '_malloc', 'malloc');
  probe(TextEncoder.prototype, 'encode', 'TextEncoder.encode');
  probe(TextEncoder.prototype, 'encodeInto', 'TextEncoder.encodeInto');
  probe(TextDecoder.prototype, 'decode', 'TextDecoder.decode');
  probe(JSON, 'parse', 'JSON.parse');
  probe(JSON, 'stringify', 'JSON.stringify');
  probe(Object, 'freeze', 'Object.freeze');
  if (!idb) return;
  // IndexedDB: requests issued (the wait is in the gaps) and transactions.
  probe(IDBObjectStore.prototype, 'get', 'idb get (issue)');
  // When each get's answer reached the page (the engine's queue shows in
  // these: WebKit answers a database's requests in the order asked).
  const get = IDBObjectStore.prototype.get;
  IDBObjectStore.prototype.get = function (key) {
    const r = get.call(this, key);
    const t0 = now();
    r.addEventListener('success', () => events.push([`idb get of ${key} on ${this.transaction.db.name}, to success`, t0, now(), true, 0, 1]));
    return r;
  };
  probe(IDBObjectStore.prototype, 'put', 'idb put (issue)');
  const tx = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (...a) {
    const t = tx.apply(this, a);
    const t0 = now();
    const mode = a[1] || 'readonly';
    t.addEventListener('complete', () => events.push([`idb ${mode} transaction on ${this.name}, open to complete`, t0, now(), true, 0, 1]));
    return t;
  };
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (name, ...a) {
    const r = open.call(this, name, ...a);
    const t0 = now();
    r.addEventListener('success', () => events.push([`idb open of ${name}, to success`, t0, now(), true, 0, 1]));
    return r;
  };
}

// Sums the probes by name (nested probes are counted in both) and prints a
// timeline in which runs of the same call are merged.
export function report(title, total, events, {from = 'construction'} = {}) {
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
  console.log(`    timeline (ms from ${from}; runs of one call merged; gaps are waits: IndexedDB, timers, promise turns):`);
  for (const [label, at, d, async, busy, n] of [...events].sort((a, b) => a[1] - b[1])) {
    if (!async && busy < 0.5) continue;  // small calls
    console.log(`      ${fmt(at).padStart(8)} → ${fmt(at + d).padStart(8)}  ${label}${n > 1 ? ` ×${n}` : ''}${async ? '' : ` (busy ${fmt(busy)})`}`);
  }
}

