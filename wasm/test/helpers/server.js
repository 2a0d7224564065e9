// A small in-process Replicache push/pull (version 1) backend for tests:
// memory storage, global version cookies, a poke WebSocket at /api/poke,
// and a record of every request (headers and parsed body). `hook` lets a
// test answer a request itself (status, body) to script failures.
import http from 'node:http';
import {WebSocketServer} from 'ws';

export async function startServer({port = 0} = {}) {
  const s = {
    version: 0,
    entries: new Map(), // key -> {value, version, deleted}
    clients: new Map(), // clientID -> {clientGroupID, lmid, version}
    requests: [],
    hook: null,
    sockets: new Set(),
    port: 0,
  };

  function applyMutation(m) {
    const v = ++s.version;
    if (m.name === 'put' && m.args && typeof m.args.key === 'string') {
      s.entries.set(m.args.key, {value: m.args.value, version: v, deleted: false});
    } else if (m.name === 'del' && typeof m.args === 'string') {
      s.entries.set(m.args, {value: null, version: v, deleted: true});
    } else if (m.name === 'inc' && typeof m.args === 'string') {
      const cur = s.entries.get(m.args);
      const n = cur && !cur.deleted && typeof cur.value === 'number' ? cur.value : 0;
      s.entries.set(m.args, {value: n + 1, version: v, deleted: false});
    } else if (m.name === 'serverSet' && m.args) {
      s.entries.set(m.args.key, {value: m.args.value, version: v, deleted: false});
    }
    return v;
  }

  s.serverPut = (key, value) => {
    s.entries.set(key, {value, version: ++s.version, deleted: false});
  };

  s.pullResponse = (body) => {
    const cookie = typeof body.cookie === 'number' ? body.cookie : 0;
    const patch = [];
    for (const [key, e] of [...s.entries].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (e.version <= cookie) continue;
      patch.push(e.deleted ? {op: 'del', key} : {op: 'put', key, value: e.value});
    }
    const lastMutationIDChanges = {};
    for (const [id, c] of s.clients) {
      if (c.clientGroupID === body.clientGroupID && c.version > cookie) lastMutationIDChanges[id] = c.lmid;
    }
    return {cookie: s.version, lastMutationIDChanges, patch};
  };

  async function handle(req, res) {
    let text = '';
    for await (const chunk of req) text += chunk;
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // recorded as null
    }
    const url = new URL(req.url, 'http://x');
    const rec = {path: url.pathname, method: req.method, headers: {...req.headers}, body, rawBody: text, at: performance.now()};
    s.requests.push(rec);
    if (s.hook) {
      const r = await s.hook(rec);
      if (r) {
        if (r.destroy) {
          req.socket.destroy();
          return;
        }
        res.writeHead(r.status ?? 200, {'content-type': 'application/json'});
        res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? {}));
        return;
      }
    }
    if (url.pathname === '/api/push') {
      for (const m of body.mutations) {
        let c = s.clients.get(m.clientID);
        if (!c) s.clients.set(m.clientID, (c = {clientGroupID: body.clientGroupID, lmid: 0, version: 0}));
        if (m.id <= c.lmid) continue;
        if (m.id > c.lmid + 1) break;
        const v = applyMutation(m);
        c.lmid = m.id;
        c.version = v;
      }
      res.writeHead(200, {'content-type': 'application/json'});
      res.end('{}');
      s.poke();
      return;
    }
    if (url.pathname === '/api/pull') {
      res.writeHead(200, {'content-type': 'application/json'});
      res.end(JSON.stringify(s.pullResponse(body)));
      return;
    }
    res.writeHead(404);
    res.end();
  }

  let server;
  let wss;
  function listen(p) {
    server = http.createServer((req, res) => {
      handle(req, res).catch((e) => {
        res.writeHead(500);
        res.end(String(e));
      });
    });
    wss = new WebSocketServer({server, path: '/api/poke'});
    wss.on('connection', (ws, req) => {
      s.sockets.add(ws);
      s.onConnection?.(req);
      ws.on('close', () => s.sockets.delete(ws));
      ws.on('error', () => {});
    });
    return new Promise((resolve) => server.listen(p, '127.0.0.1', () => resolve(server.address().port)));
  }

  s.port = await listen(port);
  s.url = `http://127.0.0.1:${s.port}`;
  s.pushURL = `${s.url}/api/push`;
  s.pullURL = `${s.url}/api/pull`;
  s.pokeURL = `ws://127.0.0.1:${s.port}/api/poke?space=test`;

  s.poke = () => {
    for (const ws of s.sockets) ws.send(JSON.stringify({type: 'poke', space: 'test'}));
  };
  s.dropSockets = () => {
    for (const ws of s.sockets) ws.terminate();
  };
  // Stops listening and drops every connection (the client sees network errors).
  s.stop = () =>
    new Promise((resolve) => {
      for (const ws of s.sockets) ws.terminate();
      wss.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  // Listens again on the same port.
  s.restart = async () => {
    await listen(s.port);
  };
  s.requestsTo = (path) => s.requests.filter((r) => r.path === path);
  return s;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(pred, {timeout = 5000, interval = 5, what = 'condition'} = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(interval);
  }
}

// Mutators matching the server's: put({key, value}) and del(key).
export const mutators = {
  async put(tx, {key, value}) {
    await tx.set(key, value);
  },
  async del(tx, key) {
    return tx.del(key);
  },
};

// A log sink that keeps messages for assertions and prints nothing.
export function memorySink() {
  const lines = [];
  return {
    lines,
    // Replicache's sink signature: the context comes before the message.
    log(level, context, ...args) {
      lines.push({level, context, text: args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')});
    },
  };
}
