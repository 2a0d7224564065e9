// Core (core_binding.h): construction, lifecycle, pull and push, the
// scheduler's callbacks and its transport (RoutingTransport, below).
#include "core_binding.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "emscripten_platform.h"
#include "replicore/json_text.h"
#include "replicore/replica.h"
#include "replicore/scheduler.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

namespace {

const char kPullerURL[] = "replicore-js:puller";
const char kPusherURL[] = "replicore-js:pusher";

// Parsing a pull response and applying it takes up to this many times its
// size at its peak, beyond the body itself. Measured in wasm32 on 200,000
// ops: 6.2 for the smallest puts (`{"op":"put","key":"123456","value":1}`,
// each a parsed op, a value, a change and a map node), 5.0 for deletes, 2.5
// for 100-byte values. 8 leaves room for a fragmented heap.
constexpr size_t kPullMemoryPerByte = 8;

// The pull response the heap has room for now (SchedulerCallbacks::
// pullBodyBudget): free memory inside the heap plus what it can still grow.
size_t pullBodyBudget() { return heapBytesLeft() / kPullMemoryPerByte; }

}  // namespace

// Sends requests for the scheduler: to the JS puller/pusher when the URL is
// one of ours, else through emscripten_fetch.
class RoutingTransport : public HttpTransport {
 public:
  explicit RoutingTransport(Core* core) : core_(core) {}
  void post(HttpRequest request, std::function<void(HttpResponse)> done) override;

 private:
  Core* core_;
  FetchTransport fetch_;
};

void RoutingTransport::post(HttpRequest request, std::function<void(HttpResponse)> done) {
  if (core_->isPullURL(request)) core_->notePullSent();
  if (request.url == kPullerURL || request.url == kPusherURL) {
    core_->sendCustom(std::move(request), std::move(done));
  } else {
    fetch_.post(std::move(request), std::move(done));
  }
}

Core::Core(std::string optionsJson, emscripten::val host) : host_(std::move(host)) {
  // The wrapper's JSON.stringify of its options; anything else reads as
  // no options.
  std::vector<JsonMember> options;
  if (!readJsonObject(optionsJson, 64, &options)) options.clear();
  auto find = [&](const char* k) -> std::optional<std::string_view> {
    for (const JsonMember& m : options) {
      if (m.key == k) return m.value;
    }
    return std::nullopt;
  };
  auto str = [&](const char* k) {
    auto v = find(k);
    return v ? readJsonString(*v).value_or(std::string()) : std::string();
  };
  auto num = [&](const char* k, double d) {
    auto v = find(k);
    return v ? readJsonNumber(*v).value_or(d) : d;
  };
  auto flag = [&](const char* k) { return find(k) == std::optional<std::string_view>("true"); };
  ReplicaOptions ro;
  ro.clientID = str("clientID");
  ro.clientGroupID = str("clientGroupID");
  ro.profileID = str("profileID");
  ro.schemaVersion = str("schemaVersion");
  // {name: {prefix, jsonPointer, allowEmpty}}, in the order JS computes
  // index keys in (see JsValueHost::indexKeys).
  if (auto indexes = find("indexes")) {
    std::vector<JsonMember> defs;
    if (readJsonObject(*indexes, 8, &defs)) {
      for (const JsonMember& d : defs) {
        std::vector<JsonMember> fields;
        if (!readJsonObject(d.value, 8, &fields)) continue;
        IndexDefinition def;
        def.name = d.key;
        for (const JsonMember& f : fields) {
          if (f.key == "prefix") def.prefix = readJsonString(f.value).value_or(std::string());
          else if (f.key == "jsonPointer") def.jsonPointer = readJsonString(f.value).value_or(std::string());
          else if (f.key == "allowEmpty") def.allowEmpty = f.value == "true";
        }
        ro.indexes.push_back(std::move(def));
      }
    }
  }
  replica_ = std::make_unique<Replica>(ro);
  replica_->addChangeListener([this](const ChangeSet& cs) { onChanges(cs); });

  SchedulerOptions so;
  so.pushURL = flag("usePusher") ? kPusherURL : str("pushURL");
  so.pullURL = flag("usePuller") ? kPullerURL : str("pullURL");
  // The core's default (64 MiB) refuses the pull of a 100,000-key cache of
  // 1 KiB values that Replicache accepts; the body is in memory anyway.
  so.limits.maxBodyBytes = size_t(1) << 30;
  pushURL_ = so.pushURL;
  pullURL_ = so.pullURL;
  so.auth = str("auth");
  so.clientID = ro.clientID;
  so.sessionHex = str("sessionHex");
  so.pushDelayMs = num("pushDelay", 10);
  if (find("pullInterval") == std::optional<std::string_view>("null")) so.pullIntervalMs = std::nullopt;
  else so.pullIntervalMs = num("pullInterval", 60000);
  so.minDelayMs = num("minDelayMs", 30);
  so.maxDelayMs = num("maxDelayMs", 60000);
  so.maxPushBytes = size_t(num("maxPushBytes", double(so.maxPushBytes)));

  SchedulerCallbacks cb;
  cb.onOnlineChange = [this](bool online) { host_.call<void>("onOnlineChange", online); };
  cb.onSync = [this](bool syncing) { host_.call<void>("onSync", syncing); };
  // The server no longer knows this client: syncing has stopped for good
  // (the scheduler pulls and pushes no more), so its pokes would wake
  // nothing, and the socket would only hold a connection of the server's.
  cb.onClientStateNotFound = [this] {
    if (poke_) poke_->stop();
    host_.call<void>("onClientStateNotFound");
  };
  cb.onUpdateNeeded = [this](const std::string& t) { host_.call<void>("onUpdateNeeded", t); };
  // Attempts are numbered as they are sent (notePullSent); an attempt's
  // end settles every attempt sent so far (a 401 retry is one attempt).
  // When no pull follows, the pulls asked for during this one (numbered
  // past it by pull()) are answered too.
  cb.onPullFinished = [this](const std::string& error, bool pullFollows) {
    pullsSettled_ = pullFollows ? pullsSent_ : std::max(pullsSent_, pullsAsked_);
    host_.call<void>("onPullFinished", double(pullsSettled_), error);
  };
  if (flag("hasGetAuth")) {
    cb.getAuth = [this](std::function<void(std::optional<std::string>)> answer) {
      int token = nextToken_++;
      authAnswers_[token] = std::move(answer);
      host_.call<void>("getAuth", token);
    };
  }
  if (flag("trace")) cb.onTrace = [this](const std::string& line) { host_.call<void>("onTrace", line); };
  cb.onError = [this](const std::string& which, const std::string& message, bool repeated) {
    host_.call<void>("onError", which, message, repeated);
  };
  cb.pullBodyBudget = pullBodyBudget;
  sweepMin_ = size_t(num("cacheSweepAt", 4096));  // tests lower it
  sweepAt_ = sweepMin_;
  transport_ = std::make_unique<RoutingTransport>(this);
  scheduler_ = std::make_unique<SyncScheduler>(std::move(so), std::move(cb), this, &clock_, transport_.get());

  std::string pokeURL = str("pokeURL");
  if (!pokeURL.empty()) {
    bool tracing = flag("trace");
    poke_ = std::make_unique<PokeSocket>(
        pokeURL, &clock_,
        [this, tracing] {
          if (tracing) host_.call<void>("onTrace", std::string("poke received"));
          scheduler_->poke();
        },
        [this] {
          // A poke may have been missed while disconnected.
          scheduler_->pull();
          host_.call<void>("onPokeOpen");
        });
  }
}

