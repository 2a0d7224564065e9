// Persistence of one Replicache instance: choosing its client group in the
// store, loading the group's state, the group commit of what changed, and
// the tabs of a group telling each other what they wrote.
//
// The rules (what to write, in which batch, how to recover, how tabs'
// writes merge) are the core's (core/persister.h); this file only moves
// batches of records between the core and the store: one store transaction
// per batch, one crossing into wasm per batch, never one per key.
//
// Durability: a mutation is in memory when mutate() resolves, and in the
// store within PERSIST_DELAY_MS plus the time of one store write (the group
// commit: every change in the window goes in one transaction). A page that
// is hidden or closed is flushed at once. `flush()` resolves once all that
// was committed before the call is durable.
import {wasm} from './loading.js';
import {PageLoader} from './page-loader.js';
import {readAll, readEach, unpackPlan, withRecords} from './records.js';
import {journalKeys, journalPrefix, journalStorage} from './store/journal.js';
import {readOpenHint, writeOpenHint} from './store/open-hint.js';
import {REGISTRY, registerDatabase} from './store/provider.js';

/** Milliseconds from a change to the start of the write that stores it. */
export const PERSIST_DELAY_MS = 20;
// A client that writes nothing still says, now and then, that it is alive
// (so that clientMaxAgeMs does not collect it while it runs).
const HEARTBEAT_MS = 60 * 1000;
// A failing store is tried again after this, doubling up to the max.
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 30 * 1000;

const REGISTRY_KEY = 'groups';
const PROFILE_KEY = 'profile';

/** The store name (IndexedDB database) of an app `name`. */
export function makeIDBName(name, _schemaVersion) {
  // One store holds every client group of the app (the schemaVersion picks
  // the group inside it). The number is the format (core/store_format.h);
  // "replicore:" keeps it apart from a Replicache database of the name.
  return `replicore:${name}:1`;
}

/** The store keys of the two head slots of group `groupID` (core/store_format.h). */
function headKeys(groupID) {
  return [`g/${groupID}/h0`, `g/${groupID}/h1`];
}

function message(e) {
  return (e && (e.name && e.message ? `${e.name}: ${e.message}` : e.message)) || String(e);
}

/**
 * The persistence of one instance. `rep` gives: _core, _log(level, ...),
 * _replayForeign() (replays what takeForeign queued), _clientID.
 */
export class Persistence {
  constructor(rep, provider, storeName, options) {
    this._rep = rep;
    this._provider = provider;
    this._storeName = storeName;
    this._clientMaxAgeMs = options.clientMaxAgeMs;
    this._store = null;
    this._groupID = '';
    this._timer = null;
    this._writing = null; // the write in flight; when it ends, what is new is written
    this._failing = false;
    this._retryMs = RETRY_MIN_MS;
    this._waiters = []; // flush() calls: resolved once a write that started after them ends clean
    this._disabled = false;
    this._channel = null;
    this._refreshing = null;
    this._refreshAgain = false;
    this._heartbeat = null;
    this._onHide = null;
    this._onPageHide = null;
    // The head slots as last read or written: what a page that unloads
    // plans against (it cannot wait for a read; see unloadWrite).
    this._heads = [undefined, undefined];
    // Set by prefetch and openGroup (store/open-hint.js).
    this._hintedGroup = '';
    this._prefetchedPages = null;
    this._schemaVersion = '';
  }

  get groupID() {
    return this._groupID;
  }

  // --------------------------------------------------------------- open --
  /**
   * Opens the store and picks the client group for the schema and mutator
   * names (a new random one when none matches), and the profile id
   * (`makeProfileID()` makes one if the profile has none).
   * Rejects when the store cannot be used.
   */
  async openGroup(schemaVersion, mutatorNames, newGroupID, makeProfileID) {
    if (!this._store) this.prefetch(schemaVersion, makeProfileID);
    const profile = this._profile;
    const names = mutatorNames.join('\u0000');
    // Usually the group exists: found in the registry read at prefetch, its
    // heads read in the same transaction when the hint named it (else in a
    // second read), and nothing written before the first answer (the
    // registry's note that the group was used is written after).
    const [registry, ...hinted] = await this._firstRead;
    let choice = this._choose(registry, schemaVersion, names, newGroupID);
    this._schemaVersion = schemaVersion;
    if (!choice.created && !choice.problem) {
      const found = choice.groupID;
      this._openedHeads = found === this._hintedGroup ? hinted : await readAll(this._store, headKeys(found));
      // The registry's note that the group is in use (for clientMaxAgeMs)
      // waits for afterFirstAnswers.
      this._noteUse = () => this._chooseInWrite(schemaVersion, names, newGroupID, found);
    } else {
      // A new group (or an unreadable registry): chosen and registered in
      // one write, so that two tabs opening at once agree on it.
      choice = await this._chooseInWrite(schemaVersion, names, newGroupID, null);
    }
    if (choice.groupID !== this._hintedGroup) {
      // The hint's pages (being read) go to the page loader only with the
      // heads of their group.
      this._prefetchedPages = null;
      if (!this._provider.inMemory) writeOpenHint(this._storeName, schemaVersion, choice.groupID);
    }
    this._groupID = choice.groupID;
    this._expired = choice.expired;
    return {groupID: choice.groupID, profileID: await profile, created: choice.created};
  }

