// Starts the real node_server (a child process, SQLite in a temporary data
// folder) and opens the demo chat in the browser engine of the run
// (browsers.js).
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {openEngine} from './browsers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const outputDir = path.join(repoRoot, 'test-output', 'e2e');
fs.mkdirSync(outputDir, {recursive: true});

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// `log()`: what the server printed, for the error when it does not start.
async function waitForHealth(url, child, log, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}; it printed:\n${log().slice(-4000)}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy in time; it printed:\n${log().slice(-4000)}`);
}

// A node_server process that can be stopped and started again on the same
// port and data folder.
export class ServerProcess {
  constructor() {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-e2e-'));
    this.child = null;
    this.log = [];
  }

  async start() {
    if (!this.port) this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    this.child = spawn(process.execPath, [path.join(repoRoot, 'node_server/src/main.js')], {
      env: {
        ...process.env,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATA_DIR: this.dataDir,
        PACKAGE_DIR: path.join(repoRoot, 'build-wasm/package'),
        WEB_DIR: path.join(repoRoot, 'web'),
        // The demo's login, its secret kept in dataDir across restarts (as run-demo.sh does).
        DEMO_LOGIN: '1',
        DATABASE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk) => {
      this.log.push(chunk.toString());
      if (this.log.length > 2000) this.log.splice(0, 1000);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    await waitForHealth(this.url, this.child, () => this.log.join(''));
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }

  async dispose() {
    await this.stop();
    fs.rmSync(this.dataDir, {recursive: true, force: true});
  }
}

// One window of the chat in a fresh browser profile of `engine`: a
// separate user. `origin` is the server's URL or a SyncGate's.
export async function openChat(engine, server, {user, room, pullInterval = 'off', viewport, origin, colorScheme}) {
  const context = await engine.newContext({viewport, colorScheme});
  try {
    const chat = await openChatPage(context, origin ?? server.url, {user, room, pullInterval});
    return {
      ...chat,
      async close() {
        await context.close();
      },
    };
  } catch (err) {
    await context.close();
    throw err;
  }
}

// Opens the chat in `page` (by default a new page of `context`, its first
// blank one if it still has it) through `origin` (a SyncGate's URL, or
// the server's), and waits until the app has created its client.
export async function openChatPage(context, origin, {user, room, pullInterval = 'off', page} = {}) {
  page ??= await context.newPage();
  const params = new URLSearchParams({user, room, pullInterval});
  await page.goto(`${origin}/?${params}`);
  await page.waitForFunction(() => window.replichat?.state?.rep, null, {timeout: 20000});
  return {context, page, engine: context.engine};
}

export async function send(chat, text) {
  await chat.page.fill('#text', text);
  await chat.page.press('#text', 'Enter');
}

// The rendered messages, in order: [{from, text, pending}].
export async function messages(chat) {
  return chat.page.evaluate(() => [...document.querySelectorAll('#messages .message')].map((el) => ({
    from: el.querySelector('.from').textContent,
    text: el.querySelector('.text').textContent,
    pending: el.classList.contains('pending'),
  })));
}

// test-output/e2e/NAME-ENGINE.png
export async function screenshot(chat, name) {
  await chat.page.screenshot(path.join(outputDir, `${name}-${chat.engine}.png`));
}

export function uniqueRoom(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

// On a failure: the last console lines of each page and the server's log.
export async function printDiagnostics(chats, server, lines = 20) {
  for (const c of chats) {
    const printed = await c.page.consoleLines().catch(() => []);
    if (printed.length) console.error(`console of a page (${c.engine}):\n  ${printed.slice(-lines).join('\n  ')}`);
  }
  if (server) console.error(`server log tail:\n${server.log.slice(-lines).join('')}`);
}

// ------------------------------------------------------------ persistence --
// Helpers of persist.test.js: a browser profile kept across launches, a gate
// that takes the sync API off the network, and the server's view of a room.

// A profile folder that outlives one launch of the browser, so that what a
// page kept in IndexedDB is there when the browser starts again on it
// (engine.newContext({profileDir: profile.dir})).
export class BrowserProfile {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-profile-'));
  }

  dispose() {
    fs.rmSync(this.dir, {recursive: true, force: true});
  }
}

// An init script: every answer of the chat's subscription once it is on
// screen (web/app.js dispatches 'replichat:render'), with what the list
// showed, in window.__renders (the first 50), and console-free timing
// (performance.now(): ms since the navigation started). window.__emptyShown:
// whether the "no messages" line was visible at any time in this document.
export function recordRenders() {
  window.__renders = [];
  window.__emptyShown = false;
  document.addEventListener('DOMContentLoaded', () => {
    const empty = document.getElementById('empty');
    if (!empty) return;
    const check = () => {
      if (!empty.hidden) window.__emptyShown = true;
    };
    check();
    new MutationObserver(check).observe(empty, {attributes: true, attributeFilter: ['hidden']});
  });
  addEventListener('replichat:render', (event) => {
    if (window.__renders.length >= 50) return;
    const items = [...document.querySelectorAll('#messages .message')];
    window.__renders.push({
      at: performance.now(),
      count: event.detail.count,
      emptyShown: !document.getElementById('empty').hidden,
      texts: items.map((el) => el.querySelector('.text').textContent),
      pending: items.map((el) => el.classList.contains('pending')),
    });
  });
}

// A reverse proxy in front of the server that can take the sync API off the
// network while the rest stays up. Pages are opened through it (its URL is
// their origin, so IndexedDB is the same across launches for its lifetime).
// Offline, it does to push, pull and the poke socket what a lost connection
// does: a push or pull request has its connection closed with no answer
// (the page's request fails with a network error), a poke socket upgrade is
// dropped the same way, and poke sockets that were open are cut. The page,
// its scripts and the demo login still load, as from a cache or another
// host, so a page can be reloaded or a browser relaunched "offline" and run
// the app's real start-up (which logs in first).
export class SyncGate {
  constructor(server) {
    this.server = server;
    this.offline = false;
    this.refused = 0; // requests and sockets refused while offline
    this.sockets = new Set();
    this.http = http.createServer((req, res) => this._request(req, res));
    this.http.on('upgrade', (req, socket, head) => this._upgrade(req, socket, head));
    this.http.keepAliveTimeout = 2000;
  }

  static isSync(url) {
    return /^\/api\/(push|pull|poke)(\?|$)/.test(url);
  }

  async start() {
    this.port = await freePort();
    await new Promise((resolve) => this.http.listen(this.port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.port}`;
  }

  setOffline(offline) {
    this.offline = offline;
    if (offline) {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    }
  }

  _request(req, res) {
    if (this.offline && SyncGate.isSync(req.url)) {
      this.refused++;
      req.socket.destroy();
      return;
    }
    const up = http.request({host: '127.0.0.1', port: this.server.port, method: req.method, path: req.url,
      headers: req.headers, agent: false}, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  }

  _upgrade(req, socket, head) {
    if (this.offline && SyncGate.isSync(req.url)) {
      this.refused++;
      socket.destroy();
      return;
    }
    const up = net.connect(this.server.port, '127.0.0.1');
    const pair = {destroy: () => (socket.destroy(), up.destroy())};
    this.sockets.add(pair);
    const end = () => {
      this.sockets.delete(pair);
      pair.destroy();
    };
    up.on('error', end);
    socket.on('error', end);
    up.on('close', end);
    socket.on('close', end);
    up.on('connect', () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${text}\r\n`);
      if (head?.length) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
  }

  async close() {
    this.setOffline(true);
    this.http.closeAllConnections?.();
    await new Promise((resolve) => this.http.close(resolve));
  }
}

// What the server holds for a room, by the first pull of a fresh client
// group of another user: the messages in server order, and the cookie (the
// room's version: one per mutation the server processed).
export async function serverMessages(server, room) {
  const login = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: 'probe'}),
  }).then((r) => r.json());
  const response = await fetch(`${server.url}/api/pull?space=${encodeURIComponent(room)}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Authorization: login.token},
    body: JSON.stringify({profileID: 'pprobe', clientGroupID: `probe${Math.random().toString(36).slice(2)}`,
      cookie: null, pullVersion: 1, schemaVersion: ''}),
  });
  const body = await response.json();
  if (!Array.isArray(body.patch)) throw new Error(`pull failed: ${JSON.stringify(body)}`);
  const messages = body.patch
    .filter((op) => op.op === 'put' && op.key.startsWith('message/'))
    .map((op) => ({id: op.key.slice('message/'.length), ...op.value}))
    .sort((a, b) => a.order - b.order);
  return {messages, cookie: body.cookie};
}

