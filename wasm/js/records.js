// Records between the store and the core: what the store read goes into
// wasm memory as one buffer per batch (the core reads it with
// readRecords, wasm/src/store_binding.cpp), and a write plan comes out as
// one index whose values JS copies from where the core holds them. Never
// one crossing per record.
import {wasm} from './loading.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Records into wasm memory, as the core reads them: [int32 length (-1:
// absent), UTF-8 bytes]... A record is a string, or bytes (a Uint8Array or
// ArrayBuffer: what a store that keeps records as bytes gives back, see
// unpackPlan). A value of any other type (a custom store that changed it) is
// passed as an unreadable record, so that the core reports it corrupt
// instead of trusting it. Strings are encoded straight into wasm memory with
// encodeInto, sized for ASCII (what JSON mostly is); only if a record does
// not fit is it all encoded first, record by record (encode() of one large
// string is several times slower than encodeInto).
function packRecords(values) {
  const parts = values.map((v) =>
    v === undefined || v === null ? null
    : typeof v === 'string' || v instanceof Uint8Array ? v
    : v instanceof ArrayBuffer ? new Uint8Array(v)
    : '\u0000',
  );
  return pack(parts) ?? pack(parts.map((t) => (typeof t === 'string' ? encoder.encode(t) : t)));
}

// Writes records (strings, room made as if ASCII; or bytes) into wasm
// memory. Null when they did not fit: a string of more UTF-8 bytes than
// characters takes room counted for the records after it, so every record,
// its length included, is checked against the end before it is written.
function pack(parts) {
  let len = 0;
  for (const p of parts) len += 4 + (p === null ? 0 : p.length);
  const ptr = wasm._malloc(Math.max(len, 4));
  if (!ptr) throw new Error('out of WebAssembly memory');
  const end = ptr + len;
  const heap = wasm.HEAPU8;
  const view = new DataView(heap.buffer);
  let at = ptr;
  const fail = () => {
    wasm._free(ptr);
    return null;
  };
  for (const p of parts) {
    if (at + 4 > end) return fail();
    let n = -1;
    if (typeof p === 'string') {
      const r = encoder.encodeInto(p, heap.subarray(at + 4, end));
      if (r.read < p.length) return fail();
      n = r.written;
    } else if (p) {
      if (at + 4 + p.length > end) return fail();
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

// A write plan (core_persist.cpp, writePlan) out of wasm memory: its index
// (store_binding.h, encodeStoreBatchIndex) in `bytes`, its values read
// where the core holds them, at once (they live until the core's next
// writePlan or writeDone). Values are copied out as bytes when `asBytes`
// (the store keeps any structured-clonable value: IndexedDB, memory), else
// decoded to strings (Replicache's kvStore interface carries JSON values: a
// custom store). Bytes are what both ends hold: no decoding on the way out,
// no encoding on the way back in, and a copy where a string would be built.
// Firefox took 173 ms to decode one 10 MB record and 253 ms to store the
// string (bench/js/profile-persist.js --flush-only).
export function unpackPlan(bytes, asBytes = false) {
  const ops = [];
  const foreign = [];
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const heap = wasm.HEAPU8;
  const n = view.getUint32(0, true);
  let at = 4;
  for (let i = 0; i < n; i++) {
    const kind = bytes[at];
    const keyLen = view.getUint32(at + 1, true);
    const key = decoder.decode(bytes.subarray(at + 5, at + 5 + keyLen));
    at += 5 + keyLen;
    if (kind === 1) {
      const pieces = view.getUint32(at, true);
      at += 4;
      let value;
      if (pieces === 1) {
        const valueAt = view.getUint32(at + 4, true);
        value = heap.subarray(valueAt, valueAt + view.getUint32(at, true));
        if (asBytes) value = value.slice();
      } else {
        // A chunk whose large args are pieces of their own (StoreRecord,
        // store_format.h): copied once, into the buffer the store keeps.
        let size = 0;
        for (let p = 0; p < pieces; p++) size += view.getUint32(at + 8 * p, true);
        value = new Uint8Array(size);
        let to = 0;
        for (let p = 0; p < pieces; p++) {
          const pieceLen = view.getUint32(at + 8 * p, true);
          const pieceAt = view.getUint32(at + 8 * p + 4, true);
          value.set(heap.subarray(pieceAt, pieceAt + pieceLen), to);
          to += pieceLen;
        }
      }
      ops.push([key, asBytes ? value : decoder.decode(value)]);
      at += 8 * pieces;
    } else if (kind === 0) {
      ops.push([key, undefined]);
    } else {
      foreign.push(key);
    }
  }
  return {ops, foreign};
}

/**
 * One read transaction of `keys` whose records arrive one by one:
 * `records`, an array of promises, each of one record (undefined where it is
 * missing or the read failed), in the order of `keys`; and `asked`, which
 * resolves once every get has been asked of the store (or the read failed).
 */
export function readEach(store, keys) {
  const reading = store.read();
  const records = keys.map((k) => reading.then((r) => r.get(k)).catch(() => undefined));
  // After the gets above: reactions to one promise run in the order added.
  const asked = reading.then(() => {}, () => {});
  Promise.all(records).then(() => reading.then((r) => r.release(), () => {}));
  return {records, asked};
}

export async function readAll(store, keys) {
  const r = await store.read();
  try {
    return await Promise.all(keys.map((k) => r.get(k)));
  } finally {
    r.release();
  }
}
