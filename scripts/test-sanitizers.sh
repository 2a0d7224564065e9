#!/usr/bin/env bash
# Builds the core's native tests with AddressSanitizer and
# UndefinedBehaviorSanitizer (their own build folder, build-sanitize/) and
# runs them under ctest. Any finding aborts its test, so this passes only
# when the suite is clean.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DREPLICORE_SANITIZE=address,undefined >/dev/null
cmake --build build-sanitize -j2 --target core_tests convergence_test
# detect_leaks: a leak is a bug too. halt_on_error: the first report fails.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-sanitize --output-on-failure -j2
