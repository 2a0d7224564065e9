// The sync rules (Replicache push/pull version 1), written once above the storage interface
// (see storage/interface.md). Nothing here knows about HTTP beyond throwing HttpErrors.
import { HttpError, StorageUnavailableError } from './errors.js';
import { KeyedMutex } from './mutex.js';
import { errorInfo } from './log.js';
import { MAX_VALUE_DEPTH, jsonTextNestsDeeperThan, nestsDeeperThan, unstorableText } from './validate.js';

const MAX_KEY_LENGTH = 1024;
export const DEFAULT_MUTATOR_TIMEOUT_MS = 5000;
// How far a pull's cookie may be above its space's version and still be taken as one the space
// issued before it lost commits (answered with a reset that jumps the version past it).
export const MAX_VERSION_JUMP = 2 ** 32;

function futureError({ clientID, lastMutationID, mutationID }) {
  return new HttpError(409, {
    error: 'MutationFromFuture',
    message: `mutation ${mutationID} of client ${clientID} is from the future: the server's lastMutationID is ${lastMutationID}`,
    clientID, lastMutationID, mutationID,
  });
}

/** Thrown inside a transaction to roll it back because the mutation was already processed. */
class AlreadyProcessed extends Error {}

/** A server mutator ran past mutatorTimeoutMs: its mutation fails like one whose mutator threw. */
export class MutatorTimeoutError extends Error {
  constructor(name, ms) {
    super(`mutator ${name} did not finish within ${ms} ms`);
    this.name = 'MutatorTimeoutError';
  }
}

/** Settles with `TIMED_OUT` after `ms` (never when `ms` is 0); `cancel()` drops the timer. */
const TIMED_OUT = Symbol('timed out');
function timeout(ms) {
  let timer;
  const promise = new Promise((resolve) => {
    if (ms > 0) timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function toJSONText(value, key) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`value for ${key} is not JSON: ${err.message}`);
  }
  if (text === undefined) throw new TypeError(`value for ${key} is not JSON`);
  // Deeper, and no client of ours could pull the space any more.
  if (jsonTextNestsDeeperThan(text, MAX_VALUE_DEPTH)) {
    throw new TypeError(`value for ${key} nests deeper than ${MAX_VALUE_DEPTH} levels (objects and arrays), more than a client reads`);
  }
  return text;
}

// A key the stores cannot keep as is fails the mutation here, before it reaches the database,
// where it would fail every retry of the push (PostgreSQL refuses a NUL) or be altered.
function checkKey(key) {
  if (typeof key !== 'string' || key === '') throw new TypeError('key must be a non-empty string');
  if (key.length > MAX_KEY_LENGTH) throw new TypeError(`key is longer than ${MAX_KEY_LENGTH} characters`);
  const problem = unstorableText(key);
  if (problem) throw new TypeError(`key ${JSON.stringify(key)} ${problem}`);
}

