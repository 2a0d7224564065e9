// The demo chat as a developer shows it (issue 17), in a real browser (the
// engine of the run: browsers.js) against the real server: times and day
// separators, editing and deleting your own messages, the notice when the
// server refuses a change, signing out and in as someone else, the loading
// state, scrolling with a "new messages" marker and in-place list updates,
// the connection pill, the input limit, the favicon and dark mode.
//
// E2E_SCREENSHOTS=1 also writes the README's screenshots into docs/ (in
// Chromium only): opt-in, so that a test run never rewrites committed files.
import assert from 'node:assert/strict';
import path from 'node:path';
import {MAX_CONTENT_LENGTH} from '../../node_server/src/chat-mutators.js';
import {engineName} from './browsers.js';
import {
  SyncGate, engineTest, messages, repoRoot, screenshot, send,
  serverMessages, uniqueRoom, serverAndEngine,
} from './harness.js';

const test = engineTest(engineName());
let server;
let engine;
const {withChats} = serverAndEngine((s, e) => ([server, engine] = [s, e]));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const DAY = 24 * 60 * 60 * 1000;

async function waitForTexts(chat, texts, timeout = 20000) {
  try {
    await chat.page.waitForFunction((want) => {
      const shown = [...document.querySelectorAll('#messages .message:not(.pending) .text')].map((e) => e.textContent);
      return JSON.stringify(shown) === JSON.stringify(want);
    }, texts, {timeout, polling: 20});
  } catch (err) {
    err.message += `\nwanted ${JSON.stringify(texts)}, shown ${JSON.stringify(await messages(chat))}`;
    throw err;
  }
}

// The ID of the (first) message whose text is `text`.
function idOf(chat, text) {
  return chat.page.evaluate((t) =>
    [...document.querySelectorAll('#messages .message')].find((e) => e.querySelector('.text').textContent === t)
      ?.dataset.id, text);
}

// A click on a button of a message. WebKit's driver refuses to click what
// is transparent (the edit and delete buttons show on hover), so there the
// click is the DOM's; the other engines click as a user does.
async function clickIn(chat, selector) {
  if (chat.engine === 'webkit') {
    await chat.page.waitForFunction((s) => !!document.querySelector(s), selector, {timeout: 20000});
    await chat.page.evaluate((s) => document.querySelector(s).click(), selector);
  } else {
    await chat.page.click(selector);
  }
}

const connection = (chat) => chat.page.evaluate(() => document.getElementById('online').dataset.state);
async function waitForConnection(chat, state, timeout = 20000) {
  await chat.page.waitForFunction((s) => document.getElementById('online').dataset.state === s, state,
    {timeout, polling: 20});
}

// The requests the server answered 404, from its JSON log.
function notFound() {
  return server.log.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    .filter((e) => e.msg === 'request' && e.status === 404);
}

test('messages show their time, under a separator per day; the input takes what the server takes', async () => {
  const room = uniqueRoom('times');
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    // A message typed yesterday (kept offline, say), pushed now: the server keeps its time.
    const yesterday = Date.now() - DAY;
    await alice.page.evaluate((t) => window.replichat.mutate('createMessage',
      {id: 'yesterday1', from: 'alice', content: 'from yesterday', createdAt: t}), yesterday);
    await waitForTexts(bob, ['from yesterday']);
    await send(alice, 'from today');
    await waitForTexts(bob, ['from yesterday', 'from today']);

    const stored = (await serverMessages(server, room)).messages;
    assert.equal(stored[0].createdAt, yesterday, 'the server kept the client\'s time');
    assert.ok(Math.abs(stored[1].createdAt - Date.now()) < 60000);
    const shown = await bob.page.evaluate(() => [...document.querySelectorAll('#messages .day, #messages .message')]
      .map((e) => (e.classList.contains('day') ? `day:${e.textContent}` : `${e.querySelector('.text').textContent}@` +
        e.querySelector('.time').dateTime)));
    assert.deepEqual(shown, ['day:Yesterday', `from yesterday@${new Date(yesterday).toISOString()}`,
      'day:Today', `from today@${new Date(stored[1].createdAt).toISOString()}`]);
    assert.match(await bob.page.evaluate(() => document.querySelector('#messages .message .time').textContent),
      /\d{1,2}[:.]\d{2}/, 'a time of day is shown');

    // The message box takes exactly what the server's mutator accepts.
    assert.equal(await alice.page.evaluate(() => document.getElementById('text').maxLength), MAX_CONTENT_LENGTH);
    // No 404 (the favicon is there) for what the page loaded.
    assert.deepEqual(notFound().map((e) => e.path), []);
    await screenshot(bob, 'demo-times-bob');
  });
});

