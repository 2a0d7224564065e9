// Replichat: the demo chat on replicore. One Replicache-compatible client per
// room (a room is a space on the server, with its own poke channel). Message
// text is only ever written with textContent, never parsed as HTML.
import {MAX_CONTENT_LENGTH, mutators, sortMessages} from './mutators.js';

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

const state = {user: null, token: null, room: null, rep: null, unsubscribe: null, poke: null};
let sent = 0; // messages sent from this window: sending one scrolls to the bottom
// For tests and the console: the live client and helpers. `relogin`: the login shown again
// because the server stopped accepting the token (a promise, or null). `mutate(name, args)`:
// a change made the way the page's buttons make it (watched for a refusal by the server).
window.replichat = {state, switchRoom, ready: null, relogin: null, mutate: change, signOut};

// The remembered name. Storage can be refused (a frame of another site, some private modes):
// then nothing is remembered, and the page still works.
const remembered = {
  get() {
    try {
      return localStorage.getItem('replichat.user');
    } catch {
      return null;
    }
  },
  set(name) {
    try {
      if (name === null) localStorage.removeItem('replichat.user');
      else localStorage.setItem('replichat.user', name);
    } catch {
      // not remembered
    }
  },
};

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

// ------------------------------------------------------------------ login --

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
  remembered.set(state.user);
  $('me').textContent = state.user;
  paintAvatar($('avatar'), state.user);
  // A ?user= in the address wins over the remembered name at the next load: keep it true.
  if (params.has('user')) {
    params.set('user', state.user);
    const url = new URL(location.href);
    url.searchParams.set('user', state.user);
    history.replaceState(null, '', url);
  }
}

// Stops the room's client and socket. Closing the client stores its pending mutations: the same
// user finds them in the store (same client name) and pushes them when back.
async function stopRoom() {
  state.poke?.close();
  state.poke = null;
  if (state.rep) {
    const rep = state.rep;
    state.rep = null;
    state.unsubscribe?.();
    state.unsubscribe = null;
    await rep.close();
  }
}

// The server answered 401: the token expired, or the server no longer knows the secret it was
// signed with. Back to the login; once signed in, the room's client is made again with the new
// token (its poke URL carries the token too). Nothing typed is lost (see stopRoom).
function sessionLost() {
  window.replichat.relogin ??= (async () => {
    const session = await askName({
      name: state.user,
      notice: 'Your session has ended (it expired, or the server no longer accepts it). ' +
        'Sign in again: messages not sent yet are kept and go out once you are back.',
    });
    useSession(session);
    await switchRoom(state.room);
  })().finally(() => {
    window.replichat.relogin = null;
  });
  return window.replichat.relogin;
}

// Sign out, or switch to another user: this window's client stops; what it has not sent yet
// stays in this browser's store and goes out the next time the same name signs in here.
async function signOut() {
  const was = state.user;
  await stopRoom();
  remembered.set(null);
  clearList();
  showConnection();
  const session = await askName({
    notice: `Signed out${was ? ` from ${was}` : ''}. Sign in with another name to chat as someone else.`,
  });
  useSession(session);
  await switchRoom(state.room);
}

// ---------------------------------------------------------------- avatars --

