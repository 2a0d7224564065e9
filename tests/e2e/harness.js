// Starts the real node_server (a child process, SQLite in a temporary data
// folder) and real headless Chromium windows driven by playwright-core.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

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

async function waitForHealth(url, child, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy in time');
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
        AUTH_SECRET: 'e2e-secret',
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
    await waitForHealth(this.url, this.child);
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

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// One browser window with its own profile: a separate user of the chat.
export async function openChat(server, {user, room, pullInterval = 'off', viewport}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: viewport ?? {width: 900, height: 700},
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const params = new URLSearchParams({user, room, pullInterval});
  await page.goto(`${server.url}/?${params}`);
  await page.waitForFunction(() => window.replichat?.state?.rep, null, {timeout: 20000});
  return {
    context,
    page,
    consoleLines,
    async close() {
      await context.close();
      fs.rmSync(profile, {recursive: true, force: true});
    },
  };
}

export async function send(chat, text) {
  await chat.page.fill('#text', text);
  await chat.page.press('#text', 'Enter');
}

// The rendered messages, in order: [{from, text, pending}].
export async function messages(chat) {
  return chat.page.$$eval('#messages .message', (items) =>
    items.map((el) => ({
      from: el.querySelector('.from').textContent,
      text: el.querySelector('.text').textContent,
      pending: el.classList.contains('pending'),
    })));
}

export async function screenshot(chat, name) {
  await chat.page.screenshot({path: path.join(outputDir, `${name}.png`)});
}

export function uniqueRoom(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}
