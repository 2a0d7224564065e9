// Authentication: who sent a request. The server resolves every push, pull and poke socket to a
// user ID through exactly one of:
//   - JWTs issued by the app's own auth system, verified with `jose`: a shared secret (HS256),
//     a remote key set (JWKS URL) or public keys given up front (PEM, JWK or JWK Set);
//   - an `authenticate(request, info)` hook of the operator's;
//   - the demo login: tokens the server mints itself (POST /api/login, when enabled), which are
//     HS256 JWTs too, signed with the demo secret.
// This module holds the pieces; server.js wires them, auth-config.js reads them from env.
import { createHmac, createPublicKey, randomBytes, KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import { HttpError } from './errors.js';

/** Shorter secrets are refused: an HMAC key below the hash's size is guessable offline from one token. */
export const MIN_SECRET_BYTES = 32;
export const DEMO_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
// Demo tokens name themselves, so that they can never be mistaken for an app's own tokens.
const DEMO_ISSUER = 'replicore-demo';
const DEMO_AUDIENCE = 'replicore-demo';
/** The file in DATA_DIR that keeps the demo secret across restarts. */
export const DEMO_SECRET_FILE = 'demo-secret';
/** A poke socket may carry its token as a WebSocket subprotocol `auth.<token>` (browsers cannot set headers there). */
export const AUTH_PROTOCOL_PREFIX = 'auth.';

// C0 and C1 controls: a NUL makes PostgreSQL fail, and none belongs in an ID.
const DEMO_NAME_RE = /^[^\u0000-\u001f\u007f-\u009f]{1,64}$/u;
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/u;
export const MAX_USER_ID_LENGTH = 256;

/**
 * True when `name` is acceptable as a demo user name: 1..64 characters, no control characters, no
 * outer spaces, and well-formed (a lone surrogate would be stored as U+FFFD, and the name's client
 * groups would then belong to nobody who can log in). Any other Unicode is fine: the token
 * carries the name base64url-encoded, so it is ASCII and goes in a header as is.
 */
export function isValidUserID(name) {
  return typeof name === 'string' && name.isWellFormed() && DEMO_NAME_RE.test(name) && name.trim() === name;
}

/**
 * True when `id` (from a token or an authenticate hook) can be stored as a user ID the same way
 * in both stores: a well-formed string (lone surrogates would be altered) without controls.
 */
export function isUsableUserID(id) {
  return typeof id === 'string' && id !== '' && id.length <= MAX_USER_ID_LENGTH && !CONTROL_RE.test(id) && id.isWellFormed();
}

/** Throws a TypeError (what the CLI reports in one line) unless `secret` is a strong enough string. */
export function checkSecret(secret, what) {
  if (typeof secret !== 'string' || secret === '') throw new TypeError(`${what} is missing`);
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    throw new TypeError(`${what} is too weak: ${bytes} bytes, it needs at least ${MIN_SECRET_BYTES} (make one with: openssl rand -base64 32)`);
  }
}

/**
 * Mint a demo token for `userID`: an HS256 JWT {sub, iss, aud, iat, exp}, valid `ttlSeconds`
 * (30 days by default). Used by POST /api/login and by tests. Synchronous on purpose (tests and
 * scripts mint tokens inline); verification, the part that must resist attack, goes through jose.
 */
export function mintToken(userID, secret, { ttlSeconds = DEMO_TOKEN_TTL_SECONDS, now = Date.now() } = {}) {
  if (!isValidUserID(userID)) throw new TypeError('invalid userID');
  checkSecret(secret, 'the demo secret');
  const iat = Math.floor(now / 1000);
  const part = (obj) => Buffer.from(JSON.stringify(obj), 'utf8').toString('base64url');
  const signingInput = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: userID, iss: DEMO_ISSUER, aud: DEMO_AUDIENCE, iat, exp: iat + ttlSeconds })}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** The token of an `Authorization` header value: `Bearer <token>` or the bare token (Replicache sends its `auth` as is). */
export function tokenFromAuthorization(value) {
  if (typeof value !== 'string') return '';
  const v = value.trim();
  return /^bearer\s/i.test(v) ? v.slice(7).trim() : v;
}

/**
 * The token of a poke socket's upgrade request: the Authorization header (clients that can set
 * one), else a subprotocol `auth.<token>`, else the `auth` query parameter (what a browser page
 * can always do).
 */
export function tokenFromUpgrade(req, url) {
  const header = tokenFromAuthorization(req.headers.authorization);
  if (header) return header;
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const proto = offered.find((p) => p.startsWith(AUTH_PROTOCOL_PREFIX));
  if (proto) return proto.slice(AUTH_PROTOCOL_PREFIX.length);
  return url.searchParams.get('auth') ?? '';
}

/** The verification key set or the token's issuer cannot be reached: not the client's fault, it should retry. */
export class AuthUnavailableError extends HttpError {
  constructor(message, cause) {
    super(503, { error: 'AuthUnavailable', message });
    this.cause = cause;
  }
}

