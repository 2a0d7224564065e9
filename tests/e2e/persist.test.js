// Persistence of the demo chat in a real browser (the engine of the run:
// browsers.js), against the real server (SQLite): the client keeps its
// state in IndexedDB (kvStore 'idb', the default in a browser), so what was
// shown and what was typed offline survive a reload, a browser restart, a
// crash (kill -9) and a closed tab.
//
// Every browser context here keeps its storage on disk, in every engine
// (engine.newContext({onDisk: true})). The tests that restart or kill the
// browser launch it on a profile folder
// (BrowserProfile in harness.js: one per test, reused by every launch of
// that test), so IndexedDB really is the one on disk that the browser
// reopens.
//
// "Offline": pages are opened through a SyncGate (harness.js), a reverse
// proxy on its own port in front of the server. Offline, it closes the
// connection of every push and pull request without an answer (the page's
// request fails with a network error, as when the network is down), drops
// poke socket upgrades, and cuts the poke sockets that were open. The page,
// its scripts and the demo's login still load through it. That is the point:
// web/app.js logs in (POST /api/login) before it creates its client, so a
// browser-wide offline switch (context.setOffline) would stop the page from
// loading at all on a reload or relaunch, and this demo has no service
// worker to serve it from a cache. The gate keeps the app's real start-up
// and cuts exactly what the sync engine uses, at the network level, where a
// real outage would (no request is faked or answered by the test). So it
// works the same in every engine, whatever offline switch its driver has.
// The two-tab test stops the server process instead and talks to it directly.
//
// What reached the server is read with the first pull of a fresh client
// group (serverMessages): the messages in server order and the room's
// version, which goes up by one per mutation the server processes (a
// duplicate createMessage would fail and still bump it), so "each arrived
// exactly once, in order" is: the texts in order, orders 1..n, cookie n,
// and no "mutation failed" in the server's log for the room.
import {after, before} from 'node:test';
import assert from 'node:assert/strict';
import {engineName, openEngine} from './browsers.js';
import {
  BrowserProfile, ServerProcess, SyncGate, engineTest, messages, openChatPage, printDiagnostics, recordRenders, screenshot,
  send, serverMessages, uniqueRoom,
} from './harness.js';

