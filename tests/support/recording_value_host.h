// A ValueHost for tests: keeps the texts of its values by id and records
// what the core asked of it.
#ifndef REPLICORE_TESTS_RECORDING_VALUE_HOST_H_
#define REPLICORE_TESTS_RECORDING_VALUE_HOST_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "replicore/value.h"

namespace replicore::testing {

struct RecordingValueHost : ValueHost {
  std::map<uint64_t, std::string> texts;  // a released value's text is erased
  std::vector<uint64_t> fetched;          // ids whose text the core asked for
  std::vector<uint64_t> releasedIDs;      // in release order
  std::vector<size_t> equalCalls;         // pairs per equal() call

  std::string textOf(uint64_t id) override {
    fetched.push_back(id);
    return texts.at(id);
  }
  std::vector<char> equal(const std::vector<std::pair<uint64_t, uint64_t>>& pairs) override {
    equalCalls.push_back(pairs.size());
    std::vector<char> out;
    for (const auto& [a, b] : pairs) out.push_back(texts.at(a) == texts.at(b));
    return out;
  }
  void released(uint64_t id) override {
    releasedIDs.push_back(id);
    texts.erase(id);
  }
};

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_RECORDING_VALUE_HOST_H_
