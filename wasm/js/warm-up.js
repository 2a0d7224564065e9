// Warming the WebAssembly code up before a page's first instance needs it.
//
// Engines compile a WebAssembly function the first time it is called (V8's
// lazy compilation; JavaScriptCore's too), and a reopening client calls
// hundreds of functions once each: choosing its group, loading the head,
// replaying, starting sync, the first read and its page. Measured in
// Chromium 156 (bench/js/profile-persist.js, 10,000 keys stored): 73 ms from
// `new Replicache()` to the first get, 40 ms with V8 told to compile the
// whole module eagerly; the difference was compiling.
//
// So in a page, once the module has loaded and while no instance has been
// made, the package runs one private instance through what a returning app
// does (open on a stored group, pull, mutate, flush, close, open again with
// a pending mutation to replay, read a page that was not loaded, scan),
// against a memory store no one else sees, with its logs dropped. That
// compiles those functions while the page is busy with its own start-up,
// not when its first query waits. It leaves nothing behind: no store, no
// network, no log; only a `replicore: warm-up` measure in the page's
// performance timeline. An instance made first (an app that makes its
// Replicache as soon as it is imported) compiles them itself, so then the
// warm-up does not run. Not in Node: no page to be quick for, and a
// process's tests would see the extra instances.
import {wasm, moduleStopped} from './loading.js';
import {memStoreProvider} from './store/mem-store.js';

let appInstances = 0;
let warming = false;
let scheduled = false;

/** Called by every Replicache constructor: the app's instances stop the warm-up. */
export function noteInstance() {
  if (!warming) appInstances++;
}

/** Runs the warm-up once, a task after `loaded` resolves, unless an instance came first. */
export function warmUpAfter(loaded, Replicache) {
  if (scheduled) return;
  scheduled = true;
  loaded.then(
    () => setTimeout(() => {
      if (appInstances > 0 || !wasm || moduleStopped) return;
      run(Replicache).catch(() => {});
    }, 0),
    () => {},
  );
}

async function run(Replicache) {
  const start = performance.now();
  const stores = memStoreProvider(new Map());
  let pulls = 0;
  const options = {
    name: 'replicore-warm-up',
    kvStore: stores,
    pullInterval: null,
    logSinks: [{log() {}}],
    mutators: {
      async put(tx, {key, value}) {
        await tx.set(key, value);
      },
    },
    // The first pull brings a page's worth of entries; later ones nothing new.
    async puller() {
      const first = pulls++ === 0;
      const patch = first ? Array.from({length: 64}, (_, i) => ({op: 'put', key: `k${i}`, value: {i, text: 'warm'}})) : [];
      return {
        response: {cookie: 1, lastMutationIDChanges: {}, patch},
        httpRequestInfo: {httpStatusCode: 200, errorMessage: ''},
      };
    },
  };
  const make = () => {
    warming = true;
    try {
      return new Replicache(options);
    } finally {
      warming = false;
    }
  };
  // Each step is a task of its own, so that the page's tasks (input, its
  // own start-up) run between them: on a memory store the steps would
  // otherwise run as one task of about 100 ms (Chromium). An app's instance
  // made meanwhile goes first: the warm-up stops at its next step, since
  // what is left would only compete with the app's own opening for the
  // main thread (that instance compiles what it calls).
  const steps = async (rep, list) => {
    try {
      for (const step of list) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (appInstances > 0) return false;
        await step(rep);
      }
      return true;
    } finally {
      await rep.close();
    }
  };
  const whole =
    (await steps(make(), [
      (rep) => rep.pull(),
      (rep) => rep.mutate.put({key: 'k1', value: {i: -1}}),
      (rep) => rep.flush(),
    ])) &&
    (await steps(make(), [
      (rep) =>
        rep.query(async (tx) => {
          await tx.get('k40');
          await tx.scan({prefix: 'k'}).entries().toArray();
        }),
    ]));
  // Named in the page's performance timeline (DevTools shows it), so that
  // the work it adds after the module's load is visible for what it is.
  try {
    performance.measure(whole ? 'replicore: warm-up' : 'replicore: warm-up (cut short by an instance)', {start, end: performance.now()});
  } catch {
    // an engine without User Timing 3's options: nothing to show
  }
}
