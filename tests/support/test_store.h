// An in-memory key-value store for the persistence tests, which can stop a
// batch after any number of its operations and tear the last one (write
// only a prefix of its value), as a store without transactions would on a
// crash.
#ifndef REPLICORE_TESTS_TEST_STORE_H_
#define REPLICORE_TESTS_TEST_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/persister.h"

namespace replicore::testing {

class TestStore {
 public:
  std::optional<std::string> get(const std::string& key) const {
    auto it = records.find(key);
    if (it == records.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::optional<std::string>> getAll(const std::vector<std::string>& keys) const {
    std::vector<std::optional<std::string>> out;
    for (const std::string& k : keys) out.push_back(get(k));
    return out;
  }
  // The same as views into the store (as a host hands records to
  // Persister::fillPages), valid until the store changes.
  std::vector<std::optional<std::string_view>> viewAll(const std::vector<std::string>& keys) const {
    std::vector<std::optional<std::string_view>> out;
    for (const std::string& k : keys) {
      auto it = records.find(k);
      if (it == records.end()) out.emplace_back();
      else out.emplace_back(std::string_view(it->second));
    }
    return out;
  }
  // Carries out the first `limit` operations of `batch` (all when absent);
  // with `tearAt`, the next one is written torn: `tearAt` bytes of its value.
  void apply(const StoreBatch& batch, std::optional<size_t> limit = std::nullopt,
             std::optional<size_t> tearAt = std::nullopt) {
    size_t n = limit ? std::min(*limit, batch.ops.size()) : batch.ops.size();
    for (size_t i = 0; i < n; ++i) {
      const auto& [key, value] = batch.ops[i];
      if (value) {
        records[key] = value->text();
      } else {
        records.erase(key);
      }
    }
    if (tearAt && n < batch.ops.size() && batch.ops[n].second) {
      const std::string v = batch.ops[n].second->text();
      records[batch.ops[n].first] = v.substr(0, std::min(*tearAt, v.size()));
    }
  }
  std::map<std::string, std::string> records;
};

// Opens `persister` (and its replica) from `store`, with the replay run by
// the replica's registered mutators. Returns the load report.
inline LoadReport Open(Persister& persister, Replica& replica, const TestStore& store) {
  std::vector<std::string> keys =
      persister.beginLoad(store.get(persister.headKey(0)), store.get(persister.headKey(1)));
  if (!persister.report().fresh) {
    while (true) {
      keys = persister.continueLoad(store.getAll(keys));
      if (keys.empty()) break;
    }
  }
  replica.replay();
  return persister.report();
}

// Plans a write and carries it out whole (or cut, see TestStore::apply).
inline StoreBatch Write(Persister& persister, TestStore& store, double nowMs = 1000,
                        std::optional<size_t> limit = std::nullopt, std::optional<size_t> tearAt = std::nullopt) {
  StoreBatch batch = persister.planWrite(store.get(persister.headKey(0)), store.get(persister.headKey(1)), nowMs);
  store.apply(batch, limit, tearAt);
  persister.writeDone(!limit && !tearAt);
  return batch;
}

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_TEST_STORE_H_
