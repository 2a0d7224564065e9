#!/usr/bin/env bash
# Installs wasm/'s npm dev dependencies (esbuild bundles and minifies the
# package's JavaScript; the package tests need the rest) when they are
# missing or older than the lock file. Every path that configures the
# WebAssembly build runs it first, so every build ships the same bytes.
set -euo pipefail
cd "$(dirname "$0")/../wasm"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
fi
