#include "replicore/transaction.h"

#include <stdexcept>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

ValuePtr ReadTransaction::get(std::string_view key) {
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
  own_->put(std::move(key), std::move(value));
}

bool WriteTransaction::del(std::string key) {
  bool existed = view_.get(key) != nullptr;
  if (existed) own_->erase(std::move(key));
  return existed;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
