// SyncScheduler: when to push and pull, as a deterministic state machine over
// an injected Clock and HttpTransport (no threads, no sleeps).
//
// Rules (shared/PROTOCOL.md, "Timing, retries and status"):
//  - push `pushDelayMs` after a mutation; pull at start(), on poke(), on
//    pull(), and every `pullIntervalMs` (when set);
//  - push and pull are separate loops with at most one request in flight
//    each; pokes and pull() calls during a pull coalesce into one more pull;
//  - a failure (network error, non-200 status, invalid pull body, a failed
//    apply) is retried `minDelayMs` after the start of the failed attempt,
//    doubling up to `maxDelayMs`; a success resets the delay;
//  - HTTP 401 asks the auth refresher for new auth and retries at once, up to
//    8 times in a row; with no refresher, or one that gives nothing, the
//    request is retried with backoff like any failure, and setAuth() retries
//    at once a request that is waiting after a 401 (as Replicache does);
//  - a push carries at most `maxPushBytes` of body: a longer queue goes out
//    in ordered batches, each sent once the one before it succeeded; a
//    mutation too large for any push is refused before it is queued
//    (unpushableReason);
//  - a failure that repeats the last one of its loop is reported as a
//    repeat, so a host logs once per change of state, not once per retry;
//  - network errors (and 200 pulls whose body is not JSON) make the client
//    offline, the next success online again;
//  - ClientStateNotFound stops all syncing for good; VersionNotSupported
//    reports that an update is needed and stops retrying that request;
//  - every pull() is answered by onPullFinished: a pull asked for during
//    another one is answered by the follow-up attempt, or, when there will be
//    none (stopped, VersionNotSupported, no new auth), by the last report,
//    which then says that no pull follows.
#ifndef REPLICORE_SCHEDULER_H_
#define REPLICORE_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replicore/platform.h"
#include "replicore/protocol.h"

namespace replicore {

// What the scheduler needs from the local state.
class SyncHost {
 public:
  virtual ~SyncHost() = default;
  virtual RequestIdentity identity() = 0;
  virtual std::vector<Mutation> mutationsToPush() = 0;
  virtual Cookie confirmedCookie() = 0;
  // Applies an accepted pull. Calls `done` exactly once (now or later) with
  // an empty string on success, else with the reason it failed.
  virtual void applyPull(PullSuccess response, Cookie requestCookie,
                         std::function<void(std::string error)> done) = 0;
};

struct SchedulerOptions {
  std::string pushURL;  // empty: never push
  std::string pullURL;  // empty: never pull
  std::string auth;     // sent as Authorization, even when empty
  std::string clientID;
  std::string sessionHex;  // the middle part of X-Replicache-RequestID
  double pushDelayMs = 10;
  std::optional<double> pullIntervalMs = 60000;
  double minDelayMs = 30;
  double maxDelayMs = 60000;
  // The largest push body to send (the server's body limit; node_server's
  // default is 1 MiB). Larger queues are split into batches.
  size_t maxPushBytes = size_t(1) << 20;
  ParseLimits limits;
};

struct SchedulerCallbacks {
  std::function<void(bool online)> onOnlineChange;
  std::function<void(bool syncing)> onSync;
  std::function<void()> onClientStateNotFound;
  std::function<void(const std::string& versionType)> onUpdateNeeded;
  // Asks for new auth after a 401; answer with nullopt to give up.
  std::function<void(std::function<void(std::optional<std::string>)> answer)> getAuth;
  // Each pull attempt's end: "" when it succeeded, else what went wrong.
  // `pullFollows` is false when no further pull is coming for the pulls
  // asked for so far (none was asked for during this one, or it was dropped
  // because syncing stopped or cannot go on): everyone waiting for a pull
  // can be answered.
  std::function<void(const std::string& error, bool pullFollows)> onPullFinished;
  // Every failure, for logging: "push" or "pull", what went wrong, and
  // whether it is the same failure as that loop's previous attempt.
  std::function<void(const std::string& which, const std::string& message, bool repeated)> onError;
  // Optional, for debug logs: a line about each request sent and answered
  // (what it carries, its status and how long it took). Set it only when
  // tracing: the lines cost something to build.
  std::function<void(const std::string& line)> onTrace;
  // Optional: the most bytes of pull response the host can take right now.
  // A larger response fails the pull (and is retried with backoff) before
  // it is parsed, as one over SchedulerOptions::limits.maxBodyBytes does. A
  // host whose allocation failures are fatal (the WebAssembly package, built
  // without C++ exceptions) answers from the memory it has left.
  std::function<size_t()> pullBodyBudget;
};

class SyncScheduler {
 public:
  SyncScheduler(SchedulerOptions options, SchedulerCallbacks callbacks, SyncHost* host,
                Clock* clock, HttpTransport* transport);
  ~SyncScheduler();
  SyncScheduler(const SyncScheduler&) = delete;
  SyncScheduler& operator=(const SyncScheduler&) = delete;

