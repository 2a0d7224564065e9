#include "replicore/scheduler.h"

#include <algorithm>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

SyncScheduler::SyncScheduler(SchedulerOptions options, SchedulerCallbacks callbacks, SyncHost* host,
                             Clock* clock, HttpTransport* transport)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      host_(host),
      clock_(clock),
      transport_(transport),
      alive_(std::make_shared<bool>(true)) {
  push_.delayMs = options_.minDelayMs;
  pull_.delayMs = options_.minDelayMs;
}

SyncScheduler::~SyncScheduler() {
  close();
  *alive_ = false;
}

void SyncScheduler::cancel(uint64_t& timer) {
  if (timer) clock_->cancelTimeout(timer);
  timer = 0;
}

void SyncScheduler::start() {
  if (started_ || closed_) return;
  started_ = true;
  pull();
  // Mutations loaded from a store (a reload, another tab's) go out at once.
  if (!host_->mutationsToPush().empty()) push();
  armPullInterval();
}

void SyncScheduler::armPullInterval() {
  cancel(intervalTimer_);
  if (!options_.pullIntervalMs || closed_ || stopped_) return;
  intervalTimer_ = clock_->setTimeout(*options_.pullIntervalMs, guarded([this] {
                                        intervalTimer_ = 0;
                                        pull();
                                        armPullInterval();
                                      }));
}

void SyncScheduler::mutationAdded() {
  if (closed_ || stopped_ || options_.pushURL.empty()) return;
  if (push_.inFlight) {
    push_.again = true;
    return;
  }
  // A waiting delay or retry timer will send everything pending anyway.
  if (push_.timer) return;
  push_.timer = clock_->setTimeout(options_.pushDelayMs, guarded([this] {
                                     push_.timer = 0;
                                     startPush();
                                   }));
}

void SyncScheduler::pull() { demand(false); }
void SyncScheduler::push() { demand(true); }

// Asked for now: runs at once, or once more after the request in flight; a
// retry wait is skipped (its delay stays doubled for the next failure).
void SyncScheduler::demand(bool isPush) {
  Loop& loop = isPush ? push_ : pull_;
  const std::string& url = isPush ? options_.pushURL : options_.pullURL;
  if (closed_ || stopped_ || url.empty()) return;
  if (loop.inFlight) {
    loop.again = true;
    return;
  }
  cancel(loop.timer);
  start(isPush);
}

void SyncScheduler::start(bool isPush) {
  if (isPush) {
    startPush();
  } else {
    startPull();
  }
}

void SyncScheduler::setPushURL(std::string url) { options_.pushURL = std::move(url); }
void SyncScheduler::setPullURL(std::string url) { options_.pullURL = std::move(url); }
void SyncScheduler::setPushDelay(double ms) { options_.pushDelayMs = ms; }

void SyncScheduler::setPullInterval(std::optional<double> ms) {
  options_.pullIntervalMs = ms;
  if (started_) armPullInterval();
}

void SyncScheduler::close() {
  if (closed_) return;
  closed_ = true;
  cancel(push_.timer);
  cancel(pull_.timer);
  cancel(intervalTimer_);
}

void SyncScheduler::setOnline(bool online) {
  if (online_ == online) return;
  online_ = online;
  if (callbacks_.onOnlineChange) callbacks_.onOnlineChange(online);
}

// Reports syncing only when it really changed since the last report, so an
// attempt that ends and at once starts its follow-up (a coalesced pull, a
// push of mutations added meanwhile) does not flicker false/true.
void SyncScheduler::updateSyncing() {
  bool now = syncing();
  if (now == reportedSyncing_) return;
  reportedSyncing_ = now;
  if (callbacks_.onSync) callbacks_.onSync(now);
}

void SyncScheduler::reportError(bool isPush, const std::string& message) {
  Loop& loop = isPush ? push_ : pull_;
  bool repeated = message == loop.lastError;
  loop.lastError = message;
  if (callbacks_.onError) callbacks_.onError(isPush ? "push" : "pull", message, repeated);
}

