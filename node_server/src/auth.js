// Demo authentication: a token is `<userID>.<hex HMAC-SHA256(userID, secret)>`.
// The server takes the `Authorization` header through a pluggable verifier
// `(authHeader) => userID | null` (may be async); this module supplies the default one.
import { createHmac, timingSafeEqual } from 'node:crypto';

const USER_ID_RE = /^[^\u0000-\u001f\u007f]{1,64}$/u;

/** True when `name` is acceptable as a demo user ID (1..64 chars, no control chars). */
export function isValidUserID(name) {
  return typeof name === 'string' && USER_ID_RE.test(name) && name.trim() === name;
}

function sign(userID, secret) {
  return createHmac('sha256', secret).update(userID, 'utf8').digest('hex');
}

/** Mint a demo token for `userID` (used by POST /api/login and by tests). */
export function mintToken(userID, secret) {
  if (!isValidUserID(userID)) throw new TypeError('invalid userID');
  if (typeof secret !== 'string' || secret === '') throw new TypeError('secret must be a non-empty string');
  return `${userID}.${sign(userID, secret)}`;
}

/** Build the default verifier: accepts `<token>` or `Bearer <token>`; returns the userID or null. */
export function createTokenVerifier(secret) {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('secret must be a non-empty string');
  return function verifyToken(authHeader) {
    if (typeof authHeader !== 'string' || authHeader === '') return null;
    let token = authHeader.trim();
    if (/^bearer /i.test(token)) token = token.slice(7).trim();
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return null;
    const userID = token.slice(0, dot);
    const mac = token.slice(dot + 1);
    if (!isValidUserID(userID) || !/^[0-9a-f]{64}$/.test(mac)) return null;
    const expected = Buffer.from(sign(userID, secret), 'hex');
    const given = Buffer.from(mac, 'hex');
    return timingSafeEqual(expected, given) ? userID : null;
  };
}