// node:test's test() with the engine in front of the name ("firefox: a
// message sent in one window ..."), so that a report says where it failed.
export function engineTest(name) {
  return (title, ...rest) => test(`${name}: ${title}`, ...rest);
}

/**
 * For a test file of the chat: starts the demo server (SQLite) and opens the
 * run's engine before its tests, and stops both after them. `ready(server,
 * engine)` hands them to the file. Returns `withChats(specs, body)`: opens a
 * chat per spec (openChat), runs `body(...chats)`, prints the diagnostics of
 * a failure, and closes them.
 */
export function serverAndEngine(ready) {
  let server;
  let engine;
  before(async () => {
    server = new ServerProcess();
    await server.start();
    engine = await openEngine();
    ready(server, engine);
  });
  after(async () => {
    await engine?.close();
    await server?.dispose();
  });
  async function withChats(specs, body) {
    const chats = [];
    try {
      for (const spec of specs) chats.push(await openChat(engine, server, spec));
      await body(...chats);
    } catch (err) {
      await printDiagnostics(chats, server);
      throw err;
    } finally {
      for (const c of chats) await c.close();
    }
  }
  return {withChats};
}

/**
 * Serves the files of folder `dir` (flat: a request's last path segment,
 * index.html for "/") on 127.0.0.1 with their content types, for a page
 * bundled by a test. Returns its URL and close(), which stops it and ends
 * the connections a browser still keeps open to it.
 */