  // Starts syncing: the first pull, a push of what is pending already, and
  // the pull interval.
  void start();
  // A mutation was queued: push after pushDelayMs.
  void mutationAdded();
  // A poke arrived: pull now (or once more after the one in flight).
  void poke() { pull(); }
  // Pull now, or once more after the one in flight; skips a pending retry wait.
  void pull();
  // Push now (if anything is pending); skips a pending retry wait.
  void push();
  // Stops for good: cancels timers, ignores responses still out.
  void close();

  bool online() const { return online_; }
  bool closed() const { return closed_; }
  bool stopped() const { return stopped_; }  // ClientStateNotFound
  bool syncing() const { return push_.inFlight || pull_.inFlight; }
  const std::string& auth() const { return options_.auth; }
  // New auth for the next request; a request waiting to retry after a 401
  // goes out at once with it.
  void setAuth(std::string auth);
  // Why `m` could never be pushed (its push body alone is larger than
  // maxPushBytes), or "" when it can. A host refuses such a mutation before
  // it enters the queue, where it would block every later one.
  std::string unpushableReason(const Mutation& m);
  // Replicache lets an app change these at any time; they apply from the
  // next request (the interval from now).
  void setPushURL(std::string url);
  void setPullURL(std::string url);
  void setPushDelay(double ms);
  void setPullInterval(std::optional<double> ms);
  // The delay the next retry of each loop would wait (for tests and status).
  double pushRetryDelayMs() const { return push_.delayMs; }
  double pullRetryDelayMs() const { return pull_.delayMs; }

 private:
  struct Loop {
    bool inFlight = false;
    bool again = false;
    uint64_t timer = 0;  // a delay or retry timer waiting to start this loop
    double delayMs = 0;  // the next retry delay
    double lastStartMs = 0;
    int authRetries = 0;
    bool waitingAfter401 = false;  // `timer` is a retry after a 401
    std::string lastError;         // of the previous attempt ("" if it succeeded)
  };
  void demand(bool isPush);
  void start(bool isPush);
  void startPush();
  void startPull();
  void send(bool isPush, std::string body, std::function<void(HttpResponse)> done);
  void onPushResponse(HttpResponse response);
  void onPullResponse(HttpResponse response, Cookie requestCookie);
  // Ends an attempt: on failure schedules a retry, on success resets.
  void finish(Loop& loop, bool isPush, bool success, const std::string& error);
  bool handleAuth(Loop& loop, bool isPush, int status);
  bool handleFailedStatus(Loop& loop, bool isPush, const HttpResponse& response);
  void armPullInterval();
  void setOnline(bool online);
  void stopForGood();
  void reportPullFinished(const std::string& error, bool pullFollows);
  void trace(bool isPush, const std::string& what);
  void traceAnswer(bool isPush, const HttpResponse& response);
  void updateSyncing();
  void cancel(uint64_t& timer);
  void reportError(bool isPush, const std::string& message);
  // Wraps a callback so that it does nothing once the scheduler is closed or
  // destroyed: timers and responses may arrive after either.
  template <typename F>
  auto guarded(F f) {
    return [this, alive = std::weak_ptr<bool>(alive_), f = std::move(f)](auto&&... args) mutable {
      auto living = alive.lock();
      if (!living || !*living || closed_) return;
      f(std::forward<decltype(args)>(args)...);
    };
  }

  SchedulerOptions options_;
  SchedulerCallbacks callbacks_;
  SyncHost* host_;
  Clock* clock_;
  HttpTransport* transport_;
  Loop push_;
  Loop pull_;
  // The push batches of the current round: per client, the last mutation id
  // the server has accepted in this round (skipped by the next batch), and
  // of the batch in flight. A round ends when a batch leaves nothing behind
  // it, or fails (the retry starts from the oldest pending mutation again;
  // the server skips what it already has).
  std::map<std::string, uint64_t> roundPushed_;
  std::map<std::string, uint64_t> batchInFlight_;
  bool batchLeftSome_ = false;
  uint64_t intervalTimer_ = 0;
  uint64_t requestCount_ = 0;
  bool online_ = true;
  bool closed_ = false;
  bool stopped_ = false;
  bool started_ = false;
  bool reportedSyncing_ = false;
  // Guards callbacks that arrive after destruction.
  std::shared_ptr<bool> alive_;
};

}  // namespace replicore

#endif  // REPLICORE_SCHEDULER_H_
