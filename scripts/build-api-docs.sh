#!/usr/bin/env bash
# Builds the API reference of the npm package: HTML made by TypeDoc from the
# package's hand-written declarations (wasm/types/replicore.d.ts), with the
# package README as its front page. Settings in wasm/typedoc.json; any TypeDoc
# warning (a broken {@link}, a type that is used but not exported) fails the
# build. Writes build-docs/api/ (or the folder given as $1); open its
# index.html. Generated, so not committed: run this script to get it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/build-docs/api}")
bash "$root/scripts/wasm-deps.sh"   # TypeDoc is a dev dependency of wasm/
rm -rf "$out"
cd "$root/wasm"
./node_modules/.bin/typedoc --options typedoc.json --out "$out" --logLevel Warn
echo "API reference: $out/index.html"
