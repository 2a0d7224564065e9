// Marks a stretch of source whose functions the WebAssembly package
// optimizes for size rather than speed (clang's `minsize`), so that cold
// code (setup, scheduling, protocol bodies, error paths) costs fewer shipped
// bytes while the hot code around it (the layered map, the scanner, commit
// and rebase) keeps -O3. Only functions written between the two marks are
// affected; templates they use (std::map, std::function, ...) are not.
// Native builds are unchanged.
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
