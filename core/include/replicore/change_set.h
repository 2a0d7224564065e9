// What one commit (a mutation or a rebase) changed in the visible state, and
// what a query read, so that a subscription re-runs only when a key or range
// it read has changed.
#ifndef REPLICORE_CHANGE_SET_H_
#define REPLICORE_CHANGE_SET_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "replicore/index.h"
#include "replicore/layered_map.h"

namespace replicore {

struct Change {
  ValuePtr oldValue;  // nullptr: the key did not exist before
  ValuePtr newValue;  // nullptr: the key does not exist after
};

// Keys whose visible value really changed, in key order. Keys written with
// an equal value are not in it.
using ChangeSet = std::map<std::string, Change, std::less<>>;

// The keys and key ranges that a query read.
class ReadSet {
 public:
  void addKey(std::string key) { keys_.insert(std::move(key)); }
  // Records a scan: it depends on keys with `prefix` from its start, up to
  // and including `lastKey` when the limit cut it short (a key after the
  // last one returned cannot change a limited result).
  void addScan(const ScanOptions& options, std::optional<std::string> lastKeyWhenLimited);
  // Records a scan of index number `index`, the same way (the last index
  // key returned when the limit cut it short).
  void addIndexScan(size_t index, const IndexScanOptions& options, std::optional<IndexKey> lastKeyWhenLimited);
  void clear();
  // True when some index scan was recorded: affectedBy then needs the
  // commit's IndexChanges (IndexSet::changesOf).
  bool readsIndexes() const { return !indexRanges_.empty(); }

  // True when a change to any key of `changes` (or, for the index scans
  // recorded, any entry of `indexChanges`; null: every index scan counts
  // as affected) may change the query's result.
  bool affectedBy(const ChangeSet& changes, const IndexChanges* indexChanges = nullptr) const;
  bool affectedByKey(const std::string& key) const;

 private:
  struct Range {
    std::string prefix;
    std::string start;  // inclusive unless startExclusive
    bool startExclusive = false;
    std::optional<std::string> end;  // inclusive
  };
  struct IndexRange {
    size_t index = 0;
    std::string prefix;  // of the secondary key
    std::optional<IndexKey> start;  // primary "" when the scan gave none
    bool startHasPrimary = false;
    bool startExclusive = false;
    std::optional<IndexKey> end;  // inclusive
  };
  bool indexRangeHolds(const IndexRange& r, const IndexKey& key) const;
  std::set<std::string, std::less<>> keys_;
  std::vector<Range> ranges_;
  std::vector<IndexRange> indexRanges_;
};

}  // namespace replicore

#endif  // REPLICORE_CHANGE_SET_H_
