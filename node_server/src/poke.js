// WebSocket poke hub: one channel per space. A poke is the text message
// {"type":"poke","space":"<space>"}; it carries no data, clients just pull.
// Dead sockets are found with ws ping/pong: every `heartbeatMs` each socket that has not
// answered the previous ping is terminated, the others are pinged again.
import { WebSocketServer } from 'ws';

export function createPokeHub({ heartbeatMs = 30_000, logger }) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
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

  function subscribe(ws, space) {
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
  }

  return {
    /** Finish an HTTP upgrade for `space`. */
    handleUpgrade(req, socket, head, space) {
      wss.handleUpgrade(req, socket, head, (ws) => subscribe(ws, space));
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
