// libFuzzer target: a push response body (parsePushResponse) and a push
// request body built from fuzzed mutations (buildPushBodyWithin). Nothing
// crashes; a body built is valid JSON whose mutations are the leading ones
// given, and within the byte limit whenever it holds more than one.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/json_text.h"
#include "replicore/protocol.h"
#include "fuzz/fuzz_check.h"

using namespace replicore;

namespace {
using fuzz::check;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parsePushResponse(text);

  // Mutations whose names and args come from the input: args are kept only
  // when they are valid JSON (hosts give valid JSON text).
  std::vector<Mutation> mutations;
  size_t limit = 64 + (size % 2048);
  uint64_t id = 1;
  for (size_t at = 0; at < text.size() && mutations.size() < 16;) {
    size_t len = std::min<size_t>(text.size() - at, 1 + text[at] % 97);
    std::string_view chunk = text.substr(at, len);
    at += len;
    Mutation m;
    m.clientID = "c" + std::to_string(id % 3);
    m.id = id++;
    m.name = std::string(chunk.substr(0, 8));
    if (isValidJson(chunk, 64)) m.args = Value::fromText(std::string(chunk));
    m.timestamp = double(at) / 7;
    mutations.push_back(std::move(m));
  }
  if (mutations.empty()) return 0;
  size_t taken = 0;
  RequestIdentity who{"prof", "group", "sv"};
  std::string body = buildPushBodyWithin(who, mutations, limit, &taken);
  check(taken >= 1 && taken <= mutations.size(), "at least one mutation, at most all");
  if (taken > 1) check(body.size() <= limit, "within the limit when more than one");
  check(isValidJson(body, 128), "the body is JSON");
  // Args may hold lone surrogate escapes, which JSON (and JSON.parse on the
  // server) accepts and a Json cannot hold: the rest is checked where it can.
  std::string error;
  std::optional<Json> read = parseJsonLimited(body, 128, &error);
  if (!read) return 0;
  const Json& parsed = *read;
  check(parsed["mutations"].size() == taken, "the body holds the mutations taken");
  for (size_t i = 0; i < taken; ++i) check(parsed["mutations"][i]["id"] == mutations[i].id, "in order");
  return 0;
}
