// Immutable JSON values shared between the confirmed state, the pending
// overlay, transactions and readers.
//
// A Value never changes after it is made, so every holder shares it through
// a ValuePtr and reading a key never copies JSON. A Value keeps its JSON
// *text*, and parses it only when a C++ reader asks for json() (then keeps
// the parse). Why text: a WebAssembly host hands values over as text and
// wants text back, a pull's values arrive as text, and text is about a
// fifth of the memory of a parsed tree, so most values are never parsed.
//
// Each Value carries a process-unique id: two reads that return the same id
// returned the same value, which lets a host (the WebAssembly binding) cache
// its own converted copy of a value and skip converting it again.
//
// A value can also be *held by a host*: the host (JavaScript) keeps the
// value in its own form and the core keeps only the id, asking the host for
// the text if and when a C++ reader needs it. Why: a value written by a
// JavaScript mutator is usually never needed as text by the core (pushes
// carry mutation args, not values), so serializing it on every set() was
// most of the cost of a bulk write.
#ifndef REPLICORE_VALUE_H_
#define REPLICORE_VALUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace replicore {

using Json = nlohmann::json;

// The holder of host-held values (see above). It must outlive every Value
// it holds.
class ValueHost {
 public:
  // The JSON text of held value `id`. Called at most once per value, when a
  // C++ reader first needs its text or parse. Must return valid JSON.
  virtual std::string textOf(uint64_t id) = 0;
  // For each pair of held values, 1 when the two are equal JSON, else 0.
  // Lets a write of an equal value notify no one without fetching either
  // text; a commit asks once for all its pairs (one host crossing).
  virtual std::vector<char> equal(const std::vector<std::pair<uint64_t, uint64_t>>& pairs) = 0;
  // The Value `id` is gone: no core structure refers to it any more, so the
  // host may drop its copy. Called once, from the Value's destructor; it
  // must not re-enter the core.
  virtual void released(uint64_t id) = 0;
  // The secondary keys of held value `id` in index number `index` of the
  // replica's IndexSet (index.h), when the host worked them out itself
  // from its own copy of the value: then the core never needs the value's
  // text for its indexes. False (the default): not known, the core reads
  // the text. Must agree with secondaryKeysOf on that text.
  virtual bool indexKeys(uint64_t id, size_t index, std::vector<std::string>* out) {
    (void)id;
    (void)index;
    (void)out;
    return false;
  }

 protected:
  ~ValueHost() = default;
};

class Value {
 public:
  // A value made from parsed JSON (kept parsed; its text is made on demand).
  static std::shared_ptr<const Value> make(Json json);
  // A value made from JSON text that the caller guarantees is valid JSON
  // (JSON.stringify output, or a span the pull scanner validated). Not
  // parsed until json() is called.
  static std::shared_ptr<const Value> fromText(std::string text);
  // A value held by `host` under the new Value's id (read it from id()).
  static std::shared_ptr<const Value> fromHost(ValueHost* host);

  // The parsed value. Parses the text on first use. Not thread-safe.
  const Json& json() const;
  // The JSON text of the value. Made on first use for values made from
  // parsed JSON. Not thread-safe.
  const std::string& text() const;
  // The parsed value if it has been parsed already, else nullptr.
  const Json* parsedIfAny() const;
  // The text if it has been made or fetched already, else nullptr.
  const std::string* textIfAny() const { return text_ ? &*text_ : nullptr; }
  // Unique among all values made by this process; never 0.
  uint64_t id() const { return id_; }
  // True for a value made by fromHost (whether or not its text was fetched).
  bool heldByHost() const { return host_ != nullptr; }
  // The host of a value made by fromHost, else nullptr.
  ValueHost* host() const { return host_; }

  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  ~Value();

 private:
  friend bool sameValue(const std::shared_ptr<const Value>& a, const std::shared_ptr<const Value>& b);
  // The parse of a value, kept once made. Destroyed, printed and compared
  // through virtual calls, so that a build which never parses a Value or
  // makes one from Json (the WebAssembly package) links no JSON library:
  // only the code that makes a Parsed refers to its vtable.
  class Parsed;
  Value(std::optional<std::string> text, std::unique_ptr<Parsed> parsed, uint64_t id, ValueHost* host);
  // The text, the parse or both are always set, except for a host-held
  // value whose text has not been asked for yet.
  mutable std::optional<std::string> text_;
  mutable std::unique_ptr<Parsed> parsed_;
  uint64_t id_;
  ValueHost* host_;
};

using ValuePtr = std::shared_ptr<const Value>;

// True when both are absent, or both present and equal: as JSON when both
// are parsed already, else by text. Two values of which one is unparsed
// count as different when their texts differ even if they spell the same
// JSON differently (key order, number forms): parsing to find out would cost
// more, on every rebase, than the rare needless notification it saves.
// Two host-held values of one host are compared by the host; a host-held
// value whose text was not fetched and a value of another kind count as
// different (the host can compare its own copies).
bool sameValue(const ValuePtr& a, const ValuePtr& b);

// The host that must decide whether `a` and `b` are the same value (two
// distinct values it holds, neither text fetched), else nullptr: then
// sameValue decides without asking anyone. Lets a caller comparing many
// pairs ask each host once.
ValueHost* comparingHost(const ValuePtr& a, const ValuePtr& b);

}  // namespace replicore

#endif  // REPLICORE_VALUE_H_
