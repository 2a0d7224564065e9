// Type declarations for the `replicore` package: the public surface of
// Replicache 15 that replicore implements, plus replicore's own options.
// Hand-written; keep in step with wasm/js/replicore.js.

export type JSONValue = null | string | boolean | number | JSONValue[] | JSONObject;
export type JSONObject = {[key: string]: JSONValue | undefined};
export type ReadonlyJSONValue =
  | null
  | string
  | boolean
  | number
  | readonly ReadonlyJSONValue[]
  | ReadonlyJSONObject;
export type ReadonlyJSONObject = {readonly [key: string]: ReadonlyJSONValue | undefined};
export type DeepReadonly<T> = T extends null | boolean | string | number | undefined ? T : DeepReadonlyObject<T>;
export type DeepReadonlyObject<T> = {readonly [K in keyof T]: DeepReadonly<T[K]>};
export type MaybePromise<T> = T | Promise<T>;
export type IterableUnion<T> = AsyncIterable<T> | Iterable<T>;
export type ClientID = string;
/** The id of a client group: the clients of one name, schema and mutator names in a browser profile. */
export type ClientGroupID = string;
/**
 * Orders server states: null (before the first pull), a string, a number, or
 * an object whose `order` is a string or a number.
 */
export type Cookie = null | string | number | (ReadonlyJSONValue & {readonly order: number | string});

export type TransactionEnvironment = 'client' | 'server';
export type TransactionLocation = TransactionEnvironment;
export type TransactionReason = 'initial' | 'rebase' | 'authoritative';

export interface AsyncIterableIteratorToArray<V> extends AsyncIterableIterator<V> {
  toArray(): Promise<V[]>;
}

export interface ScanResult<K, V> extends AsyncIterable<V> {
  [Symbol.asyncIterator](): AsyncIterableIteratorToArray<V>;
  values(): AsyncIterableIteratorToArray<V>;
  keys(): AsyncIterableIteratorToArray<K>;
  entries(): AsyncIterableIteratorToArray<readonly [K, V]>;
  toArray(): Promise<V[]>;
}

export type ScanNoIndexOptions = {
  prefix?: string | undefined;
  limit?: number | undefined;
  start?: {key: string; exclusive?: boolean | undefined} | undefined;
};
/** The key of an index entry: [secondary key, primary key]. */
export type IndexKey = readonly [secondary: string, primary: string];
/** Where an index scan starts: a secondary key, or [secondary, primary]. */
export type ScanOptionIndexedStartKey = readonly [secondary: string, primary?: string | undefined] | string;
/**
 * Options of a scan over an index (`indexes` option): the prefix applies to
 * the secondary key; results' keys are [secondary, primary].
 */
export type ScanIndexOptions = {
  prefix?: string | undefined;
  limit?: number | undefined;
  indexName: string;
  start?: {key: ScanOptionIndexedStartKey; exclusive?: boolean | undefined} | undefined;
};
export type ScanOptions = ScanIndexOptions | ScanNoIndexOptions;
/** Index keys for index options, string keys otherwise. */
export type KeyTypeForScanOptions<O extends ScanOptions> = O extends ScanIndexOptions ? IndexKey : string;
/** Whether scan options are for an index scan (have an `indexName`). */
export declare function isScanIndexOptions(options: ScanOptions): options is ScanIndexOptions;
/**
 * For makeScanResult: the entries in key order starting at `fromKey` (the
 * later of the prefix and the start key).
 */
export type GetScanIterator = (fromKey: string) => IterableUnion<readonly [key: string, value: ReadonlyJSONValue]>;
/** For makeScanResult with index options: the index entries in order from the given keys. */
export type GetIndexScanIterator = (
  indexName: string,
  fromSecondaryKey: string,
  fromPrimaryKey: string | undefined,
) => IterableUnion<readonly [key: IndexKey, value: ReadonlyJSONValue]>;
/**
 * A ScanResult over the entries `getScanIterator` gives (called once, at
 * once), applying the options' prefix, exclusive start and limit: for
 * implementing `scan` over a store of your own.
 */
