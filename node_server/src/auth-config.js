// The CLI's authentication and authorization settings, from env, as createServer options.
// Every mistake an operator can fix is a TypeError whose message names the variable to change
// (main.js prints it in one line and exits 1): starting with no authentication, or two at once,
// or a weak secret, must not happen silently.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const JWT_KEYS = ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_JWT_PUBLIC_KEY_FILE'];
const JWT_CLAIMS = ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_USER_CLAIM', 'AUTH_JWT_ALGORITHMS',
  'AUTH_JWT_CLOCK_TOLERANCE', 'AUTH_JWT_REQUIRE_EXP'];

const set = (env, name) => env[name] !== undefined && env[name] !== '';

/** An on/off variable: 1/true/yes/on or 0/false/no/off (unset: `fallback`). */
export function envFlag(env, name, fallback = false) {
  if (!set(env, name)) return fallback;
  const v = String(env[name]).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new TypeError(`${name}=${env[name]} is not on or off: use ${name}=1 or ${name}=0`);
}

async function loadAuthModule(file) {
  const resolved = path.resolve(file);
  let mod;
  try {
    mod = await import(pathToFileURL(resolved).href);
  } catch (err) {
    // A wrong path is a setting to fix; an error inside the module keeps its stack trace.
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(resolved)) {
      throw new TypeError(`AUTH_MODULE=${file}: there is no module at ${resolved}`);
    }
    // Not a TypeError, which main.js would shorten to one line: this one needs its stack.
    throw new Error(`AUTH_MODULE=${file} failed to load`, { cause: err });
  }
  // Named exports, or a default export object holding them.
  const pick = (name) => mod[name] ?? (typeof mod.default === 'object' && mod.default !== null ? mod.default[name] : undefined);
  const authenticate = pick('authenticate');
  const authorize = pick('authorize');
  for (const [name, fn] of [['authenticate', authenticate], ['authorize', authorize]]) {
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`AUTH_MODULE=${file}: its export ${name} is not a function`);
  }
  if (!authenticate && !authorize) {
    throw new TypeError(`AUTH_MODULE=${file} exports neither authenticate(request, info) nor authorize(userID, space, access)`);
  }
  return { authenticate, authorize };
}

/**
 * createServer options for authentication and authorization from `env`:
 *   AUTH_JWT_SECRET | AUTH_JWKS_URL | AUTH_JWT_PUBLIC_KEY_FILE, with AUTH_JWT_ISSUER,
 *     AUTH_JWT_AUDIENCE, AUTH_JWT_USER_CLAIM, AUTH_JWT_ALGORITHMS, AUTH_JWT_CLOCK_TOLERANCE,
 *     AUTH_JWT_REQUIRE_EXP                              -> jwt
 *   AUTH_MODULE (exports authenticate and/or authorize) -> authenticate, authorize
 *   DEMO_LOGIN=1, DEMO_SECRET, DEMO_TOKEN_TTL            -> demoLogin, demoSecret, demoTokenTTL
 */
export async function authOptionsFromEnv(env) {
  if (set(env, 'AUTH_SECRET')) {
    throw new TypeError('AUTH_SECRET is no longer read. It was the demo login\'s secret: that is DEMO_SECRET now, and the demo login needs DEMO_LOGIN=1. ' +
      'To accept tokens of your own auth system, see AUTH_JWT_SECRET in node_server/README.md');
  }
  const options = {};
  const methods = [];

  const keys = JWT_KEYS.filter((k) => set(env, k));
  if (keys.length > 1) throw new TypeError(`set one of ${JWT_KEYS.join(', ')}, not ${keys.join(' and ')}`);
  if (keys.length === 1) {
    const jwt = {
      issuer: env.AUTH_JWT_ISSUER || undefined,
      audience: env.AUTH_JWT_AUDIENCE || undefined,
      userClaim: env.AUTH_JWT_USER_CLAIM || undefined,
      algorithms: env.AUTH_JWT_ALGORITHMS || undefined,
      requireExp: envFlag(env, 'AUTH_JWT_REQUIRE_EXP', true),
    };
    if (set(env, 'AUTH_JWT_CLOCK_TOLERANCE')) {
      const t = Number(env.AUTH_JWT_CLOCK_TOLERANCE);
      if (!Number.isFinite(t) || t < 0) throw new TypeError(`AUTH_JWT_CLOCK_TOLERANCE=${env.AUTH_JWT_CLOCK_TOLERANCE} is not a number of seconds >= 0`);
      jwt.clockTolerance = t;
    }
    if (keys[0] === 'AUTH_JWT_SECRET') jwt.secret = env.AUTH_JWT_SECRET;
    else if (keys[0] === 'AUTH_JWKS_URL') jwt.jwksURL = env.AUTH_JWKS_URL;
    else {
      const file = path.resolve(env.AUTH_JWT_PUBLIC_KEY_FILE);
      try {
        jwt.publicKey = fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new TypeError(`AUTH_JWT_PUBLIC_KEY_FILE=${env.AUTH_JWT_PUBLIC_KEY_FILE} cannot be read (${err.code ?? err.message})`);
      }
    }
    options.jwt = jwt;
    methods.push(keys[0]);
  } else {
    const stray = JWT_CLAIMS.filter((k) => set(env, k));
    if (stray.length) throw new TypeError(`${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set, but no key to verify JWTs with: set one of ${JWT_KEYS.join(', ')}`);
  }

  if (set(env, 'AUTH_MODULE')) {
    const { authenticate, authorize } = await loadAuthModule(env.AUTH_MODULE);
    if (authenticate) {
      options.authenticate = authenticate;
      methods.push('AUTH_MODULE (its authenticate)');
    }
    if (authorize) options.authorize = authorize;
  }

  const demoLogin = envFlag(env, 'DEMO_LOGIN');
  if (demoLogin || set(env, 'DEMO_SECRET')) {
    options.demoLogin = demoLogin;
    // Without DEMO_SECRET createServer keeps one in DATA_DIR.
    if (set(env, 'DEMO_SECRET')) options.demoSecret = env.DEMO_SECRET;
    methods.push(demoLogin ? 'DEMO_LOGIN' : 'DEMO_SECRET');
  }
  if (set(env, 'DEMO_TOKEN_TTL')) {
    const ttl = Number(env.DEMO_TOKEN_TTL);
    if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new TypeError(`DEMO_TOKEN_TTL=${env.DEMO_TOKEN_TTL} is not a whole number of seconds > 0`);
    options.demoTokenTTL = ttl;
  }

  if (methods.length === 0) {
    throw new TypeError('no authentication is configured. For your app: AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY_FILE (verify the JWTs of your auth system), ' +
      'or AUTH_MODULE (your authenticate hook). To try the demo chat: DEMO_LOGIN=1 (anyone can log in as anyone). See node_server/README.md, "Authentication and authorization"');
  }
  if (methods.length > 1) throw new TypeError(`authenticate one way: ${methods.join(' and ')} are both set`);
  return options;
}
