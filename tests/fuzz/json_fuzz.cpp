// libFuzzer target: the core's JSON scanner (isValidJson, readJsonObject,
// parseJsonLimited) against nlohmann, the reference parser of the tests.
//  - nothing crashes or trips a sanitizer, however deep or broken the text;
//  - what the core calls valid JSON, nlohmann parses too, to the same value
//    that parseJsonLimited gives (but for lone surrogate escapes, which
//    JSON's grammar and JSON.parse accept and nlohmann refuses);
//  - an object readJsonObject reads has the members nlohmann sees (the last
//    value of a repeated key, as JavaScript keeps it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "replicore/json_text.h"
#include "replicore/protocol.h"
#include "fuzz/fuzz_check.h"

using namespace replicore;

namespace {
using fuzz::check;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const int depth = 32;
  std::string why;
  bool valid = isValidJson(text, depth, &why);
  std::string error;
  std::optional<Json> parsed = parseJsonLimited(text, depth, &error);
  if (parsed) check(valid && !parsed->is_discarded(), "a value parsed is valid JSON");
  if (valid) {
    // JSON's grammar (and JSON.parse) accepts a lone surrogate escape such
    // as "\ud800", which nlohmann refuses: only there may they differ, and
    // parseJsonLimited then says so.
    try {
      Json reference = Json::parse(text);
      check(parsed && reference == *parsed, "the same value as nlohmann");
    } catch (const Json::parse_error& e) {
      check(std::string_view(e.what()).find("surrogate") != std::string_view::npos,
            "valid to the core, valid to nlohmann (but for lone surrogate escapes)");
      check(!parsed && error.find("surrogate") != std::string::npos, "parseJsonLimited refuses a lone surrogate");
    }
  } else {
    check(!parsed, "isValidJson and parseJsonLimited agree");
  }
  std::vector<JsonMember> members;
  if (readJsonObject(text, depth, &members, &error)) {
    check(valid, "an object read is valid JSON");
    Json reference = Json::parse(text, nullptr, false);
    if (!reference.is_discarded()) {
      check(reference.is_object(), "an object read is an object");
      for (const JsonMember& m : members) check(reference.contains(m.key), "each member read is a member");
    }
  }
  return 0;
}
