// The invariant check of the libFuzzer targets: a broken invariant aborts,
// which libFuzzer reports as a crash and keeps the input that caused it.
#ifndef REPLICORE_TESTS_FUZZ_FUZZ_CHECK_H_
#define REPLICORE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

namespace replicore::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace replicore::fuzz

#endif  // REPLICORE_TESTS_FUZZ_FUZZ_CHECK_H_