export declare function makeScanResult<Options extends ScanOptions>(
  options: Options,
  getScanIterator: Options extends ScanIndexOptions ? GetIndexScanIterator : GetScanIterator,
): ScanResult<KeyTypeForScanOptions<Options>, ReadonlyJSONValue>;
/** The items of `iter` that `predicate` accepts, as an async iterable. */
export declare function filterAsyncIterable<V>(iter: IterableUnion<V>, predicate: (v: V) => boolean): AsyncIterable<V>;
/**
 * Merges two sorted iterables; `compare` orders an item of the base against
 * one of the overlay, and on a tie (0) the overlay's item is taken.
 */
export declare function mergeAsyncIterables<A, B>(
  iterableBase: IterableUnion<A>,
  iterableOverlay: IterableUnion<B>,
  compare: (a: A, b: B) => number,
): AsyncIterable<A | B>;

/**
 * A consistent read of the local state. Values are deeply frozen and shared
 * between reads while unchanged: copy before modifying.
 */
export interface ReadTransaction {
  readonly clientID: ClientID;
  readonly environment: TransactionEnvironment;
  readonly location: TransactionLocation;
  get(key: string): Promise<ReadonlyJSONValue | undefined>;
  get<T extends JSONValue>(key: string): Promise<DeepReadonly<T> | undefined>;
  has(key: string): Promise<boolean>;
  isEmpty(): Promise<boolean>;
  scan(options: ScanIndexOptions): ScanResult<IndexKey, ReadonlyJSONValue>;
  scan(options?: ScanNoIndexOptions): ScanResult<string, ReadonlyJSONValue>;
  scan(options?: ScanOptions): ScanResult<IndexKey | string, ReadonlyJSONValue>;
  scan<V extends ReadonlyJSONValue>(options: ScanIndexOptions): ScanResult<IndexKey, DeepReadonly<V>>;
  scan<V extends ReadonlyJSONValue>(options?: ScanNoIndexOptions): ScanResult<string, DeepReadonly<V>>;
  scan<V extends ReadonlyJSONValue>(options?: ScanOptions): ScanResult<IndexKey | string, DeepReadonly<V>>;
}

export interface WriteTransaction extends ReadTransaction {
  readonly mutationID: number;
  readonly reason: TransactionReason;
  /**
   * Stores `value` (must be JSON) after validating it. The object itself is
   * kept, deeply frozen in place (no copy): do not change it afterwards.
   */
  set(key: string, value: ReadonlyJSONValue): Promise<void>;
  /** Alias of set. */
  put(key: string, value: ReadonlyJSONValue): Promise<void>;
  /** Resolves to whether the key existed. */
  del(key: string): Promise<boolean>;
}

export type MutatorReturn<T extends ReadonlyJSONValue = ReadonlyJSONValue> = MaybePromise<T | void>;
export type MutatorDefs = {
  [key: string]: (tx: WriteTransaction, args?: any) => MutatorReturn;
};
type ToPromise<P> = P extends Promise<unknown> ? P : Promise<P>;
export type MakeMutator<F extends (tx: WriteTransaction, ...args: [] | [ReadonlyJSONValue]) => MutatorReturn> =
  F extends (tx: WriteTransaction, ...args: infer Args) => infer Ret ? (...args: Args) => ToPromise<Ret> : never;
export type MakeMutators<T extends MutatorDefs> = {
  readonly [P in keyof T]: MakeMutator<T[P]>;
};

export type HTTPRequestInfo = {httpStatusCode: number; errorMessage: string};

/** A mutation of the version 0 protocol (Replicache's recovery of old clients; replicore never sends it). */
export type MutationV0 = {
  readonly id: number;
  readonly name: string;
  readonly args: ReadonlyJSONValue;
  readonly timestamp: number;
};

