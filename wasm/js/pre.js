// Runs inside the module factory (--pre-js). Under Node, Node's global fetch
// cannot load the .wasm from a file path (shared/TOOLCHAIN.md #4), so read it
// from disk: next to this module, or where the caller's locateFile says
// (a path or a file: URL), unless the caller supplied the bytes.
// (No import.meta here: it breaks the -O2 minifier.)
// Property names are quoted: Closure Compiler renames the others.
if (typeof process == 'object' && process['versions'] && process['versions']['node'] &&
    typeof window == 'undefined' && !Module['wasmBinary']) {
  var replicoreWasmPath = __dirname + '/replicore_wasm.wasm';
  if (Module['locateFile']) replicoreWasmPath = Module['locateFile']('replicore_wasm.wasm', __dirname + '/');
  if (String(replicoreWasmPath)['indexOf']('file:') == 0) replicoreWasmPath = require('url')['fileURLToPath'](replicoreWasmPath);
  Module['wasmBinary'] = require('fs')['readFileSync'](replicoreWasmPath);
}