// A hue per name, the same in every window, so that a person has one colour everywhere.
function hueOf(name) {
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function paintAvatar(el, name) {
  el.textContent = ([...String(name ?? '?')][0] ?? '?').toUpperCase();
  el.style.setProperty('--hue', String(hueOf(name)));
}

// ---------------------------------------------------------------- notices --

// A line at the top that goes away by itself (or when closed). Text only.
function notify(text, {kind = 'info', ms = 8000} = {}) {
  const item = document.createElement('div');
  item.className = `notice-item ${kind}`;
  const span = document.createElement('span');
  span.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'link';
  close.textContent = 'Dismiss';
  close.addEventListener('click', () => item.remove());
  item.append(span, close);
  $('notices').append(item);
  setTimeout(() => item.remove(), ms);
}

function excerpt(text, n = 40) {
  const s = String(text ?? '').replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ------------------------------------------------------------- refusals --
// The Replicache protocol has no "refused" answer: the server runs its mutator, which throws,
// and the client learns of it only as an effect that is gone once the mutation is confirmed.
// So each change made here is remembered with what it should leave behind; once the server has
// confirmed its mutation (it is no longer pending), the confirmed state is checked, and if the
// change did not happen the page says so. The local guess is already undone by then.

const watched = new Map(); // `${name}:${id}` -> {rep, name, id, mutationID, content, editedAt, text}

async function change(name, args) {
  const rep = state.rep;
  // What the notice would quote: the message as it was before the change.
  const text = name === 'createMessage' ? args.content : await textOf(rep, args.id);
  await rep.mutate[name](args);
  const key = `${name}:${args.id}`;
  // Only the last change of a message counts: a delete makes its earlier create or edits moot,
  // and a later edit replaces an earlier one.
  for (const k of [...watched.keys()]) {
    if (k.endsWith(`:${args.id}`) && (name === 'deleteMessage' || k === key)) watched.delete(k);
  }
  const pending = await rep.experimentalPendingMutations();
  const mine = pending.filter((m) => m.clientID === rep.clientID && m.name === name && m.args?.id === args.id).at(-1);
  watched.set(key, {rep, name, id: args.id, mutationID: mine ? mine.id : 0, content: args.content,
    editedAt: args.editedAt, text});
  checkRefusals();
}

async function textOf(rep, id) {
  return (await rep.query((tx) => tx.get(`message/${id}`)))?.content ?? '';
}

let checking = false;
let checkAgain = false;
async function checkRefusals() {
  // One check at a time; a call during a check runs another after it, as the check in flight
  // may have read the pending mutations before the pull that this call comes after.
  if (checking) {
    checkAgain = true;
    return;
  }
  checking = true;
  try {
    const rep = state.rep;
    if (!rep || rep.closed || !watched.size) return;
    const pending = new Set((await rep.experimentalPendingMutations())
      .filter((m) => m.clientID === rep.clientID).map((m) => m.id));
    for (const [key, w] of watched) {
      if (w.rep !== rep) {
        watched.delete(key);
        continue;
      }
      if (pending.has(w.mutationID)) continue;
      watched.delete(key);
      const now = await rep.query((tx) => tx.get(`message/${w.id}`));
      let refused;
      if (w.name === 'createMessage') refused = now === undefined;
      else if (w.name === 'deleteMessage') refused = now !== undefined;
      // An edit is refused if its text is not there, unless a later edit (another tab) won.
      else refused = now === undefined || (now.content !== w.content && !(now.editedAt > w.editedAt));
      if (!refused) continue;
      const what = {createMessage: 'send', updateMessage: 'edit', deleteMessage: 'delete'}[w.name];
      const why = now === undefined && w.name !== 'createMessage' ? ' (it no longer exists)' : '';
      notify(`The server refused to ${what} “${excerpt(w.text)}”${why}, so the change was undone.`,
        {kind: 'refused', ms: 12000});
    }
  } catch (err) {
    if (!state.rep?.closed) console.error('checking for refused changes failed', err);
  } finally {
    checking = false;
    if (checkAgain) {
      checkAgain = false;
      checkRefusals();
    }
  }
}

// ------------------------------------------------------------ connection --
// What the pill says: offline (the browser has no network), reconnecting… (requests fail, or
// the poke socket is down, so other people's messages would not arrive), connecting… (not yet
// connected since the room opened), or online.

function showConnection() {
  const rep = state.rep;
  const socket = state.poke;
  let s;
  if (!navigator.onLine) s = 'offline';
  else if (!rep) s = 'connecting';
  else if (!rep.online) s = 'reconnecting';
  else if (!socket?.open) s = socket?.everOpen ? 'reconnecting' : 'connecting';
  else s = 'online';
  const label = {offline: 'offline', reconnecting: 'reconnecting…', connecting: 'connecting…', online: 'online'}[s];
  const pill = $('online');
  if (pill.dataset.state === s && pill.textContent === label) return;
  pill.textContent = label;
  pill.dataset.state = s;
  pill.dataset.online = String(s === 'online');
  document.body.dataset.connection = s;
  showLoading();
}

// The room's poke socket. The package can keep one itself (the `pokeURL` option); the page
// keeps its own, as a Replicache app does, so that it knows whether the socket is up. Every
// message is a poke: pull. After every (re)connect it pulls too, as a poke may have been missed
// while it was down. It reconnects with backoff, at once when the browser comes back online.
class PokeSocket {
  constructor(url, onPoke) {
    this.url = url;
    this.onPoke = onPoke;
    this.open = false;
    this.everOpen = false;
    this.closed = false;
    this.delay = 250;
    this.timer = null;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.closed || this.ws) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.open = true;
      this.everOpen = true;
      this.delay = 250;
      showConnection();
      this.onPoke();
    };
    ws.onmessage = () => this.onPoke();
    ws.onclose = () => {
      this.ws = null;
      this.open = false;
      showConnection();
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
  }

  // Now rather than at the end of the backoff (the network is back).
  retry() {
    this.delay = 250;
    if (!this.ws) this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
    this.open = false;
  }
}

addEventListener('online', () => {
  state.poke?.retry();
  if (state.rep) pullNow(state.rep);
  showConnection();
});
addEventListener('offline', showConnection);

// A pull that the page asked for; the first one that succeeds ends the loading state.
async function pullNow(rep) {
  try {
    await rep.pull();
  } catch {
    return; // closed meanwhile
  }
  if (rep === state.rep && rep.online && !list.synced) {
    list.synced = true;
    showLoading();
  }
}

// ----------------------------------------------------------------- the list --
// The list is updated in place, keyed by message ID: a new message adds one element, an edit
// changes one text, nothing is rebuilt. Day separators and the "new messages" line are items
// of the list too.

const list = {
  items: new Map(), // key ('m:<id>', 'd:<day>', 'unread') -> element
  messages: [], // as last shown
  first: true, // no answer of the subscription shown yet in this room
  synced: false, // a pull of this room has succeeded
  firstUnread: null, // ID of the first message that came while reading history
  unread: 0,
  editing: null, // ID of the message whose editor is open
};

function clearList() {
  for (const el of list.items.values()) el.remove();
  Object.assign(list, {items: new Map(), messages: [], first: true, synced: false, firstUnread: null, unread: 0,
    editing: null});
  $('jump').hidden = true;
  showLoading();
}

// "Loading…" until there is something to show or the server has answered: an empty cache is
// not an empty room.
function showLoading() {
  const loaded = !list.first && (list.messages.length > 0 || list.synced);
  $('loading').hidden = loaded;
  $('loading-text').textContent = navigator.onLine ? 'Loading messages…' : 'Offline: messages show once connected.';
  $('empty').hidden = !loaded || list.messages.length > 0;
  $('messages').setAttribute('aria-busy', String(!loaded));
}

function dayKey(t) {
  const d = new Date(t);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

function dayLabel(t) {
  const d = new Date(t);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d) === dayKey(today)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  return d.toLocaleDateString(undefined, {weekday: 'long', month: 'long', day: 'numeric',
    ...(d.getFullYear() === today.getFullYear() ? {} : {year: 'numeric'})});
}

const timeFormat = new Intl.DateTimeFormat(undefined, {hour: 'numeric', minute: '2-digit'});
const fullFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'full', timeStyle: 'short'});

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function makeMessage(m) {
  const item = el('article', 'message');
  item.dataset.id = m.id;
  const avatar = el('div', 'avatar');
  avatar.setAttribute('aria-hidden', 'true');
  const body = el('div', 'body');
  const meta = el('div', 'meta');
  const from = el('span', 'from');
  const time = el('time', 'time');
  const edited = el('span', 'edited', 'edited');
  const actions = el('span', 'actions');
  const edit = el('button', 'link edit', 'Edit');
  edit.type = 'button';
  const del = el('button', 'link delete', 'Delete');
  del.type = 'button';
  actions.append(edit, del);
  meta.append(from, time, edited, actions);
  const text = el('div', 'text');
  body.append(meta, text);
  item.append(avatar, body);
  edit.addEventListener('click', () => openEditor(item.dataset.id));
  del.addEventListener('click', () => confirmDelete(item));
  return item;
}

