#include "replicore/id_set.h"

#include <utility>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

// Fibonacci hashing: ids are mostly consecutive integers, and multiplying by
// 2^64/phi spreads consecutive values over the whole table.
size_t slotFor(uint64_t id, size_t capacity) {
  return size_t((id * 0x9E3779B97F4A7C15ull) >> 32) & (capacity - 1);
}

}  // namespace

IdSet::IdSet(IdSet&& other) noexcept
    : slots_(std::move(other.slots_)),
      capacity_(std::exchange(other.capacity_, 0)),
      size_(std::exchange(other.size_, 0)),
      hasZero_(std::exchange(other.hasZero_, false)) {}

IdSet& IdSet::operator=(IdSet&& other) noexcept {
  slots_ = std::move(other.slots_);
  capacity_ = std::exchange(other.capacity_, 0);
  size_ = std::exchange(other.size_, 0);
  hasZero_ = std::exchange(other.hasZero_, false);
  return *this;
}

size_t IdSet::find(uint64_t id) const {
  size_t mask = capacity_ - 1;
  size_t i = slotFor(id, capacity_);
  while (slots_[i] != 0 && slots_[i] != id) i = (i + 1) & mask;
  return i;
}

bool IdSet::contains(uint64_t id) const {
  if (id == 0) return hasZero_;
  return capacity_ != 0 && slots_[find(id)] == id;
}

bool IdSet::insert(uint64_t id) {
  if (id == 0) {
    if (hasZero_) return false;
    hasZero_ = true;
    size_++;
    return true;
  }
  size_t i = 0;
  if (capacity_ != 0) {
    i = find(id);
    if (slots_[i] == id) return false;
  }
  // At most half full after the insert (size_ counts the id 0, which takes
  // no slot, so this errs on the side of growing). Only a grow moves the
  // slot the lookup found.
  if (2 * (size_ + 1) > capacity_) {
    grow();
    i = find(id);
  }
  slots_[i] = id;
  size_++;
  return true;
}

bool IdSet::erase(uint64_t id) {
  if (id == 0) {
    if (!hasZero_) return false;
    hasZero_ = false;
    size_--;
    return true;
  }
  if (capacity_ == 0) return false;
  size_t mask = capacity_ - 1;
  size_t hole = find(id);
  if (slots_[hole] != id) return false;
  // Backward-shift deletion: move later members of the probe run into the
  // hole when their home slot does not lie between the hole and them, so
  // every lookup still finds its id before an empty slot. No tombstones.
  for (size_t j = (hole + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    size_t home = slotFor(slots_[j], capacity_);
    bool homeInRange = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!homeInRange) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
  size_--;
  return true;
}

void IdSet::grow() {
  size_t capacity = capacity_ == 0 ? 16 : 2 * capacity_;
  std::unique_ptr<uint64_t[]> slots(new uint64_t[capacity]());  // may throw: nothing changed yet
  std::swap(slots_, slots);
  std::swap(capacity_, capacity);
  // `slots` and `capacity` now hold the old table.
  for (size_t i = 0; i < capacity; i++) {
    if (slots[i] != 0) slots_[find(slots[i])] = slots[i];
  }
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