export async function serveFolder(dir) {
  const types = {'.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm'};
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname) || 'index.html';
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, {'Content-Type': types[path.extname(file)] ?? 'application/octet-stream'});
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * For a test file that opens its own pages: a context of the run's engine
 * and a temporary folder named after `prefix`, made before its tests and
 * removed after them. Read them from the returned object's `context` and
 * `tmp` once the tests run.
 */
export function contextAndFolder(prefix) {
  const fixture = {context: null, tmp: null};
  let engine;
  before(async () => {
    fixture.tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    engine = await openEngine();
    fixture.context = await engine.newContext();
  });
  after(async () => {
    await fixture.context?.close();
    await engine?.close();
    if (fixture.tmp) fs.rmSync(fixture.tmp, {recursive: true, force: true});
  });
  return fixture;
}

/**
 * Opens a page of the built package (build-wasm/package, copied into a new
 * folder `dir`) whose module script is `script`, in `context`, and runs
 * `body(page)`; closes the page and its server after.
 */
export async function withPackagePage(context, dir, script, body) {
  const built = path.join(repoRoot, 'build-wasm/package');
  fs.mkdirSync(dir, {recursive: true});
  for (const f of ['replicore.js', 'replicore_wasm.wasm']) fs.copyFileSync(path.join(built, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<title>${path.basename(dir)}</title><script type="module">${script}</script>`);
  const server = await serveFolder(dir);
  const page = await context.newPage();
  try {
    await page.goto(server.url);
    return await body(page);
  } finally {
    await page.close();
    await server.close();
  }
}
