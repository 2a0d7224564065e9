import {ServerProcess, BrowserProfile, SyncGate, openChatPage, send, messages, serverMessages, uniqueRoom} from '/work/main/tests/e2e/harness.js';
const server = new ServerProcess(); await server.start();
const gate = new SyncGate(server); await gate.start();
const profile = new BrowserProfile();
const room = uniqueRoom('x');
const t0 = Date.now();
try {
  const ctx = await profile.launch();
  const chat = await openChatPage(ctx, gate.url, {user: 'alice', room});
  console.log('opened', Date.now() - t0);
  await send(chat, 'a1'); await send(chat, 'a2');
  await chat.page.waitForFunction(() => document.getElementById('pending').dataset.count === '0' && document.querySelectorAll('.message:not(.pending)').length === 2, null, {timeout: 20000});
  console.log('confirmed', Date.now() - t0, await messages(chat));
  gate.setOffline(true);
  await send(chat, 'o1'); await send(chat, 'o2');
  await chat.page.waitForFunction(() => document.getElementById('pending').dataset.count === '2', null, {timeout: 20000});
  console.log('pending', Date.now() - t0, await messages(chat), await chat.page.evaluate(() => document.getElementById('online').dataset.online));
  const tr = Date.now();
  await chat.page.reload();
  await chat.page.waitForFunction(() => window.__renders?.length > 0, null, {timeout: 20000});
  console.log('reloaded', Date.now() - tr, JSON.stringify(await chat.page.evaluate(() => window.__renders)));
  console.log(await messages(chat));
  gate.setOffline(false);
  await chat.page.waitForFunction(() => document.getElementById('pending').dataset.count === '0', null, {timeout: 15000}).catch(e => console.log('TIMEOUT'));
  console.log('online', Date.now() - t0, await messages(chat));
  console.log(JSON.stringify(await serverMessages(server, room)));
  console.log(chat.consoleLines.join('\n'));
  console.log('refused', gate.refused); console.log(server.log.join('').split('\n').filter(l => !l.includes('GET /')).slice(-30).join('\n'));
  await ctx.close();
} finally {
  await gate.close(); await server.dispose(); profile.dispose();
}
