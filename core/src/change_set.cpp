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

void ReadSet::clear() {
  keys_.clear();
  ranges_.clear();
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

bool ReadSet::affectedBy(const ChangeSet& changes) const {
  // Walk the smaller side for exact keys; ranges need each changed key.
  for (const auto& [key, change] : changes) {
    if (affectedByKey(key)) return true;
  }
  return false;
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