// Why a token was refused, for the 401's message (a developer chasing a wrong audience wants to
// know); the codes are jose's.
function rejectionReason(err) {
  switch (err?.code) {
    case 'ERR_JWT_EXPIRED': return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': return `the token's "${err.claim}" claim is not accepted (${err.reason})`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'the token\'s signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'the token is signed by a key the server does not know';
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return 'the token\'s algorithm is not accepted';
    default: return 'the token is not a valid JWT for this server';
  }
}

/**
 * The public key(s) of `jwt.publicKey`: a KeyObject, PEM text (SPKI public key or X.509
 * certificate), a JWK, a JWK Set, or the JSON text of either. Returns what jwtVerify takes.
 */
export function parsePublicKey(value) {
  if (value instanceof KeyObject) {
    if (value.type !== 'public') throw new TypeError('the JWT public key must be a public key');
    return value;
  }
  let v = value;
  if (typeof v === 'string') {
    const text = v.trim();
    if (text.startsWith('-----BEGIN')) {
      // A private key would work (Node derives the public half), but it has no business on this server.
      if (/PRIVATE KEY-----/.test(text)) throw new TypeError('the JWT public key file holds a PRIVATE key: give the server only the public key');
      try {
        return createPublicKey(text);
      } catch (err) {
        throw new TypeError(`the JWT public key is not a PEM public key or certificate (${err.message})`);
      }
    }
    try {
      v = JSON.parse(text);
    } catch {
      throw new TypeError('the JWT public key is neither PEM ("-----BEGIN PUBLIC KEY-----") nor JSON (a JWK or a JWK Set)');
    }
  }
  if (typeof v !== 'object' || v === null) throw new TypeError('the JWT public key must be PEM, a JWK or a JWK Set');
  const keys = Array.isArray(v.keys) ? v.keys : [v];
  if (keys.length === 0) throw new TypeError('the JWK Set has no keys');
  for (const k of keys) {
    if (typeof k !== 'object' || k === null || typeof k.kty !== 'string') throw new TypeError('a JWK has no "kty"');
    // Shared secrets go in the secret setting: a key file is for keys that may be public.
    if (k.kty === 'oct') throw new TypeError('the JWT public key file holds a symmetric (oct) key: use the secret setting (AUTH_JWT_SECRET) for shared secrets');
    if ('d' in k) throw new TypeError('the JWT public key file holds a PRIVATE key ("d"): give the server only the public key');
  }
  try {
    return createLocalJWKSet({ keys });
  } catch (err) {
    throw new TypeError(`the JWK Set is not valid (${err.message})`);
  }
}

function asList(v) {
  if (v === undefined || v === null || v === '') return undefined;
  const list = (Array.isArray(v) ? v : String(v).split(',')).map((s) => String(s).trim()).filter((s) => s !== '');
  return list.length ? list : undefined;
}

/**
 * A verifier of JWTs: `async (token) => {userID, claims}` or `{userID: null, reason}`. Throws
 * AuthUnavailableError when the keys cannot be had. Options (exactly one key source):
 *   secret          shared secret (HS256/384/512), at least 32 bytes
 *   jwksURL         URL of a JWK Set (fetched and cached by jose: refetched after 10 min, or when
 *                   a token names an unknown key, at most every 30 s)
 *   publicKey       KeyObject, PEM, JWK, JWK Set (object or JSON text)
 *   issuer          accepted `iss` value(s) (string, array or comma-separated)
 *   audience        accepted `aud` value(s); required with jwksURL / publicKey
 *   userClaim       the claim holding the user ID (default `sub`)
 *   algorithms      accepted `alg`s (default: every one that fits the key)
 *   clockTolerance  seconds of clock skew allowed on exp/nbf (default 5)
 *   requireExp      refuse tokens without `exp` (default true)
 *   jwksOptions     passed to jose's createRemoteJWKSet (timeoutDuration, cooldownDuration, ...)
 */
export function createJwtVerifier(options = {}) {
  const sources = ['secret', 'jwksURL', 'publicKey'].filter((k) => options[k] !== undefined && options[k] !== null && options[k] !== '');
  if (sources.length !== 1) {
    throw new TypeError(sources.length === 0
      ? 'JWT verification needs a key: a secret, a JWKS URL or a public key'
      : `JWT verification takes one key source, not ${sources.join(' and ')}`);
  }
  const issuer = asList(options.issuer);
  const audience = asList(options.audience);
  let key;
  if (options.secret !== undefined) {
    checkSecret(options.secret, 'the JWT secret (AUTH_JWT_SECRET)');
    key = new TextEncoder().encode(options.secret);
  } else {
    // An identity provider signs the tokens of all its applications with the same keys: without
    // an audience check, a token it issued for any other application would be accepted here.
    if (!audience) {
      throw new TypeError('JWT verification with public keys needs an audience (AUTH_JWT_AUDIENCE): the identity provider\'s keys also sign tokens meant for other applications');
    }
    if (options.jwksURL !== undefined) {
      let url;
      try {
        url = new URL(String(options.jwksURL));
      } catch {
        url = null;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
        throw new TypeError(`the JWKS URL ${JSON.stringify(String(options.jwksURL))} is not an http(s) URL`);
      }
      const remote = createRemoteJWKSet(url, options.jwksOptions);
      // Failing to get the keys (network, timeout, not a key set, not 200) is not the token's
      // fault: 503, so clients retry instead of treating it as a logout. Only what jose says
      // about the token itself (no key with its kid, say) stays a rejection.
      key = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (err) {
          if (err?.code === 'ERR_JWKS_NO_MATCHING_KEY' || err?.code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' || err?.code === 'ERR_JOSE_NOT_SUPPORTED') throw err;
          throw new AuthUnavailableError(`cannot fetch the key set from ${url.origin}${url.pathname} (${err?.code ?? err?.name}: ${err?.message}); retry later`, err);
        }
      };
    } else {
      key = parsePublicKey(options.publicKey);
    }
  }
  const userClaim = options.userClaim || 'sub';
  const algorithms = asList(options.algorithms);
  const clockTolerance = options.clockTolerance ?? 5;
  if (typeof clockTolerance !== 'number' || !(clockTolerance >= 0)) throw new TypeError('the JWT clock tolerance must be a number of seconds >= 0');
  const requiredClaims = [userClaim, ...(options.requireExp === false ? [] : ['exp'])];
  const verifyOptions = { issuer, audience, algorithms, clockTolerance, requiredClaims };
  return createVerifier(key, verifyOptions, userClaim, isUsableUserID);
}

/** The verifier of demo tokens (see mintToken). */
export function createDemoVerifier(secret) {
  checkSecret(secret, 'the demo secret (DEMO_SECRET)');
  const key = new TextEncoder().encode(secret);
  return createVerifier(key, {
    issuer: DEMO_ISSUER, audience: DEMO_AUDIENCE, algorithms: ['HS256'], clockTolerance: 5, requiredClaims: ['sub', 'exp'],
  }, 'sub', isValidUserID);
}

// The verify function: `{userID, claims, expiresAt}` for an accepted token, `{userID: null, reason}` for a
// refused one; throws AuthUnavailableError when the keys cannot be had.
function createVerifier(key, verifyOptions, userClaim, userIDOk) {
  return async function verify(token) {
    if (typeof token !== 'string' || token === '') return { userID: null, reason: 'no token' };
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, verifyOptions));
    } catch (err) {
      if (err instanceof AuthUnavailableError) throw err;
      // Everything else is about the token (jose reports a key of the wrong type for the
      // token's alg as a TypeError, for instance): refused.
      return { userID: null, reason: rejectionReason(err) };
    }
    const userID = payload[userClaim];
    if (!userIDOk(userID)) return { userID: null, reason: `the token's "${userClaim}" claim is not a usable user ID` };
    // When a request with this token would first be refused (a poke socket is closed then).
    const expiresAt = typeof payload.exp === 'number' ? (payload.exp + verifyOptions.clockTolerance) * 1000 : undefined;
    return { userID, claims: payload, expiresAt };
  };
}

