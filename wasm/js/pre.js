// Runs inside the module factory (--pre-js). Under Node, Node's global fetch
// cannot load the .wasm from a file path (shared/TOOLCHAIN.md #4), so read it
// from disk next to this module, unless the caller supplied the bytes or a
// locateFile of its own. (No import.meta here: it breaks the -O2 minifier.)
if (typeof process == 'object' && process.versions && process.versions.node &&
    typeof window == 'undefined' && !Module['wasmBinary'] && !Module['locateFile']) {
  Module['wasmBinary'] = require('fs').readFileSync(__dirname + '/replicore_wasm.wasm');
}
