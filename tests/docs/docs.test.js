// Runs the code samples of the user docs for real, so that they cannot rot:
// docs/quick-start.md, docs/migrating-from-replicache.md and wasm/package/README.md.
//
// The convention: the line right before each fenced code block in these files is an HTML
// comment (GitHub does not show it) that says what this test does with the block:
//
//   <!-- test: sh -->            Shell commands. They run with bash in the reader's app folder
//                                (`my-app`, next to `replicore`, a link to this repository) and
//                                must exit 0. The first one in the quick start installs the
//                                package; the other docs run in the same folder after it.
//   <!-- test: file NAME -->     A file of the reader's app, written to the app folder as NAME.
//                                A later block with the same NAME replaces it.
//   <!-- test: server -->        The command that starts node_server. It runs with bash in the
//                                app folder in the background, with PORT=0 and a temporary
//                                DATA_DIR, and replaces the server started before it.
//   <!-- test: terminals -->     One long-running command per line (`node client.js alice`),
//                                each started in its own process. The doc's check (DOCS below)
//                                then reads what they print, and they are stopped.
//   <!-- test: client NAMES -->  Client code, run by Node as a module in the app folder. NAMES
//                                are the free names it uses, defined first by the test:
//                                `token` (a demo login token of user-42) and `render` (prints
//                                its argument as JSON). A doc without a `server` block gets one
//                                the test starts: the demo chat mutators with DEMO_LOGIN=1.
//   <!-- not run: REASON -->     Not run (browser only, for example). REASON is required, and
//                                at most MAX_NOT_RUN blocks may be marked so in all.
//
// A doc's blocks run in order, as a reader would run them. Everywhere, `127.0.0.1:8080` (the
// server's default address) becomes the address of the test's server. The test fails on a
// fenced block with no marker or an unknown one, on a `terminals` or `client` block that its
// doc has no check for, and on an error the server logs.
//
// Run it with `bash tests/docs/run.sh`.
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAX_NOT_RUN = 4;
const DEFAULT_ADDRESS = '127.0.0.1:8080';
const DEMO_USER = 'user-42';
const TIMEOUT_MS = 20000;
const KINDS = ['sh', 'file', 'server', 'terminals', 'client'];

// The folders a reader has: replicore/ (this repository) and my-app/.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-docs-'));
fs.symlinkSync(repoRoot, path.join(tmp, 'replicore'));
const appDir = path.join(tmp, 'my-app');
fs.mkdirSync(appDir);

// ------------------------------------------------------------------ parsing --

function parseMarker(line) {
  const m = /^\s*<!--\s*(test|not run):\s*(.*?)\s*-->\s*$/.exec(line ?? '');
  if (!m) return null;
  if (m[1] === 'not run') return {kind: 'not-run', reason: m[2]};
  const [kind = '', ...args] = m[2].split(/\s+/);
  return {kind, args};
}

/** The fenced blocks of a doc: {where, lang, code, marker}. */
function parseBlocks(rel) {
  const lines = fs.readFileSync(path.join(repoRoot, rel), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !close.test(lines[j]); j++) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    if (j === lines.length) throw new Error(`${rel}:${i + 1}: the code block is not closed`);
    blocks.push({where: `${rel}:${i + 1}`, lang, code: `${body.join('\n')}\n`, marker: parseMarker(lines[i - 1])});
    i = j;
  }
  return blocks;
}

// ---------------------------------------------------------------- processes --

// What a reader's shell has; nothing of this process's own settings (NODE_TEST_CONTEXT,
// server settings such as AUTH_* or DATABASE_URL) leaks into the samples.
const KEEP_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|LANG|LC_\w+|NODE_EXTRA_CA_CERTS|https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY|npm_config_\w+)$/;
function readerEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (KEEP_ENV.test(k)) env[k] = v;
  // npm: use what is cached (the installs then take a second or two), and keep quiet.
  return {
    ...env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false',
    npm_config_update_notifier: 'false', npm_config_loglevel: 'error', ...extra,
  };
}

