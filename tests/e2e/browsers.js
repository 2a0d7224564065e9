// The browser engines the e2e tests run in, behind the few operations the
// tests use, so that one test runs unchanged in each:
//
//   chromium  Debian's Chromium, driven by playwright-core (CDP)
//   firefox   Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi
//   webkit    Debian's WebKitGTK, driven by selenium-webdriver through
//             WebKitWebDriver (WebDriver classic), in a bare browser window
//             (webkit-browser.py) on an Xvfb display
//
// openEngine(name) gives an Engine (a handle on the one of the process:
// close it when done); engine.newContext() a Context: one
// user's browser profile with its own cookies and storage. With
// `profileDir` the browser is launched on that folder, so what a page
// stored is there when the test launches it again after a close or a
// kill -9. With `onDisk` the storage is on disk (as a user's IndexedDB
// is), else it may be in memory. With `colorScheme` ('light' or 'dark') the
// system's colour scheme is that one, as each engine learns it (Chromium's
// emulation, Firefox's ui.systemUsesDarkTheme, WebKitGTK's GTK setting).
// A Context opens Pages; a Page navigates, evaluates, waits, types, clicks,
// takes screenshots and reports its console.
//
// How each engine gives a fresh context: Chromium opens an off-the-record
// context (storage in memory) in a browser shared by the test process, or
// for `onDisk` launches a browser on a new profile folder; Firefox opens a
// user context (a container: its own cookies and storage, on disk in the
// profile) in a browser shared by the test process, because a Firefox
// launch costs seconds; WebKit starts a WebKitWebDriver session on a new
// profile folder (on disk; about a second).
//
// E2E_TRACE=1 prints every WebDriver command of the WebKit engine with its
// time, to find what a WebKit test waits for.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';
import puppeteer from 'puppeteer-core';
import webdriver from 'selenium-webdriver';

const {Builder, By, Key} = webdriver;
const here = path.dirname(fileURLToPath(import.meta.url));

export const ENGINES = ['chromium', 'firefox', 'webkit'];

/** The engine of this run: E2E_BROWSER (run.sh runs each engine of E2E_BROWSERS in turn). */
export function engineName() {
  const name = process.env.E2E_BROWSER || 'chromium';
  if (!ENGINES.includes(name)) throw new Error(`E2E_BROWSER=${name}: expected one of ${ENGINES.join(', ')}`);
  return name;
}

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DEFAULT_VIEWPORT = {width: 900, height: 700};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One Engine per name in a process: every test file that run.sh runs in
// it (all-tests.js) shares its browser. Each openEngine() gives its caller
// a handle of its own, and the engine closes (its shared browser, WebKit's
// X display) when the last handle open on it is closed: the files' `after`
// hooks run one after another once every test of the process has ended,
// and the first of them must not close the browser under the contexts
// that the later ones still have to close. Then the next openEngine
// starts anew.
const openEngines = new Map(); // name -> {engine, users}

export async function openEngine(name = engineName()) {
  let entry = openEngines.get(name);
  if (!entry) {
    const Engine = {chromium: ChromiumEngine, firefox: FirefoxEngine, webkit: WebKitEngine}[name];
    if (!Engine) throw new Error(`unknown engine ${name}`);
    entry = {engine: new Engine(), users: 0};
    openEngines.set(name, entry);
  }
  entry.users++;
  const {engine} = entry;
  let closed = false;
  return {
    name: engine.name,
    canGoOffline: engine.canGoOffline,
    async newContext(options) {
      if (closed) throw new Error(`this handle of the ${name} engine is closed`);
      return engine.newContext(options);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (--entry.users > 0) return;
      if (openEngines.get(name) === entry) openEngines.delete(name);
      await engine.close();
    },
  };
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `replicore-${prefix}-`));
}

// ------------------------------------------------------------- processes --

function parentOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function commandLine(pid) {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function allPids() {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** The children of `parent` whose command line satisfies `match`. */
function childProcesses(parent, match) {
  const found = [];
  for (const pid of allPids()) {
    try {
      if (parentOf(pid) === parent && match(commandLine(pid))) found.push(pid);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** A process and all its descendants (a browser and its content, GPU, network processes). */
function processTree(root) {
  const children = new Map();
  for (const pid of allPids()) {
    try {
      const ppid = parentOf(pid);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(pid);
    } catch {
      // ended while we looked
    }
  }
  const tree = [];
  const walk = (pid) => {
    tree.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return tree;
}

/** Which of `pids` still run (zombies do not count). */
function alive(pids) {
  return pids.filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  });
}

// Kills a browser as a crash would: SIGKILL to the whole process tree at
// once (WebKit keeps IndexedDB in its network process, which would go on
// and finish its writes after a kill of the browser process alone), then
// waits until none of them runs. Returns what was killed.
async function killTree(root) {
  const tree = processTree(root);
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 15000;
  while (alive(tree).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes of the killed browser still run: ${alive(tree).join(', ')}`);
    await sleep(20);
  }
  return {pid: root, processes: tree.length};
}

// Children started here that outlive a test by accident (a failed
// close) must not outlive the test process.
const spawned = new Set();
process.on('exit', () => {
  for (const child of spawned) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

function track(child) {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

// ---------------------------------------------------------------- console --

// The console lines a page printed, as "type: text" (type 'error',
// 'warning', 'log', ...; uncaught exceptions as "pageerror: message").
function consoleLine(type, text) {
  return `${type === 'warn' ? 'warning' : type}: ${text}`;
}

// WebDriver classic reports no console: in WebKit this script, run at the
// start of every document, records what the page prints (console calls and
// uncaught errors) in sessionStorage, so that the lines of a tab survive its
// reloads as the other engines' console events do. It calls the original
// console methods unchanged.
function recordConsole() {
  const key = '__e2eConsole';
  let lines = [];
  try {
    lines = JSON.parse(sessionStorage.getItem(key) || '[]');
  } catch {
    // no sessionStorage here (an opaque origin): this document's lines only
  }
  window.__e2eConsole = lines;
  const save = () => {
    try {
      sessionStorage.setItem(key, JSON.stringify(lines.slice(-300)));
    } catch {
      // see above
    }
  };
  const show = (value) => {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (value !== null && typeof value === 'object') {
      try {
        return JSON.stringify(value);
      } catch {
        return String(value);
      }
    }
    return String(value);
  };
  const methods = [['log', 'log'], ['info', 'info'], ['warn', 'warning'], ['error', 'error'], ['debug', 'debug']];
  for (const [method, type] of methods) {
    const original = console[method];
    console[method] = function (...args) {
      lines.push(`${type}: ${args.map(show).join(' ')}`);
      save();
      return original.apply(this, args);
    };
  }
  addEventListener('error', (event) => {
    lines.push(`pageerror: ${event.message}`);
    save();
  });
  addEventListener('unhandledrejection', (event) => {
    lines.push(`pageerror: ${show(event.reason)}`);
    save();
  });
}

function functionSource(fn) {
  if (typeof fn !== 'function') throw new TypeError('pass a function to run in the page');
  return fn.toString();
}

// The common shape of a wait: `fn(arg)` polled in the page until it is
// truthy. A navigation that replaces the document under a poll is not an
// error: the poll goes on in the new document, as Playwright's does.
async function pollUntil(attempt, {timeout = 30000, what = 'a condition'} = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`waitForFunction: timed out after ${timeout} ms waiting for ${what}` +
        (lastError ? ` (last error: ${lastError.message})` : ''));
    }
    try {
      if (await attempt(left)) return;
      lastError = undefined;
    } catch (err) {
      if (!isNavigationError(err)) throw err;
      lastError = err;
      await sleep(20);
    }
  }
}

// What the drivers say when the document a call ran in went away.
const NAVIGATION_ERRORS = [/context was destroyed/i, /navigat/i, /Target closed/i, /no such window/i,
  /DiscardedBrowsingContext/i, /realm/i, /Frame was detached/i, /detached/i, /unload/i];

function isNavigationError(err) {
  const text = String(err?.message ?? err);
  return NAVIGATION_ERRORS.some((re) => re.test(text));
}

// --------------------------------------------------------------- chromium --

class ChromiumEngine {
  name = 'chromium';
  canGoOffline = true;
  _shared = null;

  // `args`: more command-line switches (the benchmark gives V8 a larger
  // heap); a context with them gets a browser of its own.
  async newContext({profileDir, onDisk = false, viewport = DEFAULT_VIEWPORT, args = [], colorScheme} = {}) {
    if (profileDir || onDisk || args.length) {
      const dir = profileDir ?? tempDir('chromium');
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, ...args], viewport, colorScheme,
      });
      return new ChromiumContext(context, dir, profileDir ? null : dir);
    }
    this._shared ??= chromium.launch({executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS});
    const context = await (await this._shared).newContext({viewport, colorScheme});
    return new ChromiumContext(context, null, null);
  }

  async close() {
    const shared = this._shared;
    this._shared = null;
    if (shared) await (await shared).close().catch(() => {});
  }
}

class ChromiumContext {
  // `dir`: the profile folder of a browser of its own (null: a context of
  // the shared browser).
  constructor(context, dir, ownedDir) {
    this.engine = 'chromium';
    this._context = context;
    this._dir = dir;
    this._ownedDir = ownedDir;
    this._closed = false;
    this._used = new WeakSet();
  }

  async newPage() {
    // The blank page a persistent context starts with, then new ones.
    let page = this._context.pages().find((p) => p.url() === 'about:blank' && !this._used.has(p));
    page ??= await this._context.newPage();
    this._used.add(page);
    return new ChromiumPage(page);
  }

  async addInitScript(fn) {
    await this._context.addInitScript(fn);
  }

  async setOffline(offline) {
    await this._context.setOffline(offline);
  }

  // The browser process: the child of this process whose command line
  // names the profile.
  browserPid() {
    if (!this._dir) {
      throw new Error('a fresh Chromium context shares its browser: launch one on a profileDir to kill it');
    }
    const [pid] = childProcesses(process.pid, (args) => args.includes(`--user-data-dir=${this._dir}`));
    if (!pid) throw new Error('the Chromium process of this profile was not found');
    return pid;
  }

  async kill() {
    const closed = new Promise((r) => this._context.once('close', r));
    const killed = await killTree(this.browserPid());
    await Promise.race([closed, sleep(10000)]);
    this._closed = true;
    return killed;
  }

  async close() {
    if (!this._closed) await this._context.close().catch(() => {});
    this._closed = true;
    if (this._ownedDir) fs.rmSync(this._ownedDir, {recursive: true, force: true});
  }
}

// What the Chromium (playwright) and Firefox (puppeteer) pages do alike:
// both libraries' pages report console lines and errors by event and share
// these calls.
class DriverPage {
  constructor(page) {
    this._page = page;
    this._console = [];
    page.on('console', (m) => this._console.push(consoleLine(m.type(), m.text())));
    page.on('pageerror', (e) => this._console.push(`pageerror: ${e.message ?? e}`));
  }

  url() {
    return this._page.url();
  }

  async goto(url) {
    await this._page.goto(url);
  }

  async reload() {
    await this._page.reload();
  }

  async click(selector) {
    await this._page.click(selector);
  }

  async screenshot(file) {
    await this._page.screenshot({path: file});
  }

  async consoleLines() {
    return [...this._console];
  }

  async close() {
    await this._page.close();
  }
}

class ChromiumPage extends DriverPage {
  async evaluate(fn, arg) {
    return this._page.evaluate(fn, arg);
  }

  async waitForFunction(fn, arg, {timeout = 30000, polling = 20} = {}) {
    await pollUntil(async (left) => {
      await this._page.waitForFunction(fn, arg, {timeout: left, polling});
      return true;
    }, {timeout, what: functionSource(fn)});
  }

  async fill(selector, text) {
    await this._page.fill(selector, text);
  }

  async press(selector, key) {
    await this._page.press(selector, key);
  }
}

// ---------------------------------------------------------------- firefox --

async function launchFirefox(userDataDir, prefs = {}) {
  return puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    userDataDir,
    // Set per page (setViewport), as each context asks.
    defaultViewport: null,
    extraPrefsFirefox: prefs,
  });
}

// The browser of a FirefoxEngine's fresh contexts, on a new profile folder.
async function launchShared() {
  const dir = tempDir('firefox');
  try {
    return {dir, browser: await launchFirefox(dir)};
  } catch (err) {
    fs.rmSync(dir, {recursive: true, force: true});
    throw err;
  }
}

class FirefoxEngine {
  name = 'firefox';
  canGoOffline = true;
  _shared = null;

  // `prefs`: Firefox preferences (the benchmark turns off async stack
  // capture); a context with them gets a browser of its own. So does one
  // with a `colorScheme`: WebDriver BiDi in Firefox ESR cannot emulate
  // prefers-color-scheme, so the browser is told what the system uses.
  async newContext({profileDir, viewport = DEFAULT_VIEWPORT, prefs, colorScheme} = {}) {
    if (colorScheme) prefs = {...prefs, 'ui.systemUsesDarkTheme': colorScheme === 'dark' ? 1 : 0};
    if (profileDir || prefs) {
      const dir = profileDir ?? tempDir('firefox');
      const browser = await launchFirefox(dir, prefs);
      return new FirefoxContext({browser, context: browser.defaultBrowserContext(), viewport, ownsBrowser: true,
        initialPage: (await browser.pages())[0] ?? null, ownedDir: profileDir ? null : dir});
    }
    // The launch is kept as a promise, set before its first await: in one
    // process (all-tests.js) the files' `before` hooks run concurrently
    // (node 20's test runner starts a top-level `before` hook as soon as it
    // is registered), and two of them asking for a context while the
    // browser starts must get the same browser. (When the browser was kept
    // only once launched, each started one: the second replaced the first,
    // which no close reached, and its process and WebDriver BiDi socket
    // kept the test process alive after its last test.)
    if (!this._shared) {
      const launching = launchShared();
      this._shared = launching;
      launching.catch(() => {
        if (this._shared === launching) this._shared = null;
      });
    }
    const {browser} = await this._shared;
    const context = await browser.createBrowserContext();
    return new FirefoxContext({browser, context, viewport, ownsBrowser: false, initialPage: null});
  }

  async close() {
    const shared = this._shared;
    this._shared = null;
    if (!shared) return;
    const launched = await shared.catch(() => null);
    if (!launched) return;
    await launched.browser.close().catch(() => {});
    fs.rmSync(launched.dir, {recursive: true, force: true});
  }
}

class FirefoxContext {
  constructor({browser, context, viewport, ownsBrowser, initialPage, ownedDir = null}) {
    this.engine = 'firefox';
    this._ownedDir = ownedDir;
    this._browser = browser;
    this._context = context;
    this._viewport = viewport;
    this._ownsBrowser = ownsBrowser;
    this._initialPage = initialPage;
    this._initScripts = [];
    this._pages = [];
    this._offline = false;
    this._closed = false;
  }

  async newPage() {
    let page = this._initialPage;
    this._initialPage = null;
    // Each page in a window of its own: a tab behind another one is hidden
    // (and its timers throttled), unlike two windows of two users, or two
    // windows of one user side by side.
    page ??= await this._context.newPage({type: 'window'});
    await page.setViewport(this._viewport);
    for (const fn of this._initScripts) await page.evaluateOnNewDocument(fn);
    if (this._offline) await page.setOfflineMode(true);
    const wrapped = new FirefoxPage(page);
    this._pages.push(wrapped);
    page.once('close', () => this._pages.splice(this._pages.indexOf(wrapped), 1));
    return wrapped;
  }

  async addInitScript(fn) {
    this._initScripts.push(fn);
    for (const p of this._pages) await p._page.evaluateOnNewDocument(fn);
  }

  // Offline through WebDriver BiDi's network conditions, for every page of
  // this context.
  async setOffline(offline) {
    this._offline = offline;
    for (const p of this._pages) await p._page.setOfflineMode(offline);
  }

  browserPid() {
    if (!this._ownsBrowser) throw new Error('a fresh Firefox context shares its browser: launch one on a profileDir to kill it');
    return this._browser.process().pid;
  }

  async kill() {
    const killed = await killTree(this.browserPid());
    await Promise.race([new Promise((r) => (this._browser.connected ? this._browser.once('disconnected', r) : r())),
      sleep(10000)]);
    this._closed = true;
    return killed;
  }

  async close() {
    if (this._closed) return;
    this._closed = true;
    if (this._ownsBrowser) await this._browser.close().catch(() => {});
    else await this._context.close().catch(() => {});
    if (this._ownedDir) fs.rmSync(this._ownedDir, {recursive: true, force: true});
  }
}

class FirefoxPage extends DriverPage {
  // The value comes back through JSON: puppeteer's BiDi deserializer
  // turns an object met twice in one result into undefined the second time.
  async evaluate(fn, arg) {
    const text = await this._page.evaluate(`(async () => JSON.stringify({v: await (${functionSource(fn)})(${
      JSON.stringify(arg ?? null)})}))()`);
    return JSON.parse(text).v;
  }

  async waitForFunction(fn, arg, {timeout = 30000, polling = 20} = {}) {
    await pollUntil(async (left) => {
      await this._page.waitForFunction(fn, {timeout: left, polling}, arg);
      return true;
    }, {timeout, what: functionSource(fn)});
  }

  async fill(selector, text) {
    const input = await this._page.waitForSelector(selector);
    await input.evaluate((el) => {
      el.value = '';
    });
    await input.type(text);
  }

  async press(selector, key) {
    await (await this._page.waitForSelector(selector)).press(key);
  }
}

// ----------------------------------------------------------------- webkit --

const WEBKIT_BROWSER = path.join(here, 'webkit-browser.py');
let xvfb = null; // {child, display}: the Xvfb process and a promise of its display name

// One X display for every WebKit window of this test process: WebKitGTK
// has no headless mode in Debian 12's build. Kept as soon as it is spawned,
// so that contexts opened concurrently (the test files' `before` hooks run
// concurrently) share it rather than each starting one.
function xDisplay() {
  if (xvfb) return xvfb.display;
  const child = track(spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'],
    {stdio: ['ignore', 'pipe', 'pipe']}));
  const errors = [];
  child.stderr.on('data', (d) => errors.push(d.toString()));
  // The display number, when Xvfb has written all of it (it fails if it
  // cannot: the pipe stays open and read for its whole life).
  const display = new Promise((resolve, reject) => {
    let text = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${errors.join('')}`)));
    child.stdout.on('data', (d) => {
      text += d.toString();
      if (text.includes('\n')) resolve(`:${text.trim()}`);
    });
  });
  xvfb = {child, display};
  display.then(() => {
    child.once('exit', (code, signal) => {
      if (xvfb?.child !== child) return;
      xvfb = null;
      child.stderr.once('end', () => console.error(`Xvfb exited (${code ?? signal}): ${errors.join('')}`));
    });
    // Once started, neither it nor its pipes may keep the test process
    // alive; engine.close() stops it.
    child.unref();
    child.stdout.unref();
    child.stderr.unref();
  }, () => {
    if (xvfb?.child === child) xvfb = null;
  });
  return display;
}