void SyncScheduler::trace(bool isPush, const std::string& what) {
  if (callbacks_.onTrace) callbacks_.onTrace(std::string(isPush ? "push " : "pull ") + what);
}

void SyncScheduler::reportPullFinished(const std::string& error, bool pullFollows) {
  if (callbacks_.onPullFinished) callbacks_.onPullFinished(error, pullFollows);
}

void SyncScheduler::setAuth(std::string auth) {
  options_.auth = std::move(auth);
  // A request that failed with 401 waits for its backoff: the new auth may
  // be what it waited for, so it goes now.
  for (bool isPush : {true, false}) {
    Loop& loop = isPush ? push_ : pull_;
    if (!loop.timer || !loop.waitingAfter401 || closed_ || stopped_) continue;
    cancel(loop.timer);
    loop.waitingAfter401 = false;
    start(isPush);
  }
}

void SyncScheduler::traceAnswer(bool isPush, const HttpResponse& response) {
  Loop& loop = isPush ? push_ : pull_;
  std::string what = "answered: ";
  what += response.status == 0 ? "no response (" + response.networkError + ")" : "HTTP " + std::to_string(response.status);
  what += ", " + std::to_string(response.body.size()) + " bytes, after " +
          std::to_string(static_cast<long long>(clock_->nowMs() - loop.lastStartMs)) + " ms";
  trace(isPush, what);
}

std::string SyncScheduler::unpushableReason(const Mutation& m) {
  // The push of `m` alone, measured without copying its args (megabytes,
  // at times): the body with null args, plus the args' text.
  Mutation argless = m;
  argless.args = nullptr;
  size_t bytes = buildPushBody(host_->identity(), {argless}).size();
  if (m.args) bytes += m.args->text().size() - 4;
  if (bytes <= options_.maxPushBytes) return "";
  return "mutation " + m.name + " is " + std::to_string(bytes) + " bytes as a push, more than the " +
         std::to_string(options_.maxPushBytes) + " bytes a push may carry (maxPushBytes; the server's body limit)";
}

void SyncScheduler::send(bool isPush, std::string body, std::function<void(HttpResponse)> done) {
  HttpRequest request;
  request.url = isPush ? options_.pushURL : options_.pullURL;
  request.headers = {
      {"Content-Type", "application/json"},
      {"Authorization", options_.auth},
      {"X-Replicache-RequestID",
       options_.clientID + "-" + options_.sessionHex + "-" + std::to_string(requestCount_++)},
  };
  request.body = std::move(body);
  transport_->post(std::move(request), std::move(done));
}

void SyncScheduler::startPush() {
  if (closed_ || stopped_) return;
  if (push_.inFlight) {
    push_.again = true;
    return;
  }
  std::vector<Mutation> mutations = host_->mutationsToPush();
  // Earlier batches of this round are on the server already.
  if (!roundPushed_.empty()) {
    mutations.erase(std::remove_if(mutations.begin(), mutations.end(),
                                   [&](const Mutation& m) {
                                     auto it = roundPushed_.find(m.clientID);
                                     return it != roundPushed_.end() && m.id <= it->second;
                                   }),
                    mutations.end());
  }
  if (mutations.empty()) {
    roundPushed_.clear();
    return;
  }
  size_t taken = 0;
  std::string body = buildPushBodyWithin(host_->identity(), mutations, options_.maxPushBytes, &taken);
  batchLeftSome_ = taken < mutations.size();
  batchInFlight_.clear();
  for (size_t i = 0; i < taken; ++i) batchInFlight_[mutations[i].clientID] = mutations[i].id;
  push_.inFlight = true;
  push_.again = false;
  push_.lastStartMs = clock_->nowMs();
  updateSyncing();
  if (callbacks_.onTrace) {
    std::string what = "sent: " + std::to_string(taken) + " mutation" + (taken == 1 ? "" : "s") + " (" +
                       mutations.front().clientID + " " + std::to_string(mutations.front().id);
    if (taken > 1) what += ".." + std::to_string(mutations[taken - 1].id);
    what += "), " + std::to_string(body.size()) + " bytes";
    if (batchLeftSome_) what += ", a batch: " + std::to_string(mutations.size() - taken) + " more to follow";
    trace(true, what);
  }
  send(true, std::move(body), guarded([this](HttpResponse response) { onPushResponse(std::move(response)); }));
}