const running = new Set();

/** Starts `command` with bash in the app folder, in a process group of its own. */
function start(command, env = readerEnv()) {
  const child = spawn('bash', ['-e', '-c', command], {cwd: appDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe']});
  const proc = {command, child, out: '', err: '', exit: null};
  proc.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    proc.exit = {code, signal};
    resolve();
  }));
  child.stdout.on('data', (d) => { proc.out += d; });
  child.stderr.on('data', (d) => { proc.err += d; });
  running.add(proc);
  return proc;
}

async function stop(proc) {
  running.delete(proc);
  if (proc.exit) return;
  const kill = (signal) => {
    try {
      process.kill(-proc.child.pid, signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), 3000);
  await proc.exited;
  clearTimeout(timer);
}

async function runShell(command, where) {
  const proc = start(command);
  const timer = setTimeout(() => stop(proc), 120000);
  await proc.exited;
  clearTimeout(timer);
  running.delete(proc);
  assert.equal(proc.exit.code, 0, `${where}: the commands failed (${JSON.stringify(proc.exit)}):\n${proc.out}${proc.err}`);
}

/** Resolves once `predicate()` (may be async) is truthy; fails after `ms` with `describe()`. */
async function waitFor(predicate, what, describe = () => '', ms = TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const outputs = (procs) => procs.map((p) => `--- ${p.command}\n${p.out}--- its stderr\n${p.err}`).join('\n');
/** The whole lines a process has printed on stdout so far. */
const lines = (proc) => proc.out.slice(0, proc.out.lastIndexOf('\n') + 1).split('\n').slice(0, -1);

// ------------------------------------------------------------------- a doc --

/** The state of one doc's run: its server, its files, its data folder. */
class Reader {
  constructor(rel) {
    this.rel = rel;
    this.dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
    this.server = null;
    this.files = new Map();
    this.token = null;
  }

  address(text) {
    return this.server ? text.replaceAll(DEFAULT_ADDRESS, this.server.address) : text;
  }

  writeFiles() {
    for (const [name, code] of this.files) {
      fs.mkdirSync(path.dirname(path.join(appDir, name)), {recursive: true});
      fs.writeFileSync(path.join(appDir, name), this.address(code));
    }
  }

  async startServer(command, where) {
    if (this.server) await this.stopServer();
    const proc = start(command, readerEnv({PORT: '0', DATA_DIR: this.dataDir}));
    const url = await waitFor(
      () => /"msg":"listening","url":"(http:\/\/[^"]+?)\/?"/.exec(proc.out)?.[1] ?? (proc.exit ? 'exited' : null),
      `${where}: the server to listen`, () => outputs([proc]));
    assert.notEqual(url, 'exited', `${where}: the server exited (${JSON.stringify(proc.exit)}):\n${outputs([proc])}`);
    this.server = {proc, url, address: new URL(url).host, where};
    this.writeFiles();
  }

  async stopServer() {
    const {proc, where} = this.server;
    this.server = null;
    await stop(proc);
    // Errors go to stderr, one JSON object per line (a mutator that threw, say).
    const errors = `${proc.out}${proc.err}`.split('\n').filter((l) => l.includes('"level":"error"'));
    assert.deepEqual(errors, [], `${where}: the server logged errors:\n${outputs([proc])}`);
  }

  async demoToken() {
    const res = await fetch(`${this.server.url}/api/login`, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: DEMO_USER}),
    });
    assert.equal(res.status, 200, 'the demo login');
    return (await res.json()).token;
  }

  /**
   * A second client (the test's own, in this process) on `space`: `fn(rep, sees)`, where
   * `sees(predicate, what, describe)` pulls until `predicate(entries)` holds. Its mutator
   * createMessage is the demo chat's.
   */
  async secondClient(space, fn) {
    const {Replicache} = await import(pathToFileURL(path.join(appDir, 'node_modules/replicore/replicore.js')).href);
    const rep = new Replicache({
      name: `docs-test-${Math.random().toString(36).slice(2)}`, kvStore: 'mem', pullInterval: null, logLevel: 'error',
      auth: this.token ?? await this.demoToken(),
      pullURL: `${this.server.url}/api/pull?space=${space}`,
      pushURL: `${this.server.url}/api/push?space=${space}`,
      mutators: {
        async createMessage(tx, {id, content}) {
          await tx.set(`message/${id}`, {content});
        },
      },
    });
    const sees = (predicate, what, describe) => waitFor(async () => {
      await rep.pull();
      return predicate(await rep.query((tx) => tx.scan().entries().toArray()));
    }, `a second client to see ${what}`, describe);
    try {
      return await fn(rep, sees);
    } finally {
      await rep.close();
    }
  }
}

