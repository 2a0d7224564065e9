// Core (core_binding.h), persistence: loading, lazily read pages, write
// plans, other tabs' chunks and journals, all through the Persister
// (core/persister.h).
#include "core_binding.h"

#include <emscripten/val.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store_binding.h"
#include "replicore/persister.h"
#include "replicore/replica.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

void Core::persistInit(std::string groupID, double pageBytes, double clientMaxAgeMs) {
  PersistOptions o;
  if (pageBytes > 0) o.pageBytes = size_t(pageBytes);
  if (clientMaxAgeMs > 0) o.clientMaxAgeMs = clientMaxAgeMs;
  persister_ = std::make_unique<Persister>(replica_.get(), std::move(groupID), o);
}

std::string Core::loadBegin(uintptr_t ptr, size_t len, bool lazy) {
  return guard(std::string(), [&] {
    if (!persister_) return fail(std::string(), "no persister");
    auto heads = readRecords(ptr, len);
    heads.resize(2);
    loadKeys_ = persister_->beginLoad(heads[0], heads[1], lazy);
    if (persister_->report().fresh) return loadReportJson(persister_->report());
    return keysJson(loadKeys_);
  });
}

std::string Core::loadContinue(uintptr_t ptr, size_t len) {
  return guard(std::string(), [&] {
    if (!persister_) return fail(std::string(), "no persister");
    loadKeys_ = persister_->continueLoad(readRecords(ptr, len));
    if (loadKeys_.empty()) return loadReportJson(persister_->report());
    return keysJson(loadKeys_);
  });
}

std::string Core::missedKeys(double bytes) {
  return guard(std::string(), [&] {
    std::string out;
    if (!persister_) return out;
    std::set<std::string> seen;
    for (uint64_t page : missedPages_) {
      for (std::string& key : persister_->unloadedPageKeys(page, uint64_t(bytes))) {
        if (!seen.insert(key).second) continue;
        if (!out.empty()) out += '\0';
        out += key;
      }
    }
    missedPages_.clear();
    return out;
  });
}

std::string Core::nextPageKeys(double bytes) {
  return guard(std::string(), [&] {
    std::string out;
    if (!persister_) return out;
    for (std::string& key : persister_->unloadedPageKeys(std::nullopt, uint64_t(bytes))) {
      if (!out.empty()) out += '\0';
      out += key;
    }
    return out;
  });
}

std::string Core::fillPages(std::string keys, uintptr_t ptr, size_t len) {
  return guard(std::string("fillPages failed"), [&] {
    std::string out;
    if (!persister_) return out;
    std::vector<std::string> list;
    size_t at = 0;
    while (at <= keys.size() && !keys.empty()) {
      size_t end = keys.find('\0', at);
      if (end == std::string::npos) end = keys.size();
      list.push_back(keys.substr(at, end - at));
      at = end + 1;
    }
    for (const std::string& p : persister_->fillPages(list, readRecordViews(ptr, len))) {
      if (!out.empty()) out += '\0';
      out += p;
    }
    return out;
  });
}

emscripten::val Core::writePlan(uintptr_t ptr, size_t len, double nowMs) {
  plan_ = StoreBatch();
  out_ = guard(std::string(), [&] {
    if (!persister_) return fail(std::string(), "no persister");
    auto heads = readRecords(ptr, len);
    heads.resize(2);
    plan_ = persister_->planWrite(heads[0], heads[1], nowMs);
    return encodeStoreBatchIndex(plan_);
  });
  return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
}

void Core::writeDone(bool committed) {
  plan_ = StoreBatch();
  if (persister_) persister_->writeDone(committed);
}

std::string Core::refreshPlan(uintptr_t ptr, size_t len) {
  return guard(std::string("[]"), [&] {
    if (!persister_) return std::string("[]");
    auto heads = readRecords(ptr, len);
    heads.resize(2);
    return keysJson(persister_->planRefresh(heads[0], heads[1]));
  });
}

int Core::takeForeign(std::string keysJsonText, uintptr_t ptr, size_t len) {
  return guard(-1, [&] {
    if (!persister_) return fail(-1, "no persister");
    std::vector<std::string> keys;
    // Keys are ASCII store keys the core made: a flat array of strings.
    std::string_view text = keysJsonText;
    size_t at = 0;
    while ((at = text.find('"', at)) != std::string_view::npos) {
      size_t end = text.find('"', at + 1);
      if (end == std::string_view::npos) break;
      keys.emplace_back(text.substr(at + 1, end - at - 1));
      at = end + 1;
    }
    std::vector<std::string> problems;
    std::vector<Mutation> more = persister_->takeForeign(keys, readRecords(ptr, len), &problems);
    for (Mutation& m : more) foreign_.push_back(std::move(m));
    if (!problems.empty()) {
      lastError_.clear();
      for (const std::string& p : problems) lastError_ += (lastError_.empty() ? "" : "; ") + p;
    }
    return int(more.size());
  });
}

std::string Core::journal() {
  return guard(std::string(), [&] { return persister_ ? persister_->journal(nullptr) : std::string(); });
}

int Core::takeJournal(std::string record) {
  return guard(-1, [&] {
    if (!persister_) return fail(-1, "no persister");
    RecordProblem problem;
    std::optional<std::vector<Mutation>> more = persister_->takeJournal(record, &problem);
    if (!more) return fail(-1, ("journal: " + problem.message).c_str());
    for (Mutation& m : *more) foreign_.push_back(std::move(m));
    return int(more->size());
  });
}

std::string Core::replayBegin() {
  return guard(std::string("{\"started\":false}"), [&] {
    // Another write is open: the foreign mutations wait for the next one.
    if (rebase_ || pendingWrite_) return std::string("{\"started\":false}");
    std::vector<Mutation> more = std::move(foreign_);
    foreign_.clear();
    rebase_ = replica_->beginReplay(std::move(more));
    return std::string("{\"started\":true}");
  });
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
