#!/usr/bin/env bash
# Builds the core's native tests with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (their own build folder, build-sanitize/, which
# scripts/test-fuzz.sh shares: one build serves both) and runs them under
# ctest. Any finding aborts its test, so this passes only when the suite is
# clean.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitize-build.sh
cmake --build build-sanitize -j2 --target core_tests convergence_test
# detect_leaks: a leak is a bug too. halt_on_error: the first report fails.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-sanitize --output-on-failure -j2