Core::~Core() { close(); }

void Core::start() {
  // Once: the poke socket's start() would open it again after a stop.
  if (closed_ || started_) return;
  started_ = true;
  scheduler_->start();
  if (poke_) poke_->start();
}

void Core::close() {
  if (closed_) return;
  closed_ = true;
  if (poke_) poke_->stop();
  scheduler_->close();
  clock_.cancelAll();
  // Reads and writes JS has open may still finish; they go with the Core.
  pulls_.clear();
  customs_.clear();
  authAnswers_.clear();
}

void Core::setPushURL(std::string url) {
  if (closed_ || pushURL_ == kPusherURL) return;
  pushURL_ = url;
  scheduler_->setPushURL(std::move(url));
  if (!replica_->pendingMutations().empty()) scheduler_->push();
}

void Core::setPullURL(std::string url) {
  if (closed_ || pullURL_ == kPullerURL) return;
  pullURL_ = url;
  scheduler_->setPullURL(std::move(url));
}

void Core::setPushDelay(double ms) {
  if (!closed_) scheduler_->setPushDelay(ms);
}

void Core::setPullInterval(double ms) {
  if (!closed_) scheduler_->setPullInterval(ms < 0 ? std::nullopt : std::optional<double>(ms));
}

double Core::pull() {
  if (closed_) return 0;
  uint64_t before = pullsSent_;
  bool inFlight = pullsSent_ > pullsSettled_;
  scheduler_->pull();
  double n = 0;
  if (pullsSent_ > before) n = double(before + 1);
  else if (inFlight) n = double(pullsSent_ + 1);
  pullsAsked_ = std::max(pullsAsked_, uint64_t(n));
  return n;
}

bool Core::isPullURL(const HttpRequest& r) const {
  return r.url == pullURL_ && (r.url != pushURL_ || r.body.find("\"pushVersion\"") == std::string::npos);
}

