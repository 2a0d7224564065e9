// Pullers, pushers and poke(): Replicache 15's default HTTP puller and
// pusher (what `rep.puller` and `rep.pusher` are when the app gave none, and
// getDefaultPuller), replacing them at any time, and poke(pullResponse).
//
// Who makes the requests: the core sends pushes and pulls itself (its own
// transport, wasm/src) to pushURL and pullURL, unless it was made with
// usePuller/usePusher; then it hands each request to JavaScript (host.send,
// Replicache._sendCustom), which calls the function forRequest() picks. A
// client made without a puller switches its pulls to JavaScript the first
// time one is set or poke() is called: coreSetPullURL with the URL the
// binding routes to JavaScript (kPullerURL in wasm/src/core_sync.cpp) does it,
// and likewise for pushes. The switch is one way (the binding ignores
// coreSetPullURL from then on); after it, while the default puller is the
// one in use, it makes the request from JavaScript with fetch, as
// Replicache's does.
import {wasm} from './loading.js';
import {deepEqual} from './values.js';
import {closedError} from './transactions.js';

// The URLs the binding routes to JavaScript (core_sync.cpp, kPullerURL and
// kPusherURL; wasm/test/compat.test.js fails if they change).
const JS_PULLER_URL = 'replicore-js:puller';
const JS_PUSHER_URL = 'replicore-js:pusher';

const ok = () => ({httpStatusCode: 200, errorMessage: ''});

// Every default puller and pusher made here, and what it is: Replicache
// skips a pull (push) when the URL is empty and the function is a default.
const defaults = new WeakMap(); // fn -> {rep, isPull}

// Replicache's error bodies: {error: 'ClientStateNotFound'} and
// {error: 'VersionNotSupported', versionType?: 'pull' | 'push' | 'schema'}.
export function isErrorResponse(v) {
  if (v === null || typeof v !== 'object') return false;
  if (v.error === 'ClientStateNotFound') return true;
  return v.error === 'VersionNotSupported' && [undefined, 'pull', 'push', 'schema'].includes(v.versionType);
}

// POSTs `body` as JSON with the headers Replicache sends.
function post(url, auth, requestID, body) {
  return fetch(url, {
    method: 'POST',
    headers: {'Content-type': 'application/json', Authorization: auth, 'X-Replicache-RequestID': requestID},
    body: JSON.stringify(body),
  });
}

/**
 * Replicache's default puller for `rep` (anything with `pullURL` and
 * `auth`, read at each call): POSTs the pull request to rep.pullURL with
 * rep.auth as the Authorization header. A 200 gives {response (the parsed
 * body), httpRequestInfo}; another status gives {httpRequestInfo} with the
 * body text as errorMessage. A network error rejects.
 */
export function getDefaultPuller(rep) {
  async function puller(requestBody, requestID) {
    const res = await post(rep.pullURL, rep.auth, requestID, requestBody);
    if (res.status !== 200) return {httpRequestInfo: {httpStatusCode: res.status, errorMessage: await res.text()}};
    return {response: await res.json(), httpRequestInfo: ok()};
  }
  defaults.set(puller, {rep, isPull: true});
  return puller;
}

// Replicache's default pusher (not exported by Replicache either): as the
// puller, to rep.pushURL; a 200's body is the response only when it is one
// of the error bodies (a push answers nothing else).
function makeDefaultPusher(rep) {
  async function pusher(requestBody, requestID) {
    const res = await post(rep.pushURL, rep.auth, requestID, requestBody);
    if (res.status !== 200) return {httpRequestInfo: {httpStatusCode: res.status, errorMessage: await res.text()}};
    const httpRequestInfo = ok();
    let body;
    try {
      body = await res.json();
    } catch {
      return {httpRequestInfo};
    }
    return isErrorResponse(body) ? {response: body, httpRequestInfo} : {httpRequestInfo};
  }
  defaults.set(pusher, {rep, isPull: false});
  return pusher;
}

function cookieMismatch(poke) {
  return new Error(`unexpected base cookie for poke: ${JSON.stringify(poke)}`);
}

// One client's puller and pusher (Replicache keeps them on the instance).
export class Transport {
  constructor(rep, puller, pusher) {
    this._rep = rep;
    this._puller = null; // the app's; null: the default
    this._pusher = null;
    this._defaultPuller = null; // made when first asked for
    this._defaultPusher = null;
    // Whether the core hands its requests to JavaScript (read by _makeCore).
    this.pullViaJS = false;
    this.pushViaJS = false;
    this._pokes = []; // poke() calls waiting for the next pull request
    this._sent = []; // pokes answered to the core, waiting for the end of their pull
    if (puller) this._set(true, puller);
    if (pusher) this._set(false, pusher);
  }

  get puller() {
    return this._puller ?? (this._defaultPuller ??= getDefaultPuller(this._rep));
  }
  set puller(fn) {
    this._set(true, fn);
  }
  get pusher() {
    return this._pusher ?? (this._defaultPusher ??= makeDefaultPusher(this._rep));
  }
  set pusher(fn) {
    this._set(false, fn);
  }

