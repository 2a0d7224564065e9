#!/usr/bin/env bash
# Builds the core's GoogleTest suite with Emscripten and runs it in Node
# under ctest, so the core is proven on the WebAssembly target too.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs
bash scripts/wasm-deps.sh
emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON \
  -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node >/dev/null
cmake --build build-wasm -j2
ctest --test-dir build-wasm --output-on-failure -j2
