#!/usr/bin/env bash
# Builds the core and its bindings to WebAssembly with Debian's Emscripten and
# assembles the npm package in build-wasm/package.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's emcc needs acorn from here at -O1 and above (shared/TOOLCHAIN.md #1).
export NODE_PATH=/usr/share/nodejs
bash scripts/wasm-deps.sh
if [ ! -f build-wasm/CMakeCache.txt ]; then
  emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node >/dev/null
fi
cmake --build build-wasm -j2 --target replicore_package