test('your own messages can be edited and deleted; others\' cannot', async () => {
  const room = uniqueRoom('edit');
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    await send(alice, 'frist');
    await send(bob, 'hi alice');
    await waitForTexts(alice, ['frist', 'hi alice']);
    await waitForTexts(bob, ['frist', 'hi alice']);
    const id = await idOf(alice, 'frist');
    const bobs = await idOf(alice, 'hi alice');
    // Buttons on one's own messages only.
    const buttons = (chat, msg) => chat.page.evaluate((i) => getComputedStyle(
      document.querySelector(`#messages .message[data-id="${i}"] .actions`)).display !== 'none', msg);
    assert.equal(await buttons(alice, id), true);
    assert.equal(await buttons(alice, bobs), false);
    assert.equal(await buttons(bob, id), false);

    // Edit: the text is replaced in place, for both, marked as edited.
    await alice.page.evaluate((i) => {
      window.__item = document.querySelector(`#messages .message[data-id="${i}"]`);
    }, id);
    await clickIn(alice, `#messages .message[data-id="${id}"] .edit`);
    await alice.page.fill(`#messages .message[data-id="${id}"] .edit-text`, 'first');
    await alice.page.press(`#messages .message[data-id="${id}"] .edit-text`, 'Enter');
    await waitForTexts(bob, ['first', 'hi alice']);
    await waitForTexts(alice, ['first', 'hi alice']);
    for (const chat of [alice, bob]) {
      assert.equal(await chat.page.evaluate((i) => document.querySelector(`#messages .message[data-id="${i}"]`)
        .classList.contains('was-edited'), id), true, 'marked as edited');
    }
    assert.equal(await alice.page.evaluate((i) =>
      document.querySelector(`#messages .message[data-id="${i}"]`) === window.__item, id), true,
    'the same element, updated in place');
    const stored = (await serverMessages(server, room)).messages.find((m) => m.id === id);
    assert.equal(stored.content, 'first');
    assert.equal(typeof stored.editedAt, 'number');

    // Delete asks once more on the message itself, then the message is gone for both.
    await clickIn(alice, `#messages .message[data-id="${id}"] .delete`);
    await screenshot(alice, 'demo-delete-confirm');
    await clickIn(alice, `#messages .message[data-id="${id}"] .confirm-delete`);
    await waitForTexts(bob, ['hi alice']);
    await waitForTexts(alice, ['hi alice']);
    assert.deepEqual((await serverMessages(server, room)).messages.map((m) => m.content), ['hi alice']);
    // Nothing was refused.
    assert.equal(await alice.page.evaluate(() => document.querySelectorAll('#notices .notice-item').length), 0);
  });
});

test('a change the server refuses is undone with a notice saying so', async () => {
  const room = uniqueRoom('refuse');
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    await send(bob, 'bob\'s words');
    await waitForTexts(alice, ['bob\'s words']);
    const id = await idOf(alice, 'bob\'s words');
    // What a modified page could send: the server's mutators let only the author change a message.
    await alice.page.evaluate((i) => window.replichat.mutate('updateMessage',
      {id: i, content: 'alice\'s words now', editedAt: Date.now()}), id);
    await alice.page.waitForFunction(() => document.querySelectorAll('#notices .notice-item.refused').length === 1,
      null, {timeout: 20000});
    const notice = await alice.page.evaluate(() => document.querySelector('#notices .notice-item').textContent);
    assert.match(notice, /server refused to edit “bob's words”.*undone/);
    await waitForTexts(alice, ['bob\'s words']);
    await screenshot(alice, 'demo-refused');

    await alice.page.evaluate((i) => window.replichat.mutate('deleteMessage', {id: i}), id);
    await alice.page.waitForFunction(() => document.querySelectorAll('#notices .notice-item.refused').length === 2,
      null, {timeout: 20000});
    assert.match(await alice.page.evaluate(() => document.querySelectorAll('#notices .notice-item')[1].textContent),
      /refused to delete “bob's words”/);
    await waitForTexts(alice, ['bob\'s words']);
    assert.deepEqual((await serverMessages(server, room)).messages.map((m) => [m.from, m.content]),
      [['bob', 'bob\'s words']]);
    assert.deepEqual(await messages(bob), [{from: 'bob', text: 'bob\'s words', pending: false}]);
  });
});

