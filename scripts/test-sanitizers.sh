#!/usr/bin/env bash
# Builds the core's native tests with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (their own build folder, build-sanitize/, which
# scripts/test-fuzz.sh shares: one build serves both) and runs them under
# ctest, then runs the two-clients example under them too. Any finding
# aborts its test, so this passes only when the suite is clean. The suite
# is scripts/test-native.sh's (the same tests, less allocation failure,
# which replaces operator new and fights the sanitizers' allocator; it runs
# in the WebAssembly suite), so scripts/test-all.sh runs this one only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitize-build.sh
cmake --build build-sanitize -j2 --target core_tests convergence_test two_clients_example
# detect_leaks: a leak is a bug too. halt_on_error: the first report fails.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-sanitize --output-on-failure -j2
build-sanitize/examples/two_clients_example >/dev/null
echo "two_clients_example: both clients show the server's state"
