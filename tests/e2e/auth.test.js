// The demo's sessions across server restarts, in a real browser (the engine of the run:
// browsers.js) against the real server
// (SQLite, DEMO_LOGIN=1 and no DEMO_SECRET, as scripts/run-demo.sh starts it): the secret the
// server keeps in its data folder survives a restart, so open tabs keep syncing with the token
// they have; a token the server no longer accepts brings the page back to its login, and what
// was typed meanwhile is still there, and sent, once signed in again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {engineName} from './browsers.js';
import {
  engineTest, messages, screenshot, send, serverMessages, uniqueRoom,
  serverAndEngine,
} from './harness.js';

const test = engineTest(engineName());
let server;
let engine;
const {withChats} = serverAndEngine((s, e) => ([server, engine] = [s, e]));

const secretFile = () => path.join(server.dataDir, 'demo-secret');

async function waitForText(chat, text, timeout = 20000) {
  await chat.page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .message:not(.pending) .text')].some((e) => e.textContent === t),
    text, {timeout, polling: 20});
}

async function waitForPending(chat, count, timeout = 20000) {
  await chat.page.waitForFunction((n) => document.getElementById('pending').dataset.count === String(n),
    count, {timeout, polling: 50});
}

// Waits until the list shows exactly these [text, pending] pairs. (The pending count can be
// ahead of the list: it is read from the client, the list from a subscription that fires later.)
async function waitForList(chat, want, timeout = 20000) {
  try {
    await chat.page.waitForFunction((w) => {
      const items = [...document.querySelectorAll('#messages .message')];
      return items.length === w.length && items.every((el, i) =>
        el.querySelector('.text').textContent === w[i][0] && el.classList.contains('pending') === w[i][1]);
    }, want, {timeout, polling: 20});
  } catch (err) {
    err.message += `\nwanted ${JSON.stringify(want)}, shown ${JSON.stringify(await messages(chat))}`;
    throw err;
  }
}

// Requests the server answered with `status` since `since` (an ISO time), from its JSON log.
function answered(status, since) {
  return server.log.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    .filter((e) => e.msg === 'request' && e.status === status && e.time >= since);
}

test('after a server restart an open tab keeps syncing with the token it has', {timeout: 120000}, async () => {
  const room = uniqueRoom('restart-auth');
  await withChats([{user: 'alice', room}, {user: 'bob', room}], async (alice, bob) => {
    await send(alice, 'before the restart');
    await waitForText(bob, 'before the restart');
    const tokens = await Promise.all([alice, bob].map((c) => c.page.evaluate(() => window.replichat.state.token)));
    // The secret the tokens are signed with is on disk, for the owner only.
    assert.equal(fs.statSync(secretFile()).mode & 0o777, 0o600);

    await server.stop();
    const restartedAt = new Date().toISOString();
    await server.start();

    // Both poke sockets come back with their tokens: a message each way arrives by a poke.
    await send(alice, 'after the restart');
    await waitForText(bob, 'after the restart', 40000);
    await send(bob, 'reply after the restart');
    await waitForText(alice, 'reply after the restart', 40000);
    await waitForPending(alice, 0);
    assert.deepEqual(await Promise.all([alice, bob].map((c) => c.page.evaluate(() => window.replichat.state.token))), tokens,
      'the same tokens as before');
    assert.deepEqual(answered(401, restartedAt), [], 'no request was refused after the restart');
    for (const c of [alice, bob]) assert.equal(await c.page.evaluate(() => document.getElementById('login').open), false);
    assert.ok(answered(101, restartedAt).length >= 2, 'both poke sockets reconnected');
  });
});

test('a token the server no longer accepts leads back to the login; pending messages survive and go out after it',
  {timeout: 120000}, async () => {
    const room = uniqueRoom('relogin');
    await withChats([{user: 'alice', room}], async (alice) => {
      await send(alice, 'signed in');
      await waitForText(alice, 'signed in');
      await waitForPending(alice, 0);
      const oldToken = await alice.page.evaluate(() => window.replichat.state.token);

      // A new secret (its file deleted, as when the data folder is reset): every token issued
      // before is unknown to the restarted server.
      await server.stop();
      fs.rmSync(secretFile());
      await server.start();

      // Both typed before the first push is answered (the login dialog, once up, takes the keyboard).
      await alice.page.evaluate((texts) => {
        for (const t of texts) {
          document.getElementById('text').value = t;
          document.getElementById('composer').requestSubmit();
        }
      }, ['typed while signed out 1', 'typed while signed out 2']);
      // The push is refused (401): the page asks for a login again, saying why.
      await alice.page.waitForFunction(() => document.getElementById('login').open, null, {timeout: 20000});
      const dialog = await alice.page.evaluate(() => ({
        name: document.getElementById('login-name').value,
        notice: document.getElementById('login-notice').hidden ? null : document.getElementById('login-notice').textContent,
      }));
      assert.equal(dialog.name, 'alice', 'the name is filled in');
      assert.match(dialog.notice, /session has ended.*not sent yet are kept/);
      await waitForPending(alice, 2);
      await waitForList(alice, [['signed in', false], ['typed while signed out 1', true], ['typed while signed out 2', true]]);
      assert.deepEqual((await serverMessages(server, room)).messages.map((m) => m.content), ['signed in']);
      await screenshot(alice, 'auth-login-again');

      // Signed in again: the same messages, then sent, each once.
      await alice.page.click('#login-form button[type=submit]');
      await alice.page.waitForFunction(() => !document.getElementById('login').open && window.replichat.relogin === null,
        null, {timeout: 20000});
      const newToken = await alice.page.evaluate(() => window.replichat.state.token);
      assert.notEqual(newToken, oldToken);
      await waitForPending(alice, 0, 30000);
      await waitForList(alice, [['signed in', false], ['typed while signed out 1', false], ['typed while signed out 2', false]], 30000);
      const onServer = await serverMessages(server, room);
      assert.deepEqual(onServer.messages.map((m) => [m.content, m.from]),
        [['signed in', 'alice'], ['typed while signed out 1', 'alice'], ['typed while signed out 2', 'alice']]);

      // Its new poke socket works: a message from a new window arrives by a poke.
      await withChats([{user: 'carol', room}], async (carol) => {
        await send(carol, 'hello from carol');
        await waitForText(alice, 'hello from carol');
      });
      await screenshot(alice, 'auth-after-login-again');
    });
  });
