// Secondary indexes: Replicache's `indexes` option, kept by the core.
//
// An index named in an IndexDefinition lists, for every visible entry whose
// primary key starts with the definition's `prefix`, one entry per
// secondary key found in its value at `jsonPointer`: keyed [secondary,
// primary], ordered by secondary key then primary key (UTF-8 bytes), and
// holding the entry's value. As in Replicache 15, a value gives secondary
// keys only when the pointer finds a string (one key) or an array of
// strings (one key each, duplicates once); anything else (nothing there, a
// number, an array holding a non-string, a string holding a NUL) gives
// none, and the entry is simply not indexed (`allowEmpty` only decides, in
// Replicache, whether that is logged).
//
// How it stays cheap: an index is never rebuilt for a change. The base
// (confirmed) map has IndexMaps of its own, and so does every Layer on top
// of it (the pending layer, a pull's patch, a transaction's writes), listing
// the entries of the values that layer writes. A scan merges them the way
// LayeredView merges the layers: an entry is visible unless a layer above
// its source writes (or deletes) its primary key. Committing a layer into
// the one below (install) first drops the lower entries of the keys it
// rewrites, then moves its entries over: cost proportional to its writes.
// The base's IndexMaps are built once, when the confirmed state is
// restored from a store (or page by page as a lazy open fills it in).
//
// Guarantees: for any view, IndexedView::scan returns exactly the entries
// that the view's visible values give, provided every write to a layer or
// the base went through IndexSet (write, install, addAll). A scan over a
// view whose base still has unloaded ranges answers nothing and reports
// the first unloaded page (missed): it needs the whole state.
#ifndef REPLICORE_INDEX_H_
#define REPLICORE_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replicore/layered_map.h"
#include "replicore/value.h"

namespace replicore {

struct IndexDefinition {
  std::string name;
  std::string prefix;       // only primary keys that start with this
  std::string jsonPointer;  // RFC 6901, as Replicache reads it ("" is the whole value)
  bool allowEmpty = false;  // Replicache's flag; no effect on the entries
};

// The key of an index entry. Orders by secondary key, then primary key.
struct IndexKey {
  std::string secondary;
  std::string primary;
};
inline bool operator<(const IndexKey& a, const IndexKey& b) {
  int c = a.secondary.compare(b.secondary);
  return c != 0 ? c < 0 : a.primary < b.primary;
}
inline bool operator==(const IndexKey& a, const IndexKey& b) {
  return a.secondary == b.secondary && a.primary == b.primary;
}

// The secondary keys that the JSON text `value` gives at `jsonPointer`, by
// Replicache's rules (above), sorted, each once. Empty: not indexed.
// `value` must be valid JSON.
std::vector<std::string> secondaryKeysOf(std::string_view value, std::string_view jsonPointer);

using IndexEntries = std::map<IndexKey, ValuePtr>;

// The index entries of one source (the base map, or one layer): one map per
// index of the IndexSet, by index number (missing trailing maps are empty).
struct IndexMaps {
  std::vector<IndexEntries> byIndex;
  const IndexEntries* of(size_t index) const { return index < byIndex.size() ? &byIndex[index] : nullptr; }
};

// Which index entries a layer's writes take away from the source below it
// (made before installing the layer, see IndexSet::install).
struct IndexErasePlan {
  std::vector<std::vector<IndexKey>> byIndex;
};

// What to scan in an index. The prefix applies to the secondary key. The
// scan starts at the later of [prefix] and the start key [startSecondary,
// startPrimary] (no primary: the first entry of that secondary key); an
// exclusive start skips the entries equal to it (every entry of the
// secondary key when no primary key is given), as Replicache's does.
struct IndexScanOptions {
  std::string prefix;
  std::optional<std::string> startSecondary;
  std::optional<std::string> startPrimary;  // only read with startSecondary
  bool startExclusive = false;
  std::optional<size_t> limit;
};

// One entry of an index that a commit changed (see ReadSet, watches): an
// entry added (no oldValue), removed (no newValue) or whose value changed.
struct IndexChange {
  IndexKey key;
  ValuePtr oldValue;
  ValuePtr newValue;
};
// By index number; each in key order.
using IndexChanges = std::vector<std::vector<IndexChange>>;

// The index definitions of one replica and the rules that keep IndexMaps
// in step with the writes. Immutable once made.
class IndexSet {
 public:
  explicit IndexSet(std::vector<IndexDefinition> definitions) : definitions_(std::move(definitions)) {}

