// The JSON text of values the core takes (a mutation's args, a custom
// puller's response), made as fast as each engine allows: see IN_PIECES.
// No WebAssembly here: core-text.js writes what this makes into the core's
// memory.
import {ENGINE} from './engine.js';

// Blink builds a large JSON text slowly: the time of one JSON.stringify
// grows faster than its length (Chromium 156: 1 MB of entries 4-8 ms, 3 MB
// 24-35 ms, 10 MB 120-230 ms). Stringified a member at a time and written
// into memory 64 KiB at a time, 10,000 entries of 1 KiB (row 7p's args)
// take 35 ms instead of 229, and a pull response of 10,000 puts of 80
// bytes (row 5's) 4.8 ms instead of 13.7 (node bench/js/profile-json.js).
// Firefox is about as fast either way; WebKit and Node 20 are faster whole
// (WebKit 78 against 130 ms: it pays for each call). So only in Blink does
// a large value go to the core as pieces of its JSON text, never joined
// into one string.
const IN_PIECES = ENGINE === 'blink';
// A value is large when its top container, or an array directly in it,
// has this many members.
const PIECES_FROM = 64;

/**
 * The JSON text of `value` for stageText, as JSON.stringify makes it: a
 * string, or (a large value, in Blink) an array of strings whose
 * concatenation is that text. Throws what JSON.stringify throws. Returns
 * undefined for a value that has no JSON text (undefined, a function).
 */
export function jsonText(value) {
  return IN_PIECES && isLarge(value) ? jsonPieces(value) : JSON.stringify(value);
}

/**
 * The JSON text of `value` as pieces whatever its size or the engine (an
 * array of strings; jsonText's large-value form), or as one string when
 * `value` is not a container JSON.stringify opens.
 */
export function jsonPieces(value) {
  return opens(value) ? pushPieces(value, 0, []) : JSON.stringify(value);
}

/** The length in UTF-16 units of what jsonText returned. */
export function textUnits(text) {
  if (typeof text === 'string') return text.length;
  let n = 0;
  for (const p of text) n += p.length;
  return n;
}

// A container JSON.stringify writes member by member: an array or a plain
// object, without a toJSON of its own (that one decides its text).
function opens(v) {
  if (v === null || typeof v !== 'object' || typeof v.toJSON === 'function') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isLarge(v) {
  if (!opens(v)) return false;
  if (Array.isArray(v)) return v.length >= PIECES_FROM;
  const keys = Object.keys(v);
  if (keys.length >= PIECES_FROM) return true;
  for (const k of keys) {
    const e = v[k];
    if (Array.isArray(e) && e.length >= PIECES_FROM) return true;
  }
  return false;
}

// The top container and the arrays directly in it are opened; everything
// else is one JSON.stringify. A member with no text is left out of an
// object and is null in an array, as JSON.stringify does. (One difference,
// for values only a custom puller can give: a member's toJSON is called with
// "" as its key instead of the member's.)
function pushPieces(v, depth, out) {
  if (Array.isArray(v) && opens(v)) {
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      const e = v[i];
      if (depth === 0 && Array.isArray(e) && opens(e)) pushPieces(e, 1, out);
      else out.push(JSON.stringify(e) ?? 'null');
    }
    out.push(']');
    return out;
  }
  out.push('{');
  let first = true;
  for (const k of Object.keys(v)) {
    const e = v[k];
    const key = (first ? '' : ',') + JSON.stringify(k) + ':';
    if (Array.isArray(e) && opens(e)) {
      out.push(key);
      pushPieces(e, 1, out);
    } else {
      const s = JSON.stringify(e);
      if (s === undefined) continue;
      out.push(key + s);
    }
    first = false;
  }
  out.push('}');
  return out;
}
