// WebSocket poke hub: one channel per space. A poke is the text message
// {"type":"poke","space":"<space>"}; it carries no data, clients just pull.
// Dead sockets are found with ws ping/pong: every `heartbeatMs` each socket that has not
// answered the previous ping is terminated, the others are pinged again.
// What sockets may hold is bounded: so many per user and in all (the rest are refused before
// the upgrade), one unsent poke per socket (a client pulls once whatever it gets, so later
// pokes add nothing to one still queued), and a socket whose unsent data stays above
// `maxBufferedBytes` is not reading: it is terminated.
import fs from 'node:fs';
import { WebSocketServer } from 'ws';
import { AUTH_PROTOCOL_PREFIX } from './auth.js';

// setTimeout's longest delay; a later expiry is waited for in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Close code of a socket whose token expired (4000-4999 are the application's). */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** A user's tabs and devices, with room to spare; a script opening sockets in a loop stops here. */
export const DEFAULT_MAX_POKE_SOCKETS_PER_USER = 20;
/** A poke is some 60 bytes and a ping 2: a socket holding more than this unsent is not reading. */
export const DEFAULT_MAX_POKE_BUFFERED_BYTES = 4096;
const MAX_POKE_SOCKETS_CAP = 4000;

/** The process's limit on open files (Linux), or null when it cannot be read or is unlimited. */
function openFileLimit() {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The default limit on poke sockets in all: 4000, or half the open-file limit when that is lower.
 * Every socket holds a file descriptor, and once they are all taken the server can accept no
 * connection at all, HTTP requests included: the other half is left to those, the database and
 * static files.
 */
export function defaultMaxPokeSockets() {
  const fds = openFileLimit();
  return fds === null ? MAX_POKE_SOCKETS_CAP : Math.max(1, Math.min(MAX_POKE_SOCKETS_CAP, Math.floor(fds / 2)));
}

export function createPokeHub({
  heartbeatMs = 30_000,
  maxSockets = defaultMaxPokeSockets(),
  maxSocketsPerUser = DEFAULT_MAX_POKE_SOCKETS_PER_USER,
  maxBufferedBytes = DEFAULT_MAX_POKE_BUFFERED_BYTES,
  logger,
}) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    // A browser that offered subprotocols fails the connection unless the server picks one.
    // A client carrying its token as `auth.<token>` should also offer a plain one (`replicore`),
    // which is picked so that the token is not echoed; else the offered one is.
    handleProtocols(protocols) {
      for (const p of protocols) if (!p.startsWith(AUTH_PROTOCOL_PREFIX)) return p;
      return protocols.values().next().value ?? false;
    },
  });
  const channels = new Map(); // space -> Set<WebSocket>
  const alive = new WeakMap();
  const socketsOfUser = new Map(); // userID -> number of open sockets
  // Sockets with a poke handed to ws but not yet to the operating system.
  const pokePending = new WeakSet();

  /** Terminate `ws` if its unsent data is above the bound; true when it did. */
  function dropIfStalled(ws, space) {
    const buffered = ws.bufferedAmount;
    if (buffered <= maxBufferedBytes) return false;
    logger.error({ msg: 'poke socket does not drain; dropped', space, bufferedBytes: buffered, maxBufferedBytes });
    ws.terminate();
    return true;
  }

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      if (dropIfStalled(ws)) continue;
      alive.set(ws, false);
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }, heartbeatMs);
  heartbeat.unref();

  // A socket lives no longer than the token it was opened with: at expiry it is closed, and the
  // client's reconnect has to authenticate again (as its next push or pull would).
  function closeAtExpiry(ws, expiresAt) {
    let timer = null;
    const check = () => {
      const left = expiresAt - Date.now();
      if (left <= 0) {
        ws.close(CLOSE_TOKEN_EXPIRED, 'token expired');
        return;
      }
      timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    check();
    ws.once('close', () => clearTimeout(timer));
  }

  function subscribe(ws, space, expiresAt, userID) {
    let set = channels.get(space);
    if (!set) channels.set(space, (set = new Set()));
    set.add(ws);
    if (userID !== undefined) {
      socketsOfUser.set(userID, (socketsOfUser.get(userID) ?? 0) + 1);
      ws.once('close', () => {
        const n = socketsOfUser.get(userID) - 1;
        if (n > 0) socketsOfUser.set(userID, n);
        else socketsOfUser.delete(userID);
      });
    }
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    // Clients have nothing to say; any message is ignored.
    ws.on('message', () => {});
    ws.on('error', (err) => logger.error({ msg: 'poke socket error', space, error: err.message }));
    ws.on('close', () => {
      set.delete(ws);
      if (set.size === 0 && channels.get(space) === set) channels.delete(space);
    });
    if (expiresAt !== undefined) closeAtExpiry(ws, expiresAt);
  }

  return {
    /**
     * Why one more socket, of `userID` (or of anyone, when undefined), would be refused:
     * {status, body} for the HTTP answer instead of the upgrade, or null when it may open.
     */
    refusal(userID) {
      if (wss.clients.size >= maxSockets) {
        return { status: 503, body: { error: 'PokeSocketsFull', message: `the server has ${maxSockets} poke sockets open, as many as it takes; try again later` } };
      }
      if (userID !== undefined && (socketsOfUser.get(userID) ?? 0) >= maxSocketsPerUser) {
        return { status: 429, body: { error: 'TooManyPokeSockets', message: `${userID} has ${maxSocketsPerUser} poke sockets open, as many as one user may; close one first` } };
      }
      return null;
    },
    /**
     * Finish an HTTP upgrade for `space` and `userID` (counted against its limit; check
     * refusal() first, in the same tick: ws completes the upgrade synchronously); `expiresAt`
     * (ms since the epoch): when its token expires.
     */
    handleUpgrade(req, socket, head, space, { expiresAt, userID } = {}) {
      wss.handleUpgrade(req, socket, head, (ws) => subscribe(ws, space, expiresAt, userID));
    },
    /** Poke every socket of `space` on this instance; returns how many were sent one now. */
    poke(space) {
      const set = channels.get(space);
      if (!set) return 0;
      const msg = JSON.stringify({ type: 'poke', space });
      let n = 0;
      for (const ws of set) {
        if (ws.readyState !== ws.OPEN || dropIfStalled(ws, space)) continue;
        // The client pulls when the queued poke arrives, which is after this commit: that
        // pull sees it too.
        if (pokePending.has(ws)) continue;
        pokePending.add(ws);
        ws.send(msg, () => pokePending.delete(ws));
        n++;
      }
      return n;
    },
    /** Poke every socket of every space (after missed notifications). */
    pokeAll() {
      let n = 0;
      for (const space of [...channels.keys()]) n += this.poke(space);
      return n;
    },
    count(space) {
      return space === undefined ? wss.clients.size : (channels.get(space)?.size ?? 0);
    },
    close() {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.terminate();
      channels.clear();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
