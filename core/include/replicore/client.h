// Client: a Replica and its SyncScheduler wired together, for hosts whose
// mutators run synchronously (native C++ programs and tests). The
// WebAssembly binding wires the same two parts itself, because its mutators
// are asynchronous JavaScript functions.
#ifndef REPLICORE_CLIENT_H_
#define REPLICORE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "replicore/replica.h"
#include "replicore/scheduler.h"

namespace replicore {

class Client : private SyncHost {
 public:
  // `clock` and `transport` must outlive the client.
  Client(ReplicaOptions replicaOptions, SchedulerOptions schedulerOptions,
         SchedulerCallbacks callbacks, Clock* clock, HttpTransport* transport);
  ~Client() override;

  Replica& replica() { return replica_; }
  SyncScheduler& scheduler() { return *scheduler_; }

  // Runs a mutation locally and schedules its push. Throws like
  // Replica::mutate, and MutationError (before running it) when the
  // mutation is too large for any push (SchedulerOptions::maxPushBytes).
  Json mutate(const std::string& name, Json args = nullptr);

  // Replay errors of every rebase so far, oldest first.
  const std::vector<ReplayError>& replayErrors() const { return replayErrors_; }

 private:
  RequestIdentity identity() override { return replica_.identity(); }
  std::vector<Mutation> mutationsToPush() override { return replica_.mutationsToPush(); }
  Cookie confirmedCookie() override { return replica_.cookie(); }
  void applyPull(PullSuccess response, Cookie requestCookie,
                 std::function<void(std::string)> done) override;

  Replica replica_;
  Clock* clock_;
  std::unique_ptr<SyncScheduler> scheduler_;
  std::vector<ReplayError> replayErrors_;
};

}  // namespace replicore

#endif  // REPLICORE_CLIENT_H_