/**
 * The demo secret kept in `dataDir` (file `demo-secret`, mode 0600): read if there, else made
 * (32 random bytes) and stored, so that a restart keeps every issued token valid and open tabs
 * keep syncing. Concurrent first starts agree on one secret (the file appears whole or not at all).
 */
export function loadOrCreateDemoSecret(dataDir, { logger } = {}) {
  try {
    return demoSecretIn(dataDir, logger);
  } catch (err) {
    if (err instanceof TypeError) throw err;
    // A folder the server cannot write (permissions, read-only) is the operator's to fix.
    throw new TypeError(`cannot keep the demo secret in ${dataDir} (${err.code ?? err.message}): set DATA_DIR to a writable folder, or DEMO_SECRET`);
  }
}

function demoSecretIn(dataDir, logger) {
  const file = path.join(dataDir, DEMO_SECRET_FILE);
  const read = () => {
    const st = fs.statSync(file);
    // Anyone who can read it can log in as anyone: keep it to the owner, as ssh does its keys.
    if ((st.mode & 0o077) !== 0) {
      fs.chmodSync(file, 0o600);
      logger?.info({ msg: `${file} was readable by others; its mode is now 0600` });
    }
    const secret = fs.readFileSync(file, 'utf8').trim();
    try {
      checkSecret(secret, `the demo secret in ${file}`);
    } catch (err) {
      throw new TypeError(`${err.message}; delete the file to have a new one made (tokens issued so far stop working)`);
    }
    return secret;
  };
  try {
    return read();
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // link() fails if the file exists: a server starting at the same moment keeps its secret, we read it.
    fs.linkSync(tmp, file);
    logger?.info({ msg: `made a new demo secret in ${file}` });
    return secret;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    return read();
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
