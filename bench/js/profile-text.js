// How fast each engine turns JSON bytes in WebAssembly memory into values
// (a program that prints, not a test): 10,000 values of about 1 KiB, as
// JSON arrays of k values each, every array decoded with TextDecoder and
// parsed with JSON.parse, for several k and for one array of all of them.
// It chose the size of the pieces a scan hands its values out in
// (wasm/src/scan_answer.h): one decode of megabytes is an order of
// magnitude slower than the same bytes in pieces in Chromium and Firefox,
// while WebKit pays per call for small ones.
//
//   node bench/js/profile-text.js [--engines chromium,firefox,webkit] [--runs 9]
//   (after bash bench/run.sh has installed the bench's packages)
import {ENGINES, callPage, inEachEngine, startServer} from './pages.js';
import {option} from './options.js';

const engines = option('--engines', ENGINES.join(',')).split(',');
const runs = Number(option('--runs', 9));
const perPiece = [1, 4, 16, 64, 256, 10000];

const page = `<!doctype html><meta charset="utf-8"><title>text</title><script>
window.measure = ({runs, perPiece}) => {
  const value = (i) => JSON.stringify({id: i, name: 'item ' + i, text: 'abcdefghij'.repeat(100)});
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const memory = new WebAssembly.Memory({initial: 2048});  // 128 MiB, as a grown wasm heap
  const heap = new Uint8Array(memory.buffer);
  const out = {};
  for (const k of perPiece) {
    // The pieces, back to back in wasm memory: [v,v,...] of k values each.
    const pieces = [];
    let at = 1024;
    for (let i = 0; i < 10000; i += k) {
      const parts = [];
      for (let j = i; j < Math.min(i + k, 10000); j++) parts.push(value(j));
      const bytes = encoder.encode('[' + parts.join(',') + ']');
      heap.set(bytes, at);
      pieces.push([at, at + bytes.length]);
      at += bytes.length;
    }
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      let n = 0;
      for (const [a, b] of pieces) n += JSON.parse(decoder.decode(heap.subarray(a, b))).length;
      best = Math.min(best, performance.now() - start);
      if (n !== 10000) throw new Error('lost values');
    }
    out[k] = {ms: best, bytes: Math.round((at - 1024) / pieces.length)};
  }
  return out;
};
window.benchReady = true;
</script>`;

const {server, base} = await startServer({'/text': page}, '/dev/null');
try {
  console.log(`10,000 JSON values of ~1 KiB from wasm memory: decode + JSON.parse per piece, best of ${runs} (ms)`);
  console.log(`${'values a piece'.padEnd(16)}${'bytes a piece'.padStart(14)}${engines.map((e) => e.padStart(10)).join('')}`);
  const results = await inEachEngine(engines, `${base}/text`, (tab) => callPage(tab, 'measure', [{runs, perPiece}]));
  for (const k of perPiece) {
    const bytes = results[engines[0]][k].bytes;
    console.log(`${String(k).padEnd(16)}${String(bytes).padStart(14)}${engines.map((e) => results[e][k].ms.toFixed(1).padStart(10)).join('')}`);
  }
} finally {
  server.close();
}
