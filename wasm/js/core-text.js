// Large texts into the core without copies: encoded straight into the
// string the core keeps (Core::bodyBuffer, wasm/src/core_binding.h), sized
// for ASCII first and grown once if the text is not. Wasm memory never
// shrinks, so a second copy of a large text there would cost its size for
// the life of the page.
import {wasm} from './loading.js';
import {textUnits} from './json-pieces.js';

const encoder = new TextEncoder();
// Pieces are joined this much at a time for encodeInto (UTF-16 units):
// fewer calls than one per piece, and far below the sizes at which Blink
// is slow to build a string (json-pieces.js).
const BATCH_UNITS = 64 * 1024;

/**
 * Writes `text` (a string, or the pieces jsonText makes of a large value,
 * json-pieces.js) into the core's body buffer and returns the bytes
 * written, for the call that takes the buffer next (in the same task).
 * Throws when the heap cannot hold it.
 */
export function stageText(core, text) {
  if (text === undefined) throw new TypeError('the value has no JSON text');
  const pieces = typeof text === 'string' ? [text] : text;
  let left = textUnits(pieces); // units not written yet
  let max = left;
  let ptr = wasm.coreBodyBuffer(core, max);
  if (!ptr) throw new Error('out of WebAssembly memory');
  let written = 0;
  for (let i = 0; i < pieces.length; ) {
    let j = i + 1;
    let units = pieces[i].length;
    while (j < pieces.length && units + pieces[j].length <= BATCH_UNITS) units += pieces[j++].length;
    const s = j === i + 1 ? pieces[i] : pieces.slice(i, j).join('');
    i = j;
    const r = encoder.encodeInto(s, wasm.HEAPU8.subarray(ptr + written, ptr + max));
    written += r.written;
    left -= s.length;
    if (r.read < s.length) {
      // Not ASCII: room for three bytes a unit for what is left.
      max = written + (s.length - r.read + left) * 3;
      ptr = wasm.coreBodyBuffer(core, max);
      if (!ptr) throw new Error('out of WebAssembly memory');
      written += encoder.encodeInto(s.slice(r.read), wasm.HEAPU8.subarray(ptr + written, ptr + max)).written;
    }
  }
  return written;
}
