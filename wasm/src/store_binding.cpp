// See store_binding.h.
#include "store_binding.h"

#include <emscripten/bind.h>

#include <cstring>

#include "replicore/json_text.h"
#include "replicore/persister.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

std::vector<std::optional<std::string_view>> readRecordViews(uintptr_t ptr, size_t len) {
  std::vector<std::optional<std::string_view>> out;
  const char* p = reinterpret_cast<const char*>(ptr);
  const char* end = p + len;
  while (end - p >= 4) {
    int32_t n;
    std::memcpy(&n, p, 4);
    p += 4;
    if (n < 0 || n > end - p) {
      out.emplace_back();
      continue;
    }
    out.emplace_back(std::string_view(p, size_t(n)));
    p += n;
  }
  return out;
}

std::vector<std::optional<std::string>> readRecords(uintptr_t ptr, size_t len) {
  std::vector<std::optional<std::string>> out;
  for (const std::optional<std::string_view>& r : readRecordViews(ptr, len)) {
    if (r) out.emplace_back(std::string(*r));
    else out.emplace_back();
  }
  return out;
}


namespace {

void appendU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

std::string encodeStoreBatchIndex(const StoreBatch& batch) {
  std::string out;
  size_t bytes = 4;
  for (const auto& [key, value] : batch.ops) bytes += 9 + key.size() + (value ? 8 * value->pieceCount() : 0);
  for (const std::string& key : batch.foreignChunks) bytes += 5 + key.size();
  out.reserve(bytes);
  appendU32(out, uint32_t(batch.ops.size() + batch.foreignChunks.size()));
  for (const auto& [key, value] : batch.ops) {
    out += char(value ? 1 : 0);
    appendU32(out, uint32_t(key.size()));
    out += key;
    if (value) {
      appendU32(out, uint32_t(value->pieceCount()));
      for (size_t i = 0; i < value->pieceCount(); ++i) {
        std::string_view piece = value->piece(i);
        appendU32(out, uint32_t(piece.size()));
        appendU32(out, uint32_t(reinterpret_cast<uintptr_t>(piece.data())));
      }
    }
  }
  for (const std::string& key : batch.foreignChunks) {
    out += char(2);
    appendU32(out, uint32_t(key.size()));
    out += key;
  }
  return out;
}

std::string keysJson(const std::vector<std::string>& keys) {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, keys[i]);
  }
  return out + "]}";
}

std::string loadReportJson(const LoadReport& r) {
  std::string out = "{\"done\":true,\"fresh\":";
  out += r.fresh ? "true" : "false";
  out += ",\"newerFormat\":";
  out += r.newerFormat ? "true" : "false";
  out += ",\"confirmedDropped\":";
  out += r.confirmedDropped ? "true" : "false";
  out += ",\"entries\":";
  appendJsonInteger(out, r.entries);
  out += ",\"pending\":";
  appendJsonInteger(out, r.pending);
  out += ",\"problems\":[";
  for (size_t i = 0; i < r.problems.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, r.problems[i]);
  }
  return out + "]}";
}

namespace {

// The client group for (schemaVersion, mutator names joined by NUL) from
// the registry record (empty: none). JSON {"groupID","created","registry",
// "expired":[...],"problem"}.
std::string storeChooseGroup(std::string registry, bool hasRegistry, std::string schemaVersion, std::string names,
                             std::string newID, double nowMs, double maxAgeMs) {
  std::vector<std::string> mutatorNames;
  size_t start = 0;
  while (start < names.size()) {
    size_t end = names.find('\0', start);
    if (end == std::string::npos) end = names.size();
    mutatorNames.push_back(names.substr(start, end - start));
    start = end + 1;
  }
  std::string problem;
  GroupChoice c = chooseGroup(hasRegistry ? std::optional<std::string>(std::move(registry)) : std::nullopt,
                              schemaVersion, std::move(mutatorNames), newID, nowMs, maxAgeMs, &problem);
  std::string out = "{\"groupID\":";
  appendJsonString(out, c.groupID);
  out += ",\"created\":";
  out += c.created ? "true" : "false";
  out += ",\"registry\":";
  appendJsonString(out, c.registry);
  out += ",\"problem\":";
  appendJsonString(out, problem);
  out += ",\"expired\":[";
  for (size_t i = 0; i < c.expired.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, c.expired[i]);
  }
  return out + "]}";
}

// Collecting an expired group (core/persister.h, groupRecords): given its
// head slots (as records, see readRecords) and the registry, the registry
// without it, then the keys to delete, NUL-separated; "" when the group
// still has unconfirmed mutations and must stay, unless `force` (the server
// no longer knows the group: nothing of it can ever be pushed).
std::string storeCollectGroup(std::string groupID, uintptr_t ptr, size_t len, bool force) {
  std::vector<std::optional<std::string>> records = readRecords(ptr, len);
  records.resize(3);  // head0, head1, registry
  bool pending = false;
  std::vector<std::string> keys = groupRecords(groupID, records[0], records[1], &pending);
  if (pending && !force) return std::string();
  std::string out = registryWithout(records[2], groupID);
  for (const std::string& k : keys) {
    out += '\0';
    out += k;
  }
  return out;
}

}  // namespace

EMSCRIPTEN_BINDINGS(replicore_store) {
  emscripten::function("storeChooseGroup", &storeChooseGroup);
  emscripten::function("storeCollectGroup", &storeCollectGroup);
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
