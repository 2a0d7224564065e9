#include "replicore/client.h"

#include <cstdint>

namespace replicore {

Client::Client(ReplicaOptions replicaOptions, SchedulerOptions schedulerOptions,
               SchedulerCallbacks callbacks, Clock* clock, HttpTransport* transport)
    : replica_(std::move(replicaOptions)), clock_(clock) {
  if (schedulerOptions.clientID.empty()) schedulerOptions.clientID = replica_.options().clientID;
  scheduler_ = std::make_unique<SyncScheduler>(std::move(schedulerOptions), std::move(callbacks),
                                               static_cast<SyncHost*>(this),
                                               clock, transport);
}

Client::~Client() { scheduler_.reset(); }

Json Client::mutate(const std::string& name, Json args) {
  // A mutation no push could carry would block the queue behind it for
  // good: refuse it before it runs. The widest id makes the check safe.
  double now = clock_->nowMs();
  Mutation probe;
  probe.clientID = replica_.options().clientID;
  probe.id = UINT64_MAX;
  probe.name = name;
  probe.args = Value::make(args);
  probe.timestamp = now;
  std::string unpushable = scheduler_->unpushableReason(probe);
  if (!unpushable.empty()) throw MutationError(unpushable);
  Json result = replica_.mutate(name, std::move(args), now);
  scheduler_->mutationAdded();
  return result;
}

void Client::applyPull(PullSuccess response, Cookie requestCookie, std::function<void(std::string)> done) {
  PullOutcome outcome = replica_.applyPull(response, requestCookie);
  for (ReplayError& e : outcome.replayErrors) replayErrors_.push_back(std::move(e));
  done(outcome.kind == PullOutcome::Kind::kRejected ? outcome.error : std::string());
}

}  // namespace replicore
