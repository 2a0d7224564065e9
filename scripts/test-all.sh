#!/usr/bin/env bash
# Builds everything and runs every test suite: the core natively under
# AddressSanitizer and UndefinedBehaviorSanitizer (scripts/test-native.sh
# runs the same tests without them, for local work), fuzzed (libFuzzer, a
# bounded time per target), and as WebAssembly
# (ctest), the npm package (node --test), the server on SQLite and
# PostgreSQL (node --test), the code samples of the docs, and the
# browser end-to-end tests (Chromium, Firefox ESR and WebKitGTK, one after another).
# Runs every suite even when one fails, then exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
times=()
run() {
  local name=$1; shift
  local start=$SECONDS
  echo
  echo "=== $name: $*"
  if "$@"; then echo "=== $name: ok"; else echo "=== $name: FAILED"; failed+=("$name"); fi
  times+=("$name $((SECONDS - start))s")
}
run core-sanitizers bash scripts/test-sanitizers.sh
run core-fuzz bash scripts/test-fuzz.sh
run core-wasm bash scripts/test-wasm-core.sh
run wasm bash wasm/scripts/ci.sh
run node-server bash node_server/scripts/ci.sh
run faults bash node_server/scripts/faults.sh
run docs bash tests/docs/run.sh
run e2e bash tests/e2e/run.sh
echo
# Where the time goes (CI must stay within 30 minutes on 2 cores).
echo "suite times: ${times[*]} (total $((SECONDS / 60)) min)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
