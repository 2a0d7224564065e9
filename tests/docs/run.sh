#!/usr/bin/env bash
# Runs every code sample of docs/quick-start.md, docs/migrating-from-replicache.md and
# wasm/package/README.md against the real server and the packed package (tests/docs/docs.test.js
# says how samples are marked), and builds the API reference (api-docs.test.js). Needs the
# built package and the server's dependencies.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
[ -f "$root/build-wasm/package/package.json" ] || bash "$root/scripts/build-wasm.sh"
[ -d "$root/node_server/node_modules" ] || (cd "$root/node_server" && npm ci --no-audit --no-fund --loglevel=error)
node --test --test-concurrency=1 docs.test.js api-docs.test.js
