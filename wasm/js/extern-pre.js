// Emitted at the very top of the generated ES module (--extern-pre-js).
// Emscripten's Node code path uses `require` and `__dirname`, which an ES
// module does not have (shared/TOOLCHAIN.md #4). Define them under Node
// only; in browsers and workers nothing happens.
var require, __dirname, __filename;
if (typeof process == 'object' && process.versions && process.versions.node &&
    typeof window == 'undefined') {
  const m = await import('module');
  const u = await import('url');
  const p = await import('path');
  require = m.createRequire(import.meta.url);
  __filename = u.fileURLToPath(import.meta.url);
  __dirname = p.dirname(__filename);
}
