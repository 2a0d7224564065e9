// Immutable JSON values shared between the confirmed state, the pending
// overlay, transactions and readers.
//
// A Value never changes after it is made, so every holder can share it
// through a ValuePtr without copying, and reading a key never copies JSON.
// Each Value carries a process-unique id: two reads that return the same id
// returned the same value, which lets a host (the WebAssembly binding) cache
// its own converted copy of a value and skip converting it again.
#ifndef REPLICORE_VALUE_H_
#define REPLICORE_VALUE_H_

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

namespace replicore {

using Json = nlohmann::json;

class Value {
 public:
  // Makes a shared immutable value with a fresh id.
  static std::shared_ptr<const Value> make(Json json);

  const Json& json() const { return json_; }
  // Unique among all values made by this process; never 0.
  uint64_t id() const { return id_; }

  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

 private:
  Value(Json json, uint64_t id) : json_(std::move(json)), id_(id) {}
  Json json_;
  uint64_t id_;
};

using ValuePtr = std::shared_ptr<const Value>;

// True when both are absent, or both present with equal JSON.
bool sameValue(const ValuePtr& a, const ValuePtr& b);

}  // namespace replicore

#endif  // REPLICORE_VALUE_H_
