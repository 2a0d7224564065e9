#!/usr/bin/env bash
# Runs the replicore-vs-Replicache benchmark: builds the wasm package if
# needed, installs it into bench/js from its packed tarball (as a user
# would), and runs bench/js/run.js with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ -f build-wasm/package/package.json ] || bash scripts/build-wasm.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=$(cd "$tmp" && npm pack "$root/build-wasm/package" --silent | tail -1)
# The browser rows launch the engines with the e2e suite's browsers.js,
# which loads its drivers from tests/e2e/node_modules.
[ -d tests/e2e/node_modules/selenium-webdriver ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
cd bench/js
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$tmp/$tarball"
NODE_ENV=production node run.js "$@"