  /**
   * The writes opening can leave until the first answers have been read:
   * the registry's note that the group is in use, and the database's entry
   * in the list dropAllDatabases reads. Made before, they share the store
   * with the first reads and slow them (a readwrite transaction and a
   * second database's open, measured in Chromium: bench/js/profile-persist.js).
   * Called by the wrapper a moment after opening, and by close().
   */
  afterFirstAnswers() {
    if (this._afterFirstDone) return;
    this._afterFirstDone = true;
    // The pages the first reads needed, for the next start's first read.
    const first = this.pages?.takeFirstReads();
    if (first && first.length > 0 && !this._provider.inMemory && !this._disabled) {
      writeOpenHint(this._storeName, this._schemaVersion, this._groupID, first);
    }
    const noteUse = this._noteUse;
    this._noteUse = null;
    this._registryWrite = Promise.all([
      noteUse?.(),
      registerDatabase(this._provider, this._storeName),
    ]).catch((e) => this._rep._log('error', `replicore: updating the store's registry failed: ${message(e)}`));
  }

  /**
   * Starts what opening needs that the WebAssembly module does not: the
   * profile id (from another store), the store's connection, and one read
   * of its registry with the heads of the group the last instance opened
   * (store/open-hint.js). Called while the module may still be loading (a
   * page's first instance), so that they overlap it; choosing the group,
   * which is the core's rule, waits for the module.
   */
  prefetch(schemaVersion, makeProfileID) {
    // The store first: its open and read are the longer way to the first
    // answer, and an engine may open databases in the order asked.
    this._store = this._provider.create(this._storeName);
    const hint = this._provider.inMemory ? {group: '', pages: []} : readOpenHint(this._storeName, schemaVersion);
    this._hintedGroup = hint.group;
    this._firstRead = readAll(this._store, [REGISTRY_KEY, ...(hint.group ? headKeys(hint.group) : [])]);
    this._firstRead.catch(() => {});
    this._profile = this._profileID(makeProfileID);
    this._profile.catch(() => {});
    // The hint's pages in a read of their own, once the first read is in:
    // opening waits for the registry, the heads and the profile, not for
    // them. In WebKit a first read that held three pages of 256 KiB took
    // 15 to 25 ms longer, and the profile's read, asked for after a read
    // of the pages, 10 to 20 ms; the pages are needed only once the core
    // has loaded the head. Each page is handed on as it arrives: a read
    // that needs the first need not wait for the others.
    //
    // Opening goes on only once the pages' gets have been asked: a store's
    // read takes a few promise turns to begin, and opening's turns between
    // them (choosing the group, making the core, loading the head) are
    // long on a cold start: in WebKit the gets went out 10 to 15 ms after
    // the first read was in (docs/benchmarks.md, 2026-12-02).
    const pages = hint.pages;
    if (pages.length > 0) {
      const first = this._firstRead;
      const read = first.then(() => readEach(this._store, pages)).catch(() => null);
      this._prefetchedPages = new Map(pages.map((key, i) => [key, read.then((r) => r?.records[i])]));
      this._firstRead = read.then((r) => r?.asked).then(() => first);
      this._firstRead.catch(() => {});
    }
  }

  _choose(registry, schemaVersion, names, newGroupID) {
    return JSON.parse(
      wasm.storeChooseGroup(typeof registry === 'string' ? registry : '', typeof registry === 'string',
        schemaVersion, names, newGroupID, Date.now(), this._clientMaxAgeMs),
    );
  }

