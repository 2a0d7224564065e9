// Core (core_binding.h): the read side, read transactions, get/has/scan
// and index scans, and the ids and value texts they send to JS's cache.
#include "core_binding.h"

#include <emscripten/val.h>

#include <optional>
#include <string>
#include <utility>

#include "scan_answer.h"
#include "replicore/json_text.h"
#include "replicore/replica.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

namespace {

// What get() answers when the value lies in a page of the store that a
// lazy open has not read yet (value ids are whole numbers).
constexpr double kMissed = 0.5;

}  // namespace

int Core::openRead(int subID) {
  return guard(0, [&] {
    ReadSet* rs = nullptr;
    if (subID > 0) {
      auto it = subs_.find(subID);
      if (it != subs_.end()) {
        it->second.clear();
        rs = &it->second;
      }
    }
    int id = nextRead_++;
    reads_[id] = replica_->read(rs);
    return id;
  });
}

double Core::get(int txID, std::string key) {
  return guard(0.0, [&] {
    ReadTransaction* tx = txFor(txID);
    if (!tx) return 0.0;
    ValuePtr v = tx->get(key);
    if (missed(tx)) return kMissed;
    if (!v) return 0.0;
    return idFor(v);
  });
}

emscripten::val Core::takeValueText() {
  out_ = std::move(valueText_);
  valueText_.clear();
  return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
}

int Core::has(int txID, std::string key) {
  return guard(0, [&] {
    ReadTransaction* tx = txFor(txID);
    if (!tx) return 0;
    bool yes = tx->has(key);
    return missed(tx) ? 2 : yes ? 1 : 0;
  });
}

int Core::isEmpty(int txID) {
  return guard(1, [&] {
    ReadTransaction* tx = txFor(txID);
    if (!tx) return 1;
    bool yes = tx->isEmpty();
    return missed(tx) ? 2 : yes ? 1 : 0;
  });
}

emscripten::val Core::scan(int txID, std::string prefix, std::string startKey, int flags, double limit) {
  if (!scanInto(txID, std::move(prefix), std::move(startKey), flags, limit)) out_.clear();
  return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
}

bool Core::scanInto(int txID, std::string prefix, std::string startKey, int flags, double limit) {
  scanRest_.reset();
  return guard(false, [&] {
    ReadTransaction* tx = txFor(txID);
    if (!tx) return false;
    ScanOptions so;
    so.prefix = std::move(prefix);
    if (flags & 1) so.startKey = std::move(startKey);
    so.startExclusive = (flags & 2) != 0;
    if (limit >= 0) so.limit = size_t(limit);
    const bool keysOnly = (flags & 4) != 0;  // keys(): no value texts
    if (!replica_->fullyLoaded()) {
      // A lazy open: find out first, cheaply, whether the scan needs a
      // page not read yet, rather than build an answer to throw away.
      tx->scanEach(so, [](const std::string&, const ValuePtr&) { return true; });
      if (missed(tx)) {
        ScanAnswer::packMissed(out_);
        return true;
      }
    }
    ScanAnswer answer;
    // scanEach records the scan in the transaction's ReadSet like scan().
    tx->scanEach(so, [&](const std::string& key, const ValuePtr& v) {
      answer.addKey(key);
      noteEntry(answer, v, keysOnly);
      return true;
    });
    if (answer.nul) {
      // Rare (a key holding a NUL): the keys again, as a JSON array.
      answer.keys = "[";
      bool first = true;
      tx->scanEach(so, [&](const std::string& key, const ValuePtr&) {
        if (!first) answer.keys += ',';
        first = false;
        appendJsonString(answer.keys, key);
        return true;
      });
      answer.keys += ']';
    }
    if (answer.packInto(out_)) scanRest_ = std::make_unique<ScanAnswer>(std::move(answer));
    return true;
  });
}

void Core::stageIndexKeys(uintptr_t ptr, size_t len) {
  stagedIndexKeys_.assign(reinterpret_cast<const char*>(ptr), len);
}

emscripten::val Core::scanIndex(int txID, std::string name, std::string prefix, std::string startSecondary,
                                std::string startPrimary, int flags, double limit) {
  scanRest_.reset();
  bool ok = guard(false, [&] {
    ReadTransaction* tx = txFor(txID);
    if (!tx) return false;
    std::optional<size_t> index = tx->indexNumber(name);
    if (!index) return fail(false, ("Unknown index name: " + name).c_str());
    IndexScanOptions so;
    so.prefix = std::move(prefix);
    if (flags & 1) {
      so.startSecondary = std::move(startSecondary);
      if (flags & 8) so.startPrimary = std::move(startPrimary);
    }
    so.startExclusive = (flags & 2) != 0;
    if (limit >= 0) so.limit = size_t(limit);
    const bool keysOnly = (flags & 4) != 0;
    ScanAnswer answer;
    tx->scanIndexEach(*index, so, [&](const IndexKey& key, const ValuePtr& v) {
      answer.addKey(key.secondary);
      answer.keys += '\0';
      answer.keys += key.primary;
      if (!answer.nul && key.primary.find('\0') != std::string::npos) answer.nul = true;
      noteEntry(answer, v, keysOnly);
      return true;
    });
    if (missed(tx)) {
      ScanAnswer::packMissed(out_);
      return true;
    }
    if (answer.nul) {
      // Rare (a primary key holding a NUL): the keys as a JSON array.
      answer.keys = "[";
      tx->scanIndexEach(*index, so, [&](const IndexKey& key, const ValuePtr&) {
        if (answer.keys.size() > 1) answer.keys += ',';
        appendJsonString(answer.keys, key.secondary);
        answer.keys += ',';
        appendJsonString(answer.keys, key.primary);
        return true;
      });
      answer.keys += ']';
    }
    if (answer.packInto(out_)) scanRest_ = std::make_unique<ScanAnswer>(std::move(answer));
    return true;
  });
  if (!ok) out_.clear();
  return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
}

emscripten::val Core::scanRest() {
  if (!scanRest_) {
    out_.clear();
  } else if (!scanRest_->packRest(out_)) {
    scanRest_.reset();
  }
  return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
}

bool Core::missed(ReadTransaction* tx) {
  std::optional<uint64_t> page = tx->missed();
  if (!page) return false;
  missedPages_.push_back(*page);
  return true;
}

void Core::noteEntry(ScanAnswer& answer, const ValuePtr& v, bool keysOnly) {
  answer.ids.push_back(double(v->id()));
  if (!keysOnly && !v->heldByHost() && jsKnown_.insert(v->id())) answer.values.push_back(v);
}

ReadTransaction* Core::txFor(int txID) {
  if (txID == 0) {
    WriteTransaction* w = writeTx();
    if (!w) lastError_ = "no open write transaction";
    return w;
  }
  auto it = reads_.find(txID);
  if (it == reads_.end()) {
    lastError_ = "transaction is closed";
    return nullptr;
  }
  return it->second.get();
}

double Core::idFor(const ValuePtr& v) {
  uint64_t id = v->id();
  if (v->heldByHost() || jsKnown_.contains(id)) return double(id);
  jsKnown_.insert(id);
  valueText_ = v->text();
  return -double(id);
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
