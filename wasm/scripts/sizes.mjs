// Prints raw, gzip and brotli sizes of the shipped files of the package.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {brotliCompressSync, constants, gzipSync} from 'node:zlib';

const dir = process.argv[2];
const files = ['replicore_wasm.wasm', 'replicore.js', 'replicore.d.ts'];
let total = [0, 0, 0];
console.log('file                    raw      gzip    brotli');
for (const f of files) {
  const b = readFileSync(join(dir, f));
  const gz = gzipSync(b, {level: 9}).length;
  const br = brotliCompressSync(b, {params: {[constants.BROTLI_PARAM_QUALITY]: 11}}).length;
  if (!f.endsWith('.d.ts')) total = [total[0] + b.length, total[1] + gz, total[2] + br];
  console.log(`${f.padEnd(22)} ${String(b.length).padStart(7)} ${String(gz).padStart(8)} ${String(br).padStart(8)}`);
}
console.log(`${'shipped (no .d.ts)'.padEnd(22)} ${String(total[0]).padStart(7)} ${String(total[1]).padStart(8)} ${String(total[2]).padStart(8)}`);
