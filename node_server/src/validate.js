// Shape checks for push/pull bodies (Replicache push/pull version 1).
// Each function returns the parsed request or throws a 400 HttpError saying what is wrong.
// Version checks (pushVersion/pullVersion/schemaVersion values) are NOT done here: a wrong
// version must be answered with HTTP 200 + VersionNotSupported, so only the types are checked.
import { badRequest } from './errors.js';

const MAX_ID_LEN = 512;

function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkString(obj, field, where, { allowEmpty = true, max = MAX_ID_LEN } = {}) {
  const v = obj[field];
  if (typeof v !== 'string') throw badRequest(`${where}${field} must be a string`);
  if (!allowEmpty && v === '') throw badRequest(`${where}${field} must not be empty`);
  if (v.length > max) throw badRequest(`${where}${field} is longer than ${max} characters`);
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
  checkString(body, 'clientGroupID', '', { allowEmpty: false });
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
    checkString(m, 'clientID', where, { allowEmpty: false });
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
  // This server only ever hands out numbers (the space version), so anything else is not ours.
  if (cookie !== null && (typeof cookie !== 'number' || !Number.isSafeInteger(cookie) || cookie < 0)) {
    throw badRequest('cookie must be null or a non-negative integer issued by this server');
  }
  return {
    profileID: body.profileID,
    clientGroupID: body.clientGroupID,
    pullVersion,
    schemaVersion: body.schemaVersion ?? '',
    cookie,
  };
}
