// Where replicore's time goes in a row of the benchmark, in any of the three
// engines (a program that prints, not a test). Chromium has a scriptable
// profiler but Firefox and WebKit do not under their drivers, so this
// wraps the core's calls into the WebAssembly module, JSON, text encoding
// and Object.freeze with performance.now() probes (probes.js) and prints,
// for the timed step of the row only (workloads.js lastTimed): the
// synchronous time by call, and what is left (JavaScript outside the
// probed calls: the glue, the app's mutators, promise turns, GC).
//
// First the row runs unprobed, replicore and Replicache alternating, so
// that the probed figure can be compared with the benchmark's.
//
//   node bench/js/profile-rows.js --rows 5,1b [--engine chromium|firefox|webkit] [--runs 3]
//   (after bash bench/run.sh has installed the bench's packages)
process.env.NODE_ENV = 'production';
import fs from 'node:fs';
import path from 'node:path';
import {report} from './probes.js';
import {ENGINES, bundleReplicache, callPage, newPageErrors, openBrowser, openPage, replicoreEntry, startServer} from './pages.js';
import {option} from './options.js';

const rows = option('--rows', '5').split(',').map((x) => x.trim()).filter(Boolean);
const runs = Number(option('--runs', 3));
const engine = option('--engine', 'chromium');
if (!ENGINES.includes(engine)) throw new Error(`--engine ${engine}: expected one of ${ENGINES.join(', ')}`);

const entry = path.basename(replicoreEntry());
const page = `<!doctype html><meta charset="utf-8"><title>profile rows</title><script type="module">
import {Replicache as Replicore, loadWasm} from '/replicore/${entry}';
import {Replicache, TEST_LICENSE_KEY} from '/replicache.js';
import {workloads, lastTimed} from '/bench/workloads.js';
import {median, timedRows, scalingRows} from '/bench/suite.js';
import {events, probeAll} from '/bench/probes.js';
const libs = [
  {name: 'replicore', Replicache: Replicore, extraOptions: {}},
  {name: 'replicache', Replicache, extraOptions: {licenseKey: TEST_LICENSE_KEY}},
];
// A workload's figure: row 4's are per-iteration times (their median).
const figure = (v) => (typeof v === 'number' ? v : median(v));
window.profileRow = async (id, runs) => {
  const row = [...timedRows(), ...scalingRows()].find((r) => r.id === id);
  if (!row || !row.w) throw new Error('no row ' + id);
  const plain = [[], []];
  for (let r = -1; r < runs; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const v = figure(await workloads[row.w](libs[i], row.p));
      if (r >= 0) plain[i].push(v);
    }
  }
  probeAll(await loadWasm());
  let best = null;
  for (let r = 0; r < runs; r++) {
    events.length = 0;
    const ms = figure(await workloads[row.w](libs[0], row.p));
    const {start, end} = lastTimed;
    const ev = events.filter((e) => e[2] >= start && e[1] <= end).map(([label, a, b, async, busy, n]) => [label, a - start, b - a, async, busy, n]);
    if (!best || end - start < best.window) best = {window: end - start, ms, events: ev};
  }
  return {label: row.label, replicore: median(plain[0]), replicache: median(plain[1]), samples: plain, probed: best};
};
window.benchReady = true;
</script>`;

const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const bundle = await bundleReplicache();
const {server, base} = await startServer({'/profile': page}, bundle);
const {context, dispose} = await openBrowser(engine);
try {
  for (const id of rows) {
    // A page per row: the probes stay on once installed.
    const tab = await openPage(context, `${base}/profile`);
    const v = await callPage(tab, 'profileRow', [id, runs]);
    for (const line of await newPageErrors(tab)) console.error(`[${engine}] ${line}`);
    await tab.close();
    console.log(`\n=== ${engine} ${id} ${v.label}: unprobed medians of ${runs}: replicore ${fmt(v.replicore)} ms, ` +
      `Replicache ${fmt(v.replicache)} ms, ratio ${(v.replicore / v.replicache).toFixed(2)}`);
    // The spread says whether a median is the workload or the machine (GC, other processes).
    console.log(`    runs: replicore ${v.samples[0].map(fmt).join(', ')}; Replicache ${v.samples[1].map(fmt).join(', ')}`);
    const top = v.probed.events.filter((e) => !e[3]);
    // Calls into the module at the top level (not inside another probed
    // call): the time in the core and its imports.
    let inCore = 0;
    let inOther = 0;
    let until = -Infinity;
    for (const [label, at, d, , busy] of [...top].sort((a, b) => a[1] - b[1])) {
      if (at < until) continue;  // nested in the call before
      until = at + d;
      if (/^(core|store|malloc)/.test(label)) inCore += busy;
      else inOther += busy;
    }
    report(`replicore, probed, timed step (fastest of ${runs}; probes add their own cost)`, v.probed.window, v.probed.events,
      {from: 'the start of the timed step'});
    console.log(`    of which in the core (wasm calls, top level) ${fmt(inCore)} ms, in JSON/text/freeze outside them ` +
      `${fmt(inOther)} ms, elsewhere (JS glue, mutators, promise turns, GC) ${fmt(v.probed.window - inCore - inOther)} ms`);
  }
} finally {
  await dispose();
  server.close();
  fs.rmSync(bundle, {force: true});
}
