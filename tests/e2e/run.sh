#!/usr/bin/env bash
# End-to-end tests of the demo chat: builds what they need (the wasm package,
# the server's dependencies) and runs them in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
[ -f "$root/build-wasm/package/package.json" ] || bash "$root/scripts/build-wasm.sh"
[ -d "$root/node_server/node_modules" ] || (cd "$root/node_server" && npm ci --no-audit --no-fund --loglevel=error)
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 *.test.js