async function stopXDisplay() {
  if (!xvfb) return;
  const {child} = xvfb;
  xvfb = null;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function freeTcpPort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

class WebKitEngine {
  name = 'webkit';
  // WebDriver classic has no network emulation: tests take the sync API
  // off the network with a SyncGate (harness.js) instead.
  canGoOffline = false;

  async newContext({profileDir, viewport = DEFAULT_VIEWPORT, colorScheme} = {}) {
    const dir = profileDir ?? tempDir('webkit');
    const scratch = tempDir('webkit-session');
    const initScripts = path.join(scratch, 'init-scripts.json');
    fs.writeFileSync(initScripts, JSON.stringify([`(${recordConsole})()`]));
    const display = await xDisplay();
    const port = await freeTcpPort();
    const log = [];
    const driverProcess = track(spawn('WebKitWebDriver', [`--port=${port}`], {
      env: {...process.env, DISPLAY: display, NO_AT_BRIDGE: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    const keep = (chunk) => {
      log.push(chunk.toString());
      if (log.length > 200) log.splice(0, 100);
    };
    driverProcess.stdout.on('data', keep);
    driverProcess.stderr.on('data', keep);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10000;
    for (;;) {
      if (driverProcess.exitCode !== null) throw new Error(`WebKitWebDriver exited: ${log.join('')}`);
      try {
        if ((await fetch(`${url}/status`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('WebKitWebDriver did not start');
      await sleep(20);
    }
    const driver = await new Builder().usingServer(url).withCapabilities({
      browserName: 'webkit-browser',
      'webkitgtk:browserOptions': {
        binary: '/usr/bin/python3',
        args: [WEBKIT_BROWSER, `--profile=${dir}`, `--init-scripts=${initScripts}`,
          `--size=${viewport.width}x${viewport.height}`, ...(colorScheme ? [`--color-scheme=${colorScheme}`] : [])],
      },
    }).build();
    await driver.manage().setTimeouts({script: 60000, pageLoad: 60000});
    return new WebKitContext({driver, driverProcess, dir, ownedDir: profileDir ? null : dir, scratch, initScripts,
      viewport, log});
  }

  async close() {
    await stopXDisplay();
  }
}

class WebKitContext {
  constructor({driver, driverProcess, dir, ownedDir, scratch, initScripts, viewport, log}) {
    this.engine = 'webkit';
    this._driver = driver;
    this._driverProcess = driverProcess;
    this._dir = dir;
    this._ownedDir = ownedDir;
    this._scratch = scratch;
    this._initScriptsFile = initScripts;
    this._viewport = viewport;
    this.log = log;
    this._queue = Promise.resolve();
    this._current = null;
    this._spare = undefined; // a window no page uses: at first the one the session opened with
    this._closed = false;
  }

  // WebDriver drives one window at a time: every command of a page runs
  // in turn, after switching to that page's window.
  _run(handle, command) {
    const result = this._queue.then(async () => {
      if (this._closed) throw new Error('the WebKit context is closed');
      if (handle && this._current !== handle) {
        await this._driver.switchTo().window(handle);
        this._current = handle;
      }
      if (!process.env.E2E_TRACE) return command(this._driver);
      const started = Date.now();
      try {
        return await command(this._driver);
      } finally {
        console.error(`webkit ${handle ?? ''} ${Date.now() - started} ms: ${command.toString().slice(0, 120)}`);
      }
    });
    this._queue = result.catch(() => {});
    return result;
  }

  async newPage() {
    const handle = await this._run(null, async (d) => {
      if (this._spare !== null) {
        this._current = this._spare ?? await d.getWindowHandle();
        this._spare = null;
        await d.switchTo().window(this._current);
        return this._current;
      }
      await d.switchTo().newWindow('window');
      this._current = await d.getWindowHandle();
      await d.manage().window().setRect({width: this._viewport.width, height: this._viewport.height});
      return this._current;
    });
    return new WebKitPage(this, handle);
  }

  async addInitScript(fn) {
    const scripts = JSON.parse(fs.readFileSync(this._initScriptsFile, 'utf8'));
    scripts.push(`(${functionSource(fn)})()`);
    fs.writeFileSync(this._initScriptsFile, JSON.stringify(scripts));
  }

  async setOffline() {
    throw new Error('WebKit under WebDriver has no offline switch: use a SyncGate (harness.js)');
  }

  browserPid() {
    const [pid] = childProcesses(this._driverProcess.pid, (args) => args.includes(WEBKIT_BROWSER));
    if (!pid) throw new Error('the WebKit browser process was not found');
    return pid;
  }

  async kill() {
    const killed = await killTree(this.browserPid());
    this._closed = true;
    this._driverProcess.kill('SIGKILL');
    this._cleanup();
    return killed;
  }

  async close() {
    if (this._closed) return;
    await this._queue;
    this._closed = true;
    let tree = [];
    try {
      tree = processTree(this.browserPid());
    } catch {
      // already gone
    }
    await this._driver.quit().catch(() => {});
    // The browser quits with its last window; whatever is left of it (a
    // network process) must not outlive the context.
    const deadline = Date.now() + 5000;
    while (alive(tree).length > 0 && Date.now() < deadline) await sleep(20);
    for (const pid of alive(tree)) process.kill(pid, 'SIGKILL');
    this._driverProcess.kill('SIGKILL');
    this._cleanup();
  }

  _cleanup() {
    fs.rmSync(this._scratch, {recursive: true, force: true});
    if (this._ownedDir) fs.rmSync(this._ownedDir, {recursive: true, force: true});
  }
}

// Numbers the WebKit pages' evaluations (WebKitPage.evaluate).
let evaluations = 0;

class WebKitPage {
  constructor(context, handle) {
    this._context = context;
    this._handle = handle;
    this._url = 'about:blank';
    this._lastConsole = [];
  }

  _run(command) {
    return this._context._run(this._handle, command);
  }

  url() {
    return this._url;
  }

  async goto(url) {
    await this._run((d) => d.get(url));
    this._url = url;
  }

  async reload() {
    await this._run((d) => d.navigate().refresh());
  }

  // Runs fn(arg) in the page; the value comes back through JSON, so that
  // undefined stays undefined (WebDriver would make it null).
  //
  // WebKitWebDriver now and then fails a script that ran with "Could not
  // parse script result" (seen once in a CI run, two tabs open). The page
  // keeps the last result with its number, so that it is then read again
  // rather than fn run twice (many fns have effects).
  async evaluate(fn, arg) {
    const id = ++evaluations;
    const script = `const fn = (${functionSource(fn)});
      return Promise.resolve(fn(arguments[0])).then((v) => {
        const text = JSON.stringify({v});
        window.__e2eLastResult = {id: ${id}, text};
        return text;
      });`;
    let text;
    try {
      text = await this._run((d) => d.executeScript(script, arg ?? null));
    } catch (e) {
      if (!/Could not parse script result/.test(e?.message)) throw e;
      text = await this._run((d) => d.executeScript(`const r = window.__e2eLastResult; return r && r.id === ${id} ? r.text : null;`));
      if (typeof text !== 'string') throw e;
    }
    return JSON.parse(text).v;
  }

  // Polls in the page for up to a second per WebDriver call, so that the
  // other windows of this browser get their turn in between.
  async waitForFunction(fn, arg, {timeout = 30000, polling = 20} = {}) {
    const script = `const fn = (${functionSource(fn)});
      const [arg, polling, slice, done] = arguments;
      const end = performance.now() + slice;
      const tick = () => Promise.resolve().then(() => fn(arg)).then(
        (v) => (v ? done(true) : performance.now() >= end ? done(false) : setTimeout(tick, polling)),
        () => (performance.now() >= end ? done(false) : setTimeout(tick, polling)));
      tick();`;
    await pollUntil((left) => this._run((d) => d.executeAsyncScript(script, arg ?? null, polling, Math.min(left, 1000))),
      {timeout, what: functionSource(fn)});
  }

  async fill(selector, text) {
    await this._run(async (d) => {
      const input = await d.findElement(By.css(selector));
      await input.clear();
      await input.sendKeys(text);
    });
  }

  async press(selector, key) {
    const keys = {Enter: Key.ENTER};
    if (!keys[key]) throw new Error(`press: no WebDriver key for ${key}`);
    await this._run(async (d) => (await d.findElement(By.css(selector))).sendKeys(keys[key]));
  }

  async click(selector) {
    await this._run(async (d) => (await d.findElement(By.css(selector))).click());
  }

  async screenshot(file) {
    const png = await this._run((d) => d.takeScreenshot());
    fs.writeFileSync(file, Buffer.from(png, 'base64'));
  }

  // What recordConsole kept for this tab (the last lines read, once the
  // tab is gone).
  async consoleLines() {
    try {
      this._lastConsole = await this.evaluate(() => window.__e2eConsole ?? []);
    } catch {
      // closed or navigating: what was read last
    }
    return [...this._lastConsole];
  }

  async close() {
    await this._run(async (d) => {
      // Closing the last window would end the WebDriver session, and the
      // browser with it: the last one is emptied and kept for the next page
      // instead, as a context of the other engines lives on with no page.
      if ((await d.getAllWindowHandles()).length === 1) {
        await d.get('about:blank');
        this._context._spare = this._handle;
        return;
      }
      await d.close();
      this._context._current = null;
      // WebDriver needs a current window for the next command; any other will do.
      const [other] = await d.getAllWindowHandles();
      if (other) {
        await d.switchTo().window(other);
        this._context._current = other;
      }
    });
  }
}
