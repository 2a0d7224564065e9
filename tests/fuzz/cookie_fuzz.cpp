// libFuzzer target: cookie parsing and ordering. The input is up to three
// cookies' JSON texts separated by newlines. For every valid cookie:
//  - compareCookies is reflexive and antisymmetric, and transitive over
//    three cookies of one kind (numbers, or strings), so a client's "is this
//    pull newer" answer is consistent for any one server. (Across kinds the
//    protocol's rule, strings if either is one, has cycles: 1e12 < "11" <
//    900.5 < 1e12. Replicache's rule; no server mixes kinds.)
//  - its text is kept exactly as received (what is sent back is what came).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/protocol.h"
#include "fuzz/fuzz_check.h"

using namespace replicore;

namespace {
using fuzz::check;
int sign(int v) { return (v > 0) - (v < 0); }
char kind(const Cookie& c) {
  char first = c.text().empty() ? ' ' : c.text()[0];
  return first == '-' || (first >= '0' && first <= '9') ? '0' : first;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Cookie> cookies;
  while (cookies.size() < 3) {
    size_t end = input.find('\n');
    std::string_view part = input.substr(0, end);
    std::optional<Cookie> c = Cookie::fromText(part);
    if (c && c->valid()) {
      check(c->text() == part, "a cookie keeps its text");
      cookies.push_back(*c);
    }
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  for (const Cookie& a : cookies) {
    check(compareCookies(a, a) == 0, "reflexive");
    for (const Cookie& b : cookies) {
      check(sign(compareCookies(a, b)) == -sign(compareCookies(b, a)), "antisymmetric");
      for (const Cookie& c : cookies) {
        bool oneKind = kind(a) == kind(b) && kind(b) == kind(c) && (kind(a) == '0' || kind(a) == '"');
        if (oneKind && compareCookies(a, b) <= 0 && compareCookies(b, c) <= 0) {
          check(compareCookies(a, c) <= 0, "transitive");
        }
      }
    }
  }
  return 0;
}
