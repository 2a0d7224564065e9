#include "replicore/change_set.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

void ReadSet::addScan(const ScanOptions& options, std::optional<std::string> lastKeyWhenLimited) {
  Range range;
  range.prefix = options.prefix;
  if (options.startKey) {
    range.start = *options.startKey;
    range.startExclusive = options.startExclusive;
  }
  range.end = std::move(lastKeyWhenLimited);
  ranges_.push_back(std::move(range));
}

void ReadSet::addIndexScan(size_t index, const IndexScanOptions& options, std::optional<IndexKey> lastKeyWhenLimited) {
  IndexRange range;
  range.index = index;
  range.prefix = options.prefix;
  if (options.startSecondary) {
    range.start = IndexKey{*options.startSecondary, options.startPrimary.value_or(std::string())};
    range.startHasPrimary = options.startPrimary.has_value();
    range.startExclusive = options.startExclusive;
  }
  range.end = std::move(lastKeyWhenLimited);
  indexRanges_.push_back(std::move(range));
}

void ReadSet::clear() {
  keys_.clear();
  ranges_.clear();
  indexRanges_.clear();
}

bool ReadSet::indexRangeHolds(const IndexRange& r, const IndexKey& key) const {
  if (key.secondary.compare(0, r.prefix.size(), r.prefix) != 0 || key.secondary.size() < r.prefix.size()) return false;
  if (r.start) {
    if (key < *r.start) return false;
    // An exclusive start skips the start entry, or every entry of its
    // secondary key when it names no primary key (IndexedView::scan).
    if (r.startExclusive && key.secondary == r.start->secondary && (!r.startHasPrimary || key.primary == r.start->primary)) {
      return false;
    }
  }
  if (r.end && *r.end < key) return false;
  return true;
}

bool ReadSet::affectedByKey(const std::string& key) const {
  if (keys_.count(key)) return true;
  for (const Range& r : ranges_) {
    if (key.compare(0, r.prefix.size(), r.prefix) != 0 || key.size() < r.prefix.size()) continue;
    if (key < r.start || (r.startExclusive && key == r.start)) continue;
    if (r.end && key > *r.end) continue;
    return true;
  }
  return false;
}

bool ReadSet::affectedBy(const ChangeSet& changes, const IndexChanges* indexChanges) const {
  // Walk the smaller side for exact keys; ranges need each changed key.
  for (const auto& [key, change] : changes) {
    if (affectedByKey(key)) return true;
  }
  if (indexRanges_.empty() || changes.empty()) return false;
  if (!indexChanges) return true;
  for (const IndexRange& r : indexRanges_) {
    if (r.index >= indexChanges->size()) continue;
    for (const IndexChange& c : (*indexChanges)[r.index]) {
      if (indexRangeHolds(r, c.key)) return true;
    }
  }
  return false;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
