#!/usr/bin/env bash
# Builds the core natively (the default compiler, RelWithDebInfo: the build
# the native benchmark and the example use) and runs its GoogleTest suite
# under ctest. Not part of scripts/test-all.sh: the same suite runs there
# natively under the sanitizers (test-sanitizers.sh) and as WebAssembly
# (test-wasm-core.sh, with allocation failure), and a third full build
# cost CI three minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
