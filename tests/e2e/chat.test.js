// The demo chat in a real browser (the engine of the run: browsers.js)
// against the real server (SQLite). Pulls happen only on start and on pokes
// (pullInterval off), so a message that reaches another window got there
// through a poke.
import assert from 'node:assert/strict';
import {engineName} from './browsers.js';
import {
  SyncGate, engineTest, messages, screenshot, send, uniqueRoom,
  serverAndEngine,
} from './harness.js';

const test = engineTest(engineName());
let server;
let engine;
const {withChats} = serverAndEngine((s, e) => ([server, engine] = [s, e]));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForText(chat, text, timeout = 20000) {
  await chat.page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .message:not(.pending) .text')].some((e) => e.textContent === t),
    text, {timeout, polling: 20});
}

async function waitForPending(chat, count, timeout = 20000) {
  await chat.page.waitForFunction((n) => document.getElementById('pending').dataset.count === String(n),
    count, {timeout, polling: 50});
}

// Goes offline and back for one window: the engine's own offline switch
// where it has one (Chromium, Firefox), else (WebKit under WebDriver) a
// SyncGate in front of the server that the window was opened through,
// which fails its push and pull requests and cuts its poke socket as a
// lost connection does.
async function offlineSwitch() {
  if (engine.canGoOffline) return {origin: undefined, set: (chat, offline) => chat.context.setOffline(offline), close() {}};
  const gate = new SyncGate(server);
  await gate.start();
  return {origin: gate.url, set: (chat, offline) => gate.setOffline(offline), close: () => gate.close()};
}

test('a message sent in one window appears in the other, delivered by a poke', async () => {
  const room = uniqueRoom('live');
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    // The first message also proves both poke sockets are up.
    await send(alice, 'warm-up');
    await waitForText(bob, 'warm-up');
    // Timed inside the pages (both read the same system clock): from the
    // submit event in one window to the moment the text is in the other's DOM.
    await alice.page.evaluate(() => {
      window.__sentAt = {};
      document.getElementById('composer').addEventListener('submit', () => {
        window.__sentAt[document.getElementById('text').value] = Date.now();
      }, true);
    });
    await bob.page.evaluate(() => {
      window.__seenAt = {};
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('#messages .message .text')) {
          window.__seenAt[el.textContent] ??= Date.now();
        }
      }).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true});
    });
    const latencies = [];
    for (let i = 0; i < 7; i++) {
      const text = `hello ${i}`;
      await send(alice, text);
      await waitForText(bob, text);
      const sentAt = await alice.page.evaluate((t) => window.__sentAt[t], text);
      const seenAt = await bob.page.evaluate((t) => window.__seenAt[t], text);
      latencies.push(seenAt - sentAt);
    }
    latencies.sort((a, b) => a - b);
    console.log(`send-to-visible latency, submit in one window to text in the other's DOM (ms): ` +
      `median ${latencies[3]}, min ${latencies[0]}, max ${latencies[6]} (7 messages)`);
    const seen = await messages(bob);
    assert.deepEqual(seen.map((m) => m.text), ['warm-up', ...[0, 1, 2, 3, 4, 5, 6].map((i) => `hello ${i}`)]);
    assert.ok(seen.every((m) => m.from === 'alice' && !m.pending));
    await waitForPending(alice, 0);
    await screenshot(alice, 'live-alice');
    await screenshot(bob, 'live-bob');
  });
});

test('messages typed offline show as pending and arrive once each, in order, after reconnecting', async () => {
  const room = uniqueRoom('offline');
  const offline = await offlineSwitch();
  await withChats([{user: 'alice', room, origin: offline.origin}, {user: 'bob', room}], async (alice, bob) => {
    await send(alice, 'before');
    await waitForText(bob, 'before');
    // Bob seeing it does not mean Alice has pulled its confirmation yet; if
    // she has not, 'before' is still pending when she goes offline.
    await waitForPending(alice, 0);

    await offline.set(alice, true);
    for (const text of ['one', 'two', 'three']) await send(alice, text);
    await waitForPending(alice, 3);
    const mine = await messages(alice);
    assert.deepEqual(mine.filter((m) => m.pending).map((m) => m.text), ['one', 'two', 'three']);
    await alice.page.waitForFunction(() => document.getElementById('online').dataset.online === 'false',
      null, {timeout: 20000});
    await sleep(500);
    assert.deepEqual((await messages(bob)).map((m) => m.text), ['before']);
    await screenshot(alice, 'offline-alice-pending');

    await offline.set(alice, false);
    for (const text of ['one', 'two', 'three']) await waitForText(bob, text, 30000);
    await waitForPending(alice, 0, 30000);
    const texts = (await messages(bob)).map((m) => m.text);
    assert.deepEqual(texts, ['before', 'one', 'two', 'three']);
    await alice.page.waitForFunction(() => document.getElementById('online').dataset.online === 'true');
    await screenshot(bob, 'offline-bob-after');
  }).finally(() => offline.close());
});

test('a server restart loses nothing typed and the poke socket reconnects by itself', async () => {
  const room = uniqueRoom('restart');
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    await send(alice, 'before restart');
    await waitForText(bob, 'before restart');

    await server.stop();
    await send(alice, 'during outage 1');
    await send(alice, 'during outage 2');
    await sleep(800);
    await server.start();

    await waitForText(bob, 'during outage 1', 40000);
    await waitForText(bob, 'during outage 2', 40000);
    await waitForPending(alice, 0, 40000);
    // Both sockets are back: a new message goes the other way by a poke.
    await send(bob, 'after restart');
    await waitForText(alice, 'after restart', 40000);
    assert.deepEqual((await messages(alice)).map((m) => m.text),
      ['before restart', 'during outage 1', 'during outage 2', 'after restart']);
    await screenshot(alice, 'restart-alice');
  });
});

test('rooms are separate: a message and a poke for room A do not reach room B', async () => {
  const roomA = uniqueRoom('room-a');
  const roomB = uniqueRoom('room-b');
  await withChats([{user: 'alice', room: roomA}, {user: 'carol', room: roomA}, {user: 'bob', room: roomB}],
    async (alice, carol, bob) => {
      // Bob's pull requests, as the page's resource timing lists them
      // (every engine has it; not every driver reports requests).
      const bobPulls = () => bob.page.evaluate(() =>
        performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/pull')).length);
      await send(bob, 'only in B');
      await waitForText(bob, 'only in B');
      await sleep(500);
      const pullsBefore = await bobPulls();
      assert.ok(pullsBefore >= 1, 'the start-up pull is counted');

      await send(alice, 'only in A');
      await waitForText(carol, 'only in A');
      await sleep(800);
      assert.equal(await bobPulls(), pullsBefore, 'a poke for room A made a room-B client pull');
      assert.deepEqual((await messages(bob)).map((m) => m.text), ['only in B']);
      assert.ok(!(await messages(carol)).some((m) => m.text === 'only in B'));
      await screenshot(bob, 'rooms-bob');
    });
});

test('markup in a message is shown as text, never run', async () => {
  const room = uniqueRoom('xss');
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>';
  await withChats([{user: 'alice', room}, {user: 'bob', room, viewport: {width: 390, height: 740}}],
    async (alice, bob) => {
      await send(alice, evil);
      await waitForText(bob, evil);
      for (const chat of [alice, bob]) {
        assert.equal(await chat.page.evaluate(() => window.__pwned), undefined);
        assert.equal(await chat.page.evaluate(() =>
          document.querySelectorAll('#messages img, #messages script, #messages b').length), 0);
      }
      await screenshot(bob, 'xss-bob-phone-width');
    });
});