const test = engineTest(engineName());
let server;
let gate;
let engine;
before(async () => {
  server = new ServerProcess();
  await server.start();
  gate = new SyncGate(server);
  await gate.start();
  engine = await openEngine();
});
after(async () => {
  await engine?.close();
  await gate?.close();
  await server?.dispose();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Console lines that are the expected noise of being offline (and the
// favicon the demo does not have). Everything else logged as an error is
// a finding: a store that failed, a corrupt record, an exception. The
// client's own lines may start with its log context ("name=...").
const NOISE = [
  // Log lines start with the sink's context (name=...), as Replicache's do.
  /^error: (name=\S+ )?replicore: (push|pull) failed: network error/,
  /^error: Failed to load resource: net::ERR_/,
  /^error: WebSocket connection to .* failed/,
  /^error: Failed to load resource: the server responded with a status of 404/,
  // Firefox reports a poke socket it cannot open, or one cut during a
  // reload, as a script error (WebDriver BiDi log type "javascript").
  /^pageerror: Firefox can.t establish a connection to the server at ws:/,
  /^pageerror: The connection to ws:\S+ was interrupted while the page was loading/,
];
async function unexpectedErrors(chat) {
  return (await chat.page.consoleLines()).filter((l) => /^(error|pageerror):/.test(l) && !NOISE.some((re) => re.test(l)));
}

async function waitUntil(condition, what, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

async function waitForPending(chat, count, timeout = 20000) {
  await chat.page.waitForFunction((n) => document.getElementById('pending').dataset.count === String(n),
    count, {timeout, polling: 20});
}

async function waitForOnline(chat, online, timeout = 20000) {
  await chat.page.waitForFunction((v) => document.getElementById('online').dataset.online === String(v),
    online, {timeout, polling: 20});
}

// Waits until the list shows exactly `texts`, in order; `pending` (array of
// booleans, or one for all) when given must match too.
async function waitForList(chat, texts, pending, timeout = 20000) {
  try {
    await chat.page.waitForFunction(([want, pend]) => {
      const items = [...document.querySelectorAll('#messages .message')];
      if (items.length !== want.length) return false;
      return items.every((el, i) => el.querySelector('.text').textContent === want[i] &&
        (pend === null || el.classList.contains('pending') === (Array.isArray(pend) ? pend[i] : pend)));
    }, [texts, pending ?? null], {timeout, polling: 20});
  } catch (err) {
    err.message += `\nwanted ${JSON.stringify(texts)} pending ${JSON.stringify(pending)}, ` +
      `shown ${JSON.stringify(await messages(chat))}`;
    throw err;
  }
}

// The subscription's answers on screen in the current document (recorded
// by harness.js's init script): waits for the first one.
// `sinceLogin`: from the end of the demo's login response (the app creates
// its client right after it) to that first answer on screen: loading the
// module, opening the store, reading the group and the first query.
async function firstRender(chat) {
  await chat.page.waitForFunction(() => window.__renders?.length > 0, null, {timeout: 20000, polling: 10});
  return chat.page.evaluate(() => {
    const login = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/login'));
    return {...window.__renders[0], sinceLogin: login ? window.__renders[0].at - login.responseEnd : NaN};
  });
}

function serverLogFor(room) {
  return server.log.join('').split('\n').filter((l) => l.includes(`"space":"${room}"`));
}

// Waits until the server has at least `min` messages in `room`, then
// checks every one arrived exactly once and in order: returns the texts.
async function serverTexts(room, min, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let got;
  for (;;) {
    got = await serverMessages(server, room);
    if (got.messages.length >= min || Date.now() > deadline) break;
    await sleep(100);
  }
  const texts = got.messages.map((m) => m.content);
  assert.ok(texts.length >= min, `the server has ${texts.length} messages, wanted ${min}: ${JSON.stringify(texts)}`);
  assert.deepEqual(got.messages.map((m) => m.order), texts.map((_, i) => i + 1),
    'one processed mutation per message (orders 1..n): none was applied twice or failed');
  // The cookie is {order: space version, id} (node_server/README.md).
  assert.equal(got.cookie.order, texts.length, 'the room\'s version counts exactly the messages');
  assert.deepEqual(serverLogFor(room).filter((l) => l.includes('mutation failed')), []);
  assert.equal(new Set(texts).size, texts.length, `no duplicate: ${JSON.stringify(texts)}`);
  return texts;
}

async function expectServer(room, texts, timeout) {
  assert.deepEqual(await serverTexts(room, texts.length, timeout), texts);
}

// Runs body(tools) and leaves the gate online again afterwards; on failure
// prints the pages' consoles and the server's log. tools.launch() opens a
// browser context that records the chat's renders (recordRenders):
// {onProfile: true} launches the browser on this test's profile folder
// (for a test that closes or kills it and launches it again), else it is
// a fresh profile. tools.open(context, spec) opens the chat in it.
async function withBrowser(body, {diagnostics = true} = {}) {
  const profile = new BrowserProfile();
  const chats = [];
  const contexts = [];
  const tools = {
    async launch({onProfile = false} = {}) {
      const context = await engine.newContext(onProfile ? {profileDir: profile.dir} : {onDisk: true});
      contexts.push(context);
      await context.addInitScript(recordRenders);
      return context;
    },
    async open(context, spec) {
      const chat = await openChatPage(context, spec.origin ?? gate.url, spec);
      chats.push(chat);
      return chat;
    },
  };
  try {
    await body(tools);
  } catch (err) {
    if (diagnostics) await printDiagnostics(chats, server, 25);
    throw err;
  } finally {
    gate.setOffline(false);
    for (const c of contexts) await c.close().catch(() => {});
    profile.dispose();
  }
}

test('a reload shows every message at once, those typed offline as pending; online, they arrive once each, in order', {
  timeout: 180000,
}, async () => {
  const room = uniqueRoom('reload');
  await withBrowser(async ({launch, open}) => {
    const context = await launch();
    const chat = await open(context, {user: 'alice', room});
    await send(chat, 'online 1');
    await send(chat, 'online 2');
    await waitForList(chat, ['online 1', 'online 2'], false);
    await waitForPending(chat, 0);

    gate.setOffline(true);
    await send(chat, 'offline 1');
    await send(chat, 'offline 2');
    await waitForList(chat, ['online 1', 'online 2', 'offline 1', 'offline 2'], [false, false, true, true]);
    await waitForPending(chat, 2);
    // The client did try and fail: it shows itself offline.
    await waitForOnline(chat, false);
    // Durable now (a reload inside the ~20 ms group-commit window is the
    // test at the end of this file).
    await chat.page.evaluate(() => window.replichat.state.rep.flush());

    const refusedBefore = gate.refused;
    const started = Date.now();
    await chat.page.reload();
    const first = await firstRender(chat);
    console.log(`reload to first messages on screen: ${first.at.toFixed(0)} ms after the navigation started, ` +
      `${first.sinceLogin.toFixed(0)} ms after the login answered (${Date.now() - started} ms from page.reload() ` +
      `as seen from the test), ${first.count} messages`);
    // The first answer of the subscription already is the persisted state:
    // no empty list in between, the offline ones still pending.
    assert.deepEqual(first.texts, ['online 1', 'online 2', 'offline 1', 'offline 2']);
    assert.deepEqual(first.pending, [false, false, true, true]);
    const renders = await chat.page.evaluate(() => window.__renders);
    assert.ok(renders.every((r) => r.count === 4), `every render had the 4 messages: ${JSON.stringify(renders)}`);
    assert.equal(await chat.page.evaluate(() => window.__emptyShown), false, '"no messages" never showed');
    // The reload read the group's heads with the registry: the open hint
    // (wasm/js/store/open-hint.js) names the group the page uses.
    const hint = await chat.page.evaluate(async () => {
      const rep = window.replichat.state.rep;
      const prefix = `replicore-open/${rep.idbName}/`;
      return {group: await rep.clientGroupID, hinted: Object.keys(localStorage).filter((k) => k.startsWith(prefix)).map((k) => localStorage.getItem(k))};
    });
    // Its first line names the group; the lines after it, the pages the
    // first reads needed, read right after the heads on the next start.
    assert.deepEqual(hint.hinted.map((h) => h.split('\n')[0]), [hint.group], 'the open hint names the group in use');
    for (const page of hint.hinted[0].split('\n').slice(1)) assert.match(page, new RegExp(`^g/${hint.group}/p\\d+$`));
    await waitForPending(chat, 2);
    // Still offline after the reload: the reloaded client tries to sync and is refused.
    await waitUntil(() => gate.refused > refusedBefore, 'the reloaded page tried to sync while offline');
    assert.deepEqual(await serverTexts(room, 2), ['online 1', 'online 2']);
    await screenshot(chat, 'persist-reload-offline');

    gate.setOffline(false);
    await waitForPending(chat, 0, 30000);
    await waitForList(chat, ['online 1', 'online 2', 'offline 1', 'offline 2'], false, 30000);
    await expectServer(room, ['online 1', 'online 2', 'offline 1', 'offline 2']);
    assert.deepEqual(await unexpectedErrors(chat), []);
  });
});

test('a browser restart keeps the messages typed offline; online, they arrive once each, in order', {
  timeout: 180000,
}, async () => {
  const room = uniqueRoom('restart');
  const texts = ['typed offline 1', 'typed offline 2', 'typed offline 3'];
  await withBrowser(async ({launch, open}) => {
    // Offline from the start: this client never reached the server.
    gate.setOffline(true);
    let context = await launch({onProfile: true});
    let chat = await open(context, {user: 'alice', room});
    for (const t of texts) await send(chat, t);
    await waitForList(chat, texts, true);
    await waitForOnline(chat, false);
    await chat.page.evaluate(() => window.replichat.state.rep.flush());
    await context.close();
    assert.deepEqual(await serverTexts(room, 0), [], 'nothing reached the server');

    const started = Date.now();
    context = await launch({onProfile: true});
    chat = await open(context, {user: 'alice', room});
    const first = await firstRender(chat);
    console.log(`browser relaunch to first messages on screen: ${Date.now() - started} ms ` +
      `(${first.at.toFixed(0)} ms after the navigation started, ${first.sinceLogin.toFixed(0)} ms after the login ` +
      'answered)');
    assert.deepEqual(first.texts, texts);
    assert.deepEqual(first.pending, [true, true, true]);
    assert.equal(await chat.page.evaluate(() => window.__emptyShown), false, '"no messages" never showed');
    await waitForPending(chat, 3);
    assert.deepEqual(await serverTexts(room, 0), [], 'still nothing on the server while offline');
    assert.deepEqual(await unexpectedErrors(chat), []);

    gate.setOffline(false);
    await waitForPending(chat, 0, 30000);
    await waitForList(chat, texts, false, 30000);
    await expectServer(room, texts);
    await screenshot(chat, 'persist-restart-online');
  });
});

test('two tabs, server down: a message typed in one shows in the other, which pushes it once the first is closed', {
  timeout: 180000,
}, async () => {
  const room = uniqueRoom('tabs');
  let stopped = false;
  await withBrowser(async ({launch, open}) => {
    const context = await launch();
    // Directly on the server (no gate): it is stopped for real below.
    const a = await open(context, {user: 'alice', room, origin: server.url});
    const b = await open(context, {user: 'alice', room, origin: server.url, page: await context.newPage()});
    assert.deepEqual(await Promise.all([a, b].map((t) => t.page.evaluate(() => document.visibilityState))),
      ['visible', 'visible']);
    const groups = await Promise.all([a, b].map((t) => t.page.evaluate(() => window.replichat.state.rep.clientGroupID)));
    assert.equal(groups[0], groups[1], 'the two tabs share one client group');
    await send(a, 'warm-up');
    await waitForList(b, ['warm-up'], false);
    await waitForPending(a, 0);

    await server.stop();
    stopped = true;
    // Timed inside the pages (one clock): from the submit in tab A to the
    // text in tab B's DOM. With the server down, only the store and the
    // BroadcastChannel can carry it.
    await a.page.evaluate(() => {
      window.__sentAt = {};
      document.getElementById('composer').addEventListener('submit', () => {
        window.__sentAt[document.getElementById('text').value] = performance.timeOrigin + performance.now();
      }, true);
    });
    await b.page.evaluate(() => {
      window.__seenAt = {};
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('#messages .message .text')) {
          window.__seenAt[el.textContent] ??= performance.timeOrigin + performance.now();
        }
      }).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true});
    });
    const sent = [];
    const latencies = [];
    for (let i = 1; i <= 5; i++) {
      const text = `from tab A ${i}`;
      sent.push(text);
      await send(a, text);
      await waitForList(b, ['warm-up', ...sent], [false, ...sent.map(() => true)], 5000);
      const sentAt = await a.page.evaluate((t) => window.__sentAt[t], text);
      const seenAt = await b.page.evaluate((t) => window.__seenAt[t], text);
      latencies.push(seenAt - sentAt);
    }
    const sorted = [...latencies].sort((x, y) => x - y);
    console.log(`tab-to-tab latency with the server down, submit in tab A to text in tab B's DOM (ms): ` +
      `median ${sorted[2].toFixed(1)}, min ${sorted[0].toFixed(1)}, max ${sorted[4].toFixed(1)} ` +
      `(${latencies.map((l) => l.toFixed(1)).join(', ')})`);
    assert.ok(sorted[4] < 1000, `tab-to-tab latency ${sorted[4]} ms`);
    await waitForPending(b, 5);
    await screenshot(b, 'persist-tabs-b-server-down');

    // Tab A goes away with its mutations unpushed; B has them from the store.
    const [clientA, clientB] = await Promise.all([a, b].map((t) =>
      t.page.evaluate(() => window.replichat.state.rep.clientID)));
    const pending = await b.page.evaluate(() => window.replichat.state.rep.experimentalPendingMutations());
    assert.deepEqual(pending.map((m) => [m.clientID, m.args.content]), sent.map((t) => [clientA, t]));
    await a.page.close();
    const restartedAt = new Date().toISOString();
    await server.start();
    stopped = false;
    await waitForPending(b, 0, 40000);
    await waitForList(b, ['warm-up', ...sent], false, 40000);
    await expectServer(room, ['warm-up', ...sent]);
    // Pushed by tab B (the request id starts with the pushing client's id).
    const pushes = server.log.join('').split('\n').filter((l) => l.includes('"path":"/api/push"'))
      .map((l) => JSON.parse(l)).filter((l) => l.time >= restartedAt);
    assert.ok(pushes.some((p) => p.status === 200 && p.requestID.startsWith(`${clientB}-`)), 'tab B pushed');
    assert.ok(!pushes.some((p) => p.requestID.startsWith(`${clientA}-`)), 'nothing from the closed tab A');
    assert.deepEqual(await unexpectedErrors(b), []);
  }).finally(async () => {
    // The next tests need it.
    if (stopped) await server.start();
  });
});

