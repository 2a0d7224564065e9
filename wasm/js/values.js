// JSON values: validation, freezing and equality of what crosses the API,
// and the skeleton of a puller response whose values stay in JS.

// ------------------------------------------------------------ JSON values --

// Objects we produced (frozen, known to be JSON): set() can store them
// without copying or validating again.
const trusted = new WeakSet();

export function deepFreeze(v) {
  if (v === null || typeof v !== 'object') return v;
  freezeRec(v);
  trusted.add(v);
  return v;
}

function freezeRec(v) {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e !== null && typeof e === 'object') freezeRec(e);
    }
  } else {
    for (const k in v) {
      const e = v[k];
      if (e !== null && typeof e === 'object') freezeRec(e);
    }
  }
  Object.freeze(v);
}

// The path to the value being validated, kept as a stack so that paths are
// only formatted when a value is refused.
const pathStack = [];
function describePath() {
  if (pathStack.length === 0) return 'the value';
  let out = 'value';
  for (const seg of pathStack) out += typeof seg === 'number' ? `[${seg}]` : `.${seg}`;
  return out;
}

// Values may nest this deep: a pull body (object, patch array, op) must stay
// within the core's ParseLimits (256), so values written here can come back.
const MAX_DEPTH = 250;

// Validates that `v` is JSON and returns a deeply frozen copy (or `v` itself
// when it is already one of ours). Throws a TypeError naming the first
// offending path: undefined (except as an object property, which is dropped
// like JSON.stringify does), functions, symbols, bigints, NaN/Infinity,
// non-plain objects, cycles and nesting deeper than MAX_DEPTH.
// The checks both JSON walkers below make. notJSONLeaf throws for a value
// that is neither JSON nor a container; enterContainer checks a container
// before it is walked (cycles, depth, plain objects only) and pushes it on
// `ancestors`, the containers being walked (popped by the caller when done):
// a cycle is a container that is its own ancestor. An array, not a Set:
// nesting is shallow, and a Set per value walked was ~10% of a populate.
function notJSONLeaf(v, what) {
  if (typeof v === 'number') throw new TypeError(`${what}: ${describePath()} is ${v}, which is not JSON`);
  if (typeof v === 'undefined') throw new TypeError(`${what}: ${describePath()} is undefined, which is not JSON`);
  throw new TypeError(`${what}: ${describePath()} is a ${typeof v}, which is not JSON`);
}

const ancestors = [];

// Clears the walkers' shared state after a walk, finished or thrown.
function endWalk() {
  pathStack.length = 0;
  ancestors.length = 0;
}

function enterContainer(v, what) {
  if (ancestors.includes(v)) throw new TypeError(`${what}: ${describePath()} is a cycle, which is not JSON`);
  if (pathStack.length >= MAX_DEPTH) throw new TypeError(`${what}: ${describePath()} nests deeper than ${MAX_DEPTH} levels`);
  if (!Array.isArray(v)) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v.constructor && v.constructor.name) || 'object';
      throw new TypeError(`${what}: ${describePath()} is a ${name}, not a plain JSON object`);
    }
  }
  ancestors.push(v);
}

function toFrozenJSON(v, what) {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) notJSONLeaf(v, what);
      return v;
    case 'object': {
      if (v === null) return null;
      if (trusted.has(v)) return v;
      enterContainer(v, what);
      let out;
      if (Array.isArray(v)) {
        out = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          pathStack.push(i);
          out[i] = toFrozenJSON(v[i], what);
          pathStack.pop();
        }
      } else {
        out = {};
        for (const k of Object.keys(v)) {
          const e = v[k];
          if (e === undefined) continue;
          pathStack.push(k);
          const c = toFrozenJSON(e, what);
          pathStack.pop();
          if (k === '__proto__') Object.defineProperty(out, k, {value: c, enumerable: true, writable: true, configurable: true});
          else out[k] = c;
        }
      }
      ancestors.pop();
      Object.freeze(out);
      // Every container of the copy, not only its root: a mutator sets
      // values it takes from its args (`for (const [k, v] of entries)
      // tx.set(k, v)`), and set() then knows them without walking them
      // again. 10,000 entries of args in WebKit: a second walk of 20,000
      // containers with their Object.freeze calls, against a WeakSet
      // insertion per container here.
      trusted.add(out);
      return out;
    }
    default:
      return notJSONLeaf(v, what);
  }
}

export function frozenJSON(v, what) {
  try {
    return toFrozenJSON(v, what);
  } finally {
    endWalk();
  }
}

