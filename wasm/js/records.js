// Records between the store and the core: what the store read goes into
// wasm memory as one buffer per batch (the core reads it with
// readRecords, wasm/src/store_binding.cpp), and a write plan comes out as
// one buffer. Never one crossing per record.
import {wasm} from './loading.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Records into wasm memory, as the core reads them: [int32 length (-1:
// absent), UTF-8 bytes]... A value that is not a string (a custom store
// that changed it) is passed as an unreadable record, so that the core
// reports it corrupt instead of trusting it. Encoded straight into wasm
// memory with encodeInto, sized for ASCII (what JSON mostly is); only if a
// record does not fit is it all encoded first, record by record (encode()
// of one large string is several times slower than encodeInto).
function packRecords(values) {
  const texts = values.map((v) => (v === undefined || v === null ? null : typeof v === 'string' ? v : '\u0000'));
  return pack(texts) ?? pack(texts.map((t) => (t === null ? null : encoder.encode(t))));
}

// Writes records (strings, room made as if ASCII; or bytes) into wasm
// memory. Null when a string did not fit.
function pack(parts) {
  let len = 0;
  for (const p of parts) len += 4 + (p === null ? 0 : p.length);
  const ptr = wasm._malloc(Math.max(len, 4));
  if (!ptr) throw new Error('out of WebAssembly memory');
  const heap = wasm.HEAPU8;
  const view = new DataView(heap.buffer);
  let at = ptr;
  for (const p of parts) {
    let n = -1;
    if (typeof p === 'string') {
      const r = encoder.encodeInto(p, heap.subarray(at + 4, ptr + len));
      if (r.read < p.length) {
        wasm._free(ptr);
        return null;
      }
      n = r.written;
    } else if (p) {
      heap.set(p, at + 4);
      n = p.length;
    }
    view.setInt32(at, n, true);
    at += 4 + Math.max(n, 0);
  }
  return {ptr, len: at - ptr};
}

export function withRecords(values, fn) {
  const {ptr, len} = packRecords(values);
  try {
    return fn(ptr, len);
  } finally {
    wasm._free(ptr);
  }
}

// A write plan (core_persist.cpp, writePlan) out of wasm memory.
export function unpackPlan(bytes) {
  const ops = [];
  const foreign = [];
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  let at = 4;
  for (let i = 0; i < n; i++) {
    const kind = bytes[at];
    const keyLen = view.getUint32(at + 1, true);
    const key = decoder.decode(bytes.subarray(at + 5, at + 5 + keyLen));
    at += 5 + keyLen;
    if (kind === 1) {
      const valueLen = view.getUint32(at, true);
      ops.push([key, decoder.decode(bytes.subarray(at + 4, at + 4 + valueLen))]);
      at += 4 + valueLen;
    } else if (kind === 0) {
      ops.push([key, undefined]);
    } else {
      foreign.push(key);
    }
  }
  return {ops, foreign};
}

export async function readAll(store, keys) {
  const r = await store.read();
  try {
    return await Promise.all(keys.map((k) => r.get(k)));
  } finally {
    r.release();
  }
}