test('kill -9 of the browser while it mutates and syncs: the store reopens cleanly with a prefix of what was sent', {
  timeout: 180000,
}, async () => {
  const room = uniqueRoom('kill');
  const label = (i) => `m${String(i).padStart(4, '0')}`;
  await withBrowser(async ({launch, open}) => {
    let context = await launch({onProfile: true});
    let chat = await open(context, {user: 'alice', room});
    // One message every 20 ms, as the app sends them (same mutator and
    // args), and a flush() after every tenth; meanwhile the client pushes,
    // gets pokes, pulls and rebases, and the store takes group commits.
    // window.__progress: the last message whose mutate() resolved, and the
    // last one a resolved flush() covers.
    await chat.page.evaluate(() => {
      const rep = window.replichat.state.rep;
      const label = (i) => `m${String(i).padStart(4, '0')}`;
      const progress = window.__progress = {resolved: -1, flushed: -1};
      let flushing = false;
      (async () => {
        for (let i = 0; ; i++) {
          const id = `k${i}x${Math.random().toString(36).slice(2, 10)}`;
          await rep.mutate.createMessage({id, from: 'alice', content: label(i), createdAt: Date.now()});
          progress.resolved = i;
          if (i % 10 === 9 && !flushing) {
            flushing = true;
            rep.flush().then(() => {
              flushing = false;
              progress.flushed = Math.max(progress.flushed, i);
            });
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    });
    // Polled (every driver can evaluate; not every one can call back). The
    // page goes on between the last poll and the kill, so what the test saw
    // is a lower bound of what the page had done, which is all the checks
    // below need.
    const target = 60 + Math.floor(Math.random() * 40);
    await chat.page.waitForFunction((t) => window.__progress.resolved >= t && window.__progress.flushed >= 9, target,
      {timeout: 30000, polling: 5});
    const atKill = await chat.page.evaluate(() => window.__progress);
    const killed = await context.kill();
    const onServerAtKill = (await serverMessages(server, room)).messages.length;
    console.log(`killed the browser (pid ${killed.pid}, ${killed.processes} processes) after message ${atKill.resolved} ` +
      `resolved; the last flush() that resolved covered message ${atKill.flushed}; ${onServerAtKill} on the server`);

    // Reopened offline (once every process of the killed browser is gone):
    // what is shown comes from the store alone.
    gate.setOffline(true);
    context = await launch({onProfile: true});
    chat = await open(context, {user: 'alice', room});
    const first = await firstRender(chat);
    const shown = await messages(chat);
    const n = shown.length;
    console.log(`after the kill: ${n} messages in the store (${shown.filter((m) => !m.pending).length} confirmed), ` +
      `first on screen ${first.at.toFixed(0)} ms after the navigation started, ` +
      `${first.sinceLogin.toFixed(0)} ms after the login answered`);
    assert.deepEqual(first.texts, shown.map((m) => m.text));
    assert.equal(await chat.page.evaluate(() => window.__emptyShown), false, '"no messages" never showed');
    assert.deepEqual(shown.map((m) => m.text), Array.from({length: n}, (_, i) => label(i)),
      'a prefix of what was sent, in order, no gap, no duplicate');
    assert.ok(n >= atKill.flushed + 1, `everything flush() confirmed is there (${n} >= ${atKill.flushed + 1})`);
    const firstPending = shown.findIndex((m) => m.pending);
    if (firstPending >= 0) assert.ok(shown.slice(firstPending).every((m) => m.pending), 'confirmed ones, then pending ones');
    assert.deepEqual(await unexpectedErrors(chat), [], 'the store opened cleanly');

    gate.setOffline(false);
    await waitForPending(chat, 0, 30000);
    const texts = await serverTexts(room, n, 30000);
    assert.deepEqual(texts, Array.from({length: texts.length}, (_, i) => label(i)),
      'the server has a prefix of what was sent, each once, in order');
    await waitForList(chat, texts, false, 30000);
    console.log(`back online: ${texts.length} messages on the server (${texts.length - n} of them had reached it ` +
      'but not the store before the kill)');
    assert.deepEqual(await unexpectedErrors(chat), []);
  });
});

test('IndexedDB that cannot be opened: the chat runs in memory and says so once', {timeout: 180000}, async () => {
  const room = uniqueRoom('idb-broken');
  await withBrowser(async ({launch, open}) => {
    const context = await launch();
    // What Chromium answers when its IndexedDB backing store is unusable
    // (a corrupt or unwritable profile): every open fails with UnknownError.
    await context.addInitScript(() => {
      IDBFactory.prototype.open = function open() {
        const request = {result: undefined, error: null, readyState: 'pending', transaction: null,
          onsuccess: null, onerror: null, onupgradeneeded: null, onblocked: null};
        setTimeout(() => {
          request.readyState = 'done';
          request.error = new DOMException('Internal error opening backing store for indexedDB.open.', 'UnknownError');
          request.onerror?.({target: request, type: 'error', preventDefault() {}});
        }, 0);
        return request;
      };
    });
    const chat = await open(context, {user: 'alice', room});
    await send(chat, 'works without a store 1');
    await send(chat, 'works without a store 2');
    await waitForList(chat, ['works without a store 1', 'works without a store 2'], false);
    await waitForPending(chat, 0);
    await expectServer(room, ['works without a store 1', 'works without a store 2']);
    assert.equal(await chat.page.evaluate(() => window.replichat.state.rep.flush().then(() => 'resolved')), 'resolved');
    const errors = await unexpectedErrors(chat);
    assert.equal(errors.length, 1, `one error: ${JSON.stringify(errors)}`);
    assert.match(errors[0], /replicore: the store cannot be opened .*UnknownError.*memory only/);
  });
});

test('the database deleted under an open chat: it goes on in memory, says so once, flush() rejects clearly', {
  timeout: 180000,
}, async () => {
  const room = uniqueRoom('idb-deleted');
  await withBrowser(async ({launch, open}) => {
    const context = await launch();
    const chat = await open(context, {user: 'alice', room});
    await send(chat, 'before the delete');
    await waitForList(chat, ['before the delete'], false);
    await chat.page.evaluate(() => window.replichat.state.rep.flush());

    // Another page of the origin deletes the database (as "clear site
    // data" or a storage-pressure eviction would); the chat's connection
    // closes on versionchange so the delete is not blocked.
    const other = await context.newPage();
    await other.goto(`${gate.url}/style.css`);
    const name = await chat.page.evaluate(() => window.replichat.state.rep.idbName);
    const before = await other.evaluate(() => indexedDB.databases().then((d) => d.map((x) => x.name)));
    assert.ok(before.includes(name), `the chat's database exists: ${JSON.stringify(before)}`);
    await other.evaluate((n) => new Promise((resolve, reject) => {
      const r = indexedDB.deleteDatabase(n);
      r.onsuccess = resolve;
      r.onerror = () => reject(r.error);
    }), name);

    await send(chat, 'after the delete 1');
    await send(chat, 'after the delete 2');
    await waitForList(chat, ['before the delete', 'after the delete 1', 'after the delete 2'], false);
    await waitForPending(chat, 0);
    await expectServer(room, ['before the delete', 'after the delete 1', 'after the delete 2']);
    const flushed = await chat.page.evaluate(() =>
      window.replichat.state.rep.flush().then(() => 'resolved', (e) => e.message));
    assert.match(flushed, /no longer exists/);
    const errors = await unexpectedErrors(chat);
    assert.equal(errors.length, 1, `one error: ${JSON.stringify(errors)}`);
    assert.match(errors[0], /replicore: writing to the store failed.*no longer exists/);
    // WebKit lists a database whose creation was aborted (as the client's
    // reopen does when it finds its database gone) with version 0: no
    // stores, no data, and a later open upgrades it from 0 like a new one.
    // Chromium and Firefox do not list it at all.
    const after = await other.evaluate(() => indexedDB.databases());
    assert.deepEqual(after.filter((d) => d.name === name && d.version > 0), [],
      `the retries do not recreate an empty database: ${JSON.stringify(after)}`);
  });
});

// A reload or a tab close right after mutate() resolved, before the group
// commit (~20 ms later) has run. On pagehide (and on hiding, which comes
// first when a tab closes) persist.js writes at once with no read first,
// giving up a write still waiting for its reads: an unloading page never
// gets their answers (before that, 2 to 5 of these 7 messages were lost).
// Each round sends one message and reloads (or closes the tab) in the same
// task, offline so that the server cannot hand it back.
//
// WebKit (WebKitGTK 2.50) never commits an IndexedDB transaction that a
// page issues in pagehide, visibilitychange or unload, on a reload and on a
// tab close alike (this test lost every one of these messages there). So
// persist.js also starts the unload write in beforeunload (which WebKit
// commits on a reload) and leaves a localStorage journal of what is not
// stored, which the next instance takes (core/persister.h, journals). Once
// the journals are taken and stored, none may be left behind.
test('a message sent right before a reload or a tab close survives it', {timeout: 180000}, async () => {
  const room = uniqueRoom('unload');
  await withBrowser(async ({launch, open}) => {
    gate.setOffline(true);
    const context = await launch();
    // In the page: what the app's send() does, without the form.
    await context.addInitScript(() => {
      window.__sendNow = (content) => window.replichat.state.rep.mutate.createMessage(
        {id: `u${Math.random().toString(36).slice(2, 10)}`, from: 'alice', content, createdAt: Date.now()});
    });
    const chat = await open(context, {user: 'alice', room});
    const sent = [];
    for (let round = 0; round < 4; round++) {
      const text = `reload ${round}`;
      sent.push(text);
      // Not awaited in the page: the reload destroys the context evaluate()
      // would answer from. The old document is marked, to wait for the new.
      await chat.page.evaluate((t) => {
        window.__oldDocument = true;
        void window.__sendNow(t).then(() => location.reload());
      }, text);
      await chat.page.waitForFunction(() => !window.__oldDocument && window.__renders?.length > 0, null,
        {timeout: 20000});
      await firstRender(chat);
    }
    for (let round = 0; round < 3; round++) {
      const text = `close ${round}`;
      sent.push(text);
      const tab = await open(context, {user: 'alice', room, page: await context.newPage()});
      await tab.page.evaluate((t) => window.__sendNow(t), text);
      await tab.page.close();
    }
    await chat.page.reload();
    const all = (await firstRender(chat)).texts;
    console.log(`sent right before an unload: ${JSON.stringify(sent)}; in the store after: ${JSON.stringify(all)}`);
    assert.deepEqual(all, sent);
    await chat.page.evaluate(() => window.replichat.state.rep.flush());
    const journals = await chat.page.evaluate(() =>
      Object.keys(localStorage).filter((k) => k.startsWith('replicore-journal/')));
    assert.deepEqual(journals, [], 'journals left in localStorage after they were stored');
  }, {diagnostics: false});
});