  // Chooses the group in a write transaction and registers it as used now.
  // With `expected` (the group found by a read), writes nothing if the
  // registry no longer leads there (another tab changed it meanwhile).
  async _chooseInWrite(schemaVersion, names, newGroupID, expected) {
    const w = await this._store.write();
    try {
      const choice = this._choose(await w.get(REGISTRY_KEY), schemaVersion, names, newGroupID);
      if (expected !== null && choice.groupID !== expected) return choice;
      if (choice.problem) this._rep._log('error', `replicore: ${choice.problem}; starting a new registry`);
      const g = choice.groupID;
      if (expected === null) {
        // The group's heads in the same transaction: one store round trip
        // less before the first answer (load() starts from them).
        const [, ...heads] = await Promise.all([w.put(REGISTRY_KEY, choice.registry), ...headKeys(g).map((k) => w.get(k))]);
        this._openedHeads = heads;
      } else {
        await w.put(REGISTRY_KEY, choice.registry);
      }
      await w.commit();
      return choice;
    } finally {
      // Replicache's stores free their lock on release, committed or not.
      w.release();
    }
  }

  // The profile id is one per profile (browser profile, or process for
  // memory stores): kept in the store that lists the databases, made once
  // (by `makeProfileID()`, called only then).
  async _profileID(makeProfileID) {
    const registry = this._provider.create(REGISTRY);
    try {
      const r = await registry.read();
      let id;
      try {
        id = await r.get(PROFILE_KEY);
      } finally {
        r.release();
      }
      if (typeof id === 'string') return id;
      const w = await registry.write();
      try {
        id = await w.get(PROFILE_KEY); // another tab may have made it meanwhile
        if (typeof id === 'string') return id;
        id = makeProfileID();
        await w.put(PROFILE_KEY, id);
        await w.commit();
        return id;
      } finally {
        w.release();
      }
    } finally {
      await registry.close();
    }
  }

  /**
   * Loads the group's persisted state into the core (restored; the wrapper
   * replays the pending mutations next). Returns the core's load report.
   */
  async load(core) {
    const pageBytes = Number.isSafeInteger(this._provider.pageBytes) ? this._provider.pageBytes : 0;
    wasm.corePersistInit(core, this._groupID, pageBytes, this._clientMaxAgeMs);
    const heads = this._openedHeads ?? (await readAll(this._store, headKeys(this._groupID)));
    this._openedHeads = null;
    this._heads = heads;
    // Lazily: the head and the pending mutations now, the pages when a
    // read needs them or the background loader gets to them (page-loader.js).
    let step = JSON.parse(withRecords(heads, (p, n) => wasm.coreLoadBegin(core, p, n, true)) || 'null');
    while (step && !step.done) {
      const records = step.keys.length > 0 ? await readAll(this._store, step.keys) : [];
      step = JSON.parse(withRecords(records, (p, n) => wasm.coreLoadContinue(core, p, n)) || 'null');
    }
    if (!step) throw new Error(`loading failed: ${wasm.coreLastError(core)}`);
    for (const p of step.problems) this._rep._log('error', `replicore: persisted state: ${p}`);
    if (step.newerFormat) {
      this._rep._log('error', 'replicore: the store was written by a newer replicore; this client keeps its data in memory only');
      this._disabled = true;
    }
    this.pages = new PageLoader(this._rep, this._store, this._prefetchedPages);
    this._prefetchedPages = null;
    step.journaled = this._takeJournals(core);
    this._listen();
    this._collecting = this.collectGroups().catch(() => {});
    return step;
  }

  /**
   * Starts reading the pages no read has asked for yet, in the background;
   * resolves once all are in (then a pull can apply; see `pages.loaded`).
   */
  loadRest(core) {
    return this.pages.loadAll(core).then(() => {
      // The instance may have closed (and freed its core) while the last
      // batch was read: touching the core then would stop the module for
      // every instance of the page.
      if (this._rep._core !== core || this._disabled) return;
      // A write that waited for the whole state (pages of a pull) can go.
      if (wasm.corePersistHasWork(core)) this.schedule();
    });
  }

  /**
   * Removes the groups of this store unused for longer than clientMaxAgeMs
   * (another schemaVersion or mutator set, long gone) that have nothing
   * unconfirmed; one write each. Failures are logged and left for the next
   * open.
   */
  async collectGroups() {
    for (const group of this._expired ?? []) await this._removeGroup(group, false);
    this._expired = [];
  }

  /**
   * The server answered ClientStateNotFound: it does not know this group,
   * so nothing of it can ever sync. The group leaves the store (its pending
   * mutations with it, as Replicache drops them), so that the next instance
   * starts a new group instead of failing the same way; this one stops
   * writing.
   */
  async dropGroup() {
    if (!this._store || !this._groupID) return;
    this._disabled = true;
    await this._removeGroup(this._groupID, true);
  }