export type MutationV1 = {
  readonly id: number;
  readonly name: string;
  readonly args: ReadonlyJSONValue;
  readonly timestamp: number;
  readonly clientID: ClientID;
};
export type PushRequestV1 = {
  pushVersion: 1;
  schemaVersion: string;
  profileID: string;
  clientGroupID: ClientGroupID;
  mutations: MutationV1[];
};
/** Version 0 push body (Replicache's recovery of old clients; replicore never sends it). */
export type PushRequestV0 = {
  pushVersion: 0;
  schemaVersion: string;
  profileID: string;
  clientID: ClientID;
  mutations: MutationV0[];
};
/** replicore sends PushRequestV1 only. */
export type PushRequest = PushRequestV0 | PushRequestV1;
export type PullRequestV1 = {
  pullVersion: 1;
  schemaVersion: string;
  profileID: string;
  cookie: Cookie;
  clientGroupID: ClientGroupID;
};
/** Version 0 pull body (Replicache's recovery of old clients; replicore never sends it). */
export type PullRequestV0 = {
  pullVersion: 0;
  schemaVersion: string;
  profileID: string;
  cookie: ReadonlyJSONValue;
  clientID: ClientID;
  lastMutationID: number;
};
/** replicore sends PullRequestV1 only. */
export type PullRequest = PullRequestV1 | PullRequestV0;
export type PatchOperation =
  | {readonly op: 'put'; readonly key: string; readonly value: ReadonlyJSONValue}
  | {readonly op: 'update'; readonly key: string; readonly merge?: ReadonlyJSONObject; readonly constrain?: string[]}
  | {readonly op: 'del'; readonly key: string}
  | {readonly op: 'clear'};
export type ClientStateNotFoundResponse = {error: 'ClientStateNotFound'};
export type VersionNotSupportedResponse = {
  error: 'VersionNotSupported';
  versionType?: 'pull' | 'push' | 'schema' | undefined;
};
export type PullResponseOKV1 = {
  cookie: Cookie;
  lastMutationIDChanges: Record<ClientID, number>;
  patch: PatchOperation[];
};
export type PullResponseV1 = PullResponseOKV1 | ClientStateNotFoundResponse | VersionNotSupportedResponse;
export type PullResponseOKV0 = {
  cookie?: ReadonlyJSONValue | undefined;
  lastMutationID: number;
  patch: PatchOperation[];
};
export type PullResponseV0 = PullResponseOKV0 | ClientStateNotFoundResponse | VersionNotSupportedResponse;
export type PullResponse = PullResponseV1 | PullResponseV0;
export type PushResponse = ClientStateNotFoundResponse | VersionNotSupportedResponse;
export type PullerResultV1 = {response?: PullResponseV1 | undefined; httpRequestInfo: HTTPRequestInfo};
export type PullerResultV0 = {response?: PullResponseV0 | undefined; httpRequestInfo: HTTPRequestInfo};
export type PullerResult = PullerResultV1 | PullerResultV0;
export type PusherResult = {response?: PushResponse | undefined; httpRequestInfo: HTTPRequestInfo};
/**
 * Makes the request of a pull. replicore calls it with a PullRequestV1 and
 * expects a PullerResultV1 (the type is Replicache's, which also has version 0).
 */
export type Puller = (requestBody: PullRequest, requestID: string) => Promise<PullerResult>;
/** Makes the request of a push; replicore calls it with a PushRequestV1. */
export type Pusher = (requestBody: PushRequest, requestID: string) => Promise<PusherResult>;
/**
 * Replicache's default puller for `rep`: POSTs the request to `rep.pullURL`
 * (read at each call) with `rep.auth` as the Authorization header; resolves
 * to the parsed response on HTTP 200, else to the status and body text.
 */
export declare function getDefaultPuller(rep: {pullURL: string; auth: string}): Puller;
/** What `poke()` applies: a pull response computed for the client at `baseCookie`. */
export type Poke = {
  baseCookie: ReadonlyJSONValue;
  pullResponse: PullResponseV1;
};
/** Replicache's error for a failed pull, the cause in `causedBy` (replicore's pull() does not throw it). */
export declare class PullError extends Error {
  name: string;
  causedBy?: Error | undefined;
  constructor(causedBy?: Error);
}
/** Replicache's error for a failed push, the cause in `causedBy` (replicore's push() does not throw it). */
export declare class PushError extends Error {
  name: string;
  causedBy?: Error | undefined;
  constructor(causedBy?: Error);
}
/** The IndexedDB database was deleted under the client (by DevTools, or the browser). */
export declare class IDBNotFoundError extends Error {
  name: string;
}

