// The package's siprintf: enough for the one call it has.
//
// embind built without RTTI names a C++ type after its type id, formatted by
// `siprintf(buffer, "%p", id)` in its __getTypeName (bind.cpp); the glue
// asks for a name only to word an error about an unbound type. That one call
// linked musl's whole printf engine (2 KB of the .wasm, brotli). The package
// links with `-Wl,--wrap=siprintf` (wasm/CMakeLists.txt), so every siprintf
// call lands here instead. This formats "%p" as "0x" and lowercase hex
// digits, and stops the module on any other format: nothing else in
// the package calls it, and a new caller must not get a wrong string
// silently.
#include <emscripten/console.h>

#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int __wrap_siprintf(char* out, const char* format, ...) {
  if (std::strcmp(format, "%p") != 0) {
    emscripten_console_error("replicore: siprintf supports only \"%p\" in this build (wasm/src/embind_type_name.cpp)");
    std::abort();
  }
  va_list args;
  va_start(args, format);
  uintptr_t value = reinterpret_cast<uintptr_t>(va_arg(args, void*));
  va_end(args);
  char digits[2 * sizeof value];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value & 15];
    value >>= 4;
  } while (value != 0);
  char* p = out;
  *p++ = '0';
  *p++ = 'x';
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
  return int(p - out);
}
