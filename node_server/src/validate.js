// Shape checks for push/pull bodies (Replicache push/pull version 1).
// Each function returns the parsed request or throws a 400 HttpError saying what is wrong.
// Version checks (pushVersion/pullVersion/schemaVersion values) are NOT done here: a wrong
// version must be answered with HTTP 200 + VersionNotSupported, so only the types are checked.
// Also the rules on what the stores keep (text of IDs and keys, nesting of values), which
// sync.js applies to what server mutators write.
import { badRequest } from './errors.js';

const MAX_ID_LEN = 512;

/**
 * How deep a JSON value may nest: the containers (objects, arrays) on its deepest path, counted
 * as the replicore client counts them (wasm/js/values.js MAX_DEPTH; `[[1]]` is 2). The client's
 * mutate refuses deeper args, and it refuses a whole pull response nesting deeper than 256
 * (core/include/replicore/protocol.h, ParseLimits.maxDepth) of which the envelope (response
 * object, patch array, op object) takes 3, so a value stored at this depth can always be read
 * back. Enforced on mutation args and on every value a server mutator writes (src/sync.js).
 */
export const MAX_VALUE_DEPTH = 250;

/** True when `value` (parsed JSON) nests more than `max` containers deep. Stops at `max + 1`. */
export function nestsDeeperThan(value, max) {
  const walk = (v, above) => {
    if (v === null || typeof v !== 'object') return false;
    if (above >= max) return true;
    for (const e of Array.isArray(v) ? v : Object.values(v)) if (walk(e, above + 1)) return true;
    return false;
  };
  return walk(value, 0);
}

/** The same count on JSON text (what JSON.stringify made of a value, toJSON and all). */
export function jsonTextNestsDeeperThan(text, max) {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Why `s` cannot be stored as a key or ID, or null. PostgreSQL refuses text with a NUL, and both
 * stores encode text as UTF-8, which turns a lone surrogate into U+FFFD, so distinct strings would
 * become one. (Values are stored as JSON text, where both are escapes, and come back unchanged.)
 */
export function unstorableText(s) {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'contains a lone surrogate (half of a UTF-16 pair), which is not text the database can keep';
  return null;
}

function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkString(obj, field, where, { allowEmpty = true, max = MAX_ID_LEN, stored = false } = {}) {
  const v = obj[field];
  if (typeof v !== 'string') throw badRequest(`${where}${field} must be a string`);
  if (!allowEmpty && v === '') throw badRequest(`${where}${field} must not be empty`);
  if (v.length > max) throw badRequest(`${where}${field} is longer than ${max} characters`);
  const problem = stored ? unstorableText(v) : null;
  if (problem) throw badRequest(`${where}${field} ${problem}`);
  return v;
}

function checkVersionField(obj, field) {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badRequest(`${field} must be an integer`);
  return v;
}

function checkCommon(body) {
  if (!isPlainObject(body)) throw badRequest('body must be a JSON object');
  checkString(body, 'profileID', '');
  checkString(body, 'clientGroupID', '', { allowEmpty: false, stored: true });
  if (body.schemaVersion !== undefined) checkString(body, 'schemaVersion', '');
}

export function validatePush(body) {
  checkCommon(body);
  const pushVersion = checkVersionField(body, 'pushVersion');
  if (!Array.isArray(body.mutations)) throw badRequest('mutations must be an array');
  const lastIDs = new Map();
  body.mutations.forEach((m, i) => {
    const where = `mutations[${i}].`;
    if (!isPlainObject(m)) throw badRequest(`mutations[${i}] must be an object`);
    checkString(m, 'clientID', where, { allowEmpty: false, stored: true });
    if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id) || m.id < 1) {
      throw badRequest(`${where}id must be a positive safe integer`);
    }
    checkString(m, 'name', where, { allowEmpty: false, max: 256 });
    if (typeof m.timestamp !== 'number' || !Number.isFinite(m.timestamp)) {
      throw badRequest(`${where}timestamp must be a finite number`);
    }
    if (!('args' in m)) throw badRequest(`${where}args is missing (use null for no argument)`);
    // Per client, the mutations of one push are consecutive (Replicache sends them that way).
    // Checking it up front means an out-of-order push is refused before anything is written.
    const prev = lastIDs.get(m.clientID);
    if (prev !== undefined && m.id !== prev + 1) {
      throw badRequest(`${where}id ${m.id} does not follow id ${prev} of client ${m.clientID}`);
    }
    lastIDs.set(m.clientID, m.id);
  });
  return {
    profileID: body.profileID,
    clientGroupID: body.clientGroupID,
    pushVersion,
    schemaVersion: body.schemaVersion ?? '',
    mutations: body.mutations,
  };
}

export function validatePull(body) {
  checkCommon(body);
  const pullVersion = checkVersionField(body, 'pullVersion');
  if (!('cookie' in body)) throw badRequest('cookie is missing (null on the first pull)');
  const { cookie } = body;
  // This server hands out {order: space version, id}; servers before version ids handed out bare
  // versions, which are still taken (answered with a full reset). Anything else is not ours.
  const version = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const ours = cookie === null || version(cookie) ||
    (typeof cookie === 'object' && !Array.isArray(cookie) && version(cookie.order) &&
     typeof cookie.id === 'string' && cookie.id.length <= 64);
  if (!ours) {
    throw badRequest('cookie must be null or a cookie issued by this server ({order, id}, or a non-negative integer)');
  }
  return {
    profileID: body.profileID,
    clientGroupID: body.clientGroupID,
    pullVersion,
    schemaVersion: body.schemaVersion ?? '',
    cookie,
  };
}
