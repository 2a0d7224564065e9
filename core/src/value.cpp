#include "replicore/value.h"

#include <atomic>

namespace replicore {

namespace {
std::atomic<uint64_t> lastValueID{0};
uint64_t nextID() { return lastValueID.fetch_add(1, std::memory_order_relaxed) + 1; }
}  // namespace

// Not make_shared: the constructor is private.
std::shared_ptr<const Value> Value::make(Json json) {
  std::string text = json.dump(-1, ' ', false, Json::error_handler_t::replace);
  return std::shared_ptr<const Value>(new Value(std::move(text), std::move(json), nextID()));
}

std::shared_ptr<const Value> Value::fromText(std::string text) {
  return std::shared_ptr<const Value>(new Value(std::move(text), std::nullopt, nextID()));
}

const Json& Value::json() const {
  if (!json_) {
    Json parsed = Json::parse(text_, nullptr, /*allow_exceptions=*/false);
    // Texts are valid JSON by contract; a broken one reads as null rather
    // than throwing from a reader.
    json_ = parsed.is_discarded() ? Json(nullptr) : std::move(parsed);
  }
  return *json_;
}

bool sameValue(const ValuePtr& a, const ValuePtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (a->text() == b->text()) return true;
  const Json* pa = a->parsedIfAny();
  const Json* pb = b->parsedIfAny();
  return pa && pb && *pa == *pb;
}

}  // namespace replicore
