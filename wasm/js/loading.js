// Loading the WebAssembly module: once per JavaScript realm, with the Node
// globals Emscripten's fetch and WebSocket need. Every other module reads
// the loaded module through the live binding `wasm`.
// Emscripten's glue, bundled into the shipped replicore.js (wasm/CMakeLists.txt).
import createReplicoreModule from './replicore_wasm.mjs';

export const isNode =
  typeof process === 'object' && !!process.versions && !!process.versions.node &&
  typeof window === 'undefined';

// ------------------------------------------------------------ module load --

let moduleOverrides = {};
let modulePromise = null;
// The loaded module (one per JavaScript realm): the core's functions, each
// taking a core handle first (wasm/src/binding.cpp, core_binding.h), and the wasm heap.
export let wasm = null;
// Set if the module stops: built without C++ exceptions, it stops when an
// allocation fails inside it (what comes from outside is checked first, so
// this takes a cache at the heap's limit). Every later call is refused.
export let moduleStopped = null;

/**
 * Options for loading the WebAssembly module, before the first Replicache is
 * made: `locateFile(path, scriptDirectory)` to say where `replicore_wasm.wasm`
 * is served from, or `wasmBinary` (an ArrayBuffer/Uint8Array) to supply it.
 * By default the .wasm is loaded from next to `replicore.js`
 * (`new URL('replicore_wasm.wasm', import.meta.url)` in browsers, the file
 * system in Node).
 */
export function configureWasm(options) {
  if (modulePromise && !preloading) throw new Error('configureWasm must be called before the first Replicache is created');
  moduleOverrides = {...options};
  // A preload made with the defaults is dropped; the next load uses these.
  modulePromise = null;
  preloading = false;
}

async function installNodeGlobals() {
  if (!isNode) return;
  // Node 20 has neither; Emscripten's fetch and WebSocket need them
  // (shared/TOOLCHAIN.md #7). Node 22+ has WebSocket built in.
  if (typeof globalThis.WebSocket === 'undefined') {
    const mod = await import('ws');
    const WS = mod.WebSocket || mod.default;
    // An `error` event with no listener would crash the process (ws is an
    // EventEmitter); keep one, the poke socket handles errors through
    // onerror/onclose.
    class NodeWebSocket extends WS {
      constructor(...args) {
        super(...args);
        this.on('error', () => {});
      }
    }
    globalThis.WebSocket = NodeWebSocket;
  }
  if (typeof globalThis.XMLHttpRequest === 'undefined') {
    const mod = await import('xhr2');
    const X = mod.default || mod.XMLHttpRequest;
    globalThis.XMLHttpRequest = X.XMLHttpRequest || X;
  }
}

/** Loads (once) and returns the WebAssembly module. */
export function loadWasm() {
  preloading = false;
  if (!modulePromise) {
    const onAbort = (what) => {
      moduleStopped = new Error(`replicore: the WebAssembly module stopped (${what || 'out of memory'}); reload to start again`);
    };
    const p = installNodeGlobals()
      .then(() => createReplicoreModule({...moduleOverrides, onAbort}))
      .then((M) => {
        // Unless configureWasm dropped this load meanwhile.
        if (modulePromise === p) wasm = M;
        return modulePromise === p ? M : modulePromise;
      });
    modulePromise = p;
  }
  return modulePromise;
}

// In a browser the module starts loading as soon as the package is
// imported, not when the first Replicache is made: compiling and
// instantiating it takes tens of milliseconds that a page would otherwise
// wait for before its first answer (after the app's own start-up code has
// run, it is usually done). A microtask later, so that configureWasm called
// in the importing module's body still applies; called later, it drops
// this load and starts one with its options.
let preloading = false;
let onPreload = null;
/** `f(promise of the module)` is called when the preload starts (warm-up.js). */
export function whenPreloading(f) {
  onPreload = f;
}
if (!isNode) {
  queueMicrotask(() => {
    if (modulePromise) return;
    const loading = loadWasm();
    loading.catch(() => {}); // reported when a Replicache awaits it
    preloading = true;
    onPreload?.(loading);
  });
}