class ScanResult {
  #load;
  constructor(load) {
    this.#load = load;
  }
  #view(map) {
    const load = this.#load;
    return {
      toArray: async () => (await load()).map(map),
      async *[Symbol.asyncIterator]() {
        for (const e of await load()) yield map(e);
      },
    };
  }
  entries() { return this.#view(([k, v]) => [k, v]); }
  keys() { return this.#view(([k]) => k); }
  values() { return this.#view(([, v]) => v); }
  toArray() { return this.values().toArray(); }
  [Symbol.asyncIterator]() { return this.values()[Symbol.asyncIterator](); }
}

/**
 * The transaction object a mutator sees. Writes are buffered here and reach the storage only
 * when the mutator returns normally, so a mutator that throws leaves nothing written.
 * `close()` ends it: a mutator that timed out keeps running (JavaScript cannot stop it), and
 * whatever it calls afterwards must neither land in this mutation nor touch a storage
 * transaction that has moved on to other work.
 */
function createMutatorTx(stx, space) {
  const writes = new Map(); // key -> JSON text, or null for a delete
  // pending: the storage calls still running, which close() lets the caller wait for.
  const state = { storageError: null, closed: false, pending: new Set() };
  // A storage failure inside a mutator is not the mutator's fault: remember it so the caller
  // rethrows it (and the transaction is retried or the push fails) instead of skipping the mutation.
  const guard = (call) => {
    const result = (async () => {
      try {
        return await call();
      } catch (err) {
        state.storageError ??= err;
        throw err;
      }
    })();
    const settled = result.then(() => {}, () => {});
    state.pending.add(settled);
    settled.then(() => state.pending.delete(settled));
    return result;
  };
  const closedError = () => new Error('the mutator\'s transaction is closed (the mutator returned or ran out of time)');
  // Refused calls reject with a rejection already marked handled: a mutator that does not await
  // a call it made after the end must not take the process down as an unhandled rejection.
  const whileOpen = (fn) => (...args) => {
    if (!state.closed) return fn(...args);
    const refused = Promise.reject(closedError());
    refused.catch(() => {});
    return refused;
  };
  const read = async (key) => {
    checkKey(key);
    if (writes.has(key)) return writes.get(key);
    const e = await guard(() => stx.getEntry(space, key));
    return e && !e.deleted ? e.value : null;
  };
  const tx = {
    get: whileOpen(async (key) => {
      const text = await read(key);
      return text === null ? undefined : JSON.parse(text);
    }),
    has: whileOpen(async (key) => (await read(key)) !== null),
    set: whileOpen(async (key, value) => {
      checkKey(key);
      writes.set(key, toJSONText(value, key));
    }),
    del: whileOpen(async (key) => {
      checkKey(key);
      const existed = (await read(key)) !== null;
      // The read awaited: the mutator may have been closed meanwhile.
      if (state.closed) throw closedError();
      writes.set(key, null);
      return existed;
    }),
    scan(options = {}) {
      const prefix = options.prefix ?? '';
      const start = options.start?.key;
      const limit = options.limit ?? Infinity;
      if (typeof prefix !== 'string') throw new TypeError('scan prefix must be a string');
      const problem = unstorableText(prefix);
      if (problem) throw new TypeError(`scan prefix ${JSON.stringify(prefix)} ${problem}`);
      return new ScanResult(async () => {
        if (state.closed) throw closedError();
        const merged = new Map();
        for (const { key, value } of await guard(() => stx.scanEntries(space, prefix, Infinity))) merged.set(key, value);
        for (const [key, value] of writes) {
          if (!key.startsWith(prefix)) continue;
          if (value === null) merged.delete(key);
          else merged.set(key, value);
        }
        let keys = [...merged.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        if (start !== undefined) keys = keys.filter((k) => (options.start.exclusive ? k > start : k >= start));
        if (Number.isFinite(limit)) keys = keys.slice(0, limit);
        return keys.map((k) => [k, JSON.parse(merged.get(k))]);
      });
    },
  };
  tx.put = tx.set;
  tx.delete = tx.del;
  return {
    tx,
    state,
    close() {
      state.closed = true;
      return [...writes];
    },
  };
}

export function createSync({
  storage, mutators, logger, onCommitted, futureCookie = 'reset', mutatorTimeoutMs = DEFAULT_MUTATOR_TIMEOUT_MS,
}) {
  const spaceLocks = new KeyedMutex();

  /**
   * Run one mutator on a fresh mutator transaction. Returns {writes} when it returned in time,
   * {error} when it threw (anything, falsy values included) or ran past mutatorTimeoutMs.
   * Throws the storage's error when a storage call of the mutator failed.
   */
  async function runMutator(mutator, stx, space, m, ctx) {
    const { tx, state, close } = createMutatorTx(stx, space);
    const limit = timeout(mutatorTimeoutMs);
    const started = performance.now();
    let outcome;
    try {
      const returned = await Promise.race([mutator(tx, m.args, ctx), limit.promise]);
      // A synchronous loop cannot be pre-empted: the timer only fires once it has returned, so
      // the time it took decides.
      if (returned === TIMED_OUT || (mutatorTimeoutMs > 0 && performance.now() - started > mutatorTimeoutMs)) {
        outcome = { error: new MutatorTimeoutError(m.name, mutatorTimeoutMs) };
      }
    } catch (err) {
      outcome = { error: err };
    } finally {
      limit.cancel();
    }
    const writes = close();
    // A storage call still running (the mutator timed out waiting on the database) may yet fail;
    // the storage connection is not free before it ends anyway.
    await Promise.allSettled(state.pending);
    if (state.storageError) throw state.storageError;
    return outcome ?? { writes };
  }

  /** Check (and on first use record) that the group belongs to this user and space. */
  async function claimGroup(stx, clientGroupID, userID, space, { register }) {
    let group = await stx.getClientGroup(clientGroupID);
    if (!group && register) {
      await stx.insertClientGroup(clientGroupID, userID, space);
      group = await stx.getClientGroup(clientGroupID);
      if (group) group = { ...group, created: true };
    }
    if (!group) return undefined;
    if (group.userID !== userID) {
      throw new HttpError(403, { error: 'Forbidden', message: 'clientGroupID belongs to another user' });
    }
    if (group.space !== space) {
      throw new HttpError(403, { error: 'Forbidden', message: 'clientGroupID belongs to another space' });
    }
    return group;
  }

  /**
   * Process a validated push. Returns {processed, skipped, failed} counts.
   * Throws HttpError 403 (group/client of someone else) or 409 (mutation from the future);
   * in both cases nothing of that push has been written.
   */
  async function push({ space, userID, requestID, push: req }) {
    const { clientGroupID, mutations } = req;
    const clientIDs = [...new Set(mutations.map((m) => m.clientID))];

    // Up front, in one transaction: claim the group, check every client belongs to it and that
    // no client's first mutation is from the future. lmids only grow, so once this passes no gap
    // can appear later in this push (a concurrent push can only make us skip).
    const checked = await storage.transact(async (stx) => {
      const group = await claimGroup(stx, clientGroupID, userID, space, { register: true });
      const known = new Map();
      const clients = clientIDs.length ? await stx.getClients(clientIDs) : new Map();
      for (const clientID of clientIDs) {
        const c = clients.get(clientID);
        if (c && c.clientGroupID !== clientGroupID) {
          throw new HttpError(403, { error: 'Forbidden', message: `client ${clientID} belongs to another client group` });
        }
        known.set(clientID, c ? c.lastMutationID : 0);
      }
      const seen = new Set();
      const future = [];
      for (const m of mutations) {
        if (seen.has(m.clientID)) continue;
        seen.add(m.clientID);
        const lmid = known.get(m.clientID);
        if (m.id > lmid + 1) future.push({ clientID: m.clientID, lastMutationID: lmid, mutationID: m.id });
      }
      if (!future.length) return { lmids: known };
      // The client has seen its mutations confirmed that this database no longer has (restored,
      // or lost its last commits). Its row is written anew (lastMutationID as the database has
      // it, at a new version) so that its next pull, even one diffed from a good cookie, tells
      // it its lastMutationID went down: a replicore client then pushes the lost mutations
      // again. Not for a group this push created: that one is refused with nothing written.
      if (group.created) throw futureError(future[0]);
      const version = await stx.bumpSpaceVersion(space);
      for (const f of future) await stx.putClient(f.clientID, clientGroupID, f.lastMutationID, version);
      return { future };
    });
    if (checked.future) {
      onCommitted(space);
      throw futureError(checked.future[0]);
    }
    const { lmids } = checked;

    const result = { processed: 0, skipped: 0, failed: 0 };
    // A mutation whose connection was lost during COMMIT may have committed: poke for it too, or
    // other clients would not hear of it until something else commits (the retry only skips it).
    let maybeCommitted = false;
    try {
      for (const m of mutations) {
        if (m.id <= lmids.get(m.clientID)) {
          result.skipped++;
          continue;
        }
        const outcome = await spaceLocks.run(space, () => processMutation({ space, userID, clientGroupID, requestID, m }));
        result[outcome]++;
        lmids.set(m.clientID, m.id);
      }
    } catch (err) {
      if (err instanceof StorageUnavailableError) maybeCommitted = true;
      throw err;
    } finally {
      if (result.processed + result.failed > 0 || maybeCommitted) onCommitted(space);
    }
    return result;
  }

  async function processMutation({ space, userID, clientGroupID, requestID, m }) {
    // Not the thrown value itself: a mutator may throw undefined, 0, '' or null.
    let failure = null;
    try {
      await storage.transact(async (stx) => {
        failure = null;
        // Bumping the space version first takes the space's row lock (PostgreSQL).
        const { version, client } = await stx.startMutation(space, m.clientID);
        if (client && client.clientGroupID !== clientGroupID) {
          throw new HttpError(403, { error: 'Forbidden', message: `client ${m.clientID} belongs to another client group` });
        }
        const lmid = client ? client.lastMutationID : 0;
        if (m.id <= lmid) throw new AlreadyProcessed();
        if (m.id > lmid + 1) {
          throw new HttpError(409, {
            error: 'MutationFromFuture',
            message: `mutation ${m.id} of client ${m.clientID} is from the future: the server's lastMutationID is ${lmid}`,
            clientID: m.clientID, lastMutationID: lmid, mutationID: m.id,
          });
        }
        const mutator = Object.hasOwn(mutators, m.name) ? mutators[m.name] : undefined;
        let written = [];
        if (typeof mutator !== 'function') {
          failure = { error: new Error(`unknown mutator ${m.name}`) };
        } else if (nestsDeeperThan(m.args, MAX_VALUE_DEPTH)) {
          // Bad args: the mutation fails for good (a 400 would make the client resend it forever).
          failure = { error: new TypeError(`args of ${m.name} nest deeper than ${MAX_VALUE_DEPTH} levels (objects and arrays)`) };
        } else {
          const ctx = { userID, clientID: m.clientID, clientGroupID, space, mutationID: m.id, version };
          const outcome = await runMutator(mutator, stx, space, m, ctx);
          if (outcome.writes) written = outcome.writes;
          else failure = outcome;
        }
        // The mutator's writes (none if it failed) and the lmid, in the same transaction.
        await stx.finishMutation(space, version, written, m.clientID, clientGroupID, m.id);
      });
    } catch (err) {
      if (err instanceof AlreadyProcessed) return 'skipped';
      throw err;
    }
    if (failure) {
      logger.error({
        msg: 'mutation failed; lastMutationID advanced with nothing else written',
        requestID, userID, space, clientID: m.clientID, mutationID: m.id, mutator: m.name,
        error: errorInfo(failure.error),
      });
      return 'failed';
    }
    return 'processed';
  }

  /**
   * How a pull's cookie relates to what this database has issued:
   * 'first' (null), 'ok' (diff from it), 'divergent' (this database could not have issued it:
   * its version is above the space's, or its id is not the one recorded for its version, or
   * its version lies in the kept history yet was never issued: the database was restored or
   * lost its last commits after the client pulled it), or 'unknown' (possibly issued, but not
   * diffable: its version's id was pruned, or a bare-number cookie from a server before
   * version ids, which cannot be checked).
   */
  function classifyCookie(cookie, info) {
    if (cookie === null) return 'first';
    const legacy = typeof cookie === 'number';
    const order = legacy ? cookie : cookie.order;
    if (order > info.version) return 'divergent';
    if (legacy) return 'unknown';
    // Version 0 is the empty space, the same in every timeline.
    if (order === 0) return cookie.id === '' ? 'ok' : 'divergent';
    if (info.cookieID !== null) return info.cookieID === cookie.id ? 'ok' : 'divergent';
    if (info.oldest !== null && order >= info.oldest) return 'divergent';
    return 'unknown';
  }

  /** Compute a pull response for a validated pull. */
  async function pull({ space, userID, pull: req }) {
    const { clientGroupID, cookie } = req;
    const result = await storage.transact(async (stx) => {
      // A first pull (cookie null) may be the first request of a group: claim it.
      const group = await claimGroup(stx, clientGroupID, userID, space, { register: cookie === null });
      if (!group) return { response: { error: 'ClientStateNotFound' } };
      const order = cookie === null ? null : (typeof cookie === 'number' ? cookie : cookie.order);
      const info = await stx.getCookieInfo(space, order);
      const kind = classifyCookie(cookie, info);
      // Replicache 15 fails every pull that lowers a lastMutationID it has, so for Replicache
      // clients 'clientStateNotFound' (start over with a new group) is the only reset that
      // takes effect after the database lost commits.
      if (kind === 'divergent' && futureCookie === 'clientStateNotFound') {
        return { response: { error: 'ClientStateNotFound' }, kind };
      }
      let { version, id } = info;
      if ((kind === 'divergent' || kind === 'unknown') && order >= version) {
        // A cookie far beyond what a space could have lost is forged or corrupt, not a restore:
        // jumping to it would drive the space's version toward 2^53, where versions stop being
        // exact integers, for every client of the space.
        if (order - version > MAX_VERSION_JUMP) {
          throw new HttpError(400, { error: 'BadRequest', message: `cookie order ${order} is far above this space's version ${version}: not a cookie this server issued` });
        }
        // Cookies only grow: the reset's cookie must be above the client's, or the client
        // would take it for an old answer (lower) or no news (equal order).
        version = await stx.bumpSpaceVersion(space, order + 1);
        id = null;
      }
      if (version === 0) id = '';
      // A space written by a server before version ids has none for its current version yet.
      else if (id === null) id = (await stx.getCookieInfo(space, version)).cookieID ?? await stx.recordVersionID(space, version);
      const patch = [];
      let clients;
      if (kind !== 'ok') {
        // First pull, or a cookie that cannot be diffed from: the whole state, and the
        // lastMutationID of every client of the group, so that a client whose mutations the
        // database lost sees its lastMutationID go down and pushes them again.
        patch.push({ op: 'clear' });
        for (const { key, value } of await stx.liveEntries(space)) patch.push({ op: 'put', key, value: JSON.parse(value) });
        clients = await stx.clientsChangedSince(clientGroupID, -1);
      } else {
        for (const { key, value, deleted } of await stx.entriesSince(space, order)) {
          patch.push(deleted ? { op: 'del', key } : { op: 'put', key, value: JSON.parse(value) });
        }
        clients = await stx.clientsChangedSince(clientGroupID, order);
      }
      const lastMutationIDChanges = {};
      for (const c of clients) lastMutationIDChanges[c.clientID] = c.lastMutationID;
      return { response: { cookie: { order: version, id }, lastMutationIDChanges, patch }, kind, version };
    });
    if (result.kind === 'divergent' || result.kind === 'unknown') {
      logger.info?.({
        msg: result.kind === 'divergent'
          ? 'pull with a cookie this database did not issue (restored or lost commits?); answered with ' +
            (result.response.error ? 'ClientStateNotFound' : 'a full reset')
          : 'pull with a cookie that cannot be diffed from (pruned, or from an older server); answered with a full reset',
        space, clientGroupID, cookie, version: result.version,
      });
    }
    return result.response;
  }

  return { push, pull };
}
