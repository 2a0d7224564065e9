#include "replicore/value.h"

#include <atomic>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {
std::atomic<uint64_t> lastValueID{0};
uint64_t nextID() { return lastValueID.fetch_add(1, std::memory_order_relaxed) + 1; }
}  // namespace

class Value::Parsed {
 public:
  explicit Parsed(Json json) : json(std::move(json)) {}
  virtual ~Parsed() = default;
  virtual std::string print() const { return json.dump(-1, ' ', false, Json::error_handler_t::replace); }
  virtual bool equals(const Parsed& other) const { return json == other.json; }
  const Json json;
};

Value::Value(std::optional<std::string> text, std::unique_ptr<Parsed> parsed, uint64_t id, ValueHost* host)
    : text_(std::move(text)), parsed_(std::move(parsed)), id_(id), host_(host) {}

// Not make_shared: the constructor is private.
std::shared_ptr<const Value> Value::make(Json json) {
  return std::shared_ptr<const Value>(new Value(std::nullopt, std::make_unique<Parsed>(std::move(json)), nextID(), nullptr));
}

std::shared_ptr<const Value> Value::fromText(std::string text) {
  return std::shared_ptr<const Value>(new Value(std::move(text), nullptr, nextID(), nullptr));
}

std::shared_ptr<const Value> Value::fromHost(ValueHost* host) {
  return std::shared_ptr<const Value>(new Value(std::nullopt, nullptr, nextID(), host));
}

const Json* Value::parsedIfAny() const { return parsed_ ? &parsed_->json : nullptr; }

Value::~Value() {
  if (host_) host_->released(id_);
}

namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a \uXXXX escape starting at text[i] (the backslash), or -1.
int escapedUnit(const std::string& text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int v = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    int h = hexDigit(text[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// JavaScript's JSON allows escapes of lone UTF-16 surrogates ("\ud800"),
// which have no UTF-8 form and which nlohmann rejects. Replaces each with
// \ufffd, the replacement character, as a UTF-8 decoder would.
std::string replaceLoneSurrogates(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '\\') {
      out += text[i++];
      continue;
    }
    int unit = escapedUnit(text, i);
    if (unit < 0) {  // another escape: copy it whole
      out.append(text, i, 2);
      i += 2;
      continue;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      int low = escapedUnit(text, i + 6);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        out.append(text, i, 12);
        i += 12;
        continue;
      }
    }
    if (unit >= 0xD800 && unit <= 0xDFFF) {
      out += "\\ufffd";
    } else {
      out.append(text, i, 6);
    }
    i += 6;
  }
  return out;
}

}  // namespace

const std::string& Value::text() const {
  if (!text_) {
    if (parsed_) text_ = parsed_->print();
    else text_ = host_->textOf(id_);
  }
  return *text_;
}

const Json& Value::json() const {
  if (!parsed_) {
    text();
    Json parsed = Json::parse(*text_, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      parsed = Json::parse(replaceLoneSurrogates(*text_), nullptr, /*allow_exceptions=*/false);
    }
    // Texts are valid JSON by contract; a broken one reads as null rather
    // than throwing from a reader.
    parsed_ = std::make_unique<Parsed>(parsed.is_discarded() ? Json(nullptr) : std::move(parsed));
  }
  return parsed_->json;
}

ValueHost* comparingHost(const ValuePtr& a, const ValuePtr& b) {
  if (a == b || !a || !b) return nullptr;
  if (a->host() && a->host() == b->host() && !a->textIfAny() && !b->textIfAny()) return a->host();
  return nullptr;
}

bool sameValue(const ValuePtr& a, const ValuePtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (ValueHost* host = comparingHost(a, b)) return host->equal({{a->id(), b->id()}}).at(0) != 0;
  if (a->parsed_ && b->parsed_) return a->parsed_->equals(*b->parsed_);
  // Fetching a host's text only to compare would cost what holding it saves.
  if ((a->heldByHost() && !a->textIfAny()) || (b->heldByHost() && !b->textIfAny())) return false;
  return a->text() == b->text();
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
