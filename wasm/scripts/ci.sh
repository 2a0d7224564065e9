#!/usr/bin/env bash
# Builds the WebAssembly package with emcmake and runs its tests against the
# packed tarball. Usage: wasm/scripts/ci.sh   (from anywhere)
# Env: BUILD_DIR (default <repo>/build-wasm), JOBS (default 2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$repo/build-wasm}"
jobs="${JOBS:-2}"

if ! command -v emcc >/dev/null; then
  echo "emcc not found: apt-get install -y emscripten" >&2
  exit 1
fi
# Emscripten 3.1.6 on Debian needs the Debian acorn for -O1+ links
# (shared/TOOLCHAIN.md #1).
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

echo "== npm deps (wasm/package-lock.json: esbuild minifies the package, the tests need the rest)"
bash "$repo/scripts/wasm-deps.sh"
cd "$repo"

echo "== configure ($build)"
emcmake cmake -S "$repo" -B "$build" \
  -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "== build the package"
cmake --build "$build" -j"$jobs" --target replicore_package

cd "$repo/wasm"

echo "== sizes"
node scripts/sizes.mjs "$build/package"

echo "== tests"
export REPLICORE_PACKAGE_DIR="$build/package"
# --test-force-exit: a test file whose assertion fails before its server or
# client is closed still ends once its tests have run, instead of holding
# CI until its hard limit (seen: sync.test.js, a listening server left).
node --test --test-force-exit --test-concurrency=1 test/*.test.js
