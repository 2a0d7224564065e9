#include "replicore/client.h"

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
  Json result = replica_.mutate(name, std::move(args), clock_->nowMs());
  scheduler_->mutationAdded();
  return result;
}

void Client::applyPull(PullSuccess response, Cookie requestCookie, std::function<void(std::string)> done) {
  PullOutcome outcome = replica_.applyPull(response, requestCookie);
  for (ReplayError& e : outcome.replayErrors) replayErrors_.push_back(std::move(e));
  done(outcome.kind == PullOutcome::Kind::kRejected ? outcome.error : std::string());
}

}  // namespace replicore
