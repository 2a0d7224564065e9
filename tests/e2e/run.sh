#!/usr/bin/env bash
# End-to-end tests: the demo chat and a bundled app in real browsers, and a
# replicore and a Replicache client through the real server. Every browser
# test runs in each engine of E2E_BROWSERS, one engine after another
# (default chromium,firefox,webkit: Debian's Chromium, Firefox ESR and
# WebKitGTK, see browsers.js), each engine in one process (all-tests.js) so
# that the test files share its browser; the Node-only test runs once, with
# the first engine (E2E_NODE_TESTS=0 for the others). Builds what they need
# (the wasm package, the server's dependencies) once, and prints the time
# of each engine.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
engines=${E2E_BROWSERS:-chromium,firefox,webkit}
IFS=',' read -ra engine_list <<< "$engines"
for engine in "${engine_list[@]}"; do
  case $engine in
    chromium|firefox|webkit) ;;
    *) echo "E2E_BROWSERS: unknown engine '$engine' (chromium, firefox, webkit)" >&2; exit 2 ;;
  esac
done
[ -f "$root/build-wasm/package/package.json" ] || bash "$root/scripts/build-wasm.sh"
[ -d "$root/node_server/node_modules" ] || (cd "$root/node_server" && npm ci --no-audit --no-fund --loglevel=error)
npm ci --no-audit --no-fund --loglevel=error
# The interop and bundle tests import replicore as a user would: from its packed tarball.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=$(cd "$tmp" && npm pack "$root/build-wasm/package" --silent | tail -1)
npm install --no-save --no-audit --no-fund --loglevel=error "$tmp/$tarball"

# A summary count (pass, fail, skipped, todo) of node's TAP output of an engine.
count() { local n; n=$(sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$tmp/$engine.tap" | tail -1); echo "${n:-0}"; }
passed=0 failed=0 skipped=0 todo=0
failed_engines=() times=()
first=1
for engine in "${engine_list[@]}"; do
  echo "=== e2e in $engine"
  start=$(date +%s)
  if E2E_BROWSER=$engine E2E_NODE_TESTS=$first node --test all-tests.js | tee "$tmp/$engine.tap"; then
    status=ok
  else
    status=FAILED
    failed_engines+=("$engine")
  fi
  seconds=$(( $(date +%s) - start ))
  times+=("$engine ${seconds}s ($status)")
  echo "=== e2e in $engine: $status in ${seconds}s"
  passed=$(( passed + $(count pass) ))
  failed=$(( failed + $(count fail) ))
  skipped=$(( skipped + $(count skipped) ))
  todo=$(( todo + $(count todo) ))
  first=0
done
echo "=== e2e times: ${times[*]}"
# A TODO test is a known bug of replicore in one engine: it runs and its
# result is printed ("# TODO" and why), but it does not fail the run.
[ "$todo" -eq 0 ] || echo "=== e2e: $todo TODO test(s), known bugs: grep '# TODO' in the output above"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ ${#failed_engines[@]} -eq 0 ] || { echo "e2e FAILED in: ${failed_engines[*]}" >&2; exit 1; }
