// Read and write transactions over the local state.
//
// A ReadTransaction sees one consistent state. A WriteTransaction is what a
// mutator gets: its writes go to a layer of its own, which its reads see, and
// which the Replica commits only when the mutator returns normally.
#ifndef REPLICORE_TRANSACTION_H_
#define REPLICORE_TRANSACTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/change_set.h"
#include "replicore/index.h"
#include "replicore/layered_map.h"

namespace replicore {

class ReadTransaction {
 public:
  // `readSet` may be null; when given, every read is recorded in it.
  // `indexes`: the secondary indexes of the same state (none by default).
  ReadTransaction(LayeredView view, ReadSet* readSet, IndexedView indexes = IndexedView())
      : view_(std::move(view)), indexes_(std::move(indexes)), readSet_(readSet) {}
  virtual ~ReadTransaction() = default;
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

  // The value of `key`, or nullptr when it does not exist.
  ValuePtr get(std::string_view key);
  bool has(std::string_view key) { return get(key) != nullptr; }
  bool isEmpty();
  // The selected entries, in key order.
  std::vector<Entry> scan(const ScanOptions& options);
  // Streams the selected entries to `visit` until it returns false, without
  // building a vector. Returns how many were visited.
  size_t scanEach(const ScanOptions& options,
                  const std::function<bool(const std::string&, const ValuePtr&)>& visit);

  // Index scans (index.h). The number of the index called `name`, or
  // nullopt when the replica has none of that name.
  std::optional<size_t> indexNumber(std::string_view name) const {
    return indexes_.set() ? indexes_.set()->find(name) : std::nullopt;
  }
  // Streams the selected entries of index `index` (a valid number) to
  // `visit`, in key order, until it returns false. Returns how many.
  size_t scanIndexEach(size_t index, const IndexScanOptions& options,
                       const std::function<bool(const IndexKey&, const ValuePtr&)>& visit);
  // The selected entries of the index called `name`; throws
  // std::invalid_argument ("Unknown index name: ...") when there is none.
  std::vector<std::pair<IndexKey, ValuePtr>> scanIndex(std::string_view name, const IndexScanOptions& options);

  // The unloaded page the last get/has/scan needed: its answer was
  // incomplete (see Unloaded in layered_map.h). nullopt when it was whole.
  std::optional<uint64_t> missed() const { return lastReadIndex_ ? indexes_.missed() : view_.missed(); }
  // The unloaded page holding `key` (a write must load it first), or nullopt.
  std::optional<uint64_t> unloadedPageOf(std::string_view key) const { return view_.unloadedPageOf(key); }

  // Convenience forms for C++ callers: JSON arrays of keys, values, entries.
  Json scanKeys(const ScanOptions& options);
  Json scanValues(const ScanOptions& options);
  Json scanEntries(const ScanOptions& options);  // [[key, value], ...]

 protected:
  LayeredView view_;
  IndexedView indexes_;
  ReadSet* readSet_;
  bool lastReadIndex_ = false;  // which view missed() asks
};

enum class MutationReason { kInitial, kRebase };
const char* reasonName(MutationReason reason);

class WriteTransaction : public ReadTransaction {
 public:
  // `own` receives the writes; it must be a layer of `view` (its top one).
  // With indexes, `ownIndex` receives the index entries of those writes
  // (the top layer's IndexMaps in `indexes`).
  WriteTransaction(LayeredView view, Layer* own, std::string clientID, uint64_t mutationID,
                   MutationReason reason, IndexedView indexes = IndexedView(), IndexMaps* ownIndex = nullptr)
      : ReadTransaction(std::move(view), nullptr, std::move(indexes)),
        own_(own),
        ownIndex_(ownIndex),
        clientID_(std::move(clientID)),
        mutationID_(mutationID),
        reason_(reason) {}

  // Sets `key` to `value` (any JSON value).
  void set(std::string key, Json value);
  void set(std::string key, ValuePtr value);
  // Deletes `key`; returns whether it existed.
  bool del(std::string key);

  const std::string& clientID() const { return clientID_; }
  uint64_t mutationID() const { return mutationID_; }
  MutationReason reason() const { return reason_; }

 private:
  // What this transaction's own layer holds for `key` (null: nothing).
  ValuePtr ownValue(const std::string& key) const;
  Layer* own_;
  IndexMaps* ownIndex_;
  std::string clientID_;
  uint64_t mutationID_;
  MutationReason reason_;
};

}  // namespace replicore

#endif  // REPLICORE_TRANSACTION_H_