  size_t size() const { return definitions_.size(); }
  const IndexDefinition& definition(size_t index) const { return definitions_[index]; }
  // The number of the index called `name`, or nullopt.
  std::optional<size_t> find(std::string_view name) const;

  // The secondary keys entry (`primary`, `value`) gives in index `index`
  // (none when the key is outside the index's prefix or `value` is null).
  // A value held by a host is asked of the host first (ValueHost::indexKeys).
  std::vector<std::string> keysOf(size_t index, std::string_view primary, const ValuePtr& value) const;

  // Records in `maps` (a layer's) that the layer's value of `key` went
  // from `oldValue` (what that layer held, null: nothing) to `newValue`
  // (null: a delete, which adds no entry).
  void write(IndexMaps* maps, const std::string& key, const ValuePtr& oldValue, const ValuePtr& newValue) const;
  // Adds the entries of every value of `entries` (a base being restored,
  // or a page of it filled in).
  void addAll(IndexMaps* maps, const BaseMap& entries) const;

  // Installing `upper` (a layer with IndexMaps `upperMaps`) into the source
  // below it, whose values are `lowerValues` (the lower layer's writes, or
  // the base map) and IndexMaps `lowerMaps`: first plan (may allocate;
  // call while `lowerValues` still holds the old values), then install
  // (cannot fail; moves the nodes of `upperMaps`). Call both before the
  // layer itself is absorbed or applied.
  IndexErasePlan plan(const std::map<std::string, ValuePtr, std::less<>>& lowerValues, const Layer& upper) const;
  void install(IndexMaps* lowerMaps, IndexErasePlan&& plan, IndexMaps&& upperMaps, bool upperHidesBelow) const noexcept;

  // The index entries that the changes of one commit (old and new value
  // of each changed key) added, removed or changed.
  template <typename Changes>
  IndexChanges changesOf(const Changes& changes) const {
    IndexChanges out(size());
    for (size_t i = 0; i < size(); ++i) {
      for (const auto& [key, change] : changes) addChanges(i, key, change.oldValue, change.newValue, &out[i]);
      sortChanges(&out[i]);
    }
    return out;
  }

 private:
  void addChanges(size_t index, const std::string& key, const ValuePtr& oldValue, const ValuePtr& newValue,
                  std::vector<IndexChange>* out) const;
  static void sortChanges(std::vector<IndexChange>* changes);
  std::vector<IndexDefinition> definitions_;
};

// A read-only view of the indexes of a LayeredView: the base's IndexMaps
// and, for each layer (bottom first), the layer and its IndexMaps (null:
// it writes no indexed value but still hides the keys it writes). Holds
// pointers, like LayeredView. A default-made view has no indexes.
class IndexedView {
 public:
  struct Source {
    const Layer* layer;
    const IndexMaps* maps;
  };
  IndexedView() = default;
  IndexedView(const IndexSet* set, const IndexMaps* base, std::vector<Source> layers, const Unloaded* unloaded)
      : set_(set), base_(base), layers_(std::move(layers)), unloaded_(unloaded) {}

  const IndexSet* set() const { return set_; }
  // Calls `visit` for each visible entry of index `index` that the options
  // select, in key order, until it returns false or the limit is reached.
  // Returns how many were visited. See the top of the file for unloaded
  // ranges (missed()).
  size_t scan(size_t index, const IndexScanOptions& options,
              const std::function<bool(const IndexKey&, const ValuePtr&)>& visit) const;
  // The unloaded page the last scan needed, or nullopt.
  std::optional<uint64_t> missed() const { return missed_; }

 private:
  const IndexSet* set_ = nullptr;
  const IndexMaps* base_ = nullptr;
  std::vector<Source> layers_;
  // The replica's, live: ranges filled while the view is open leave it (a
  // view opened before the last fill answers once it is empty).
  const Unloaded* unloaded_ = nullptr;
  mutable std::optional<uint64_t> missed_;
};

}  // namespace replicore

#endif  // REPLICORE_INDEX_H_