// Sets what changed of a message's element since it was last shown.
function updateMessage(item, m, old) {
  if (!old || old.from !== m.from) {
    item.querySelector('.from').textContent = m.from;
    paintAvatar(item.querySelector('.avatar'), m.from);
    item.style.setProperty('--hue', String(hueOf(m.from)));
  }
  item.classList.toggle('mine', m.from === state.user);
  item.classList.toggle('pending', m.order === null);
  if (!old || old.createdAt !== m.createdAt) {
    const time = item.querySelector('.time');
    if (typeof m.createdAt === 'number') {
      const d = new Date(m.createdAt);
      time.textContent = timeFormat.format(d);
      time.dateTime = d.toISOString();
      time.title = fullFormat.format(d);
    } else {
      time.textContent = '';
    }
  }
  item.classList.toggle('was-edited', typeof m.editedAt === 'number');
  if (typeof m.editedAt === 'number') item.querySelector('.edited').title = `edited ${fullFormat.format(new Date(m.editedAt))}`;
  if (list.editing !== m.id && (!old || old.content !== m.content)) item.querySelector('.text').textContent = m.content;
}

function atBottom() {
  const box = $('messages');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
}

function scrollToBottom() {
  const box = $('messages');
  box.scrollTop = box.scrollHeight;
}

