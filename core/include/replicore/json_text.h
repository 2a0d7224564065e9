// Reading and writing JSON as text, without building a tree.
//
// The core keeps JSON as text from end to end: values, mutation args,
// cookies and request bodies. These are the few operations it needs on such
// text. Why no JSON library on these paths: a JSON DOM with its parser and
// printer was about a third of the WebAssembly module, for work that a
// one-pass scanner and a small writer do faster. The C++ convenience API
// (Value::json(), Json mutators) still uses nlohmann; a build that never
// calls it (the WebAssembly package) does not link it.
#ifndef REPLICORE_JSON_TEXT_H_
#define REPLICORE_JSON_TEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace replicore {

// Appends `s` as a JSON string literal. Bytes that are not UTF-8 become
// U+FFFD, so the output is always valid JSON.
void appendJsonString(std::string& out, std::string_view s);

// Appends the decimal digits of `n` (a JSON number), without the
// allocation of std::to_string.
void appendJsonInteger(std::string& out, uint64_t n);

// Appends `d` as JSON. An integer of at most 2^53 prints as its digits (as
// JavaScript prints it); another finite number prints in the shortest
// decimal form that reads back as `d` (17 significant digits at most), in
// exponent form outside [1e-6, 1e21) as JavaScript does. A non-finite
// number prints `null`, as JSON.stringify does.
void appendJsonNumber(std::string& out, double d);

// One member of a JSON object: its key, decoded, and its value as a span of
// the text it was read from.
struct JsonMember {
  std::string key;
  std::string_view value;
};

// Reads the members of the JSON object `text`, in order. A key given twice
// keeps its first position and its last value, as JSON.parse does. Returns
// false, with *error set when given, when `text` is not exactly one valid
// JSON object (surrounding whitespace allowed) or nests deeper than
// `maxDepth` (the object itself is depth 1).
bool readJsonObject(std::string_view text, int maxDepth, std::vector<JsonMember>* members,
                    std::string* error = nullptr);

// The string that the JSON string literal `text` spells (escapes decoded,
// a lone surrogate escape as U+FFFD), or nullopt when `text` is not exactly
// one valid JSON string.
std::optional<std::string> readJsonString(std::string_view text);

// The number that the JSON number `text` spells, or nullopt when `text` is
// not exactly one valid, finite JSON number.
std::optional<double> readJsonNumber(std::string_view text);

// True when `text` is exactly one JSON value no deeper than `maxDepth`.
bool isValidJson(std::string_view text, int maxDepth, std::string* error = nullptr);

}  // namespace replicore

#endif  // REPLICORE_JSON_TEXT_H_