// Validates that `v` is JSON like toFrozenJSON and freezes it in place,
// deeply, without copying it. set() keeps the caller's value itself: the
// core holds only an id for it (a host-held value, core/value.h) and asks
// for its JSON.stringify text only if it ever needs it, which a mutation, a
// push or a rebase never does. Copying every value written was ~30% of a
// 10,000-key populate, and serializing it ~40%. Freezing keeps what the
// cache holds from changing behind its back, as Replicache's development
// mode does; containers are frozen bottom-up as their checks pass.
function checkAndFreeze(v, what) {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) notJSONLeaf(v, what);
      return;
    case 'object': {
      if (v === null || trusted.has(v)) return;
      enterContainer(v, what);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const e = v[i];
          if (typeof e === 'string' || typeof e === 'boolean') continue;
          pathStack.push(i);
          checkAndFreeze(e, what);
          pathStack.pop();
        }
      } else {
        for (const k of Object.keys(v)) {
          const e = v[k];
          if (e === undefined || typeof e === 'string' || typeof e === 'boolean') continue;
          pathStack.push(k);
          checkAndFreeze(e, what);
          pathStack.pop();
        }
      }
      ancestors.pop();
      Object.freeze(v);
      return;
    }
    default:
      notJSONLeaf(v, what);
  }
}

// `v` itself, checked and frozen: what set() and a held puller value keep.
// Not added to `trusted` (a WeakSet insertion per value written cost more
// than checking a frozen value again if it is ever set again).
export function heldValue(v, what) {
  try {
    checkAndFreeze(v, what);
  } finally {
    endWalk();
  }
  return v;
}

// A custom puller's response as the core reads it, without stringifying
// its values: the JSON text of the response with every put's value written
// as null, and those values (checked and frozen, as set() keeps them) in the
// order of the puts. The core parses and checks the skeleton as it would the
// whole body and takes the values as host-held values (Core::holdPullValues).
// Returns null for a response that is not a plain patch response (an error
// body, say), and for one whose values are small: that one is sent whole.
// Throws for a put value that is not JSON.
//
// Why only large values: holding a value costs a check-and-freeze walk, a
// cache entry and a host value, about the same whatever its size, while
// stringifying and scanning it costs by the byte. Measured in Node: a
// 10,000-key rebase of 1 KiB values 141 -> 84 ms in Chromium when held, but
// a pull of 100,000 80-byte values 433 -> 940 ms. The first put's value
// decides for the whole response.
const HOLD_VALUES_FROM = 256; // JSON bytes of the first put's value
export function pullSkeleton(response) {
  if (response === null || typeof response !== 'object' || Array.isArray(response)) return null;
  const patch = response.patch;
  if (!Array.isArray(patch) || 'error' in response) return null;
  const first = patch.find((op) => op !== null && typeof op === 'object' && op.op === 'put');
  if (first === undefined || (JSON.stringify(first.value) ?? '').length < HOLD_VALUES_FROM) return null;
  const values = [];
  let text = '{';
  const cookie = JSON.stringify(response.cookie);
  if (cookie !== undefined) text += `"cookie":${cookie},`;
  const lmids = JSON.stringify(response.lastMutationIDChanges);
  if (lmids !== undefined) text += `"lastMutationIDChanges":${lmids},`;
  text += '"patch":[';
  for (let i = 0; i < patch.length; i++) {
    const op = patch[i];
    if (i > 0) text += ',';
    if (op !== null && typeof op === 'object' && op.op === 'put') {
      const key = JSON.stringify(op.key);
      text += key === undefined ? '{"op":"put","value":null}' : `{"op":"put","key":${key},"value":null}`;
      try {
        values.push(heldValue(op.value, 'pull response'));
      } catch (e) {
        if (e instanceof TypeError) e.message = e.message.replace('pull response: ', `pull response: patch[${i}].`);
        throw e;
      }
    } else {
      text += JSON.stringify(op) ?? 'null';
    }
  }
  text += ']}';
  return {text, values};
}

export function checkKey(key) {
  if (typeof key !== 'string') throw new TypeError(`key must be a string, got ${typeof key}`);
  if (key.isWellFormed && !key.isWellFormed()) throw new TypeError('key is not well-formed Unicode (lone surrogate)');
}

/** JSON deep equality (the default `isEqual` of subscriptions). */
export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    return false;
  }
  const aa = Array.isArray(a);
  if (aa !== Array.isArray(b)) return false;
  if (aa) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  let n = 0;
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) continue;
    if (a[k] === undefined) continue;
    n++;
    if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
  }
  for (const k in b) {
    if (Object.prototype.hasOwnProperty.call(b, k) && b[k] !== undefined) n--;
  }
  return n === 0;
}