  async _removeGroup(group, force) {
    const w = await this._store.write();
    try {
      const records = await Promise.all([...headKeys(group), REGISTRY_KEY].map((k) => w.get(k)));
      const out = withRecords(records, (p, n) => wasm.storeCollectGroup(group, p, n, force));
      if (!out) return; // unconfirmed mutations: kept
      const [registry, ...keys] = out.split('\u0000');
      await Promise.all(keys.map((k) => w.del(k)));
      await w.put(REGISTRY_KEY, registry);
      await w.commit();
      this._rep._log(force ? 'error' : 'debug', `replicore: removed the client group ${group} from the store (${keys.length} records)${
        force ? ': the server does not know it (ClientStateNotFound); the next instance starts a new group' : ', unused'}`);
    } catch (e) {
      this._rep._log('error', `replicore: removing the client group ${group} from the store failed: ${message(e)}`);
    } finally {
      w.release();
    }
  }


  _listen() {
    if (typeof BroadcastChannel === 'function') {
      try {
        this._channel = new BroadcastChannel(`replicore:${this._storeName}:${this._groupID}`);
        this._channel.onmessage = () => this.refresh();
        // Node: a channel must not keep the process alive.
        this._channel.unref?.();
      } catch {
        this._channel = null;
      }
    }
    this._heartbeat = setInterval(() => this._forceWrite(), HEARTBEAT_MS);
    this._heartbeat.unref?.();
    if (typeof addEventListener === 'function' && typeof document === 'object') {
      // Hidden (a tab closing is hidden first) or unloading (a reload, a
      // close, a navigation): the page may go at any moment, and only what
      // is issued now reaches IndexedDB, so a write with no reads first.
      this._onHide = () => {
        if (document.visibilityState !== 'hidden') return;
        this._writeJournal();
        this.unloadWrite();
      };
      this._onPageHide = () => {
        this._writeJournal();
        this.unloadWrite();
      };
      addEventListener('pagehide', this._onPageHide);
      document.addEventListener('visibilitychange', this._onHide);
    }
  }

  // -------------------------------------------------------------- write --
  /** Stops writing (the store failed on open); close() then only lets go. */
  disable() {
    this._disabled = true;
  }

  /** Something changed: write it in the next group commit. */
  schedule() {
    if (this._disabled) return;
    this._armUnload();
    if (this._timer || this._writing) return;
    this._timer = setTimeout(() => {
      this._timer = null;
      this._run();
    }, this._failing ? this._retryMs : PERSIST_DELAY_MS);
  }

  _forceWrite() {
    this._heartbeatDue = true;
    this.schedule();
  }

