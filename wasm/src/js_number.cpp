// strtod for the WebAssembly package: the JavaScript engine's own exact
// number parser instead of musl's, which links about 15 KB of 128-bit soft
// float code (strtod, __multf3, __divtf3, fmodl, ...) into the .wasm.
//
// The core parses numbers only from JSON text it has validated (and
// appendJsonNumber reads its own output back), so this strtod reads decimal
// numbers: optional whitespace and sign, digits with an optional fraction,
// an optional exponent. It does not read hex floats, "inf" or "nan" (0 and
// no characters consumed, as for any text without a number). A result
// outside the double range is +-Infinity or 0, as from musl's strtod; errno
// is not set (nothing in the package reads it).
#include <emscripten/emscripten.h>

#include <cstddef>
#include <cstdint>

namespace {

// The text is ASCII (sign, digits, '.', 'e'): read byte by byte, not with
// UTF8ToString, which this build points at TextDecoder.decode for every
// string (-sTEXTDECODER=2); a decode call costs ~1.5 us in Chromium, and
// appendJsonNumber reads up to 34 candidates back per fractional number (a
// mutation's timestamp): 766 of 967 ms of row 2 in Chromium went there.
EM_JS(double, replicore_js_number, (const char* text, size_t length), {
  var s = "";
  for (var i = 0; i < length; i++) s += String.fromCharCode(HEAPU8[text + i]);
  return Number(s);
});

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

extern "C" double strtod(const char* text, char** end) {
  const char* p = text;
  while (*p == ' ' || (*p >= '\t' && *p <= '\r')) ++p;
  const char* start = p;
  if (*p == '+' || *p == '-') ++p;
  const char* digits = p;
  while (isDigit(*p)) ++p;
  bool any = p > digits;
  if (*p == '.') {
    const char* fraction = ++p;
    while (isDigit(*p)) ++p;
    any = any || p > fraction;
  }
  if (!any) {
    if (end) *end = const_cast<char*>(text);
    return 0;
  }
  if (*p == 'e' || *p == 'E') {
    const char* q = p + 1;
    if (*q == '+' || *q == '-') ++q;
    if (isDigit(*q)) {
      while (isDigit(*q)) ++q;
      p = q;
    }
  }
  if (end) *end = const_cast<char*>(p);
  // A whole number of up to 15 digits is exact in a double: no crossing.
  if (p - start <= 16 && (p - digits) <= 15) {
    uint64_t whole = 0;
    const char* q = digits;
    while (q < p && isDigit(*q)) whole = whole * 10 + static_cast<uint64_t>(*q++ - '0');
    if (q == p) return *start == '-' ? -static_cast<double>(whole) : static_cast<double>(whole);
  }
  return replicore_js_number(start, static_cast<size_t>(p - start));
}

// libc++'s std::sto* live in one object with std::to_string, which the
// core uses; its references to these would otherwise pull musl's strtod
// object back in (and with it a second strtod).
extern "C" float strtof(const char* text, char** end) { return static_cast<float>(strtod(text, end)); }
extern "C" long double strtold(const char* text, char** end) { return strtod(text, end); }
