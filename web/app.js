// Replichat: the demo chat on replicore. One Replicache-compatible client per
// room (a room is a space on the server, with its own poke channel). Message
// text is only ever written with textContent, never parsed as HTML.
import {mutators, sortMessages} from './mutators.js';

// The package is imported here, not by a static import, so that when it cannot load (not
// built, a 404, a broken .wasm) the page says so instead of never starting.
let Replicache;
async function loadPackage() {
  try {
    const replicore = await import('/replicore/replicore.js');
    await replicore.loadWasm();
    Replicache = replicore.Replicache;
  } catch (err) {
    // Emscripten's abort text ends in advice for whoever builds the .wasm, not for this page.
    const why = String(err?.message || err).replace(/\s*Build with -s ASSERTIONS=1 for more info\.?/, '')
      .replace(/\.$/, '');
    throw new Error(`The replicore package did not load from /replicore/ (${why}). ` +
      'Build it with "bash scripts/build-wasm.sh", then restart the server.');
  }
}

const ROOMS = ['general', 'random', 'help'];
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

const state = {user: null, token: null, room: null, rep: null, unsubscribe: null};
// For tests and the console: the live client and helpers. `relogin`: the login shown again
// because the server stopped accepting the token (a promise, or null).
window.replichat = {state, switchRoom, ready: null, relogin: null};

function pullIntervalFromURL() {
  const v = params.get('pullInterval');
  if (v === null) return 60000;
  if (v === 'off' || v === 'null') return null;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 60000;
}

function randomID() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 20);
}

// The demo login (the server has it only with DEMO_LOGIN=1): {userID, token, expiresAt}.
async function login(name) {
  const response = await fetch('/api/login', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name}),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `login failed (HTTP ${response.status})`);
  return body;
}

// Shows the login dialog until a login succeeds; resolves with that session. `notice` says why
// it is shown again.
function askName({name = '', notice = ''} = {}) {
  return new Promise((resolve) => {
    const dialog = $('login');
    const form = $('login-form');
    $('login-name').value = name;
    $('login-notice').textContent = notice;
    $('login-notice').hidden = !notice;
    $('login-error').textContent = '';
    let done = false;
    // Chromium lets a repeated Escape close a modal dialog whatever 'cancel' says: without a
    // session nothing can sync, so it comes back.
    const onClose = () => {
      if (!done) dialog.showModal();
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const typed = $('login-name').value.trim();
      try {
        const session = {name: typed, ...(await login(typed))};
        done = true;
        form.removeEventListener('submit', onSubmit);
        dialog.removeEventListener('close', onClose);
        dialog.close();
        resolve(session);
      } catch (err) {
        $('login-error').textContent = err.message;
      }
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose);
    if (!dialog.open) dialog.showModal();
  });
}

function useSession(session) {
  state.user = session.userID;
  state.token = session.token;
  localStorage.setItem('replichat.user', state.user);
  $('me').textContent = state.user;
}

// The server answered 401: the token expired, or the server no longer knows the secret it was
// signed with. Back to the login; once signed in, the room's client is made again with the new
// token (its poke URL carries the token too). Closing the old client stores its pending
// mutations, and the new one (same name when the same user signs in) finds them in its store
// and pushes them: nothing typed is lost.
function sessionLost() {
  window.replichat.relogin ??= (async () => {
    const session = await askName({
      name: state.user,
      notice: 'Your session has ended (it expired, or the server no longer accepts it). ' +
        'Sign in again: messages not sent yet are kept and go out once you are back.',
    });
    useSession(session);
    if (params.has('user')) {
      const url = new URL(location.href);
      url.searchParams.set('user', state.user);
      history.replaceState(null, '', url);
    }
    await switchRoom(state.room);
  })().finally(() => {
    window.replichat.relogin = null;
  });
  return window.replichat.relogin;
}

