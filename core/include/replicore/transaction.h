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
#include "replicore/layered_map.h"

namespace replicore {

class ReadTransaction {
 public:
  // `readSet` may be null; when given, every read is recorded in it.
  ReadTransaction(LayeredView view, ReadSet* readSet) : view_(std::move(view)), readSet_(readSet) {}
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

  // The unloaded page the last get/has/scan needed: its answer was
  // incomplete (see Unloaded in layered_map.h). nullopt when it was whole.
  std::optional<uint64_t> missed() const { return view_.missed(); }
  // The unloaded page holding `key` (a write must load it first), or nullopt.
  std::optional<uint64_t> unloadedPageOf(std::string_view key) const { return view_.unloadedPageOf(key); }

  // Convenience forms for C++ callers: JSON arrays of keys, values, entries.
  Json scanKeys(const ScanOptions& options);
  Json scanValues(const ScanOptions& options);
  Json scanEntries(const ScanOptions& options);  // [[key, value], ...]

 protected:
  LayeredView view_;
  ReadSet* readSet_;
};

enum class MutationReason { kInitial, kRebase };
const char* reasonName(MutationReason reason);

class WriteTransaction : public ReadTransaction {
 public:
  // `own` receives the writes; it must be a layer of `view` (its top one).
  WriteTransaction(LayeredView view, Layer* own, std::string clientID, uint64_t mutationID,
                   MutationReason reason)
      : ReadTransaction(std::move(view), nullptr),
        own_(own),
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
  Layer* own_;
  std::string clientID_;
  uint64_t mutationID_;
  MutationReason reason_;
};

}  // namespace replicore

#endif  // REPLICORE_TRANSACTION_H_
