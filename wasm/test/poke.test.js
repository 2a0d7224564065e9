// Pokes over a real WebSocket (`ws` server): poke-driven pulls, reconnect
// with backoff after the socket drops, a pull after each reconnect.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {loadReplicore} from './helpers/package.js';
import {memorySink, mutators, sleep, startServer, waitFor} from './helpers/server.js';

const {Replicache} = await loadReplicore();

let n = 0;
function make(server, extra = {}) {
  return new Replicache({
    name: `poke-${process.pid}-${n++}`,
    pushURL: server.pushURL,
    pullURL: server.pullURL,
    pokeURL: server.pokeURL,
    pullInterval: null,
    logSinks: [memorySink()],
    mutators,
    ...extra,
  });
}

// Waits until no pull has arrived for a while: the pull at start and the one
// after the socket opens are both done (a fixed sleep flaked under load).
async function startupPullsDone(server, quietMs = 150) {
  let count = -1;
  await waitFor(async () => {
    const now = server.requestsTo('/api/pull').length;
    if (now >= 1 && now === count) return true;
    count = now;
    await sleep(quietMs);
    return false;
  }, {what: 'start-up pulls to finish'});
}

test('a poke message makes the client pull', async () => {
  const server = await startServer();
  let connections = 0;
  server.onConnection = (req) => {
    connections++;
    assert.equal(new URL(req.url, 'http://x').searchParams.get('space'), 'test');
  };
  const rep = make(server);
  const seen = [];
  rep.subscribe((tx) => tx.get('news'), (v) => seen.push(v ?? null));
  await waitFor(() => connections === 1 && server.sockets.size === 1, {what: 'socket open'});
  await startupPullsDone(server);
  const pulls = server.requestsTo('/api/pull').length;
  server.serverPut('news', 'poked');
  server.poke(); // sends {"type":"poke","space":"test"}
  await waitFor(() => seen.at(-1) === 'poked', {what: 'poke-driven pull'});
  assert.equal(server.requestsTo('/api/pull').length, pulls + 1);
  // any message is a poke
  server.serverPut('news', 'again');
  for (const ws of server.sockets) ws.send('x');
  await waitFor(() => seen.at(-1) === 'again', {what: 'second poke'});
  await rep.close();
  await waitFor(() => server.sockets.size === 0, {what: 'close() to close the socket'});
  await server.stop();
});

test('after the socket drops the client reconnects and pulls (a poke may have been missed)', async () => {
  const server = await startServer();
  let connections = 0;
  server.onConnection = () => connections++;
  const rep = make(server);
  const seen = [];
  rep.subscribe((tx) => tx.get('k'), (v) => seen.push(v ?? null));
  await waitFor(() => connections === 1 && server.sockets.size === 1);
  const t0 = performance.now();
  server.dropSockets();
  server.serverPut('k', 'written while disconnected'); // no poke reaches the client
  await waitFor(() => connections === 2, {what: 'reconnect'});
  const reconnectMs = performance.now() - t0;
  // The first reconnect waits one short backoff step (100 ms), not a long
  // one; the bound is loose so a loaded machine does not fail it.
  assert.ok(reconnectMs < 5000, `reconnected after ${reconnectMs} ms`);
  await waitFor(() => seen.at(-1) === 'written while disconnected', {what: 'pull after reconnect'});
  // pokes work on the new socket
  server.serverPut('k', 'after');
  server.poke();
  await waitFor(() => seen.at(-1) === 'after');
  await rep.close();
  await server.stop();
});

test('reconnect backoff while the server is down, then recovery', async () => {
  const server = await startServer();
  let connections = 0;
  server.onConnection = () => connections++;
  const rep = make(server, {requestOptions: {minDelayMs: 20, maxDelayMs: 200}});
  const seen = [];
  rep.subscribe((tx) => tx.get('k'), (v) => seen.push(v ?? null));
  await waitFor(() => connections === 1 && server.sockets.size === 1);
  await server.stop();
  await sleep(700); // attempts at about 100, 200, 400 ms fail
  server.serverPut('k', 'back');
  await server.restart();
  await waitFor(() => connections === 2, {what: 'reconnect after restart', timeout: 3000});
  await waitFor(() => seen.at(-1) === 'back', {what: 'pull after restart'});
  await rep.close();
  await server.stop();
});

test('Pusher-style sources: calling pull() on an app-level poke', async () => {
  const server = await startServer();
  const rep = make(server, {pokeURL: undefined});
  await rep.pull();
  server.serverPut('x', 1);
  const channel = new EventTarget();
  channel.addEventListener('poke', () => rep.pull());
  channel.dispatchEvent(new Event('poke'));
  await waitFor(async () => (await rep.query((tx) => tx.get('x'))) === 1);
  await rep.close();
  await server.stop();
});

test("logLevel 'debug' traces each poke", async () => {
  const server = await startServer();
  const sink = memorySink();
  const rep = make(server, {logLevel: 'debug', logSinks: [sink]});
  await waitFor(() => server.sockets.size === 1, {what: 'socket open'});
  await startupPullsDone(server);
  server.poke();
  await waitFor(() => sink.lines.some((l) => l.level === 'debug' && l.text === 'replicore: poke received'), {what: 'a poke traced'});
  await rep.close();
  await server.stop();
});

// A client the server no longer knows stops syncing: its poke socket closes
// and stays closed. Pulls the app asks for afterwards still get an answer,
// but must not start syncing again (the core starts once: Core::start).
test('after ClientStateNotFound the poke socket stays closed, whatever the app pulls', async () => {
  const server = await startServer();
  let connections = 0;
  server.onConnection = () => connections++;
  const rep = make(server);
  let notFound = 0;
  rep.onClientStateNotFound = () => notFound++;
  await waitFor(() => connections === 1 && server.sockets.size === 1, {what: 'socket open'});
  await startupPullsDone(server);
  server.pullResponse = () => ({error: 'ClientStateNotFound'});
  await rep.pull();
  await waitFor(() => notFound === 1 && server.sockets.size === 0, {what: 'the socket closed after ClientStateNotFound'});
  await rep.pull();
  await rep.pull();
  await sleep(300);
  assert.equal(connections, 1, 'no socket opened again');
  assert.equal(server.sockets.size, 0);
  await rep.close();
  await server.stop();
});