// The first item at or below the top of the scrolled list, and where it is: kept in place when
// items are added or change above it (not every engine anchors scrolling by itself).
function scrollAnchor() {
  const box = $('messages');
  const top = box.getBoundingClientRect().top;
  for (const item of box.querySelectorAll('.message')) {
    const r = item.getBoundingClientRect();
    if (r.bottom > top) return {item, offset: r.top - top};
  }
  return null;
}

function render(entries, {mineJustSent = false} = {}) {
  const box = $('messages');
  const messages = sortMessages(entries);
  const wasFirst = list.first;
  const stick = wasFirst || atBottom() || mineJustSent;
  const anchor = stick ? null : scrollAnchor();

  // Messages that arrived since the last answer (not the first: that is history).
  const before = new Map(list.messages.map((m) => [m.id, m]));
  const arrived = wasFirst ? [] : messages.filter((m) => !before.has(m.id));
  if (!stick && arrived.length) {
    const fromOthers = arrived.filter((m) => m.from !== state.user);
    if (fromOthers.length) {
      list.firstUnread ??= fromOthers[0].id;
      list.unread += fromOthers.length;
    }
  } else if (stick && arrived.some((m) => m.from !== state.user) && !mineJustSent) {
    // Read live at the bottom: the old line means nothing now.
    list.firstUnread = null;
  }
  if (list.firstUnread && !messages.some((m) => m.id === list.firstUnread)) list.firstUnread = null;

  // The items in order, made or updated, then put in place with as few moves as possible.
  const wanted = [];
  const byID = new Map(messages.map((m) => [m.id, m]));
  let lastDay = null;
  for (const m of messages) {
    if (typeof m.createdAt === 'number') {
      const day = dayKey(m.createdAt);
      if (day !== lastDay) {
        const key = `d:${day}`;
        let sep = list.items.get(key);
        if (!sep || wanted.includes(sep)) {
          // A day seen again after another (a message typed offline): a separator of its own.
          const k2 = wanted.includes(sep) ? `${key}:${m.id}` : key;
          sep = list.items.get(k2) ?? el('div', 'day');
          sep.dataset.day = day;
          sep.setAttribute('role', 'separator');
          sep.textContent = dayLabel(m.createdAt);
          list.items.set(k2, sep);
        }
        sep.dataset.t = String(m.createdAt);
        wanted.push(sep);
        lastDay = day;
      }
    }
    if (m.id === list.firstUnread) {
      let marker = list.items.get('unread');
      if (!marker) {
        marker = el('div', 'unread-marker', 'New messages');
        marker.setAttribute('role', 'separator');
        list.items.set('unread', marker);
      }
      wanted.push(marker);
    }
    const key = `m:${m.id}`;
    let item = list.items.get(key);
    if (!item) {
      item = makeMessage(m);
      list.items.set(key, item);
    }
    updateMessage(item, m, before.get(m.id));
    // A run of one person's messages shows their name and avatar once.
    const prevItem = wanted.at(-1);
    const prevMsg = prevItem?.classList.contains('message') ? byID.get(prevItem.dataset.id) : null;
    item.classList.toggle('cont', !!prevMsg && prevMsg.from === m.from &&
      Math.abs((m.createdAt ?? 0) - (prevMsg.createdAt ?? 0)) < 5 * 60000);
    wanted.push(item);
  }
  const keep = new Set(wanted);
  for (const [key, e] of list.items) {
    if (!keep.has(e)) {
      e.remove();
      list.items.delete(key);
    }
  }
  let prev = $('empty');
  for (const e of wanted) {
    if (prev.nextSibling !== e) prev.after(e);
    prev = e;
  }

  list.messages = messages;
  list.first = false;
  if (list.editing && !messages.some((m) => m.id === list.editing)) list.editing = null;
  showLoading();

  if (stick) {
    scrollToBottom();
    list.unread = 0;
  } else if (anchor?.item.isConnected) {
    box.scrollTop += anchor.item.getBoundingClientRect().top - box.getBoundingClientRect().top - anchor.offset;
  }
  showJump();
}