// The names a `client` block may be given.
const GIVEN = {
  token: async (reader) => `const token = ${JSON.stringify(reader.token ??= await reader.demoToken())};`,
  render: async () => 'const render = (value) => console.log(`render ${JSON.stringify(value)}`);',
};

const renders = (proc) => lines(proc).filter((l) => l.startsWith('render ')).map((l) => JSON.parse(l.slice(7)));

// What each doc's samples must do, checked after its `terminals` and `client` blocks.
const DOCS = {
  'docs/quick-start.md': {
    // Every client ends up showing every user's todo as the server stored it: pushed, poked
    // (the pull interval is a minute) and pulled.
    async terminals(procs) {
      const todos = procs.map((p) => `${p.command.trim().split(/\s+/).pop()}'s first todo`);
      await waitFor(
        () => procs.every((p) => lines(p).some((l) => todos.every((t) => l.includes(t)) && !l.includes('(pending)'))),
        `every client to show ${todos.join(', ')}`, () => outputs(procs));
    },
  },
  'wasm/package/README.md': {
    // The message renders as the server stored it (with `from`), a second client gets it from
    // the server, and a message the second client sends reaches the sample through a poke
    // (the sample's pull interval is a minute).
    async client(proc, reader) {
      const confirmed = (content) => ([key, v]) => key.startsWith('message/') && v.content === content && v.from === DEMO_USER;
      const rendered = (content) => waitFor(() => renders(proc).some((messages) => messages.some(confirmed(content))),
        `the sample to render "${content}" as the server stored it`, () => outputs([proc]));
      await rendered('hi');
      await reader.secondClient('room-1', async (rep, sees) => {
        await sees((entries) => entries.some(confirmed('hi')), 'the message', () => outputs([proc]));
        await rep.mutate.createMessage({id: 'from-the-test', content: 'poked'});
        await rendered('poked');
      });
    },
  },
  'docs/migrating-from-replicache.md': {
    async client(proc, reader) {
      await reader.secondClient('room-1', (rep, sees) => sees(
        (entries) => entries.some(([key, v]) => key === 'message/m1' && v.content === 'sent by replicore' && v.from === DEMO_USER),
        'message/m1', () => outputs([proc])));
    },
  },
};

let installed = null;
/** The quick start's first `sh` block: makes the app folder and installs the package. */
function installBlock() {
  return parseBlocks('docs/quick-start.md').find((b) => b.marker?.kind === 'sh');
}
function install() {
  const block = installBlock();
  installed ??= runShell(block.code, block.where);
  return installed;
}

