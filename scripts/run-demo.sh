#!/usr/bin/env bash
# Builds the WebAssembly package and starts the chat server on SQLite (the
# embedded default, data in ./data). Open the printed URL in two windows.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
# better-sqlite3 compiles from source: install once, again only when the lock file changes.
if [ ! -f node_server/node_modules/.package-lock.json ] ||
   [ node_server/package-lock.json -nt node_server/node_modules/.package-lock.json ]; then
  (cd node_server && npm ci --no-audit --no-fund --loglevel=error)
fi
PORT=${PORT:-8080}
echo
echo "Replichat: http://127.0.0.1:${PORT}/  (open it in two windows; Ctrl-C stops the server)"
echo
PACKAGE_DIR=build-wasm/package PORT=$PORT exec node node_server/src/main.js
