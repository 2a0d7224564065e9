#!/usr/bin/env bash
# Builds the core's libFuzzer targets (tests/fuzz/) with clang and
# AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/ (shared
# with scripts/test-sanitizers.sh), then runs
# each: first on the inputs of tests/fuzz/regressions/<target>/ (crashes found
# before), then fuzzing from the seed corpus for FUZZ_SECONDS (default 10)
# seconds. Any crash, sanitizer report or broken invariant fails the run and
# leaves the input in build-sanitize/findings/<target>/: add it to the
# regressions folder with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-10}
source scripts/sanitize-build.sh
targets=(pull_fuzz json_fuzz cookie_fuzz push_fuzz store_fuzz)
cmake --build build-sanitize -j2 --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  bin=build-sanitize/tests/fuzz/$t
  regressions=tests/fuzz/regressions/$t
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "== $t: regression inputs"
    "$bin" "$regressions"/*
  fi
  # A working copy of the corpus: what the run finds stays out of the repository.
  work=build-sanitize/corpus/$t
  mkdir -p "$work" "build-sanitize/findings/$t"
  cp -n tests/fuzz/corpus/$t/* "$work"/ 2>/dev/null || true
  echo "== $t: fuzzing for ${seconds}s"
  "$bin" "$work" -dict=tests/fuzz/json.dict -max_len=4096 -max_total_time="$seconds" \
    -artifact_prefix="build-sanitize/findings/$t/" -print_final_stats=1 2>&1 | tail -4
  test "${PIPESTATUS[0]}" -eq 0
done
echo "fuzzing: no findings"
