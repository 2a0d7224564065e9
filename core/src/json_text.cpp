#include "replicore/json_text.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "json_scanner.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

// a * 10^k, in steps that stay exact as long as the powers are, and never
// overflow midway for a result in range.
double scaleByPow10(double a, int k) {
  static const double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  while (k > 22) {
    a *= 1e22;
    k -= 22;
  }
  while (k < -22) {
    a /= 1e22;
    k += 22;
  }
  return k >= 0 ? a * kPow10[k] : a / kPow10[-k];
}

// `digits` (no trailing zeros) times 10^(point - digits.size()), written as
// JavaScript's Number#toString writes it.
void appendDecimal(std::string& out, const std::string& digits, int point) {
  int k = static_cast<int>(digits.size());
  if (k <= point && point <= 21) {
    out += digits;
    out.append(size_t(point - k), '0');
  } else if (0 < point && point <= 21) {
    out.append(digits, 0, size_t(point));
    out += '.';
    out.append(digits, size_t(point), std::string::npos);
  } else if (-6 < point && point <= 0) {
    out += "0.";
    out.append(size_t(-point), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += point - 1 >= 0 ? '+' : '-';
    appendJsonInteger(out, uint64_t(std::abs(point - 1)));
  }
}

}  // namespace

void appendJsonInteger(std::string& out, uint64_t n) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = char('0' + n % 10);
    n /= 10;
  } while (n);
  out.append(p, size_t(end - p));
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  size_t run = 0;  // start of the stretch that needs no escaping
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t len = detail::utf8SequenceLength(s, i);
      if (len) {
        i += len;
        continue;
      }
      out.append(s.data() + run, i - run);
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      run = ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    run = ++i;
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      // \u00XX by hand: snprintf would pull printf and its float code into
      // the .wasm.
      const char* hex = "0123456789abcdef";
      char buf[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(buf, 6);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void appendJsonNumber(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  // Zero first: -0 prints as 0, as in JavaScript, and nothing already in
  // `out` (which may be empty, or end in an unrelated '-') is looked at.
  if (d == 0) {
    out += '0';
    return;
  }
  if (d < 0) {
    out += '-';
    d = -d;
  }
  if (std::floor(d) == d && d <= 9007199254740992.0) {
    appendJsonInteger(out, static_cast<uint64_t>(d));
    return;
  }
  // The 17 significant digits of d, as an integer m17 in [1e16, 1e17) with
  // d ~= m17 * 10^(e - 16). The scaling may be off by an ulp; every
  // candidate below is checked by reading it back.
  int binaryExponent = 0;
  std::frexp(d, &binaryExponent);
  int e = static_cast<int>(std::floor((binaryExponent - 1) * 0.30102999566398120));
  uint64_t m17 = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    double scaled = std::nearbyint(scaleByPow10(d, 16 - e));
    if (scaled >= 1e17) {
      ++e;
    } else if (scaled < 1e16) {
      --e;
    } else {
      m17 = static_cast<uint64_t>(scaled);
      break;
    }
  }
  if (m17 == 0) m17 = static_cast<uint64_t>(std::nearbyint(scaleByPow10(d, 16 - e)));
  // Step m17 to a 17-digit decimal that reads back as d: 17 digits are finer
  // than a double's spacing, and the scaling is off by a few units at most.
  constexpr uint64_t kLow17 = 10000000000000000ull, kHigh17 = 99999999999999999ull;
  auto read17 = [&](uint64_t m) {
    std::string digits, text;
    appendJsonInteger(digits, m);
    appendDecimal(text, digits, e + 1);
    return std::strtod(text.c_str(), nullptr);
  };
  for (int step = 0; step < 128; ++step) {
    double back = read17(m17);
    if (back == d) break;
    if (back < d) {
      if (m17 == kHigh17) {
        m17 = kLow17;
        ++e;
      } else {
        ++m17;
      }
    } else if (m17 == kLow17) {
      m17 = kHigh17;
      --e;
    } else {
      --m17;
    }
  }
  // The shortest p-digit decimal that reads back as d is m17 cut to p
  // digits, rounded down or up: try the nearer first.
  std::string candidate;
  auto reads = [&](uint64_t q, uint64_t limit) {
    int point = e + 1;
    if (q >= limit) {  // rounding carried into a new digit (9.99 -> 10.0)
      q /= 10;
      ++point;
    }
    std::string digits;
    appendJsonInteger(digits, q);
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    candidate.clear();
    appendDecimal(candidate, digits, point);
    return std::strtod(candidate.c_str(), nullptr) == d;
  };
  uint64_t divisor = 10000000000000000ull;  // 10^16: one digit kept
  uint64_t limit = 10;
  for (int p = 1; p < 17; ++p, divisor /= 10, limit *= 10) {
    uint64_t down = m17 / divisor;
    bool upFirst = m17 % divisor >= divisor / 2;
    if (reads(upFirst ? down + 1 : down, limit) || reads(upFirst ? down : down + 1, limit)) {
      out += candidate;
      return;
    }
  }
  reads(m17, limit);
  out += candidate;
}

bool readJsonObject(std::string_view text, int maxDepth, std::vector<JsonMember>* members, std::string* error) {
  detail::JsonScanner s(text, maxDepth);
  members->clear();
  auto failed = [&](const std::string& why) {
    if (error) *error = why;
    members->clear();
    return false;
  };
  if (maxDepth < 1 || s.peek() != '{') return failed("not a JSON object");
  s.expect('{');
  // Where each key is in `members`, for keys given twice.
  std::map<std::string, size_t> index;
  if (s.peek() == '}') {
    s.expect('}');
  } else {
    std::string key;
    while (true) {
      if (!s.readString(&key) || !s.expect(':')) return failed(s.error());
      std::string_view value;
      if (!s.skipValue(1, &value)) return failed(s.error());
      auto [at, fresh] = index.emplace(key, members->size());
      if (fresh) {
        members->push_back({key, value});
      } else {
        (*members)[at->second].value = value;
      }
      char next = s.peek();
      if (next == '}') {
        s.expect('}');
        break;
      }
      if (!s.expect(',')) return failed(s.error());
    }
  }
  if (!s.atEnd()) return failed("text after the end of the object");
  return true;
}

std::optional<std::string> readJsonString(std::string_view text) {
  detail::JsonScanner s(text, 1);
  std::string out;
  if (!s.readString(&out) || !s.atEnd()) return std::nullopt;
  return out;
}

std::optional<double> readJsonNumber(std::string_view text) {
  detail::JsonScanner s(text, 1);
  char c = s.peek();
  if (c != '-' && (c < '0' || c > '9')) return std::nullopt;
  std::string_view span;
  if (!s.skipValue(0, &span) || !s.atEnd()) return std::nullopt;
  std::string copy(span);
  double d = std::strtod(copy.c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

bool isValidJson(std::string_view text, int maxDepth, std::string* error) {
  detail::JsonScanner s(text, maxDepth);
  std::string_view span;
  if (!s.skipValue(0, &span)) {
    if (error) *error = s.error();
    return false;
  }
  if (!s.atEnd()) {
    if (error) *error = "text after the end of the value";
    return false;
  }
  return true;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