export interface RequestOptions {
  /** First retry delay after a failed push or pull (default 30). */
  minDelayMs?: number;
  /** Cap of the doubling retry delay (default 60000). */
  maxDelayMs?: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Key/value pairs about where a message comes from (here `{name}`). */
export type Context = {[key: string]: unknown | undefined};
/** Replicache's (and @rocicorp/logger's) sink: the context, then the message. */
export interface LogSink<
  Error extends unknown[] = unknown[],
  Warn extends unknown[] = unknown[],
  Info extends unknown[] = unknown[],
  Debug extends unknown[] = unknown[],
> {
  log(level: 'error', context: Context | undefined, ...args: Error): void;
  log(level: 'warn', context: Context | undefined, ...args: Warn): void;
  log(level: 'info', context: Context | undefined, ...args: Info): void;
  log(level: 'debug', context: Context | undefined, ...args: Debug): void;
  log(level: LogLevel, context: Context | undefined, ...args: unknown[]): void;
  flush?(): Promise<void>;
}
/** Writes to the console, the context first. */
export declare const consoleLogSink: LogSink;

export type UpdateNeededReason =
  | {type: 'NewClientGroup'}
  | {type: 'VersionNotSupported'; versionType?: 'push' | 'pull' | 'schema' | undefined};

export interface PendingMutation {
  readonly name: string;
  readonly id: number;
  readonly args: ReadonlyJSONValue;
  readonly clientID: ClientID;
}

/** A mutator that threw while being replayed in a rebase (replicore only). */
export interface ReplayError {
  readonly clientID: ClientID;
  readonly id: number;
  readonly name: string;
  readonly message: string;
}

/**
 * replicore only: what `onClientStateReset` is given. A pull showed that the
 * server no longer has state it had confirmed (a database restored from a
 * backup, commits lost in a crash, failover to a lagging replica): this
 * client's view is now the server's, and the mutations of this client the
 * server lost were queued again, in order, to be applied once each.
 */
export interface ClientStateReset {
  /** The server's cookie went below this client's, with a full reset. */
  readonly cookieWentBack: boolean;
  /** This client's last mutation ID the server had confirmed before. */
  readonly knownLastMutationID: number;
  /** The one the server has now (lower when it lost mutations). */
  readonly serverLastMutationID: number;
  /** Confirmed mutations queued again (from a log of the last 1000, in memory). */
  readonly requeued: number;
  /** Mutations the server lost that the log no longer held (e.g. after a reload): gone. */
  readonly lost: number;
  /** The queue took new mutation IDs from serverLastMutationID + 1 (the log had gaps). */
  readonly renumbered: boolean;
  /** Other tabs' mutations this client no longer pushes (their own tab queues them again). */
  readonly droppedForeign: number;
}

export interface ReplicacheOptions<MD extends MutatorDefs> {
  /** Required. With the mutator names and schemaVersion it makes the client group. */
  name: string;
  mutators?: MD | undefined;
  pushURL?: string | undefined;
  pullURL?: string | undefined;
  /**
   * replicore only: a WebSocket URL. For the replicore server:
   * `ws(s)://host/api/poke?space=<space>&auth=<token>`, with the same space as
   * pushURL and pullURL and the token (URL-encoded) that `auth` holds: the
   * server checks it before the socket opens. Every message on it is a poke
   * (the replicore server sends `{"type":"poke","space":"<space>"}`); the
   * client pulls on each, and after every (re)connect. It reconnects with
   * backoff (100 ms doubling to 30 s).
   */
  pokeURL?: string | undefined;
  /** Sent as the Authorization header (even when empty). */
  auth?: string | undefined;
  getAuth?: (() => MaybePromise<string | null | undefined>) | null | undefined;
  /** Milliseconds between periodic pulls (default 60000); null: none. */
  pullInterval?: number | null | undefined;
  /** Milliseconds from a mutation to its push (default 10). */
  pushDelay?: number | undefined;
  /**
   * replicore only: the largest push body in bytes (default 1048576, the
   * replicore server's default `BODY_LIMIT`; at least 1024). A longer queue
   * of pending mutations is pushed in ordered batches; a mutation whose push
   * alone would be larger is refused by `mutate()` (it would block the queue).
   */
  maxPushBytes?: number | undefined;
  schemaVersion?: string | undefined;
  requestOptions?: RequestOptions | undefined;
  logLevel?: LogLevel | undefined;
  logSinks?: LogSink[] | undefined;
  puller?: Puller | undefined;
  pusher?: Pusher | undefined;
  /** Accepted and ignored, for drop-in compatibility. */
  licenseKey?: string | undefined;
  /**
   * Secondary indexes, by name, as Replicache's: each lists the entries
   * whose key starts with `prefix` by the string (or each string of the
   * array of strings) found at `jsonPointer` in their value; other entries
   * are not in it. Read them with `tx.scan({indexName})` and
   * `experimentalWatch(cb, {indexName})`. Kept up to date by every
   * mutation, pull and rebase; never stored (built when the state is read
   * back from the store).
   */
  readonly indexes?: IndexDefinitions | undefined;
  /**
   * Where the client keeps its state. `'idb'` (the default where IndexedDB
   * exists): the confirmed state, its cookie and every pending mutation
   * survive a reload, a browser restart and a crash, and tabs of one app
   * share one client group. `'mem'`: nothing is kept (each instance starts
   * empty, in a group of its own). A StoreProvider: the app's own store,
   * used for everything. Without IndexedDB (Node) the default falls back to
   * `'mem'` and says so once.
   */
  kvStore?: 'idb' | 'mem' | StoreProvider | undefined;
  /**
   * Clients of the group that have written nothing for this long and have
   * no unconfirmed mutation are removed from the store (default 14 days).
   */
  clientMaxAgeMs?: number | undefined;
}

/** Replicache 15's store interface, for `kvStore`. */
export interface StoreProvider {
  create(name: string): Store;
  drop(name: string): Promise<void>;
}
/** A key-value store. Writes must be atomic and serialized. */
export interface Store {
  read(): Promise<Read>;
  write(): Promise<Write>;
  close(): Promise<void>;
  readonly closed: boolean;
}
export interface Read {
  has(key: string): Promise<boolean>;
  get(key: string): Promise<ReadonlyJSONValue | undefined>;
  release(): void;
  readonly closed: boolean;
}
export interface Write extends Read {
  put(key: string, value: ReadonlyJSONValue): Promise<void>;
  del(key: string): Promise<void>;
  commit(): Promise<void>;
}
export type KVStore = Store;
export type KVRead = Read;
export type KVWrite = Write;
export type KVStoreProvider = StoreProvider;
export type CreateKVStore = (name: string) => Store;
export type DropKVStore = (name: string) => Promise<void>;

/** Replicache's index definition (`indexes` option). `allowEmpty` only changes what Replicache logs. */
export type IndexDefinition = {
  readonly prefix?: string | undefined;
  readonly jsonPointer: string;
  readonly allowEmpty?: boolean | undefined;
};
export type IndexDefinitions = {readonly [name: string]: IndexDefinition};
export type CreateIndexDefinition = IndexDefinition & {name: string};

export interface DropDatabaseOptions {
  kvStore?: 'idb' | 'mem' | StoreProvider | undefined;
  logLevel?: LogLevel | undefined;
  logSinks?: LogSink[] | undefined;
}
/** Deletes the store of one Replicache (its `idbName`). */
export declare function dropDatabase(dbName: string, opts?: DropDatabaseOptions): Promise<void>;
/** Deletes the store of every Replicache opened in this profile. */
export declare function dropAllDatabases(opts?: DropDatabaseOptions): Promise<{dropped: string[]; errors: unknown[]}>;
/** @deprecated Use dropAllDatabases (the same function). */
export declare function deleteAllReplicacheData(opts?: DropDatabaseOptions): Promise<{dropped: string[]; errors: unknown[]}>;
/** @deprecated License keys are not checked. */
export declare const TEST_LICENSE_KEY = 'This key only good for automated testing';
/** The store name (IndexedDB database) of the Replicache called `name`. */
export declare function makeIDBName(name: string, schemaVersion?: string): string;
/** replicore only: milliseconds from a change to the start of the group commit that stores it. */
export declare const PERSIST_DELAY_MS: number;

export interface SubscribeOptions<R> {
  onData: (result: R) => void;
  onError?: ((error: unknown) => void) | undefined;
  onDone?: (() => void) | undefined;
  isEqual?: ((a: R, b: R) => boolean) | undefined;
}

export type ExperimentalDiffOperationAdd<Key, Value = ReadonlyJSONValue> = {
  readonly op: 'add';
  readonly key: Key;
  readonly newValue: Value;
};
export type ExperimentalDiffOperationDel<Key, Value = ReadonlyJSONValue> = {
  readonly op: 'del';
  readonly key: Key;
  readonly oldValue: Value;
};
export type ExperimentalDiffOperationChange<Key, Value = ReadonlyJSONValue> = {
  readonly op: 'change';
  readonly key: Key;
  readonly oldValue: Value;
  readonly newValue: Value;
};
/** One change in a watch diff. */
export type ExperimentalDiffOperation<Key> =
  | ExperimentalDiffOperationAdd<Key>
  | ExperimentalDiffOperationDel<Key>
  | ExperimentalDiffOperationChange<Key>;
export type ExperimentalNoIndexDiff = readonly ExperimentalDiffOperation<string>[];
/** A diff of an index watch: keys are [secondary, primary]. */
export type ExperimentalIndexDiff = readonly ExperimentalDiffOperation<IndexKey>[];
export type ExperimentalDiff = ExperimentalIndexDiff | ExperimentalNoIndexDiff;
export type ExperimentalWatchNoIndexOptions = {
  prefix?: string | undefined;
  initialValuesInFirstDiff?: boolean | undefined;
};
/** Options of an index watch: the prefix applies to the secondary key. */
export type ExperimentalWatchIndexOptions = ExperimentalWatchNoIndexOptions & {indexName: string};
export type ExperimentalWatchOptions = ExperimentalWatchIndexOptions | ExperimentalWatchNoIndexOptions;
export type ExperimentalWatchNoIndexCallback = (diff: ExperimentalNoIndexDiff) => void;
export type ExperimentalWatchIndexCallback = (diff: ExperimentalIndexDiff) => void;
export type ExperimentalWatchCallbackForOptions<Options extends ExperimentalWatchOptions> =
  Options extends ExperimentalWatchIndexOptions ? ExperimentalWatchIndexCallback : ExperimentalWatchNoIndexCallback;
// Shorter names (replicore's own).
export type DiffOperation<Key = string> = ExperimentalDiffOperation<Key>;
export type NoIndexDiff = ExperimentalNoIndexDiff;
export type WatchNoIndexOptions = ExperimentalWatchNoIndexOptions;
export type WatchNoIndexCallback = ExperimentalWatchNoIndexCallback;

export declare class Replicache<MD extends MutatorDefs = {}> {
  constructor(options: ReplicacheOptions<MD>);
  readonly name: string;
  readonly idbName: string;
  readonly schemaVersion: string;
  readonly clientID: ClientID;
  readonly clientGroupID: Promise<ClientGroupID>;
  readonly profileID: Promise<string>;
  readonly online: boolean;
  readonly closed: boolean;
  readonly mutate: MakeMutators<MD>;
  readonly requestOptions: Required<RequestOptions>;
  auth: string;
  getAuth: (() => MaybePromise<string | null | undefined>) | null | undefined;
  /** Settable; a change restarts the sync loops (a pull now, a push of what is pending). */
  pullURL: string;
  /** Settable; a change restarts the sync loops (a pull now, a push of what is pending). */
  pushURL: string;
  /** Settable; a change restarts the sync loops (a pull now, a push of what is pending). */
  pullInterval: number | null;
  /** Settable; a change restarts the sync loops (a pull now, a push of what is pending). */
  pushDelay: number;
  /**
   * The puller in use: the app's, or the default (an HTTP POST to pullURL,
   * as Replicache's). A new one makes the next pull.
   */
  puller: Puller;
  /** The pusher in use: the app's, or the default (an HTTP POST to pushURL). A new one makes the next push. */
  pusher: Pusher;
  onSync: ((syncing: boolean) => void) | null;
  onOnlineChange: ((online: boolean) => void) | null;
  /** Default (as Replicache): logs, and reloads the page in a browser. */
  onUpdateNeeded: ((reason: UpdateNeededReason) => void) | null;
  /**
   * The server no longer knows this client's group: syncing has stopped for
   * good and the poke socket is closed. Default (as Replicache): logs, and
   * reloads the page in a browser.
   */
  onClientStateNotFound: (() => void) | null;
  /** replicore only: a mutator threw during a rebase; its mutation stays pending. */
  onReplayError: ((error: ReplayError) => void) | null;
  /**
   * replicore only: the server lost state it had confirmed and this client
   * was reset to the server's (see ClientStateReset). Also logged as an error.
   */
  onClientStateReset: ((reset: ClientStateReset) => void) | null;

