// Large texts into the core without copies: encoded straight into the
// string the core keeps (Core::bodyBuffer, wasm/src/core_binding.h), sized
// for ASCII first and grown once if the text is not. Wasm memory never
// shrinks, so a second copy of a large text there would cost its size for
// the life of the page.
import {wasm} from './loading.js';

const encoder = new TextEncoder();

/**
 * Writes `text` into the core's body buffer and returns the bytes written,
 * for the call that takes the buffer next (in the same task). Throws when the
 * heap cannot hold it.
 */
export function stageText(core, text) {
  let max = text.length;
  let ptr = wasm.coreBodyBuffer(core, max);
  if (!ptr) throw new Error('out of WebAssembly memory');
  const r = encoder.encodeInto(text, wasm.HEAPU8.subarray(ptr, ptr + max));
  let written = r.written;
  if (r.read < text.length) {
    max = written + (text.length - r.read) * 3;
    ptr = wasm.coreBodyBuffer(core, max);
    if (!ptr) throw new Error('out of WebAssembly memory');
    written += encoder.encodeInto(text.slice(r.read), wasm.HEAPU8.subarray(ptr + written, ptr + max)).written;
  }
  return written;
}