function renderMessages(entries) {
  const list = $('messages');
  const messages = sortMessages(entries);
  $('empty').hidden = messages.length > 0;
  for (const old of list.querySelectorAll('.message')) old.remove();
  const fragment = document.createDocumentFragment();
  for (const m of messages) {
    const item = document.createElement('article');
    item.className = 'message';
    item.dataset.id = m.id;
    if (m.from === state.user) item.classList.add('mine');
    if (m.order === null) item.classList.add('pending');
    const from = document.createElement('div');
    from.className = 'from';
    from.textContent = m.from;
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = m.content;
    item.append(from, text);
    fragment.append(item);
  }
  list.append(fragment);
  list.scrollTop = list.scrollHeight;
}

async function showPending() {
  const rep = state.rep;
  if (!rep || rep.closed) return;
  const pending = await rep.experimentalPendingMutations();
  if (rep !== state.rep) return;
  $('pending').textContent = `${pending.length} pending`;
  $('pending').dataset.count = String(pending.length);
}

function showOnline(online) {
  $('online').textContent = online ? 'online' : 'offline';
  $('online').dataset.online = String(online);
}

async function switchRoom(room) {
  if (state.rep) {
    state.unsubscribe?.();
    await state.rep.close();
  }
  state.room = room;
  $('room').value = room;
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  history.replaceState(null, '', url);
  // Nothing shown until the room's first answer (from this browser's store
  // when it has the room): not "no messages", which may be untrue.
  for (const old of $('messages').querySelectorAll('.message')) old.remove();
  $('empty').hidden = true;

  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const space = encodeURIComponent(room);
  const rep = new Replicache({
    name: `replichat:${state.user}:${room}`,
    mutators,
    auth: state.token,
    pushURL: `/api/push?space=${space}`,
    pullURL: `/api/pull?space=${space}`,
    // Browsers cannot set headers on a WebSocket: the poke socket's token goes in the URL.
    pokeURL: `${wsScheme}//${location.host}/api/poke?space=${space}&auth=${encodeURIComponent(state.token)}`,
    pullInterval: pullIntervalFromURL(),
    logLevel: 'error',
  });
  state.rep = rep;
  // Called on a 401. null: no retry with this client; sessionLost() makes a new one.
  rep.getAuth = () => {
    if (rep === state.rep) sessionLost().catch((err) => console.error('signing in again failed', err));
    return null;
  };
  rep.onOnlineChange = showOnline;
  rep.onSync = () => showPending();
  showOnline(rep.online);
  state.unsubscribe = rep.subscribe(
    (tx) => tx.scan({prefix: 'message/'}).entries().toArray(),
    (entries) => {
      if (rep !== state.rep) return;
      renderMessages(entries);
      showPending();
      // For tests: an answer of the subscription is on screen now.
      dispatchEvent(new CustomEvent('replichat:render', {detail: {room, count: entries.length}}));
    },
  );
}

async function send(content) {
  const rep = state.rep;
  await rep.mutate.createMessage({id: randomID(), from: state.user, content, createdAt: Date.now()});
  showPending();
}

async function main() {
  await loadPackage();
  for (const room of ROOMS) {
    const option = document.createElement('option');
    option.value = option.textContent = room;
    $('room').append(option);
  }
  let room = params.get('room') || ROOMS[0];
  if (!ROOMS.includes(room)) {
    const option = document.createElement('option');
    option.value = option.textContent = room;
    $('room').append(option);
  }

  // Signing in is not optional: Escape does not close the dialog.
  $('login').addEventListener('cancel', (event) => event.preventDefault());
  const name = params.get('user') || localStorage.getItem('replichat.user');
  useSession(name ? {name, ...(await login(name))} : await askName());

  $('room').addEventListener('change', (e) => switchRoom(e.target.value));
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('text');
    const content = input.value;
    if (!content.trim()) return;
    input.value = '';
    send(content).catch((err) => console.error('send failed', err));
  });
  await switchRoom(room);
}

window.replichat.ready = main().catch((err) => {
  console.error(err);
  document.body.dataset.error = err.message;
  $('load-error').textContent = err.message;
  $('load-error').hidden = false;
  $('online').textContent = 'error';
  $('online').dataset.online = 'false';
  throw err;
});
