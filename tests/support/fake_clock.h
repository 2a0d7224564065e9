// A deterministic virtual clock for tests: time moves only when the test
// calls advance(), and due timers run in order of due time, then of id.
#ifndef REPLICORE_TESTS_FAKE_CLOCK_H_
#define REPLICORE_TESTS_FAKE_CLOCK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "replicore/platform.h"

namespace replicore::testing {

class FakeClock : public Clock {
 public:
  explicit FakeClock(double startMs = 0) : now_(startMs) {}

  double nowMs() override { return now_; }

  uint64_t setTimeout(double delayMs, std::function<void()> fn) override {
    uint64_t id = ++lastId_;
    if (!(delayMs > 0)) delayMs = 0;  // negative or NaN: as soon as possible
    Key key{now_ + delayMs, id};
    timers_.emplace(key, std::move(fn));
    dueById_.emplace(id, key);
    return id;
  }

  void cancelTimeout(uint64_t id) override {
    auto it = dueById_.find(id);
    if (it == dueById_.end()) return;
    timers_.erase(it->second);
    dueById_.erase(it);
  }

  // Moves time forward by `ms`, running every timer that falls due on the
  // way (including timers those timers set), each at its own due time.
  // Returns how many timers ran.
  size_t advance(double ms) {
    double target = now_ + (ms > 0 ? ms : 0);
    size_t ran = 0;
    while (!timers_.empty() && timers_.begin()->first.first <= target) {
      auto it = timers_.begin();
      Key key = it->first;
      std::function<void()> fn = std::move(it->second);
      timers_.erase(it);
      dueById_.erase(key.second);
      if (key.first > now_) now_ = key.first;
      ++ran;
      fn();
    }
    now_ = target;
    return ran;
  }

  // Runs what is due now without moving time.
  size_t runDue() { return advance(0); }

  // Advances to the next timer and runs everything due then; false if none.
  bool runNext() {
    if (timers_.empty()) return false;
    double due = timers_.begin()->first.first;
    advance(due > now_ ? due - now_ : 0);
    return true;
  }

  size_t pendingTimers() const { return timers_.size(); }
  // Due time of the earliest timer, or -1 when there is none.
  double nextDue() const { return timers_.empty() ? -1 : timers_.begin()->first.first; }

 private:
  using Key = std::pair<double, uint64_t>;
  double now_;
  uint64_t lastId_ = 0;
  std::map<Key, std::function<void()>> timers_;
  std::map<uint64_t, Key> dueById_;
};

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_FAKE_CLOCK_H_
