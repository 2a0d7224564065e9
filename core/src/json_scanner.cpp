#include "json_scanner.h"

#include <cmath>
#include <cstring>
#include <cstdlib>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::detail {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

size_t utf8SequenceLength(std::string_view text, size_t i, bool* truncated) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) {
    if (truncated) *truncated = true;
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return len;
}

bool JsonScanner::fail(const char* what) {
  error_ = std::string(what) + " at byte " + std::to_string(pos_);
  return false;
}

void JsonScanner::skipWhitespace() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos_;
  }
}

char JsonScanner::peek() {
  skipWhitespace();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool JsonScanner::expect(char c) {
  if (peek() != c) {
    std::string what = std::string("expected '") + c + "'";
    return fail(what.c_str());
  }
  ++pos_;
  return true;
}

bool JsonScanner::atEnd() {
  skipWhitespace();
  return pos_ == text_.size();
}

bool JsonScanner::readString(std::string* out) {
  if (peek() != '"') return fail("expected a string");
  out->clear();
  return scanString(out);
}

// Validates one UTF-8 sequence starting at pos_ (a byte >= 0x80).
bool JsonScanner::scanUtf8() {
  bool truncated = false;
  size_t len = utf8SequenceLength(text_, pos_, &truncated);
  if (len == 0) return fail(truncated ? "truncated UTF-8" : "invalid UTF-8");
  pos_ += len;
  return true;
}

// True when any of the 8 bytes of `x` needs a closer look in a string: a
// quote, a backslash, a control character (< 0x20) or a non-ASCII byte.
static inline bool anySpecial(uint64_t x) {
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  auto hasZero = [&](uint64_t v) { return (v - ones) & ~v & high; };
  return ((x & high) | hasZero(x ^ (ones * '"')) | hasZero(x ^ (ones * '\\')) |
          ((x - ones * 0x20) & ~x & high)) != 0;
}

bool JsonScanner::scanString(std::string* decoded) {
  ++pos_;  // the opening quote
  const char* d = text_.data();
  const size_t n = text_.size();
  while (true) {
    // Plain ASCII runs (most of a value's text) 8 bytes at a time, then
    // byte by byte up to the next byte that needs handling, appended at once.
    size_t run = pos_;
    while (pos_ + 8 <= n) {
      uint64_t x;
      std::memcpy(&x, d + pos_, 8);
      if (anySpecial(x)) break;
      pos_ += 8;
    }
    while (pos_ < n) {
      unsigned char c = static_cast<unsigned char>(d[pos_]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++pos_;
    }
    if (decoded && pos_ > run) decoded->append(d + run, pos_ - run);
    if (pos_ >= text_.size()) return fail("unterminated string");
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      return true;
    }
    if (c < 0x20) return fail("control character in string");
    if (c == '\\') {
      if (pos_ + 1 >= text_.size()) return fail("unterminated escape");
      char e = text_[pos_ + 1];
      pos_ += 2;
      char simple = 0;
      switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': {
          auto hex4 = [&](uint32_t* out) {
            if (pos_ + 4 > text_.size()) return false;
            uint32_t v = 0;
            for (int i = 0; i < 4; ++i) {
              int h = hexValue(text_[pos_ + i]);
              if (h < 0) return false;
              v = (v << 4) | static_cast<uint32_t>(h);
            }
            pos_ += 4;
            *out = v;
            return true;
          };
          uint32_t cp;
          if (!hex4(&cp)) return fail("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 1 < text_.size() && text_[pos_] == '\\' &&
              text_[pos_ + 1] == 'u') {
            size_t save = pos_;
            pos_ += 2;
            uint32_t low;
            if (hex4(&low) && low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = save;  // a lone high surrogate; the next escape stands alone
            }
          }
          // JavaScript strings may hold lone surrogates; UTF-8 cannot.
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          if (decoded) appendUtf8(decoded, cp);
          continue;
        }
        default:
          return fail("bad escape in string");
      }
      if (decoded) decoded->push_back(simple);
      continue;
    }
    if (c >= 0x80) {
      size_t start = pos_;
      if (!scanUtf8()) return false;
      if (decoded) decoded->append(text_.substr(start, pos_ - start));
      continue;
    }
    if (decoded) decoded->push_back(static_cast<char>(c));
    ++pos_;
  }
}

bool JsonScanner::scanNumber() {
  size_t start = pos_;
  if (text_[pos_] == '-') ++pos_;
  if (pos_ >= text_.size() || !isDigit(text_[pos_])) return fail("bad number");
  if (text_[pos_] == '0') {
    ++pos_;
  } else {
    while (pos_ < text_.size() && isDigit(text_[pos_])) ++pos_;
  }
  bool simple = true;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (pos_ >= text_.size() || !isDigit(text_[pos_])) return fail("bad number");
    while (pos_ < text_.size() && isDigit(text_[pos_])) ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    simple = false;
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (pos_ >= text_.size() || !isDigit(text_[pos_])) return fail("bad number");
    while (pos_ < text_.size() && isDigit(text_[pos_])) ++pos_;
  }
  // Only long digit runs or exponents can overflow a double.
  if (!simple || pos_ - start > 300) {
    std::string copy(text_.substr(start, pos_ - start));
    double d = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(d)) return fail("number out of range");
  }
  return true;
}

bool JsonScanner::scanLiteral(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) return fail("unexpected character");
  pos_ += word.size();
  return true;
}

bool JsonScanner::skipValue(int depth, std::string_view* span) {
  char c = peek();
  size_t start = pos_;
  bool ok = true;
  switch (c) {
    case '{':
    case '[': {
      if (depth + 1 > maxDepth_) {
        tooDeep_ = true;
        error_ = "JSON nests deeper than " + std::to_string(maxDepth_) + " levels";
        return false;
      }
      char close = c == '{' ? '}' : ']';
      ++pos_;
      if (peek() == close) {
        ++pos_;
        break;
      }
      while (true) {
        if (c == '{') {
          if (peek() != '"') return fail("expected a member name");
          if (!scanString(nullptr)) return false;
          if (!expect(':')) return false;
        }
        std::string_view ignored;
        if (!skipValue(depth + 1, &ignored)) return false;
        char next = peek();
        ++pos_;
        if (next == close) break;
        if (next != ',') {
          --pos_;
          return fail("expected ',' or a closing bracket");
        }
      }
      break;
    }
    case '"':
      ok = scanString(nullptr);
      break;
    case 't':
      ok = scanLiteral("true");
      break;
    case 'f':
      ok = scanLiteral("false");
      break;
    case 'n':
      ok = scanLiteral("null");
      break;
    case '\0':
      return fail("unexpected end of text");
    default:
      if (c == '-' || isDigit(c)) {
        ok = scanNumber();
      } else {
        return fail("unexpected character");
      }
  }
  if (!ok) return false;
  *span = text_.substr(start, pos_ - start);
  return true;
}

}  // namespace replicore::detail

REPLICORE_SIZE_OPTIMIZED_END