void SyncScheduler::startPull() {
  if (closed_ || stopped_) return;
  if (pull_.inFlight) {
    pull_.again = true;
    return;
  }
  pull_.inFlight = true;
  pull_.again = false;
  pull_.lastStartMs = clock_->nowMs();
  updateSyncing();
  Cookie cookie = host_->confirmedCookie();
  std::string body = buildPullBody(host_->identity(), cookie);
  if (callbacks_.onTrace) trace(false, "sent: from cookie " + cookie.text().substr(0, 100));
  send(false, std::move(body), guarded([this, cookie](HttpResponse response) {
         onPullResponse(std::move(response), cookie);
       }));
}

bool SyncScheduler::handleAuth(Loop& loop, bool isPush, int status) {
  if (status != 401) {
    loop.authRetries = 0;
    return false;
  }
  if (!callbacks_.getAuth || loop.authRetries >= 8) {
    loop.authRetries = 0;
    return false;  // an ordinary failure from here on: back off
  }
  ++loop.authRetries;
  // Still in flight while the refresher answers, so nothing else starts.
  callbacks_.getAuth(guarded([this, &loop, isPush](std::optional<std::string> auth) {
    if (stopped_) return;
    if (!auth) {
      // Backs off and asks again on the next 401; setAuth() cuts the wait.
      loop.authRetries = 0;
      finish(loop, isPush, false, "HTTP 401 and getAuth gave no new auth");
      loop.waitingAfter401 = true;
      return;
    }
    loop.inFlight = false;
    options_.auth = *auth;
    start(isPush);
    updateSyncing();
  }));
  return true;
}

void SyncScheduler::finish(Loop& loop, bool isPush, bool success, const std::string& error) {
  loop.inFlight = false;
  loop.waitingAfter401 = false;
  if (isPush) {
    if (success && batchLeftSome_) {
      // The next batch goes at once, after the ones the server has now.
      for (const auto& [clientID, id] : batchInFlight_) roundPushed_[clientID] = id;
      loop.again = true;
    } else {
      roundPushed_.clear();
    }
    batchInFlight_.clear();
    batchLeftSome_ = false;
  }
  if (success) {
    loop.delayMs = options_.minDelayMs;
    loop.authRetries = 0;
    loop.lastError.clear();
    bool again = loop.again;
    loop.again = false;
    if (!isPush) reportPullFinished("", again);
    if (again) {
      start(isPush);
    }
    updateSyncing();
    return;
  }
  reportError(isPush, error);
  // A retry follows, and answers pulls asked for meanwhile.
  if (!isPush) reportPullFinished(error.empty() ? "failed" : error, true);
  // The retry waits `delay` from the start of the failed attempt; the delay
  // doubles for the next failure.
  double wait = std::max(0.0, loop.lastStartMs + loop.delayMs - clock_->nowMs());
  loop.delayMs = std::min(loop.delayMs * 2, options_.maxDelayMs);
  loop.again = false;
  cancel(loop.timer);
  loop.timer = clock_->setTimeout(wait, guarded([this, &loop, isPush] {
                                    loop.timer = 0;
                                    start(isPush);
                                  }));
  updateSyncing();
}

namespace {
std::string statusError(const HttpResponse& response) {
  if (response.status == 0) {
    // A transport may already say so ("network error"): not twice.
    const std::string& why = response.networkError;
    if (why.empty()) return "network error";
    if (why.rfind("network error", 0) == 0) return why;
    return "network error: " + why;
  }
  return "HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 200);
}
}  // namespace