test('sign out, then sign in as someone else in the same window', async () => {
  const room = uniqueRoom('signout');
  await withChats([{user: 'alice', room}], async (alice) => {
    await send(alice, 'as alice');
    await waitForTexts(alice, ['as alice']);
    await alice.page.click('#signout');
    await alice.page.waitForFunction(() => document.getElementById('login').open, null, {timeout: 20000});
    assert.match(await alice.page.evaluate(() => document.getElementById('login-notice').textContent),
      /Signed out from alice/);
    assert.equal(await alice.page.evaluate(() => localStorage.getItem('replichat.user')), null);
    await alice.page.fill('#login-name', 'carol');
    await alice.page.click('#login-form button[type=submit]');
    await alice.page.waitForFunction(() => !document.getElementById('login').open &&
      document.getElementById('me').textContent === 'carol', null, {timeout: 20000});
    await waitForTexts(alice, ['as alice']);
    await send(alice, 'as carol');
    await waitForTexts(alice, ['as alice', 'as carol']);
    assert.deepEqual((await serverMessages(server, room)).messages.map((m) => [m.from, m.content]),
      [['alice', 'as alice'], ['carol', 'as carol']]);
    // The page now shows carol's messages as her own, alice's as another person's.
    assert.deepEqual(await alice.page.evaluate(() =>
      [...document.querySelectorAll('#messages .message')].map((e) => e.classList.contains('mine'))), [false, true]);
    // The page's own location (history.replaceState): the WebKit driver's
    // page.url() is the address last navigated to.
    assert.match(await alice.page.evaluate(() => location.href), /user=carol/, 'a reload stays carol');
  });
});

test('"Loading" until the server answers, never a false "no messages"', async () => {
  const room = uniqueRoom('loading');
  const gate = new SyncGate(server);
  await gate.start();
  try {
    await withChats([{user: 'bob', room}], async (bob) => {
      await send(bob, 'already here');
      await waitForTexts(bob, ['already here']);
      // Alice opens the room for the first time while the server cannot be reached.
      gate.setOffline(true);
      await withChats([{user: 'alice', room, origin: gate.url}], async (alice) => {
        await sleep(1500);
        const shown = await alice.page.evaluate(() => ({
          loading: !document.getElementById('loading').hidden,
          empty: !document.getElementById('empty').hidden,
          text: document.getElementById('loading').textContent.trim(),
        }));
        assert.deepEqual(shown, {loading: true, empty: false, text: 'Loading messages…'});
        assert.equal(await connection(alice), 'reconnecting', 'requests fail: reconnecting…');
        await screenshot(alice, 'demo-loading');
        gate.setOffline(false);
        await waitForTexts(alice, ['already here'], 30000);
        assert.equal(await alice.page.evaluate(() => document.getElementById('loading').hidden), true);
        await waitForConnection(alice, 'online', 30000);
      });
      // An empty room, once the server has said so.
      const empty = uniqueRoom('empty');
      await withChats([{user: 'carol', room: empty}], async (carol) => {
        await carol.page.waitForFunction(() => !document.getElementById('empty').hidden, null, {timeout: 20000});
        assert.equal(await carol.page.evaluate(() => document.getElementById('loading').hidden), true);
      });
    });
  } finally {
    await gate.close();
  }
});

