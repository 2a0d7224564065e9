# Configures build-sanitize/: clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and the libFuzzer targets (sourced by
# test-sanitizers.sh and test-fuzz.sh).
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DREPLICORE_SANITIZE=address,undefined -DREPLICORE_FUZZ=ON >/dev/null
