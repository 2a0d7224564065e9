// IdSet: a set of 64-bit ids (such as Value::id()) in one flat table.
//
// It does what std::unordered_set<uint64_t> does for the binding's value
// cache bookkeeping, in a fraction of the code and memory: one array of
// slots, open addressing with linear probing, no allocation per element.
// Elements are kept at most half full, so a lookup touches one or two
// slots. Any value is a valid id, 0 included. Iteration order is
// unspecified. Not thread-safe.
#ifndef REPLICORE_ID_SET_H_
#define REPLICORE_ID_SET_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace replicore {

class IdSet {
 public:
  IdSet() = default;
  IdSet(IdSet&& other) noexcept;
  IdSet& operator=(IdSet&& other) noexcept;
  IdSet(const IdSet&) = delete;
  IdSet& operator=(const IdSet&) = delete;

  // Adds `id`. Returns true if it was not in the set. Throws std::bad_alloc
  // (leaving the set unchanged) if the table cannot grow.
  bool insert(uint64_t id);
  // Returns true if `id` is in the set.
  bool contains(uint64_t id) const;
  // Removes `id`. Returns true if it was in the set.
  bool erase(uint64_t id);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls f(id) for every id in the set. f must not change the set.
  template <class F>
  void forEach(F&& f) const {
    if (hasZero_) f(uint64_t(0));
    for (size_t i = 0; i < capacity_; i++) {
      if (slots_[i] != 0) f(slots_[i]);
    }
  }

 private:
  // Slot of `id` (nonzero), or the empty slot where it would go.
  size_t find(uint64_t id) const;
  void grow();

  // Slot value 0 means empty; the id 0 is kept in hasZero_ instead.
  std::unique_ptr<uint64_t[]> slots_;
  size_t capacity_ = 0;  // 0 or a power of two
  size_t size_ = 0;      // ids in the set, 0 included
  bool hasZero_ = false;
};

}  // namespace replicore

#endif  // REPLICORE_ID_SET_H_
