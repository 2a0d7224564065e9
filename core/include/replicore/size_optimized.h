// Marks a stretch of source whose functions the WebAssembly package
// optimizes for size rather than speed (clang's `minsize`). Every core
// source file and the binding are marked: the package's speed lives in the
// templates they instantiate (std::map, std::string, std::function...),
// which a mark does not reach, so those keep -O3. Measured: the whole core
// at minsize costs no speed in Node or Chromium and saves 3.8 KB of .wasm
// (brotli), where -Os for every function, templates included, made pull
// apply 3x slower (wasm/CORE_REQUESTS.md 3). Native builds are unchanged.
//
//   #include "replicore/size_optimized.h"   // after every other #include
//   REPLICORE_SIZE_OPTIMIZED_BEGIN
//   ... functions ...
//   REPLICORE_SIZE_OPTIMIZED_END
#ifndef REPLICORE_SIZE_OPTIMIZED_H_
#define REPLICORE_SIZE_OPTIMIZED_H_

#if defined(__EMSCRIPTEN__) && defined(__clang__)
#define REPLICORE_SIZE_OPTIMIZED_BEGIN \
  _Pragma("clang attribute push(__attribute__((minsize)), apply_to = function)")
#define REPLICORE_SIZE_OPTIMIZED_END _Pragma("clang attribute pop")
#else
#define REPLICORE_SIZE_OPTIMIZED_BEGIN
#define REPLICORE_SIZE_OPTIMIZED_END
#endif

#endif  // REPLICORE_SIZE_OPTIMIZED_H_
