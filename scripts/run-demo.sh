#!/usr/bin/env bash
# Builds the WebAssembly package and starts the chat server on SQLite (the
# embedded default, data in ./data). Open the printed URL in two windows; PORT=... picks
# another port (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
# better-sqlite3 compiles from source: install once, again only when the lock file changes.
if [ ! -f node_server/node_modules/.package-lock.json ] ||
   [ node_server/package-lock.json -nt node_server/node_modules/.package-lock.json ]; then
  (cd node_server && npm ci --no-audit --no-fund --loglevel=error)
fi
# The server prints its address once it listens (a taken port is reported instead: PORT=8081
# bash scripts/run-demo.sh picks another).
echo
echo "Replichat: open the address below in two windows (Ctrl-C stops the server)"
# DEMO_LOGIN=1: the chat's free login (anyone as anyone; never for production). Its secret is made
# once and kept in the data folder (data/demo-secret, mode 0600), so a restart keeps open tabs
# signed in. Settings already in the environment (DEMO_SECRET, DATA_DIR, PORT, ...) still apply.
# LOG_FORMAT=pretty: one short line per request ("14:03:22 push   space=general  user=alice
# 1 mutation  200  4 ms"), also when the output goes through a pipe; LOG_FORMAT=json keeps JSON.
DEMO_LOGIN=1 PACKAGE_DIR=build-wasm/package LOG_FORMAT="${LOG_FORMAT:-pretty}" exec node node_server/src/main.js