// What push and pull do alike with a response that is not a 200: a 401
// asks for auth, a network error also makes the client offline. Returns
// true when it dealt with the response.
bool SyncScheduler::handleFailedStatus(Loop& loop, bool isPush, const HttpResponse& response) {
  if (handleAuth(loop, isPush, response.status)) return true;
  if (response.status == 200) return false;
  if (response.status == 0) setOnline(false);
  finish(loop, isPush, false, statusError(response));
  if (response.status == 401) loop.waitingAfter401 = true;  // see setAuth
  return true;
}

void SyncScheduler::onPushResponse(HttpResponse response) {
  if (stopped_) return;  // stopped while it was out
  if (callbacks_.onTrace) traceAnswer(true, response);
  if (handleFailedStatus(push_, true, response)) return;
  setOnline(true);
  PushResult result = parsePushResponse(response.body);
  if (std::holds_alternative<ClientStateNotFound>(result)) {
    stopForGood();
    return;
  }
  if (auto* v = std::get_if<VersionNotSupported>(&result)) {
    // Retrying cannot help until the app updates: report and stop retrying
    // (no further batch either).
    push_.again = false;
    batchLeftSome_ = false;
    finish(push_, true, true, "");
    if (callbacks_.onUpdateNeeded) callbacks_.onUpdateNeeded(v->versionType);
    return;
  }
  finish(push_, true, true, "");
}

void SyncScheduler::onPullResponse(HttpResponse response, Cookie requestCookie) {
  if (stopped_) return;  // stopped while it was out (stopForGood answered it)
  if (callbacks_.onTrace) traceAnswer(false, response);
  if (handleFailedStatus(pull_, false, response)) return;
  if (callbacks_.pullBodyBudget) {
    size_t budget = callbacks_.pullBodyBudget();
    if (response.body.size() > budget) {
      finish(pull_, false, false,
             "pull response of " + std::to_string(response.body.size()) +
                 " bytes is more than the memory left can take (" + std::to_string(budget) + " bytes)");
      return;
    }
  }
  ParsedPull parsed = parsePullResponse(response.body, options_.limits);
  if (!parsed.result) {
    if (parsed.notJson) setOnline(false);
    finish(pull_, false, false, parsed.error);
    return;
  }
  setOnline(true);
  if (std::holds_alternative<ClientStateNotFound>(*parsed.result)) {
    stopForGood();  // answers this pull and any asked for meanwhile
    return;
  }
  if (auto* v = std::get_if<VersionNotSupported>(&*parsed.result)) {
    // Not retried: that cannot help until the app updates. A pull asked
    // for while this one was out still runs, as in Replicache, whose app
    // hears onUpdateNeeded once per pull (wasm/test/conformance-scenarios.js).
    finish(pull_, false, true, "");
    if (callbacks_.onUpdateNeeded) callbacks_.onUpdateNeeded(v->versionType);
    return;
  }
  // The pull stays in flight until the host has applied it.
  host_->applyPull(std::get<PullSuccess>(std::move(*parsed.result)), std::move(requestCookie),
                   guarded([this](std::string error) {
                     if (error.empty()) {
                       finish(pull_, false, true, "");
                     } else {
                       finish(pull_, false, false, "pull not applied: " + error);
                     }
                   }));
}

void SyncScheduler::stopForGood() {
  // Pulls asked for and not answered yet will never run: answer them.
  bool pullsOwed = pull_.inFlight || pull_.again || pull_.timer;
  stopped_ = true;
  pull_.again = false;
  push_.again = false;
  push_.inFlight = false;
  pull_.inFlight = false;
  cancel(push_.timer);
  cancel(pull_.timer);
  cancel(intervalTimer_);
  roundPushed_.clear();
  updateSyncing();
  if (pullsOwed) reportPullFinished("ClientStateNotFound", false);
  if (callbacks_.onClientStateNotFound) callbacks_.onClientStateNotFound();
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
