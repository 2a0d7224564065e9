// JsonScanner: a strict JSON reader (RFC 8259) that validates text without
// building a tree and hands back the exact text span of each value, so a pull
// response of 10,000 values is checked in one pass and its values are kept
// as text slices instead of being parsed and printed again.
//
// Nesting deeper than `maxDepth` is an error, so a hostile body cannot
// exhaust the stack; numbers that overflow a double are an error; strings
// must be valid UTF-8. Internal to the core.
#ifndef REPLICORE_SRC_JSON_SCANNER_H_
#define REPLICORE_SRC_JSON_SCANNER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace replicore::detail {

// The length of the UTF-8 sequence starting at text[i] (a byte >= 0x80), or
// 0 when it is not a valid one (overlong forms, surrogates and code points
// above U+10FFFF included). *truncated, when given, tells whether the text
// ended inside an otherwise well-started sequence.
size_t utf8SequenceLength(std::string_view text, size_t i, bool* truncated = nullptr);

class JsonScanner {
 public:
  JsonScanner(std::string_view text, int maxDepth) : text_(text), maxDepth_(maxDepth) {}

  // The next non-whitespace character, or '\0' at the end (not consumed).
  char peek();
  // Consumes `c` (after whitespace) or fails.
  bool expect(char c);
  // True when only whitespace is left.
  bool atEnd();
  // Reads one string and decodes it into `out` (UTF-8).
  bool readString(std::string* out);
  // Validates one value at nesting `depth` (0 for the top level) and sets
  // `span` to its text.
  bool skipValue(int depth, std::string_view* span);

  // Why the last call failed, with the byte offset.
  const std::string& error() const { return error_; }
  // True when the failure was nesting, not syntax.
  bool tooDeep() const { return tooDeep_; }

 private:
  bool fail(const char* what);
  void skipWhitespace();
  bool scanString(std::string* decoded);
  bool scanNumber();
  bool scanLiteral(std::string_view word);
  bool scanUtf8();

  std::string_view text_;
  size_t pos_ = 0;
  int maxDepth_;
  bool tooDeep_ = false;
  std::string error_;
};

}  // namespace replicore::detail

#endif  // REPLICORE_SRC_JSON_SCANNER_H_