  // Used from the next request on. A default made for this client (the
  // getter's, or getDefaultPuller(rep)) leaves the requests to the core
  // while it still makes them; null or undefined goes back to the default.
  _set(isPull, fn) {
    const what = isPull ? 'puller' : 'pusher';
    if (fn !== null && fn !== undefined && typeof fn !== 'function') {
      throw new TypeError(`Replicache: ${what} must be a function`);
    }
    const d = fn ? defaults.get(fn) : undefined;
    const own = !fn || (d !== undefined && d.rep === this._rep && d.isPull === isPull);
    if (isPull) {
      this._puller = own ? null : fn;
      if (fn && own) this._defaultPuller = fn;
    } else {
      this._pusher = own ? null : fn;
      if (fn && own) this._defaultPusher = fn;
    }
    if (!own) this._routeToJS(isPull);
  }

  // From now on the core hands its pulls (pushes) to _sendCustom.
  _routeToJS(isPull) {
    if (isPull ? this.pullViaJS : this.pushViaJS) return;
    if (isPull) this.pullViaJS = true;
    else this.pushViaJS = true;
    const core = this._rep._core; // none yet: _makeCore reads the flags
    if (!core) return;
    if (isPull) wasm.coreSetPullURL(core, JS_PULLER_URL);
    else wasm.coreSetPushURL(core, JS_PUSHER_URL);
  }

  /**
   * The function that answers a request the core handed to JavaScript
   * (`request` is its parsed body): a waiting poke's response when its base
   * cookie is the request's, else the puller (pusher) in use. Like
   * Replicache, a default with an empty URL sends nothing: it answers a
   * no-op (the same cookie, no changes) so the core carries on.
   */
  forRequest(isPull, request) {
    while (isPull && this._pokes.length > 0) {
      const p = this._pokes.shift();
      if (isErrorResponse(p.pullResponse) || deepEqual(request.cookie, p.baseCookie)) {
        this._sent.push(p);
        return async () => ({response: p.pullResponse, httpRequestInfo: ok()});
      }
      // A pull in flight when poke() was called moved the cookie on.
      p.finish({error: cookieMismatch(p.poke)});
    }
    const fn = isPull ? this.puller : this.pusher;
    const d = defaults.get(fn);
    if (d && d.isPull === isPull && (isPull ? this._rep.pullURL : this._rep.pushURL) === '') {
      return isPull
        ? async (req) => ({response: {cookie: req.cookie, lastMutationIDChanges: {}, patch: []}, httpRequestInfo: ok()})
        : async () => ({httpRequestInfo: ok()});
    }
    return fn;
  }

  // A pull attempt ended (host onPullFinished; `error` is '' on success):
  // settles the pokes it carried. Pulls run one at a time, so those are all
  // the pokes answered since the last call.
  pullFinished(error) {
    if (this._sent.length === 0) return;
    const sent = this._sent;
    this._sent = [];
    for (const p of sent) {
      if (error && !isErrorResponse(p.pullResponse)) p.finish({error: new Error(`replicore: poke not applied: ${error}`)});
      else p.finish({});
    }
  }

  /**
   * Replicache's poke({baseCookie, pullResponse}): applies `pullResponse` as
   * the answer of a pull made now, if the client's cookie is `baseCookie`
   * (else it throws, as Replicache does). Error bodies are handled as a
   * pull's: VersionNotSupported calls onUpdateNeeded, ClientStateNotFound
   * stops syncing and calls onClientStateNotFound.
   */
  async poke(poke) {
    const rep = this._rep;
    if (!rep._opened) await rep._ready;
    rep._checkOpen();
    const pullResponse = poke?.pullResponse;
    if (pullResponse === null || typeof pullResponse !== 'object') {
      throw new TypeError('poke: expected {baseCookie, pullResponse} with a pull response object');
    }
    const core = rep._core;
    if (!isErrorResponse(pullResponse) && !deepEqual(JSON.parse(wasm.coreCookie(core)), poke.baseCookie)) {
      throw cookieMismatch(poke);
    }
    let finish;
    const done = new Promise((resolve) => (finish = resolve));
    const p = {baseCookie: poke.baseCookie, pullResponse, poke, finish};
    this._routeToJS(true);
    this._pokes.push(p);
    const n = wasm.corePull(core);
    // Attempt n carries the poke (or a pull ending before it finds the
    // cookie moved on); its end resolves the waiter, after pullFinished.
    if (n > rep._pullsSettled) rep._pullWaiters.push({n, resolve: () => finish(null)});
    else finish(null);
    const r = await done;
    if (r === null) {
      // Closed, or syncing stopped, before a pull took the poke.
      this._pokes = this._pokes.filter((x) => x !== p);
      this._sent = this._sent.filter((x) => x !== p);
      if (rep._closed) throw closedError();
      throw new Error('replicore: poke not applied: syncing has stopped');
    }
    if (r.error) throw r.error;
  }
}
