// Compiled with `tsc --noEmit` by types.test.js, beside Replicache 15.3.0's
// own declarations: what code typed against Replicache passes in (options,
// pullers, pushers, stores, poke, scan options), replicore's types accept,
// and what replicore hands back fits Replicache's types. Each line fails
// to compile if replicore.d.ts drifts from Replicache's shapes.
import type * as R from 'replicache';
import type * as C from 'replicore';
import {Replicache, makeScanResult, getDefaultPuller, filterAsyncIterable, mergeAsyncIterables} from 'replicore';

declare function given<T>(): T;

// Replicache's -> replicore's.
export const options: C.ReplicacheOptions<{}> = given<R.ReplicacheOptions<{}>>();
export const dropOptions: C.DropDatabaseOptions = given<R.DropDatabaseOptions>();
export const provider: C.KVStoreProvider = given<R.KVStoreProvider>();
export const store: C.KVStore = given<R.KVStore>();
export const kvRead: C.KVRead = given<R.KVRead>();
export const kvWrite: C.KVWrite = given<R.KVWrite>();
export const createStore: C.CreateKVStore = given<R.CreateKVStore>();
export const dropStore: C.DropKVStore = given<R.DropKVStore>();
export const puller: C.Puller = given<R.Puller>();
export const pusher: C.Pusher = given<R.Pusher>();
export const pullerResult: C.PullerResult = given<R.PullerResult>();
export const pullerResultV0: C.PullerResultV0 = given<R.PullerResultV0>();
export const pullerResultV1: C.PullerResultV1 = given<R.PullerResultV1>();
export const pusherResult: C.PusherResult = given<R.PusherResult>();
export const pullRequest: C.PullRequest = given<R.PullRequest>();
export const pushRequest: C.PushRequest = given<R.PushRequest>();
export const pullResponse: C.PullResponse = given<R.PullResponse>();
export const pullResponseOKV0: C.PullResponseOKV0 = given<R.PullResponseOKV0>();
export const pushResponse: C.PushResponse = given<R.PushResponse>();
export const poke: C.Poke = given<R.Poke>();
export const cookie: C.Cookie = given<R.Cookie>();
export const mutationV0: C.MutationV0 = given<R.MutationV0>();
export const mutationV1: C.MutationV1 = given<R.MutationV1>();
export const patch: C.PatchOperation = given<R.PatchOperation>();
export const scanOptions: C.ScanOptions = given<R.ScanOptions>();
export const scanIndexOptions: C.ScanIndexOptions = given<R.ScanIndexOptions>();
export const scanNoIndexOptions: C.ScanNoIndexOptions = given<R.ScanNoIndexOptions>();
export const startKey: C.ScanOptionIndexedStartKey = given<R.ScanOptionIndexedStartKey>();
export const indexes: C.IndexDefinitions = given<R.IndexDefinitions>();
export const createIndex: C.CreateIndexDefinition = given<R.CreateIndexDefinition>();
export const getScanIterator: C.GetScanIterator = given<R.GetScanIterator>();
export const getIndexScanIterator: C.GetIndexScanIterator = given<R.GetIndexScanIterator>();
export const watchOptions: C.ExperimentalWatchOptions = given<R.ExperimentalWatchOptions>();
export const watchNoIndexOptions: C.ExperimentalWatchNoIndexOptions = given<R.ExperimentalWatchNoIndexOptions>();
export const watchCallback: C.ExperimentalWatchNoIndexCallback = given<R.ExperimentalWatchNoIndexCallback>();
export const logSink: C.LogSink = given<R.LogSink>();
export const requestOptions: C.RequestOptions = given<R.RequestOptions>();
export const subscribeOptions: C.SubscribeOptions<number> = given<R.SubscribeOptions<number>>();
export const updateNeeded: C.UpdateNeededReason = given<R.UpdateNeededReason>();
export const json: C.ReadonlyJSONValue = given<R.ReadonlyJSONValue>();

// replicore's -> Replicache's (what replicore hands back). Not Puller:
// replicore's PatchOperation also has the 'update' op (Replicache applies it
// too, but leaves it out of its public type), so a replicore puller's result
// is wider than Replicache's type.
export const rPusher: R.Pusher = given<C.Pusher>();
export const rDiff: R.ExperimentalNoIndexDiff = given<C.ExperimentalNoIndexDiff>();
export const rIndexDiff: R.ExperimentalIndexDiff = given<C.ExperimentalIndexDiff>();
export const rDiffOp: R.ExperimentalDiffOperation<string> = given<C.ExperimentalDiffOperation<string>>();
export const rPending: readonly R.PendingMutation[] = given<readonly C.PendingMutation[]>();
export const rScan: R.ScanResult<string, R.ReadonlyJSONValue> = given<C.ScanResult<string, C.ReadonlyJSONValue>>();
export const rIndexKey: R.IndexKey = given<C.IndexKey>();
export const rPullError: R.PullError = given<C.PullError>();
export const rPushError: R.PushError = given<C.PushError>();
export const rIDBNotFound: R.IDBNotFoundError = given<C.IDBNotFoundError>();

// Replicache-style code using the options and functions of issue 14.
async function replicacheStyle() {
  const rep = new Replicache({
    name: 'compat',
    kvStore: 'mem',
    indexes: {byTitle: {prefix: 'todo/', jsonPointer: '/title'}},
    licenseKey: 'This key only good for automated testing',
    mutators: {},
  });
  rep.puller = getDefaultPuller(rep);
  rep.pusher = async (req: C.PushRequest) => {
    if (req.pushVersion === 0) throw new Error('no old clients');
    return {httpRequestInfo: {httpStatusCode: 200, errorMessage: ''}};
  };
  const p: C.Puller = rep.puller;
  await rep.poke({baseCookie: null, pullResponse: {cookie: 1, lastMutationIDChanges: {}, patch: []}});
  type Entry = readonly [string, C.ReadonlyJSONValue];
  const stored: Entry[] = [['todo/1', 1]];
  const overlay: Entry[] = [['todo/2', null]];
  const scan = makeScanResult({prefix: 'todo/'}, (fromKey) =>
    filterAsyncIterable(
      mergeAsyncIterables(stored, overlay, (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
      (e) => e[0] >= fromKey && e[1] !== null,
    ),
  );
  const keys: string[] = await scan.keys().toArray();
  const index = makeScanResult({indexName: 'byTitle', start: {key: ['a', 'todo/1']}}, () => []);
  const indexKeys: C.IndexKey[] = await index.keys().toArray();
  console.log(p, keys, indexKeys);
}
void replicacheStyle;