  /** Resolves once everything committed before the call is in the store. */
  flush() {
    if (this._disabled || !this._store) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this._waiters.push({resolve, reject});
      if (this._timer) {
        clearTimeout(this._timer);
        this._timer = null;
      }
      if (!this._writing) this._run();
    });
  }

  async _run() {
    const core = this._rep._core;
    if (!core || this._disabled) return this._settle();
    const due = this._heartbeatDue || wasm.corePersistHasWork(core);
    if (!due) return this._settle();
    this._heartbeatDue = false;
    const waiters = this._waiters;
    this._waiters = [];
    const current = (this._writing = this._write(core));
    let error = null;
    try {
      await current;
    } catch (e) {
      error = e;
    }
    if (this._writing === current) this._writing = null;
    if (error?.superseded) {
      // An unload write took over; flush() callers wait for it.
      await this._writing?.catch(() => {});
      for (const w of waiters) w.resolve();
      return;
    }
    if (error) {
      if (!this._failing) this._rep._log('error', `replicore: writing to the store failed; the data stays in memory and the write is retried: ${message(error)}`);
      this._failing = true;
      this._retryMs = Math.min(this._retryMs * 2, RETRY_MAX_MS);
      for (const w of waiters) w.reject(new Error(`replicore: the store write failed: ${message(error)}`));
      if (!this._rep._closed) this.schedule();
      return;
    }
    if (this._failing) this._rep._log('info', 'replicore: writing to the store works again');
    this._failing = false;
    this._retryMs = RETRY_MIN_MS;
    // What was committed after the write was planned goes in the next one.
    if (this._rep._core && wasm.corePersistHasWork(this._rep._core)) {
      this._waiters.unshift(...waiters);
      this._run();
      return;
    }
    for (const w of waiters) w.resolve();
    this._settle();
  }

  // WebKit (WebKitGTK 2.50) never commits an IndexedDB transaction issued
  // in pagehide or visibilitychange, while one issued in beforeunload lands
  // on a reload. So the unload write also starts there. The listener is
  // there only while something is unwritten, because a page with a
  // beforeunload listener may be kept out of the back/forward cache.
  _armUnload() {
    if (this._unloadArmed || !this._onPageHide) return;
    this._unloadArmed = true;
    addEventListener('beforeunload', this._onPageHide);
  }

  _disarmUnload() {
    if (!this._unloadArmed) return;
    this._unloadArmed = false;
    removeEventListener('beforeunload', this._onPageHide);
  }

  _settle() {
    this._disarmUnload();
    const w = this._waiters;
    this._waiters = [];
    for (const x of w) x.resolve();
  }

  /**
   * The page is unloading: write what is not stored yet with no read first
   * (a read's answer would never come back to an unloading page), planned
   * against the heads this client saw last. If another tab wrote since, the
   * core repairs it: that tab's next write names its chunks again
   * (core/persister.h).
   */
  unloadWrite() {
    const core = this._rep._core;
    if (this._disabled || !this._store || !core) return;
    const running = this._open;
    if (running && !running.planned) {
      // A write still waiting for its reads would never get their answers:
      // give it up (nothing of it was issued) and write now instead.
      running.superseded = true;
      running.w.release();
    } else if (this._writing) {
      return; // issued already: it completes without this page
    }
    if (!wasm.corePersistHasWork(core)) return;
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    this._writing = this._write(core, true)
      .catch(() => {})
      .finally(() => {
        this._writing = null;
        // A page that was only hidden lives on: what came meanwhile, and
        // flush() calls waiting, go to the next write.
        if (!this._disabled) this._run();
      });
  }

  async _write(core, unloading = false) {
    const w = await this._store.write();
    const open = {w, planned: false, superseded: false};
    this._open = open;
    let plan;
    try {
      const heads = unloading
        ? this._heads
        : await Promise.all(headKeys(this._groupID).map((k) => w.get(k)));
      if (open.superseded) throw Object.assign(new Error('superseded by an unload write'), {superseded: true});
      open.planned = true;
      this._heads = heads;
      const bytes = withRecords(heads, (p, n) => wasm.coreWritePlan(core, p, n, Date.now()));
      plan = unpackPlan(bytes, this._provider.recordsAsBytes === true);
      if (!plan) throw new Error(`planning the write failed: ${wasm.coreLastError(core)}`);
      // Puts and deletes in order: pages and chunks, the head, then what
      // no head names any more.
      // Issued at once, commit included (an unloading page runs no later
      // task); awaited after.
      const puts = Promise.all(plan.ops.map(([k, v]) => (v === undefined ? w.del(k) : w.put(k, v))));
      const committed = w.commit();
      await puts;
      await committed;
      // What this write made the store hold, for the next unload write.
      const head = plan.ops.find(([k, v]) => v !== undefined && /\/h[01]$/.test(k));
      if (head) this._heads = head[0].endsWith('h0') ? [head[1], heads[1]] : [heads[0], head[1]];
    } catch (e) {
      if (open.superseded) throw Object.assign(new Error('superseded by an unload write'), {superseded: true});
      if (this._rep._core === core) wasm.coreWriteDone(core, false);
      throw e;
    } finally {
      if (this._open === open) this._open = null;
      try {
        w.release();
      } catch {
        // already ended
      }
    }
    if (this._rep._core === core) {
      wasm.coreWriteDone(core, true);
      this._dropStoredJournals(core);
    }
    this._channel?.postMessage(this._rep._clientID);
    if (plan.foreign.length) await this._takeForeign(core, plan.foreign);
  }

  // ----------------------------------------------------------- journals --
  // WebKit (WebKitGTK 2.50, and Safari by the same engine) never commits an
  // IndexedDB write a page issues while it unloads, so mutations made in
  // the last group commit before a tab closes would be lost. localStorage
  // writes at once, so an unloading page also leaves there a journal of its
  // own mutations the store may lack (core/persister.h); the next instance
  // of the group to open stores them as that client's and removes the
  // journal. Where the unload write did land, the journal adds nothing.
  _journalPrefix() {
    return journalPrefix(this._storeName, this._groupID);
  }

  _localStorage() {
    return journalStorage();
  }

  /** The page may be going: leave a journal of what is not stored yet. */
  _writeJournal() {
    const core = this._rep._core;
    const storage = this._localStorage();
    if (this._disabled || !core || !storage || !this._groupID) return;
    const record = wasm.coreJournal(core);
    if (!record) return;
    try {
      storage.setItem(this._journalPrefix() + this._rep._clientID, record);
      this._journaled = true;
    } catch (e) {
      // Full or refused: the IndexedDB write is issued all the same.
      this._rep._log('debug', `replicore: writing the unload journal failed: ${message(e)}`);
    }
  }

  // After a committed write: journals whose mutations are now stored go.
  _dropStoredJournals(core) {
    const storage = this._localStorage();
    if (!storage) return;
    try {
      if (this._journaled && !wasm.coreJournal(core)) {
        storage.removeItem(this._journalPrefix() + this._rep._clientID);
        this._journaled = false;
      }
      if (this._takenJournals?.length && !wasm.coreJournalsPending(core)) {
        for (const key of this._takenJournals) storage.removeItem(key);
        this._takenJournals = [];
      }
    } catch {
      // Left for the next write or the next open; taking one twice is safe.
    }
  }

  // At open, before the first replay: the journals other clients of the
  // group left as their pages unloaded. Returns how many mutations they
  // gave (the replay shows them).
  _takeJournals(core) {
    const storage = this._localStorage();
    if (!storage || this._disabled) return 0;
    const prefix = this._journalPrefix();
    this._takenJournals = [];
    let taken = 0;
    try {
      for (const key of journalKeys(storage, prefix)) {
        const record = storage.getItem(key);
        const n = record === null ? 0 : wasm.coreTakeJournal(core, record);
        if (n < 0) {
          this._rep._log('error', `replicore: ${key}: ${wasm.coreLastError(core)}; removed`);
          storage.removeItem(key);
          continue;
        }
        taken += n;
        this._takenJournals.push(key);
      }
      if (taken > 0) this._rep._log('debug', `replicore: took ${taken} mutations from the journals of pages that unloaded`);
      if (wasm.coreJournalsPending(core)) this.schedule();
      else this._dropStoredJournals(core);
      return taken;
    } catch (e) {
      this._rep._log('error', `replicore: reading unload journals failed: ${message(e)}`);
      return taken;
    }
  }

  // --------------------------------------------------------------- tabs --
  /** Another tab wrote: merge the mutations of the group it has and we lack. */
  refresh() {
    if (this._disabled || !this._store) return;
    if (this._refreshing) {
      this._refreshAgain = true;
      return;
    }
    this._refreshing = (async () => {
      do {
        this._refreshAgain = false;
        const core = this._rep._core;
        if (!core) return;
        const heads = await readAll(this._store, headKeys(this._groupID));
        if (this._rep._core !== core) return;
        this._heads = heads;
        const keys = JSON.parse(withRecords(heads, (p, n) => wasm.coreRefreshPlan(core, p, n))).keys;
        if (keys.length) await this._takeForeign(core, keys);
      } while (this._refreshAgain);
    })()
      .catch((e) => this._rep._log('error', `replicore: reading another tab's writes failed: ${message(e)}`))
      .finally(() => {
        this._refreshing = null;
      });
  }

  async _takeForeign(core, keys) {
    const records = await readAll(this._store, keys);
    if (this._rep._core !== core) return;
    const n = withRecords(records, (p, len) => wasm.coreTakeForeign(core, JSON.stringify(keys), p, len));
    if (n < 0 || wasm.coreLastError(core)) this._rep._log('error', `replicore: another tab's mutations: ${wasm.coreLastError(core)}`);
    if (n > 0) await this._rep._replayForeign();
  }

  // -------------------------------------------------------------- close --
  /** Flushes, then lets go of the store. */
  async close() {
    // Unless the store could not be loaded (then the wrapper never used it).
    if (this.pages) this.afterFirstAnswers();
    clearInterval(this._heartbeat);
    this.pages?.stop();
    if (this._onHide) {
      removeEventListener('pagehide', this._onPageHide);
      document.removeEventListener('visibilitychange', this._onHide);
      this._disarmUnload();
    }
    try {
      await this.flush();
    } catch (e) {
      this._rep._log('error', `replicore: the last write before close failed: ${message(e)}`);
    }
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    this._disabled = true;
    this._channel?.close();
    this._channel = null;
    await this._refreshing;
    await this._collecting;
    await this._registryWrite;
    await this._store?.close();
  }
}