test('the connection pill: offline, reconnecting…, online', async () => {
  const room = uniqueRoom('pill');
  const gate = new SyncGate(server);
  await gate.start();
  try {
    await withChats([{user: 'alice', room, origin: gate.url}], async (alice) => {
      await waitForConnection(alice, 'online');
      // The server out of reach (its socket cut, requests failing) while the browser is online.
      gate.setOffline(true);
      await waitForConnection(alice, 'reconnecting');
      assert.equal(await alice.page.evaluate(() => document.getElementById('online').textContent), 'reconnecting…');
      gate.setOffline(false);
      await waitForConnection(alice, 'online', 30000);
      // The browser itself offline (where the engine can say so): navigator.onLine.
      if (engine.canGoOffline) {
        await alice.context.setOffline(true);
        await waitForConnection(alice, 'offline');
        await alice.context.setOffline(false);
        await waitForConnection(alice, 'online', 30000);
      }
    });
  } finally {
    await gate.close();
  }
});

test('reading history stays put; new messages show a marker and a button; the list is updated in place', async () => {
  const room = uniqueRoom('scroll');
  await withChats([{user: 'alice', room}, {user: 'bob', room, viewport: {width: 390, height: 600}}], async (alice, bob) => {
    const texts = Array.from({length: 30}, (_, i) => `line ${i}`);
    for (const t of texts) await send(alice, t);
    await waitForTexts(bob, texts, 30000);
    const box = () => bob.page.evaluate(() => {
      const m = document.getElementById('messages');
      return {top: m.scrollTop, bottom: m.scrollHeight - m.scrollTop - m.clientHeight};
    });
    assert.ok((await box()).bottom < 5, 'a new message scrolls a reader at the bottom along');

    // Bob scrolls up to read; every element he has is tagged, to see it is kept.
    await bob.page.evaluate(() => {
      document.getElementById('messages').scrollTop = 100;
      for (const e of document.querySelectorAll('#messages .message')) e.dataset.kept = '1';
    });
    await sleep(100);
    const before = await box();
    await send(alice, 'new 1');
    await send(alice, 'new 2');
    await waitForTexts(bob, [...texts, 'new 1', 'new 2']);
    // An edit above where he reads, too.
    await alice.page.evaluate((i) => window.replichat.mutate('updateMessage',
      {id: i, content: 'line 0, edited', editedAt: Date.now()}), await idOf(alice, 'line 0'));
    await bob.page.waitForFunction(() => document.querySelector('#messages .message .text').textContent === 'line 0, edited',
      null, {timeout: 20000});
    assert.equal((await box()).top, before.top, 'where he reads stays put');
    const state = await bob.page.evaluate(() => ({
      jump: document.getElementById('jump').hidden ? null : document.getElementById('jump').textContent,
      marker: document.querySelector('#messages .unread-marker + .message .text')?.textContent,
      kept: [...document.querySelectorAll('#messages .message')].filter((e) => e.dataset.kept).length,
    }));
    assert.deepEqual(state, {jump: '↓ 2 new messages', marker: 'new 1', kept: 30});
    await screenshot(bob, 'demo-new-messages');

    await bob.page.click('#jump');
    await bob.page.waitForFunction(() => document.getElementById('jump').hidden, null, {timeout: 20000});
    await bob.page.evaluate(() => {
      const m = document.getElementById('messages');
      m.scrollTop = m.scrollHeight;
    });
    await send(alice, 'new 3');
    await waitForTexts(bob, [...texts.map((t, i) => (i ? t : 'line 0, edited')), 'new 1', 'new 2', 'new 3']);
    assert.ok((await box()).bottom < 5, 'at the bottom again, it follows new messages');
  });
});

// The system's scheme is set per browser context, in each engine its own way
// (browsers.js, colorScheme).
test('dark mode follows the system', async () => {
  const room = uniqueRoom('dark');
  await withChats([{user: 'alice', room, colorScheme: 'light'}, {user: 'bob', room, colorScheme: 'dark'}],
    async (alice, bob) => {
      const background = (chat) => chat.page.evaluate(() => getComputedStyle(document.querySelector('.app')).backgroundColor);
      const light = await background(alice);
      const dark = await background(bob);
      assert.equal(light, 'rgb(255, 255, 255)');
      assert.notEqual(dark, light);
      const [r, g, b] = dark.match(/\d+/g).map(Number);
      assert.ok(r + g + b < 150, `dark: ${dark}`);
    });
});

