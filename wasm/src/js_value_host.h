// JsValueHost: the ValueHost (core/value.h) of the values JavaScript hands
// over, a mutator's writes (Core::setMany) and a custom puller's put values
// (Core::holdPullValues). Their JSON stays in JS, cached under each Value's
// id; the core asks for a text (host.valueText) only when a C++ reader
// needs it, and compares held values in one crossing per commit
// (host.valuesEqual). Releases are recorded here until the next note tells
// JS to drop its copies (Core::takeNote).
//
// The host object must outlive this JsValueHost, and this JsValueHost every
// Value it holds (Core declares it before everything that may hold one).
#ifndef REPLICORE_WASM_JS_VALUE_HOST_H_
#define REPLICORE_WASM_JS_VALUE_HOST_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "replicore/value.h"
#include "replicore/size_optimized.h"

namespace emscripten {
class val;
}

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

class JsValueHost : public ValueHost {
 public:
  explicit JsValueHost(const emscripten::val* host) : host_(host) {}
  std::string textOf(uint64_t id) override;
  // One crossing per commit: the pairs' ids as float64 in wasm memory, the
  // answers written back by JS as bytes.
  std::vector<char> equal(const std::vector<std::pair<uint64_t, uint64_t>>& pairs) override;
  void released(uint64_t id) override {
    released_.push_back(id);
    if (!indexKeys_.empty()) indexKeys_.erase(id);
  }
  std::vector<uint64_t>& releasedIDs() { return released_; }

  // Index keys: JS works them out from its own copy of each value it hands
  // over (setMany, holdPullValues), so the core never asks for the text.
  // Per value, for each index in order: the count, then that many keys,
  // each ended by a NUL (keys never hold one).
  bool indexKeys(uint64_t id, size_t index, std::vector<std::string>* out) override;
  // The keys JS staged (stageIndexKeys) for the next `count` values, one
  // segment each (see indexKeys), split off in order for `ids` as they are
  // made. `indexes` is the number of indexes.
  void takeStaged(std::string staged, size_t indexes, const std::vector<uint64_t>& ids);

 private:
  const emscripten::val* host_;
  std::vector<uint64_t> released_;
  // A tree, not a hash table: the package's only std::unordered_map linked
  // libc++'s prime-number bucket code (1.3 KB of .wasm, brotli).
  std::map<uint64_t, std::string> indexKeys_;
};

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END

#endif  // REPLICORE_WASM_JS_VALUE_HOST_H_