  /**
   * Stops syncing, closes the poke socket, writes what is not in the store
   * yet, and frees the WebAssembly state.
   */
  close(): Promise<void>;
  /**
   * replicore only: resolves once everything committed so far (mutations and
   * pulled state) is durable in the store; rejects if that write failed (the
   * data stays in memory and the write is retried). mutate() never waits
   * for the store: the group commit follows within PERSIST_DELAY_MS plus
   * one store write.
   */
  flush(): Promise<void>;
  /** Pulls now; resolves when no push or pull is in flight. */
  pull(options?: {now?: boolean | undefined}): Promise<void>;
  /** Pushes now; resolves when no push or pull is in flight. */
  push(options?: {now?: boolean | undefined}): Promise<void>;
  /**
   * Applies `poke.pullResponse` as the answer of a pull made now, if the
   * client's cookie is `poke.baseCookie`; rejects otherwise, or if the
   * response cannot be applied. Deprecated and experimental in Replicache 15:
   * calling pull() on a poke is the usual way.
   */
  poke(poke: Poke): Promise<void>;
  query<R>(body: (tx: ReadTransaction) => Promise<R> | R): Promise<R>;
  subscribe<R>(
    body: (tx: ReadTransaction) => Promise<R>,
    options: SubscribeOptions<R> | ((result: R) => void),
  ): () => void;
  experimentalWatch(callback: WatchNoIndexCallback, options?: WatchNoIndexOptions): () => void;
  experimentalWatch<Options extends ExperimentalWatchOptions>(
    callback: ExperimentalWatchCallbackForOptions<Options>,
    options?: Options,
  ): () => void;
  experimentalPendingMutations(): Promise<readonly PendingMutation[]>;
}

export declare class TransactionClosedError extends Error {
  constructor();
}

/** JSON deep equality (the default isEqual of subscriptions). */
export declare function deepEqual(a: unknown, b: unknown): boolean;

export interface WasmOptions {
  /** Where to load `replicore_wasm.wasm` from: return its URL. */
  locateFile?: (path: string, scriptDirectory: string) => string;
  /** The .wasm bytes, to skip loading it. */
  wasmBinary?: ArrayBuffer | Uint8Array;
}
/** Configures the WebAssembly load; call before the first Replicache. */
export declare function configureWasm(options: WasmOptions): void;
/** Loads the WebAssembly module now (otherwise the first Replicache does). */
export declare function loadWasm(): Promise<unknown>;

export declare const version: string;

// Only what is exported above is public (ToPromise is not).
export {};