async function runDoc(rel) {
  const checks = DOCS[rel];
  const all = parseBlocks(rel);
  for (const b of all) assert.ok(b.marker, `${b.where}: a code block without a marker (see the first test)`);
  const blocks = all.filter((b) => b.marker.kind !== 'not-run');
  const reader = new Reader(rel);
  await install();
  let failure = null;
  try {
    if (!blocks.some((b) => b.marker.kind === 'server')) {
      await reader.startServer('DEMO_LOGIN=1 node ../replicore/node_server/src/main.js', `${rel} (the test's server)`);
    }
    let n = 0;
    for (const b of blocks) {
      const {kind, args} = b.marker;
      if (kind === 'sh') {
        if (b.where === installBlock().where) continue;
        await runShell(reader.address(b.code), b.where);
      } else if (kind === 'file') {
        assert.equal(args.length, 1, `${b.where}: say which file: <!-- test: file NAME -->`);
        reader.files.set(args[0], b.code);
        reader.writeFiles();
      } else if (kind === 'server') {
        await reader.startServer(b.code, b.where);
      } else if (kind === 'terminals') {
        assert.ok(checks.terminals, `${b.where}: ${rel} has no check for its terminals`);
        const commands = b.code.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
        const procs = commands.map((c) => start(reader.address(c)));
        try {
          await checks.terminals(procs, reader);
        } finally {
          await Promise.all(procs.map(stop));
        }
      } else if (kind === 'client') {
        assert.ok(checks.client, `${b.where}: ${rel} has no check for its client code`);
        const prelude = [];
        for (const name of args) {
          assert.ok(GIVEN[name], `${b.where}: the test cannot give "${name}" (it gives ${Object.keys(GIVEN).join(', ')})`);
          prelude.push(await GIVEN[name](reader));
        }
        const file = `doc-sample-${path.basename(rel, '.md')}-${n++}.js`;
        fs.writeFileSync(path.join(appDir, file), `${prelude.join('\n')}\n${reader.address(b.code)}`);
        const proc = start(`node ${file}`);
        try {
          await checks.client(proc, reader);
        } finally {
          await stop(proc);
        }
      } else {
        assert.fail(`${b.where}: unknown marker "test: ${kind}" (known: ${KINDS.join(', ')}, or "not run: reason")`);
      }
    }
  } catch (err) {
    failure = err;
    if (reader.server) {
      // Requests that succeeded say little (and the second client's polling makes many).
      const log = `${reader.server.proc.out}${reader.server.proc.err}`.trim().split('\n')
        .filter((l) => !/"msg":"request".*"status":[23]\d\d,/.test(l)).slice(-30).join('\n');
      failure.message += `\n--- the server's log but its successful requests (${reader.server.where})\n${log}`;
    }
  }
  // The server's log is checked only when nothing failed before (that failure says more).
  if (reader.server) await reader.stopServer().catch((err) => { failure ??= err; });
  if (failure) throw failure;
}

after(async () => {
  await Promise.all([...running].map(stop));
  fs.rmSync(tmp, {recursive: true, force: true});
});

test('every code block of the docs is marked, and few are not run', (t) => {
  const notRun = [];
  for (const rel of Object.keys(DOCS)) {
    for (const b of parseBlocks(rel)) {
      assert.ok(b.marker, `${b.where}: a code block without a marker: put <!-- test: KIND --> or <!-- not run: REASON --> on the line before it (see tests/docs/docs.test.js)`);
      if (b.marker.kind === 'not-run') {
        assert.ok(b.marker.reason, `${b.where}: say why the block is not run`);
        notRun.push(`${b.where} (${b.marker.reason})`);
      } else {
        assert.ok(KINDS.includes(b.marker.kind), `${b.where}: unknown marker "test: ${b.marker.kind}"`);
      }
    }
  }
  t.diagnostic(`${notRun.length} blocks not run (at most ${MAX_NOT_RUN}):`);
  for (const where of notRun) t.diagnostic(`  ${where}`);
  assert.ok(notRun.length <= MAX_NOT_RUN, `${notRun.length} blocks are not run, at most ${MAX_NOT_RUN} may be:\n${notRun.join('\n')}`);
});

for (const rel of Object.keys(DOCS)) {
  test(`the samples of ${rel} run`, {timeout: 180000}, () => runDoc(rel));
}
