// WebSocket poke hub: one channel per space. A poke is the text message
// {"type":"poke","space":"<space>"}; it carries no data, clients just pull.
// Dead sockets are found with ws ping/pong: every `heartbeatMs` each socket that has not
// answered the previous ping is terminated, the others are pinged again.
import { WebSocketServer } from 'ws';
import { AUTH_PROTOCOL_PREFIX } from './auth.js';

// setTimeout's longest delay; a later expiry is waited for in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Close code of a socket whose token expired (4000-4999 are the application's). */
export const CLOSE_TOKEN_EXPIRED = 4001;

export function createPokeHub({ heartbeatMs = 30_000, logger }) {
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

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
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

  function subscribe(ws, space, expiresAt) {
    let set = channels.get(space);
    if (!set) channels.set(space, (set = new Set()));
    set.add(ws);
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
    /** Finish an HTTP upgrade for `space`; `expiresAt` (ms since the epoch): when its token expires. */
    handleUpgrade(req, socket, head, space, { expiresAt } = {}) {
      wss.handleUpgrade(req, socket, head, (ws) => subscribe(ws, space, expiresAt));
    },
    /** Poke every socket of `space` on this instance; returns how many were poked. */
    poke(space) {
      const set = channels.get(space);
      if (!set) return 0;
      const msg = JSON.stringify({ type: 'poke', space });
      let n = 0;
      for (const ws of set) {
        if (ws.readyState === ws.OPEN) {
          ws.send(msg);
          n++;
        }
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