function showJump() {
  const jump = $('jump');
  if (atBottom()) list.unread = 0;
  if (list.unread > 0) {
    jump.textContent = `↓ ${list.unread} new message${list.unread === 1 ? '' : 's'}`;
    jump.hidden = false;
  } else {
    jump.hidden = true;
  }
}

// Day names ("Today") go stale at midnight.
setInterval(() => {
  for (const sep of document.querySelectorAll('#messages .day')) sep.textContent = dayLabel(Number(sep.dataset.t));
}, 60000);

// --------------------------------------------------------- edit and delete --

function openEditor(id) {
  const item = list.items.get(`m:${id}`);
  const m = list.messages.find((x) => x.id === id);
  if (!item || !m || list.editing) return;
  list.editing = id;
  item.classList.add('editing');
  const form = el('form', 'editor');
  const input = el('textarea', 'edit-text');
  input.rows = Math.min(6, m.content.split('\n').length);
  input.maxLength = MAX_CONTENT_LENGTH;
  input.value = m.content;
  input.setAttribute('aria-label', 'Edit message');
  const save = el('button', 'save', 'Save');
  save.type = 'submit';
  const cancel = el('button', 'link cancel', 'Cancel');
  cancel.type = 'button';
  form.append(input, save, cancel);
  const text = item.querySelector('.text');
  text.hidden = true;
  text.after(form);
  const close = () => {
    form.remove();
    text.hidden = false;
    item.classList.remove('editing');
    list.editing = null;
    const now = list.messages.find((x) => x.id === id);
    if (now) text.textContent = now.content;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = input.value;
    const now = list.messages.find((x) => x.id === id);
    close();
    if (!content.trim()) {
      confirmDelete(item);
      return;
    }
    if (now && content !== now.content) {
      change('updateMessage', {id, content, editedAt: Date.now()}).catch((err) => console.error('edit failed', err));
    }
  });
  cancel.addEventListener('click', close);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
    else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

// A second click deletes: no modal dialog, which would stop every other window's updates.
function confirmDelete(item) {
  const actions = item.querySelector('.actions');
  if (actions.querySelector('.confirm-delete')) return;
  const ask = el('span', 'ask', 'Delete this message?');
  const yes = el('button', 'link danger confirm-delete', 'Delete');
  yes.type = 'button';
  const no = el('button', 'link cancel-delete', 'Keep');
  no.type = 'button';
  const original = [...actions.childNodes];
  actions.replaceChildren(ask, yes, no);
  no.addEventListener('click', () => actions.replaceChildren(...original));
  yes.addEventListener('click', () => {
    actions.replaceChildren(...original);
    change('deleteMessage', {id: item.dataset.id}).catch((err) => console.error('delete failed', err));
  });
  yes.focus();
}

// ------------------------------------------------------------------- rooms --

async function showPending() {
  const rep = state.rep;
  if (!rep || rep.closed) return;
  const pending = await rep.experimentalPendingMutations();
  if (rep !== state.rep) return;
  $('pending').textContent = `${pending.length} pending`;
  $('pending').dataset.count = String(pending.length);
}