// ------------------------------------------------------------ screenshots --
// docs/screenshot-desktop.png and docs/screenshot-phone.png: two people in one room, side by
// side (two frames of one page), made only with E2E_SCREENSHOTS=1.

test('README screenshots (E2E_SCREENSHOTS=1)', {
  skip: (process.env.E2E_SCREENSHOTS !== '1' && 'set E2E_SCREENSHOTS=1 to write docs/screenshot-*.png') ||
    (engineName() !== 'chromium' && 'made in Chromium'),
}, async () => {
  const room = 'general';
  const now = Date.now();
  const yesterday = now - DAY;
  const script = [
    ['alice', 'Morning! Did the new build go out?', yesterday - 60000 * 42],
    ['bob', 'Yes, last night. Sync stayed up the whole time', yesterday - 60000 * 40],
    ['alice', 'Trying it offline on the train now', now - 60000 * 12],
    ['alice', 'Messages I type show at once and go out when I am back online', now - 60000 * 11],
    ['bob', 'Same here. And edits and deletes sync too', now - 60000 * 6],
    ['alice', 'Dark mode follows the system, by the way', now - 60000 * 2],
  ];
  // The conversation, written through the server by each user's client.
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    const who = {alice, bob};
    for (const [from, content, createdAt] of script) {
      await who[from].page.evaluate(([f, c, t]) => window.replichat.mutate('createMessage',
        {id: Math.random().toString(36).slice(2, 12), from: f, content: c, createdAt: t}), [from, content, createdAt]);
      await waitForTexts(alice, script.slice(0, script.findIndex((s) => s[1] === content) + 1).map((s) => s[1]));
    }
    const id = await idOf(bob, 'Same here. And edits and deletes sync too');
    await bob.page.evaluate((i) => window.replichat.mutate('updateMessage',
      {id: i, content: 'Same here. And edits and deletes sync too!', editedAt: Date.now()}), id);
    await waitForTexts(alice, [...script.slice(0, 4).map((s) => s[1]), 'Same here. And edits and deletes sync too!',
      script[5][1]]);
  });

  const shots = [
    {file: 'screenshot-desktop.png', frame: {width: 640, height: 640}, scheme: 'light'},
    {file: 'screenshot-phone.png', frame: {width: 390, height: 700}, scheme: 'dark'},
  ];
  for (const shot of shots) {
    const gap = 12;
    const viewport = {width: shot.frame.width * 2 + gap * 3, height: shot.frame.height + gap * 2};
    const context = await engine.newContext({viewport});
    try {
      const page = await context.newPage();
      const raw = page._page; // playwright-core's page (ChromiumPage, browsers.js)
      await raw.emulateMedia({colorScheme: shot.scheme});
      const frame = (user) => `<iframe src="${server.url}/?${new URLSearchParams({user, room, pullInterval: 'off'})}" ` +
        `style="width:${shot.frame.width}px;height:${shot.frame.height}px;border:0;border-radius:10px;` +
        'box-shadow:0 1px 8px rgba(0,0,0,.25)"></iframe>';
      await page.goto(`${server.url}/healthz`); // the frames' origin: their storage is not a third party's
      await raw.setContent(`<!doctype html><body style="margin:0;padding:${gap}px;display:flex;gap:${gap}px;` +
        `background:${shot.scheme === 'dark' ? '#05070a' : '#dde1e7'}">${frame('alice')}${frame('bob')}</body>`);
      const frameOf = (user) => raw.frames().find((f) => f.url().includes(`user=${user}`));
      for (const f of [frameOf('alice'), frameOf('bob')]) {
        await f.waitForFunction(() => document.querySelectorAll('#messages .message:not(.pending)').length === 6 &&
          document.getElementById('online').dataset.state === 'online', null, {timeout: 30000});
      }
      // Bob starts typing a reply.
      await frameOf('bob').fill('#text', 'Nice! Shipping it');
      await sleep(300);
      await raw.screenshot({path: path.join(repoRoot, 'docs', shot.file)});
    } finally {
      await context.close();
    }
  }
});
