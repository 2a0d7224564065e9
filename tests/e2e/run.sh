#!/usr/bin/env bash
# End-to-end tests: the demo chat in headless Chromium, and a replicore and a
# Replicache client in Node through the real server. Builds what they need
# (the wasm package, the server's dependencies) first.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
[ -f "$root/build-wasm/package/package.json" ] || bash "$root/scripts/build-wasm.sh"
[ -d "$root/node_server/node_modules" ] || (cd "$root/node_server" && npm ci --no-audit --no-fund --loglevel=error)
npm ci --no-audit --no-fund --loglevel=error
# The interop test imports replicore as a user would: from its packed tarball.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=$(cd "$tmp" && npm pack "$root/build-wasm/package" --silent | tail -1)
npm install --no-save --no-audit --no-fund --loglevel=error "$tmp/$tarball"
node --test --test-concurrency=1 *.test.js