async function switchRoom(room) {
  await stopRoom();
  state.room = room;
  $('room').value = room;
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  history.replaceState(null, '', url);
  // Nothing shown until the room's first answer (from this browser's store when it has the
  // room), and "no messages" only once the server has answered: the cache may just be empty.
  clearList();

  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const space = encodeURIComponent(room);
  const rep = new Replicache({
    name: `replichat:${state.user}:${room}`,
    mutators,
    auth: state.token,
    pushURL: `/api/push?space=${space}`,
    pullURL: `/api/pull?space=${space}`,
    pullInterval: pullIntervalFromURL(),
    logLevel: 'error',
  });
  state.rep = rep;
  // Called on a 401. null: no retry with this client; sessionLost() makes a new one.
  rep.getAuth = () => {
    if (rep === state.rep) sessionLost().catch((err) => console.error('signing in again failed', err));
    return null;
  };
  rep.onOnlineChange = () => {
    if (rep !== state.rep) return;
    // Requests go through again: the socket need not wait for its backoff either.
    if (rep.online) state.poke?.retry();
    showConnection();
  };
  rep.onSync = (syncing) => {
    showPending();
    if (!syncing) checkRefusals();
  };
  // Browsers cannot set headers on a WebSocket: the poke socket's token goes in the URL.
  state.poke = new PokeSocket(
    `${wsScheme}//${location.host}/api/poke?space=${space}&auth=${encodeURIComponent(state.token)}`,
    () => {
      if (rep === state.rep) pullNow(rep);
    });
  showConnection();
  let sentBefore = sent;
  state.unsubscribe = rep.subscribe(
    (tx) => tx.scan({prefix: 'message/'}).entries().toArray(),
    (entries) => {
      if (rep !== state.rep) return;
      render(entries, {mineJustSent: sent !== sentBefore});
      sentBefore = sent;
      showPending();
      checkRefusals();
      // For tests: an answer of the subscription is on screen now.
      dispatchEvent(new CustomEvent('replichat:render', {detail: {room, count: entries.length}}));
    },
  );
  pullNow(rep);
}

// A message's createdAt also orders it while it is pending (mutators.js),
// so two sent in the same millisecond get distinct, increasing times (found
// in Firefox: two messages submitted in one task showed in either order).
let lastCreatedAt = 0;

async function send(content) {
  sent++;
  list.firstUnread = null;
  lastCreatedAt = Math.max(Date.now(), lastCreatedAt + 1);
  await change('createMessage', {id: randomID(), from: state.user, content, createdAt: lastCreatedAt});
  showPending();
}

// ---------------------------------------------------------------- composer --

function setUpComposer() {
  const input = $('text');
  input.maxLength = MAX_CONTENT_LENGTH;
  const counter = $('counter');
  const fit = () => {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    const left = MAX_CONTENT_LENGTH - input.value.length;
    counter.hidden = left > 500;
    counter.textContent = `${left} left`;
  };
  input.addEventListener('input', fit);
  // Enter sends, Shift+Enter starts a new line.
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const content = input.value;
    if (!content.trim() || !state.rep) return;
    input.value = '';
    fit();
    send(content).catch((err) => console.error('send failed', err));
  });
  $('messages').addEventListener('scroll', showJump, {passive: true});
  $('jump').addEventListener('click', () => {
    // Seen: the button goes; the line stays where the new ones start.
    list.unread = 0;
    $('jump').hidden = true;
    const marker = list.items.get('unread');
    if (marker?.isConnected && marker.offsetTop > $('messages').scrollTop) {
      marker.scrollIntoView({block: 'start', behavior: 'smooth'});
    } else {
      scrollToBottom();
    }
  });
}

async function main() {
  await loadPackage();
  for (const room of ROOMS) {
    const option = document.createElement('option');
    option.value = option.textContent = room;
    $('room').append(option);
  }
  const room = params.get('room') || ROOMS[0];
  if (!ROOMS.includes(room)) {
    const option = document.createElement('option');
    option.value = option.textContent = room;
    $('room').append(option);
  }
  setUpComposer();

  // Signing in is not optional: Escape does not close the dialog.
  $('login').addEventListener('cancel', (event) => event.preventDefault());
  const name = params.get('user') || remembered.get();
  useSession(name ? {name, ...(await login(name))} : await askName());

  $('room').addEventListener('change', (e) => switchRoom(e.target.value));
  $('signout').addEventListener('click', () => signOut().catch((err) => console.error('sign out failed', err)));
  await switchRoom(room);
}

window.replichat.ready = main().catch((err) => {
  console.error(err);
  document.body.dataset.error = err.message;
  $('load-error').textContent = err.message;
  $('load-error').hidden = false;
  $('online').textContent = 'error';
  $('online').dataset.online = 'false';
  $('online').dataset.state = 'error';
  $('loading').hidden = true;
  throw err;
});