void Core::transportDone(int token, int status, std::string body, std::string networkError) {
  auto it = customs_.find(token);
  if (it == customs_.end() || closed_) return;
  auto done = std::move(it->second);
  customs_.erase(it);
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.networkError = std::move(networkError);
  guard(0, [&] {
    done(std::move(r));
    return 0;
  });
  pullValues_.clear();  // not applied (an error, or not a pull): released
}

int Core::holdPullValues(int count, uintptr_t idsOut) {
  return guard(-1, [&] {
    std::string staged = std::move(stagedIndexKeys_);
    stagedIndexKeys_.clear();
    pullValues_.clear();
    pullValues_.reserve(size_t(count));
    double* ids = reinterpret_cast<double*>(idsOut);
    std::vector<uint64_t> valueIDs;
    for (int i = 0; i < count; i++) {
      pullValues_.push_back(Value::fromHost(&jsValues_));
      ids[i] = double(pullValues_.back()->id());
      if (!staged.empty()) valueIDs.push_back(pullValues_.back()->id());
    }
    if (!staged.empty()) jsValues_.takeStaged(std::move(staged), indexCount(), valueIDs);
    return count;
  });
}

namespace {

// Resizes `s` to `size` bytes, leaving the new ones unwritten where libc++
// allows it: JS writes every byte of a body buffer next, and std::string's
// resize would first write megabytes of zeros (a 10 MB mutation's args in
// WebKit: about 10 ms; touching the new memory costs the rest, wherever
// it happens first).
template <typename S>
auto resizeForOverwrite(S& s, size_t size, int) -> decltype(s.__resize_default_init(size)) {
  return s.__resize_default_init(size);
}
template <typename S>
void resizeForOverwrite(S& s, size_t size, long) {
  s.resize(size);
}

}  // namespace

uintptr_t Core::bodyBuffer(size_t size) {
  return guard(uintptr_t(0), [&] {
    if (!heapCanHold(size)) return fail(uintptr_t(0), "out of memory: the WebAssembly heap cannot hold the body");
    resizeForOverwrite(body_, size, 0);
    return reinterpret_cast<uintptr_t>(body_.data());
  });
}

std::string Core::takeBody(size_t len) {
  body_.resize(std::min(len, body_.size()));
  std::string body = std::move(body_);
  body_ = std::string();
  // Sized for three bytes a character where the text was not ASCII: what
  // is kept (a pending mutation's args) should not hold twice its size.
  if (body.capacity() / 4 > body.size() / 3) body.shrink_to_fit();
  return body;
}

void Core::transportDoneBody(int token, int status, size_t len, std::string networkError) {
  transportDone(token, status, takeBody(len), std::move(networkError));
}

void Core::authAnswer(int token, bool has, std::string value) {
  auto it = authAnswers_.find(token);
  if (it == authAnswers_.end() || closed_) return;
  auto answer = std::move(it->second);
  authAnswers_.erase(it);
  guard(0, [&] {
    answer(has ? std::optional<std::string>(std::move(value)) : std::nullopt);
    return 0;
  });
}

std::string Core::pendingMutations() {
  return guard(std::string("[]"), [&] {
    std::string out = "[";
    for (const Mutation& m : replica_->pendingMutations()) {
      if (out.size() > 1) out += ',';
      out += "{\"name\":";
      appendJsonString(out, m.name);
      out += ",\"id\":";
      appendJsonInteger(out, m.id);
      out += ",\"args\":";
      out += m.args->text();
      out += ",\"clientID\":";
      appendJsonString(out, m.clientID);
      out += '}';
    }
    out += ']';
    return out;
  });
}

void Core::sendCustom(HttpRequest request, std::function<void(HttpResponse)> done) {
  int token = nextToken_++;
  customs_[token] = std::move(done);
  std::string requestID;
  for (auto& [k, v] : request.headers)
    if (k == "X-Replicache-RequestID") requestID = v;
  host_.call<void>("send", token, request.url == kPullerURL, request.body, requestID,
                   scheduler_ ? scheduler_->auth() : std::string());
}

void Core::applyPull(PullSuccess response, Cookie requestCookie,
                     std::function<void(std::string error)> done) {
  if (closed_) return;
  if (!pullValues_.empty()) {
    // The values of a JS puller's response, in the order of its puts.
    std::vector<ValuePtr> values = std::move(pullValues_);
    pullValues_.clear();
    size_t next = 0;
    for (PatchOp& op : response.patch) {
      if (op.kind != PatchOpKind::kPut) continue;
      if (next < values.size()) op.value = values[next];
      ++next;
    }
    if (next != values.size()) {
      done("internal error: the puller's values do not match its put ops");
      return;
    }
  }
  int token = nextToken_++;
  pulls_[token] = PendingPull{std::move(response), std::move(requestCookie), std::move(done)};
  host_.call<void>("applyPull", token);
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
