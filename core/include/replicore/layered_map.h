// The storage model of the local state: an ordered base map with layers of
// writes on top.
//
// Why layers: the state an app sees is the server-confirmed state with the
// pending mutations applied on top. Keeping the pending writes in a separate
// Layer over the confirmed BaseMap means a rebase never copies or walks the
// cache: it applies the pull's patch to the base (cost: size of the patch)
// and rebuilds the pending layer by replaying the pending mutations (cost:
// their writes). A transaction's own writes are one more layer, so reads in
// a write transaction see its writes and an aborted transaction just drops
// its layer. A patch that has been received but not yet committed is also a
// layer (one that may hide everything below it, for the `clear` op), so the
// old state stays readable while a rebase is being built.
//
// Keys order by their UTF-8 bytes (std::string compares chars as unsigned).
#ifndef REPLICORE_LAYERED_MAP_H_
#define REPLICORE_LAYERED_MAP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/value.h"

namespace replicore {

using BaseMap = std::map<std::string, ValuePtr, std::less<>>;

// One layer of writes: key -> new value, or key -> nullptr for a delete.
struct Layer {
  // When true, nothing below this layer is visible (a `clear`).
  bool hidesBelow = false;
  std::map<std::string, ValuePtr, std::less<>> writes;

  bool empty() const { return !hidesBelow && writes.empty(); }
  void put(std::string key, ValuePtr value) { writes[std::move(key)] = std::move(value); }
  void erase(std::string key) { writes[std::move(key)] = nullptr; }
  void clear() { hidesBelow = true; writes.clear(); }
  // Writes `upper` over this layer, as if `upper` had been applied after it.
  // Consumes `upper`: its entries are moved over, not copied (a commit of a
  // bulk write into an empty pending layer is a swap).
  void absorb(Layer&& upper);
};

// Applies a layer to a base map for good: costs O(layer size · log n), or
// O(n) when the layer hides what is below.
// Writes `layer` into `base` (erasing the keys it deletes, everything first
// when it hides what is below) and consumes it: its map nodes move into
// `base`. Nothing is allocated, so it cannot fail halfway; a rebase relies
// on that to install a pull all or nothing.
void applyLayer(BaseMap& base, Layer&& layer) noexcept;

// The parts of a base map that are not in memory yet: a store is being read
// lazily, page by page, and each range [first, end) of keys is filled in
// whole when its page arrives. Until then a read that needs a range cannot
// be answered; a view says which range it needed (LayeredView::missed), and
// the host loads that page and asks again. Entries of an unloaded range are
// never in the base, so filling one in changes no visible value.
struct Unloaded {
  struct Range {
    std::optional<std::string> end;  // exclusive; nullopt: to the last key
    uint64_t page = 0;               // the host's name for the range
  };
  using Ranges = std::map<std::string, Range, std::less<>>;
  Ranges ranges;  // by first key

  bool empty() const { return ranges.empty(); }
  // The first range that holds `key` or comes after it, or ranges.end().
  Ranges::const_iterator from(std::string_view key) const;
  // The range that holds `key`, or nullptr.
  const Range* holding(std::string_view key) const;
};

struct ScanOptions {
  std::string prefix;              // only keys that start with this
  std::optional<std::string> startKey;  // first key to consider
  bool startExclusive = false;     // skip startKey itself
  std::optional<size_t> limit;     // at most this many entries
};

struct Entry {
  std::string key;
  ValuePtr value;
};

// A read-only view of a base with layers on top (bottom first). Holds
// pointers: the base and layers must outlive the view and not change while
// a scan runs.
class LayeredView {
 public:
  // `unloaded` (may be null) are the ranges of `base` not in memory yet.
  LayeredView(const BaseMap* base, std::vector<const Layer*> layers, const Unloaded* unloaded = nullptr)
      : base_(base), layers_(std::move(layers)), unloaded_(unloaded && !unloaded->empty() ? unloaded : nullptr) {}

  // The visible value of `key`, or nullptr when absent. When the answer
  // lies in an unloaded range, returns nullptr and sets missed().
  ValuePtr get(std::string_view key) const;
  // The page of the unloaded range that the last get or scan needed (its
  // answer is then incomplete and must be thrown away), or nullopt. A scan
  // stops at the first such range, having visited only the entries before
  // it. Cleared by the next get or scan.
  std::optional<uint64_t> missed() const { return missed_; }
  // The page of the unloaded range holding `key`, or nullopt.
  std::optional<uint64_t> unloadedPageOf(std::string_view key) const {
    const Unloaded::Range* range = unloaded_ ? unloaded_->holding(key) : nullptr;
    return range ? std::optional<uint64_t>(range->page) : std::nullopt;
  }
  bool empty() const;
  // Calls `visit` for each visible entry that the options select, in key
  // order, until it returns false or the limit is reached. Returns the number
  // of entries visited.
  size_t scan(const ScanOptions& options,
              const std::function<bool(const std::string&, const ValuePtr&)>& visit) const;

 private:
  const BaseMap* base_;
  std::vector<const Layer*> layers_;
  const Unloaded* unloaded_;
  mutable std::optional<uint64_t> missed_;
};

}  // namespace replicore

#endif  // REPLICORE_LAYERED_MAP_H_
