// How fast each engine makes a large JSON text and writes it into memory
// as UTF-8 (a program that prints, not a test): one JSON.stringify of the
// whole value and one encodeInto, against one JSON.stringify per member of
// its large array, the members joined about 64 KiB at a time for
// encodeInto. Three values: the args of row 7p (10,000 entries of 1 KiB),
// the response of row 5 (10,000 puts of 80 bytes) and 10,000 small
// objects. It chose where wasm/js/json-pieces.js sends values in pieces:
// Blink is several times faster in pieces, Firefox about the same, WebKit
// and Node slower.
//
//   node bench/js/profile-json.js [--engines chromium,firefox,webkit] [--runs 7]
//   (after bash bench/run.sh has installed the bench's packages)
import {ENGINES, callPage, inEachEngine, startServer} from './pages.js';
import {option} from './options.js';

const engines = option('--engines', ENGINES.join(',')).split(',');
const runs = Number(option('--runs', 7));

const page = `<!doctype html><meta charset="utf-8"><title>json</title><script type="module">
import {keyOf, makeValue} from '/bench/workloads.js';
const encoder = new TextEncoder();
const memory = new WebAssembly.Memory({initial: 512});  // 32 MiB, as a grown wasm heap
const heap = new Uint8Array(memory.buffer);
// [prefix, the array, suffix]: the value is prefix + JSON of the array + suffix.
const values = {
  '7p args: 10,000 entries of 1 KiB': () => {
    const entries = Array.from({length: 10000}, (_, i) => [keyOf(i), makeValue(i, 1024)]);
    return {value: {entries}, list: entries, prefix: '{"entries":', suffix: '}'};
  },
  'row 5 response: 10,000 puts of 80 B': () => {
    const patch = [{op: 'clear'}, ...Array.from({length: 10000}, (_, i) => ({op: 'put', key: keyOf(i), value: makeValue(i, 80)}))];
    return {value: {cookie: 1, lastMutationIDChanges: {}, patch}, list: patch, prefix: '{"cookie":1,"lastMutationIDChanges":{},"patch":', suffix: '}'};
  },
  '10,000 small objects': () => {
    const list = Array.from({length: 10000}, (_, i) => ({key: keyOf(i), value: {i, text: 'hello'}}));
    return {value: list, list, prefix: '', suffix: ''};
  },
};
const whole = ({value}) => encoder.encodeInto(JSON.stringify(value), heap).written;
function inPieces({list, prefix, suffix}) {
  let at = encoder.encodeInto(prefix + '[', heap).written;
  let batch = [];
  let units = 0;
  const flush = () => {
    at += encoder.encodeInto(batch.join(','), heap.subarray(at)).written;
    batch = [];
    units = 0;
  };
  for (let i = 0; i < list.length; i++) {
    const s = JSON.stringify(list[i]);
    if (units + s.length > 64 * 1024 && batch.length > 0) {
      flush();
      at += encoder.encodeInto(',', heap.subarray(at)).written;
    }
    batch.push(s);
    units += s.length;
  }
  flush();
  return at + encoder.encodeInto(']' + suffix, heap.subarray(at)).written;
}
window.measure = ({runs}) => {
  const out = {};
  for (const [name, make] of Object.entries(values)) {
    out[name] = {};
    for (const [way, f] of [['whole', whole], ['pieces', inPieces]]) {
      const times = [];
      let bytes = 0;
      for (let r = 0; r < runs; r++) {
        const v = make();  // fresh each run: the app's objects, never stringified before
        const start = performance.now();
        bytes = f(v);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      out[name][way] = {ms: times[runs >> 1], bytes};
    }
    if (out[name].whole.bytes !== out[name].pieces.bytes) throw new Error(name + ': the two ways wrote different lengths');
  }
  return out;
};
window.benchReady = true;
</script>`;

const {server, base} = await startServer({'/json': page}, '/dev/null');
try {
  console.log(`JSON text of a value into memory as UTF-8, median of ${runs} (ms): one stringify, or one per member of its array`);
  const results = await inEachEngine(engines, `${base}/json`, (tab) => callPage(tab, 'measure', [{runs}]));
  console.log(`${'value'.padEnd(40)}${engines.map((e) => `${e} whole`.padStart(18) + 'pieces'.padStart(8)).join('')}`);
  for (const name of Object.keys(results[engines[0]])) {
    const cells = engines.map((e) => results[e][name].whole.ms.toFixed(1).padStart(18) + results[e][name].pieces.ms.toFixed(1).padStart(8));
    console.log(`${name.padEnd(40)}${cells.join('')}`);
  }
} finally {
  server.close();
}
