#include "replicore/transaction.h"

#include <stdexcept>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

ValuePtr ReadTransaction::get(std::string_view key) {
  lastReadIndex_ = false;
  if (readSet_) readSet_->addKey(std::string(key));
  return view_.get(key);
}

bool ReadTransaction::isEmpty() {
  ScanOptions all;
  all.limit = 1;
  return scan(all).empty();
}

size_t ReadTransaction::scanEach(const ScanOptions& options,
                                 const std::function<bool(const std::string&, const ValuePtr&)>& visit) {
  lastReadIndex_ = false;
  std::string lastKey;
  bool stoppedEarly = false;
  size_t count = view_.scan(options, [&](const std::string& key, const ValuePtr& value) {
    lastKey = key;
    if (!visit(key, value)) {
      stoppedEarly = true;
      return false;
    }
    return true;
  });
  if (readSet_) {
    // The result depends on keys up to the last one returned when the scan
    // stopped before running out of keys; otherwise on the whole range.
    bool limited = stoppedEarly || (options.limit && count >= *options.limit);
    readSet_->addScan(options, limited ? std::optional<std::string>(lastKey) : std::nullopt);
  }
  return count;
}

size_t ReadTransaction::scanIndexEach(size_t index, const IndexScanOptions& options,
                                      const std::function<bool(const IndexKey&, const ValuePtr&)>& visit) {
  lastReadIndex_ = true;
  const IndexKey* lastKey = nullptr;  // an index's key, alive while the scan runs
  bool stoppedEarly = false;
  size_t count = indexes_.scan(index, options, [&](const IndexKey& key, const ValuePtr& value) {
    lastKey = &key;
    if (!visit(key, value)) {
      stoppedEarly = true;
      return false;
    }
    return true;
  });
  if (readSet_) {
    bool limited = lastKey && (stoppedEarly || (options.limit && count >= *options.limit));
    readSet_->addIndexScan(index, options, limited ? std::optional<IndexKey>(*lastKey) : std::nullopt);
  }
  return count;
}

std::vector<std::pair<IndexKey, ValuePtr>> ReadTransaction::scanIndex(std::string_view name,
                                                                      const IndexScanOptions& options) {
  std::optional<size_t> index = indexNumber(name);
  if (!index) throw std::invalid_argument("Unknown index name: " + std::string(name));
  std::vector<std::pair<IndexKey, ValuePtr>> out;
  scanIndexEach(*index, options, [&](const IndexKey& key, const ValuePtr& value) {
    out.emplace_back(key, value);
    return true;
  });
  return out;
}

std::vector<Entry> ReadTransaction::scan(const ScanOptions& options) {
  std::vector<Entry> out;
  scanEach(options, [&](const std::string& key, const ValuePtr& value) {
    out.push_back({key, value});
    return true;
  });
  return out;
}

Json ReadTransaction::scanKeys(const ScanOptions& options) {
  Json out = Json::array();
  scanEach(options, [&](const std::string& key, const ValuePtr&) {
    out.push_back(key);
    return true;
  });
  return out;
}

Json ReadTransaction::scanValues(const ScanOptions& options) {
  Json out = Json::array();
  scanEach(options, [&](const std::string&, const ValuePtr& value) {
    out.push_back(value->json());
    return true;
  });
  return out;
}

Json ReadTransaction::scanEntries(const ScanOptions& options) {
  Json out = Json::array();
  scanEach(options, [&](const std::string& key, const ValuePtr& value) {
    out.push_back(Json::array({key, value->json()}));
    return true;
  });
  return out;
}

const char* reasonName(MutationReason reason) {
  return reason == MutationReason::kInitial ? "initial" : "rebase";
}

void WriteTransaction::set(std::string key, Json value) { set(std::move(key), Value::make(std::move(value))); }

void WriteTransaction::set(std::string key, ValuePtr value) {
  if (!value) throw std::invalid_argument("set: value must not be null pointer");
  if (ownIndex_) indexes_.set()->write(ownIndex_, key, ownValue(key), value);
  own_->put(std::move(key), std::move(value));
}

bool WriteTransaction::del(std::string key) {
  bool existed = view_.get(key) != nullptr;
  if (existed) {
    if (ownIndex_) indexes_.set()->write(ownIndex_, key, ownValue(key), nullptr);
    own_->erase(std::move(key));
  }
  return existed;
}

ValuePtr WriteTransaction::ownValue(const std::string& key) const {
  auto it = own_->writes.find(key);
  return it == own_->writes.end() ? nullptr : it->second;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
