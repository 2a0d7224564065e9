#include "replicore/value.h"

#include <atomic>

namespace replicore {

namespace {
std::atomic<uint64_t> lastValueID{0};
}

std::shared_ptr<const Value> Value::make(Json json) {
  uint64_t id = lastValueID.fetch_add(1, std::memory_order_relaxed) + 1;
  // Not make_shared: the constructor is private.
  return std::shared_ptr<const Value>(new Value(std::move(json), id));
}

bool sameValue(const ValuePtr& a, const ValuePtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return a->json() == b->json();
}

}  // namespace replicore
