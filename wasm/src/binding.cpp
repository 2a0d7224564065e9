// embind binding of the replicore core for the JavaScript wrapper
// (wasm/js/replicore.js). The wrapper is the public API; this file is the
// narrow, fast boundary under it.
//
// Boundary design (shared/BENCHMARKS.md, "A lesson from the field"): a
// WebAssembly core is only fast if a scan, a pull or a rebase crosses the
// JS/wasm boundary a constant number of times and values are not converted
// on every read. So:
//  - Values are identified by Value::id(). The JS side keeps a cache
//    Map<id, frozen JS value>, and this side keeps `jsKnown_`, the exact set
//    of ids that cache holds. A read returns ids; the JSON text of a value is
//    sent only when its id is not in jsKnown_ (and then it is added). So a
//    value crosses at most once while it stays in the cache.
//  - get() is one call returning an id (negative: "not cached yet, fetch the
//    text with takeValueText()", a second call only on a miss).
//  - scan() is one call returning one buffer: all keys, all ids, and the
//    texts of the values JS has not seen, as JSON arrays of tens of KiB
//    that JS decodes and parses one by one (ScanAnswer).
//  - The core keeps each value as its JSON text (Value::text()), so what goes
//    to JS is that text as stored, never re-printed.
//  - A mutator's writes are buffered in JS and arrive in one setMany() call
//    carrying only the keys (encoded straight into wasm memory). The values
//    stay in JS: each becomes a host-held Value (core/value.h) whose id JS
//    caches the value under, and the core asks JS for its JSON text
//    (host.valueText) only if a C++ reader ever needs it, which a mutation,
//    a push or a rebase never does. So set() costs no JSON.stringify and no
//    copy. Host-held ids are not in jsKnown_: JS keeps them until the core
//    releases the Value (ValueHost::released), and the next note evicts
//    them; visibility sweeps leave them alone, since an open read or a
//    watch diff may still hold them.
//  - Large strings cross as bytes: TextEncoder.encodeInto into wasm memory
//    (malloc'ed for writes, the core's own string for large pull bodies) on
//    the way in, typed_memory_view + TextDecoder on the way out
//    (embind's std::string conversion walks strings in a JS loop).
//  - The cache is kept in step on both sides: each commit (mutation or
//    rebase) returns one "note" text listing ids to evict (values that left
//    the visible state; plus, now and then, a sweep of ids no longer
//    visible), the subscriptions whose ReadSet the commit affected, and the
//    watch diffs, with any value texts they need.
//  - A pull body goes to the core as one string; the scheduler parses it in
//    C++. From fetch that is the body as received. A custom JS puller's
//    response is an object: JS sends its skeleton (every put's value written
//    as null) and keeps the values, which become host-held Values
//    (holdPullValues) that applyPull puts in place of the nulls, in order.
//    So a puller's values are neither stringified nor copied. A rebase crosses a
//    constant number of times per replayed mutation (next, then succeeded or
//    failed) plus the mutator's own reads and writes.
//  - JS drives the core; C++ calls back into JS only through the `host`
//    object, for events:
//    applyPull, online/sync changes, auth, custom puller/pusher requests. The
//    host defers user callbacks, so nothing re-enters the core from inside
//    a C++ call.
// Errors never escape as C++ exceptions: failing calls return a sentinel and
// leave the message in lastError(). The package is built without C++
// exceptions (wasm/CMakeLists.txt, REPLICORE_WASM_EXCEPTIONS): there an
// allocation failure stops the module, so what JS sizes (a body buffer) is
// checked before it is allocated, and a pull response is refused when the
// heap has not enough room left to parse and apply it (pullBodyBudget).
#include <emscripten/bind.h>
#include <emscripten/console.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "emscripten_platform.h"
#include "store_binding.h"
#include "replicore/id_set.h"
#include "replicore/json_text.h"
#include "replicore/persister.h"
#include "replicore/replica.h"
#include "replicore/scheduler.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
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

// What get() answers when the value lies in a page of the store that a
// lazy open has not read yet (value ids are whole numbers).
constexpr double kMissed = 0.5;

// The pull response the heap has room for now (SchedulerCallbacks::
// pullBodyBudget): free memory inside the heap plus what it can still grow.
size_t pullBodyBudget() { return heapBytesLeft() / kPullMemoryPerByte; }

const char* outcomeKindName(PullOutcome::Kind k) {
  switch (k) {
    case PullOutcome::Kind::kApplied: return "applied";
    case PullOutcome::Kind::kNoOp: return "noop";
    case PullOutcome::Kind::kDropped: return "dropped";
    case PullOutcome::Kind::kRejected: return "rejected";
  }
  return "?";
}

// A scan's answer, collected as the scan visits its entries, then laid out
// for JS (scan-buffer.js, unpackScan) in one buffer written once, at its
// final size, into the caller's reused string (a cold full scan of 10 MB
// of values in one pass: no buffer doubling, no second copy):
//   uint32 n, keyBytes, valueBytes, flags, pieces, 0     (24 bytes)
//   uint32 end of each piece within the values           (padded to 8 bytes)
//   n float64 value ids                                  (no JSON for the ids)
//   keyBytes of UTF-8: the keys joined by NUL            (JS splits; if a key
//                      holds a NUL, flags bit 0 and a JSON array instead)
//   valueBytes of UTF-8: pieces, each a JSON array [id, value, ...] of the
//                      values JS has not cached (none: the warm case)
// Header flags: 1 keys as JSON (above), 2 missed (see get: nothing else is
// sent; read missedKeys() and scan again).
class ScanAnswer {
 public:
  // The values go out in pieces of about this size, each decoded and
  // parsed by itself: TextDecoder and JSON.parse of one text of megabytes
  // are an order of magnitude slower than of the same bytes in pieces of
  // tens of KiB in Chromium (10 MB: 34 ms whole, 3.3 ms in 64 KiB pieces)
  // and Firefox (193 ms, 14 ms), while WebKit's per-call cost makes pieces
  // much smaller than this slow there (16 KiB: 42 ms, 64 KiB: 6.7 ms).
  static constexpr size_t kPieceBytes = 64 * 1024;

  std::string keys;
  bool nul = false;  // a key holds a NUL: keys must be sent as JSON
  std::vector<double> ids;
  std::vector<const Value*> values;  // owned by the scanned state, alive during the call

  void addKey(const std::string& key) {
    if (!ids.empty()) keys += '\0';
    if (!nul && key.find('\0') != std::string::npos) nul = true;
    keys += key;
  }

  // The answer "a page this scan needs is not read yet".
  static void packMissed(std::string& out) {
    const uint32_t header[6] = {0, 0, 0, 2, 0, 0};
    out.assign(reinterpret_cast<const char*>(header), sizeof header);
  }

  void packInto(std::string& out) const {
    // The pieces' ends, from the values' sizes, before anything is written.
    std::vector<uint32_t> ends;
    size_t at = 0, pieceStart = 0;
    char digits[24];
    for (const Value* v : values) {
      size_t entry = size_t(idDigits(v->id(), digits)) + 1 + v->text().size();
      if (at > pieceStart && at + entry + 1 - pieceStart > kPieceBytes) {
        ends.push_back(uint32_t(++at));  // the closing bracket
        pieceStart = at;
      }
      at += 1 + entry;  // '[' or ',', then the entry
    }
    if (at > pieceStart) ends.push_back(uint32_t(++at));
    const size_t valueBytes = at;
    const size_t endsBytes = (ends.size() + (ends.size() & 1)) * sizeof(uint32_t);
    const uint32_t header[6] = {uint32_t(ids.size()), uint32_t(keys.size()), uint32_t(valueBytes),
                                nul ? 1u : 0u, uint32_t(ends.size()), 0};
    out.clear();
    out.reserve(sizeof header + endsBytes + ids.size() * sizeof(double) + keys.size() + valueBytes);
    out.append(reinterpret_cast<const char*>(header), sizeof header);
    out.append(reinterpret_cast<const char*>(ends.data()), ends.size() * sizeof(uint32_t));
    if (ends.size() & 1) out.append(sizeof(uint32_t), '\0');
    out.append(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(double));
    out += keys;
    const size_t valuesAt = out.size();
    size_t piece = 0;
    bool first = true;
    for (const Value* v : values) {
      out += first ? '[' : ',';
      first = false;
      out.append(digits, size_t(idDigits(v->id(), digits)));
      out += ',';
      out += v->text();
      // The same rule as above closes the piece at the same place.
      if (out.size() - valuesAt + 1 == ends[piece]) {
        out += ']';
        ++piece;
        first = true;
      }
    }
  }

 private:
  // Writes `id` in decimal to `out`; returns how many digits.
  static int idDigits(uint64_t id, char* out) {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = char('0' + id % 10);
      id /= 10;
    } while (id);
    for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    return n;
  }
};

}  // namespace

class Core;

// The ValueHost of the values JS mutators write: JS keeps them in its cache
// under their ids; this records releases until the next note tells JS.
class JsValueHost : public ValueHost {
 public:
  explicit JsValueHost(const emscripten::val* host) : host_(host) {}
  std::string textOf(uint64_t id) override { return host_->call<std::string>("valueText", double(id)); }
  // One crossing per commit: the pairs' ids as float64 in wasm memory, the
  // answers written back by JS as bytes.
  std::vector<char> equal(const std::vector<std::pair<uint64_t, uint64_t>>& pairs) override {
    std::vector<double> ids;
    ids.reserve(pairs.size() * 2);
    for (const auto& [a, b] : pairs) {
      ids.push_back(double(a));
      ids.push_back(double(b));
    }
    std::vector<char> out(pairs.size(), 0);
    host_->call<void>("valuesEqual", reinterpret_cast<uintptr_t>(ids.data()), pairs.size(),
                      reinterpret_cast<uintptr_t>(out.data()));
    return out;
  }
  void released(uint64_t id) override {
    released_.push_back(id);
    if (!indexKeys_.empty()) indexKeys_.erase(id);
  }
  std::vector<uint64_t>& releasedIDs() { return released_; }

  // Index keys: JS works them out from its own copy of each value it hands
  // over (setMany, holdPullValues), so the core never asks for the text.
  // Per value, for each index in order: the count, then that many keys,
  // each ended by a NUL (keys never hold one).
  bool indexKeys(uint64_t id, size_t index, std::vector<std::string>* out) override {
    auto it = indexKeys_.find(id);
    if (it == indexKeys_.end()) return false;
    std::string_view text = it->second;
    size_t at = 0;
    for (size_t i = 0; i <= index; ++i) {
      size_t nul = text.find('\0', at);
      if (nul == std::string_view::npos) return false;
      size_t count = size_t(std::strtoul(std::string(text.substr(at, nul - at)).c_str(), nullptr, 10));
      at = nul + 1;
      for (size_t k = 0; k < count; ++k) {
        size_t end = text.find('\0', at);
        if (end == std::string_view::npos) return false;
        if (i == index) out->emplace_back(text.substr(at, end - at));
        at = end + 1;
      }
    }
    return true;
  }
  // The keys JS staged (stageIndexKeys) for the next `count` values, one
  // segment each (see indexKeys), split off in order for `ids` as they are
  // made. `indexes` is the number of indexes.
  void takeStaged(std::string staged, size_t indexes, const std::vector<uint64_t>& ids) {
    size_t at = 0;
    for (uint64_t id : ids) {
      size_t start = at;
      for (size_t i = 0; i < indexes && at < staged.size(); ++i) {
        size_t nul = staged.find('\0', at);
        if (nul == std::string::npos) return;
        size_t count = size_t(std::strtoul(staged.c_str() + at, nullptr, 10));
        at = nul + 1;
        for (size_t k = 0; k < count && at <= staged.size(); ++k) {
          size_t end = staged.find('\0', at);
          if (end == std::string::npos) return;
          at = end + 1;
        }
      }
      if (at > start) indexKeys_[id] = staged.substr(start, at - start);
    }
  }

 private:
  const emscripten::val* host_;
  std::vector<uint64_t> released_;
  // A tree, not a hash table: the package's only std::unordered_map linked
  // libc++'s prime-number bucket code (1.3 KB of .wasm, brotli).
  std::map<uint64_t, std::string> indexKeys_;
};

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

class Core : public SyncHost {
 public:
  Core(std::string optionsJson, emscripten::val host) : host_(std::move(host)) {
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
    cb.onClientStateNotFound = [this] { host_.call<void>("onClientStateNotFound"); };
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

  ~Core() override { close(); }

  // ----------------------------------------------------------- lifecycle --
  void start() {
    if (closed_) return;
    started_ = true;
    scheduler_->start();
    if (poke_) poke_->start();
  }

  void close() {
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

  std::string lastError() const { return lastError_; }

  // Replicache lets apps change these at any time; they apply from the next
  // request. A new pushURL pushes what is pending at once.
  void setPushURL(std::string url) {
    if (closed_ || pushURL_ == kPusherURL) return;
    pushURL_ = url;
    scheduler_->setPushURL(std::move(url));
    if (!replica_->pendingMutations().empty()) scheduler_->push();
  }
  void setPullURL(std::string url) {
    if (closed_ || pullURL_ == kPullerURL) return;
    pullURL_ = url;
    scheduler_->setPullURL(std::move(url));
  }
  void setPushDelay(double ms) {
    if (!closed_) scheduler_->setPushDelay(ms);
  }
  // A negative interval: none (pullInterval null).
  void setPullInterval(double ms) {
    if (!closed_) scheduler_->setPullInterval(ms < 0 ? std::nullopt : std::optional<double>(ms));
  }

  // ----------------------------------------------------------- mutations --
  // Opens the write transaction of a new mutation; returns its id, or 0 with
  // lastError() set.
  double beginMutation(std::string name, std::string argsJson, double timestamp) {
    return beginMutationBytes(std::move(name), reinterpret_cast<uintptr_t>(argsJson.data()), argsJson.size(), timestamp);
  }

  // beginMutation with the args' UTF-8 at `ptr` (large args: embind's
  // std::string conversion walks a string in a JS loop).
  double beginMutationBytes(std::string name, uintptr_t ptr, size_t len, double timestamp) {
    return guard(0.0, [&] {
      // JSON.stringify of a validated copy: valid JSON, kept as text (the
      // core never parses it; pushes and replays send it back as is).
      const char* p = reinterpret_cast<const char*>(ptr);
      pendingWrite_ = replica_->beginMutation(std::move(name), Value::fromText(std::string(p, len)), timestamp);
      // Refused before the mutator runs: no push could ever carry it, and
      // it would block every later mutation (ids are derived, so dropping
      // the open write leaves no gap).
      std::string unpushable = scheduler_->unpushableReason(pendingWrite_->mutation());
      if (!unpushable.empty()) {
        pendingWrite_.reset();
        return fail(0.0, unpushable.c_str());
      }
      return double(pendingWrite_->mutation().id);
    });
  }

  // Commits the open mutation; returns the note (see the top of the file).
  std::string commitMutation() {
    return guard(std::string(), [&] {
      if (!pendingWrite_) return fail(std::string(), "no open mutation");
      pendingWrite_->commit();
      pendingWrite_.reset();
      std::string note = takeNote();
      if (!closed_) scheduler_->mutationAdded();
      return note;
    });
  }

  void abortMutation() { pendingWrite_.reset(); }

  // -------------------------------------------------------- transactions --
  // Transaction handle 0 is the open write (mutation or rebase replay);
  // other handles are reads from openRead.
  int openRead(int subID) {
    return guard(0, [&] {
      ReadSet* rs = nullptr;
      if (subID > 0) {
        auto it = subs_.find(subID);
        if (it != subs_.end()) {
          it->second.clear();
          rs = &it->second;
        }
      }
      int id = nextRead_++;
      reads_[id] = replica_->read(rs);
      return id;
    });
  }

  void closeRead(int id) { reads_.erase(id); }

  // 0: absent. >0: the value's id, already in the JS cache. <0: minus the
  // id of a value JS has not cached; its text is in takeValueText().
  // kMissed (0.5, never an id): the answer lies in a page of the store not
  // read yet (a lazy open); JS reads missedKeys() and asks again.
  double get(int txID, std::string key) {
    return guard(0.0, [&] {
      ReadTransaction* tx = txFor(txID);
      if (!tx) return 0.0;
      ValuePtr v = tx->get(key);
      if (missed(tx)) return kMissed;
      if (!v) return 0.0;
      return idFor(v);
    });
  }

  // The text of the value a get() just reported as not cached, as a view
  // (see scan).
  emscripten::val takeValueText() {
    out_ = std::move(valueText_);
    valueText_.clear();
    return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
  }

  // 1 yes, 0 no, 2 missed (see get).
  int has(int txID, std::string key) {
    return guard(0, [&] {
      ReadTransaction* tx = txFor(txID);
      if (!tx) return 0;
      bool yes = tx->has(key);
      return missed(tx) ? 2 : yes ? 1 : 0;
    });
  }

  // 1 empty, 0 not, 2 missed (see get).
  int isEmpty(int txID) {
    return guard(1, [&] {
      ReadTransaction* tx = txFor(txID);
      if (!tx) return 1;
      bool yes = tx->isEmpty();
      return missed(tx) ? 2 : yes ? 1 : 0;
    });
  }

  // One crossing per scan, one buffer (a Uint8Array view, valid until the
  // next call; JS reads it at once; empty on error), laid out by
  // ScanAnswer::packInto (below). flags: 1 start key given, 2 start
  // exclusive, 4 keys only (no values are sent for keys(), so JS neither
  // parses nor caches them).
  // A warm scan thus costs JS one decode + split of the keys and a typed
  // array of ids (JSON.parse of keys and ids was most of it).
  emscripten::val scan(int txID, std::string prefix, std::string startKey, int flags, double limit) {
    if (!scanInto(txID, std::move(prefix), std::move(startKey), flags, limit)) out_.clear();
    return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
  }

  bool scanInto(int txID, std::string prefix, std::string startKey, int flags, double limit) {
    return guard(false, [&] {
      ReadTransaction* tx = txFor(txID);
      if (!tx) return false;
      ScanOptions so;
      so.prefix = std::move(prefix);
      if (flags & 1) so.startKey = std::move(startKey);
      so.startExclusive = (flags & 2) != 0;
      if (limit >= 0) so.limit = size_t(limit);
      const bool keysOnly = (flags & 4) != 0;  // keys(): no value texts
      if (!replica_->fullyLoaded()) {
        // A lazy open: find out first, cheaply, whether the scan needs a
        // page not read yet, rather than build an answer to throw away.
        tx->scanEach(so, [](const std::string&, const ValuePtr&) { return true; });
        if (missed(tx)) {
          ScanAnswer::packMissed(out_);
          return true;
        }
      }
      ScanAnswer answer;
      // scanEach records the scan in the transaction's ReadSet like scan().
      tx->scanEach(so, [&](const std::string& key, const ValuePtr& v) {
        answer.addKey(key);
        noteEntry(answer, v, keysOnly);
        return true;
      });
      if (answer.nul) {
        // Rare (a key holding a NUL): the keys again, as a JSON array.
        answer.keys = "[";
        bool first = true;
        tx->scanEach(so, [&](const std::string& key, const ValuePtr&) {
          if (!first) answer.keys += ',';
          first = false;
          appendJsonString(answer.keys, key);
          return true;
        });
        answer.keys += ']';
      }
      answer.packInto(out_);
      return true;
    });
  }

  // Writes a batch of JS-held values in the open write transaction, in one
  // crossing. JS writes the UTF-8 keys back to back at `data`
  // (TextEncoder.encodeInto straight into wasm memory) and their byte
  // lengths as uint32 at `lens`; the core makes a host-held Value for each
  // and writes its id as a float64 at `idsOut` (JS caches its value under
  // it). Returns `count`, or -1 with lastError() on failure.
  int setMany(uintptr_t data, uintptr_t lens, int count, uintptr_t idsOut) {
    return guard(-1, [&] {
      std::string staged = std::move(stagedIndexKeys_);  // for this call only
      stagedIndexKeys_.clear();
      WriteTransaction* tx = writeTx();
      if (!tx) return fail(-1, "no open write transaction");
      const char* p = reinterpret_cast<const char*>(data);
      const uint32_t* len = reinterpret_cast<const uint32_t*>(lens);
      double* ids = reinterpret_cast<double*>(idsOut);
      // A commit compares each key's old value: their pages must be in
      // (a lazy open) before anything is written.
      if (!replica_->fullyLoaded()) {
        const char* q = p;
        for (int i = 0; i < count; i++) {
          if (auto page = tx->unloadedPageOf(std::string_view(q, len[i]))) missedPages_.push_back(*page);
          q += len[i];
        }
        if (!missedPages_.empty()) return -2;
      }
      if (!staged.empty()) {
        // With indexes: the values' keys are in place before set() reads them.
        std::vector<ValuePtr> values;
        std::vector<uint64_t> valueIDs;
        for (int i = 0; i < count; i++) {
          values.push_back(Value::fromHost(&jsValues_));
          valueIDs.push_back(values.back()->id());
          ids[i] = double(valueIDs.back());
        }
        jsValues_.takeStaged(std::move(staged), indexCount(), valueIDs);
        for (int i = 0; i < count; i++) {
          tx->set(std::string(p, len[i]), std::move(values[i]));
          p += len[i];
        }
        return count;
      }
      for (int i = 0; i < count; i++) {
        std::string key(p, len[i]);
        p += len[i];
        ValuePtr v = Value::fromHost(&jsValues_);
        ids[i] = double(v->id());
        tx->set(std::move(key), std::move(v));
      }
      return count;
    });
  }

  // 1: deleted, 0: did not exist, -1: error, -2: missed (see get).
  int del(std::string key) {
    return guard(-1, [&] {
      WriteTransaction* tx = writeTx();
      if (!tx) return fail(-1, "no open write transaction");
      if (auto page = tx->unloadedPageOf(key)) {
        missedPages_.push_back(*page);
        return -2;
      }
      return tx->del(std::move(key)) ? 1 : 0;
    });
  }

  // -------------------------------------------------------------- indexes --
  // The index keys of the values the next setMany or holdPullValues makes,
  // as UTF-8 at `ptr` (JsValueHost::indexKeys has the layout). JS sends
  // them only when there are indexes.
  void stageIndexKeys(uintptr_t ptr, size_t len) {
    stagedIndexKeys_.assign(reinterpret_cast<const char*>(ptr), len);
  }

  // A scan of the index called `name`, answered like scan(): the same
  // buffer, with 2n keys (secondary, primary, ...) for n entries. flags: 1
  // start given, 2 exclusive, 4 keys only, 8 the start names a primary key.
  // An unknown index: an empty view, lastError "Unknown index name: ...".
  // A lazy open not read whole yet: missed (every page is needed).
  emscripten::val scanIndex(int txID, std::string name, std::string prefix, std::string startSecondary,
                            std::string startPrimary, int flags, double limit) {
    bool ok = guard(false, [&] {
      ReadTransaction* tx = txFor(txID);
      if (!tx) return false;
      std::optional<size_t> index = tx->indexNumber(name);
      if (!index) return fail(false, ("Unknown index name: " + name).c_str());
      IndexScanOptions so;
      so.prefix = std::move(prefix);
      if (flags & 1) {
        so.startSecondary = std::move(startSecondary);
        if (flags & 8) so.startPrimary = std::move(startPrimary);
      }
      so.startExclusive = (flags & 2) != 0;
      if (limit >= 0) so.limit = size_t(limit);
      const bool keysOnly = (flags & 4) != 0;
      ScanAnswer answer;
      tx->scanIndexEach(*index, so, [&](const IndexKey& key, const ValuePtr& v) {
        answer.addKey(key.secondary);
        answer.keys += '\0';
        answer.keys += key.primary;
        if (!answer.nul && key.primary.find('\0') != std::string::npos) answer.nul = true;
        noteEntry(answer, v, keysOnly);
        return true;
      });
      if (missed(tx)) {
        ScanAnswer::packMissed(out_);
        return true;
      }
      if (answer.nul) {
        // Rare (a primary key holding a NUL): the keys as a JSON array.
        answer.keys = "[";
        tx->scanIndexEach(*index, so, [&](const IndexKey& key, const ValuePtr&) {
          if (answer.keys.size() > 1) answer.keys += ',';
          appendJsonString(answer.keys, key.secondary);
          answer.keys += ',';
          appendJsonString(answer.keys, key.primary);
          return true;
        });
        answer.keys += ']';
      }
      answer.packInto(out_);
      return true;
    });
    if (!ok) out_.clear();
    return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
  }

  // A watch of the index called `name` (diff keys [secondary, primary],
  // `prefix` on the secondary key). 0 for an unknown index.
  int addIndexWatch(std::string name, std::string prefix) {
    const IndexSet* indexes = replica_->indexes();
    std::optional<size_t> index = indexes ? indexes->find(name) : std::nullopt;
    if (!index) return 0;
    int id = nextWatch_++;
    indexWatches_[id] = {*index, std::move(prefix)};
    return id;
  }

  // ----------------------------------------------- subscriptions, watches --
  int addSubscription() {
    int id = nextSub_++;
    subs_[id];
    return id;
  }
  void removeSubscription(int id) { subs_.erase(id); }

  int addWatch(std::string prefix) {
    int id = nextWatch_++;
    watches_[id] = std::move(prefix);
    return id;
  }
  void removeWatch(int id) {
    watches_.erase(id);
    indexWatches_.erase(id);
  }

  // --------------------------------------------------------------- rebase --
  // Starts applying the pull response stored under `token` (see applyPull).
  // Returns {"started":true} when a rebase is open for JS to drive, else
  // {"started":false,"kind":...,"error":...} (already finished).
  std::string rebaseBegin(int token) {
    return guard(std::string("{\"started\":false,\"kind\":\"error\"}"), [&] {
      auto it = pulls_.find(token);
      if (it == pulls_.end()) return std::string("{\"started\":false,\"kind\":\"gone\"}");
      PendingPull p = std::move(it->second);
      pulls_.erase(it);
      PullOutcome outcome;
      rebase_ = replica_->beginRebase(p.response, p.requestCookie, &outcome);
      if (rebase_) {
        rebaseDone_ = std::move(p.done);
        return std::string("{\"started\":true}");
      }
      std::string out = "{\"started\":false,\"kind\":\"";
      out += outcomeKindName(outcome.kind);
      out += "\",\"error\":";
      appendJsonString(out, outcome.error);
      out += "}";
      if (!closed_) p.done(outcome.kind == PullOutcome::Kind::kRejected ? outcome.error : std::string());
      return out;
    });
  }

  // The next mutation to replay as JSON {id,name,args,clientID,timestamp},
  // or "" when none is left.
  std::string rebaseNext() {
    return guard(std::string(), [&] {
      if (!rebase_) return std::string();
      const Mutation* m = rebase_->next();
      if (!m) return std::string();
      std::string out = "{\"id\":";
      appendJsonInteger(out, m->id);
      out += ",\"name\":";
      appendJsonString(out, m->name);
      out += ",\"clientID\":";
      appendJsonString(out, m->clientID);
      out += ",\"args\":";
      out += m->args->text();
      out += "}";
      return out;
    });
  }

  void rebaseSucceeded() {
    guard(0, [&] {
      if (rebase_) rebase_->succeeded();
      return 0;
    });
  }
  void rebaseFailed(std::string message) {
    guard(0, [&] {
      if (rebase_) rebase_->failed(std::move(message));
      return 0;
    });
  }

  // Installs the rebase. Returns {"kind":..., "error":..., "confirmed":n,
  // "replayErrors":[...], "reset":null|{...}, "note":{...}}.
  std::string rebaseFinish() {
    return guard(std::string(), [&] {
      if (!rebase_) return fail(std::string(), "no open rebase");
      PullOutcome outcome = rebase_->finish();
      rebase_.reset();
      std::string out = "{\"kind\":\"";
      out += outcomeKindName(outcome.kind);
      out += "\",\"error\":";
      appendJsonString(out, outcome.error);
      out += ",\"confirmed\":";
      appendJsonInteger(out, outcome.confirmedMutations);
      out += ",\"replayErrors\":[";
      bool first = true;
      for (const ReplayError& e : outcome.replayErrors) {
        if (!first) out += ',';
        first = false;
        out += "{\"clientID\":";
        appendJsonString(out, e.clientID);
        out += ",\"id\":";
        appendJsonInteger(out, e.mutationID);
        out += ",\"name\":";
        appendJsonString(out, e.name);
        out += ",\"message\":";
        appendJsonString(out, e.message);
        out += "}";
      }
      out += "],\"reset\":";
      if (const std::optional<ClientReset>& r = outcome.reset) {
        // The server lost what it had confirmed (or started this client
        // over with a lower cookie): the app is told (onClientStateReset).
        out += "{\"cookieWentBack\":";
        out += r->cookieWentBack ? "true" : "false";
        out += ",\"knownLastMutationID\":";
        appendJsonInteger(out, r->knownLastMutationID);
        out += ",\"serverLastMutationID\":";
        appendJsonInteger(out, r->serverLastMutationID);
        out += ",\"requeued\":";
        appendJsonInteger(out, r->requeued);
        out += ",\"lost\":";
        appendJsonInteger(out, r->lost);
        out += ",\"renumbered\":";
        out += r->renumbered ? "true" : "false";
        out += ",\"droppedForeign\":";
        appendJsonInteger(out, r->droppedForeign);
        out += "}";
      } else {
        out += "null";
      }
      out += ",\"note\":";
      out += takeNote();
      out += "}";
      auto done = std::move(rebaseDone_);
      rebaseDone_ = nullptr;
      if (done && !closed_) done(outcome.kind == PullOutcome::Kind::kRejected ? outcome.error : std::string());
      return out;
    });
  }

  // Gives up an open rebase (nothing changes) and fails the pull.
  void rebaseAbort(std::string why) {
    rebase_.reset();
    auto done = std::move(rebaseDone_);
    rebaseDone_ = nullptr;
    if (done && !closed_) done(why.empty() ? std::string("rebase aborted") : why);
  }

  // Drops a stored pull response JS will not apply (closing).
  void dropPull(int token) { pulls_.erase(token); }

  // ----------------------------------------------------------------- sync --
  // Pulls now (or once more after the pull in flight). Returns the number
  // of the attempt that answers this call (JS waits for onPullFinished with
  // a number at least that), or 0 when no pull will run (closed, stopped, no
  // pull URL).
  double pull() {
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
  void notePullSent() { pullsSent_++; }
  bool isPullURL(const HttpRequest& r) const {
    return r.url == pullURL_ && (r.url != pushURL_ || r.body.find("\"pushVersion\"") == std::string::npos);
  }
  void push() { if (!closed_) scheduler_->push(); }
  std::string auth() const { return scheduler_->auth(); }
  void setAuth(std::string auth) { scheduler_->setAuth(std::move(auth)); }

  // A JS puller/pusher finished request `token` (through transportDoneBody).
  // status 0 = network error.
  void transportDone(int token, int status, std::string body, std::string networkError) {
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

  // Makes `count` host-held values for the put values of the JS puller
  // response about to be handed over with transportDone(Body): JS caches its
  // values under the ids written as float64 at `idsOut`, in the order of the
  // put ops. applyPull uses them in place of the skeleton's nulls; if the
  // response is not applied they are released. Returns count, or -1.
  int holdPullValues(int count, uintptr_t idsOut) {
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

  // transportDone for large bodies, without copies: JS asks for a buffer of
  // `size` bytes (again, larger, keeping what it wrote, if the text was not
  // ASCII), encodes the body into it with TextEncoder.encodeInto, then calls
  // transportDoneBody with the bytes written. 0, with lastError(), if the
  // heap cannot hold it.
  uintptr_t bodyBuffer(size_t size) {
    return guard(uintptr_t(0), [&] {
      if (!heapCanHold(size)) return fail(uintptr_t(0), "out of memory: the WebAssembly heap cannot hold the body");
      body_.resize(size);
      return reinterpret_cast<uintptr_t>(body_.data());
    });
  }
  void transportDoneBody(int token, int status, size_t len, std::string networkError) {
    body_.resize(std::min(len, body_.size()));
    std::string body = std::move(body_);
    body_ = std::string();
    transportDone(token, status, std::move(body), std::move(networkError));
  }

  void authAnswer(int token, bool has, std::string value) {
    auto it = authAnswers_.find(token);
    if (it == authAnswers_.end() || closed_) return;
    auto answer = std::move(it->second);
    authAnswers_.erase(it);
    guard(0, [&] {
      answer(has ? std::optional<std::string>(std::move(value)) : std::nullopt);
      return 0;
    });
  }

  // [{"name","id","args","clientID"}...], oldest first.
  std::string pendingMutations() {
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

  std::string cookie() const { return replica_->cookie().text(); }

  // Records the page a read missed (see get); true when it did.
  bool missed(ReadTransaction* tx) {
    std::optional<uint64_t> page = tx->missed();
    if (!page) return false;
    missedPages_.push_back(*page);
    return true;
  }

  // ---------------------------------------------------------- persistence --
  // The wrapper moves records between the store and the core in batches,
  // never one call per record: records go in as one buffer of
  // [int32 length (-1: absent), UTF-8 bytes]... that JS writes into
  // memory from malloc (readRecords), and write batches come out as one
  // buffer (writePlan). The rules are all the Persister's (core/persister.h).
  void persistInit(std::string groupID, double pageBytes, double clientMaxAgeMs) {
    PersistOptions o;
    if (pageBytes > 0) o.pageBytes = size_t(pageBytes);
    if (clientMaxAgeMs > 0) o.clientMaxAgeMs = clientMaxAgeMs;
    persister_ = std::make_unique<Persister>(replica_.get(), std::move(groupID), o);
  }

  // Opening: the two head slots in; {"keys":[...]} of the records to read
  // next, or {"done":true,"report":{...}} once the state is loaded (the
  // pending mutations then need a replay: replayBegin).
  // `lazy`: pages are read later (missedKeys, nextPageKeys, fillPages).
  std::string loadBegin(uintptr_t ptr, size_t len, bool lazy) {
    return guard(std::string(), [&] {
      if (!persister_) return fail(std::string(), "no persister");
      auto heads = readRecords(ptr, len);
      heads.resize(2);
      loadKeys_ = persister_->beginLoad(heads[0], heads[1], lazy);
      if (persister_->report().fresh) return loadReportJson(persister_->report());
      return keysJson(loadKeys_);
    });
  }
  std::string loadContinue(uintptr_t ptr, size_t len) {
    return guard(std::string(), [&] {
      if (!persister_) return fail(std::string(), "no persister");
      loadKeys_ = persister_->continueLoad(readRecords(ptr, len));
      if (loadKeys_.empty()) return loadReportJson(persister_->report());
      return keysJson(loadKeys_);
    });
  }

  // The store keys of the pages that reads or writes missed since the last
  // call (see get), each with the unloaded pages after it up to `bytes`
  // (a scan that goes on would miss those next), NUL-joined.
  std::string missedKeys(double bytes) {
    return guard(std::string(), [&] {
      std::string out;
      if (!persister_) return out;
      std::set<std::string> seen;
      for (uint64_t page : missedPages_) {
        for (std::string& key : persister_->unloadedPageKeys(page, uint64_t(bytes))) {
          if (!seen.insert(key).second) continue;
          if (!out.empty()) out += '\0';
          out += key;
        }
      }
      missedPages_.clear();
      return out;
    });
  }
  // The next unloaded pages in key order, up to about `bytes`, NUL-joined
  // (empty: all are in).
  std::string nextPageKeys(double bytes) {
    return guard(std::string(), [&] {
      std::string out;
      if (!persister_) return out;
      for (std::string& key : persister_->unloadedPageKeys(std::nullopt, uint64_t(bytes))) {
        if (!out.empty()) out += '\0';
        out += key;
      }
      return out;
    });
  }
  // Pages read for `keys` (NUL-joined) go in place. Returns the problems
  // found, NUL-joined ('' when none).
  std::string fillPages(std::string keys, uintptr_t ptr, size_t len) {
    return guard(std::string("fillPages failed"), [&] {
      std::string out;
      if (!persister_) return out;
      std::vector<std::string> list;
      size_t at = 0;
      while (at <= keys.size() && !keys.empty()) {
        size_t end = keys.find('\0', at);
        if (end == std::string::npos) end = keys.size();
        list.push_back(keys.substr(at, end - at));
        at = end + 1;
      }
      for (const std::string& p : persister_->fillPages(list, readRecords(ptr, len))) {
        if (!out.empty()) out += '\0';
        out += p;
      }
      return out;
    });
  }
  bool fullyLoaded() const { return replica_->fullyLoaded(); }

  bool persistHasWork() { return persister_ && guard(false, [&] { return persister_->hasWork(); }); }

  // Plans a write given the two head slots (read in the write transaction):
  // a buffer view of uint32 n, then n ops of uint8 kind (1 put, 0 delete,
  // 2 a foreign chunk to read), uint32 key length, key, and for puts
  // uint32 value length, value. Empty on error.
  emscripten::val writePlan(uintptr_t ptr, size_t len, double nowMs) {
    out_ = guard(std::string(), [&] {
      if (!persister_) return fail(std::string(), "no persister");
      auto heads = readRecords(ptr, len);
      heads.resize(2);
      StoreBatch batch = persister_->planWrite(heads[0], heads[1], nowMs);
      return encodeStoreBatch(batch);
    });
    return emscripten::val(emscripten::typed_memory_view(out_.size(), reinterpret_cast<const uint8_t*>(out_.data())));
  }
  void writeDone(bool committed) {
    if (persister_) persister_->writeDone(committed);
  }

  // Tabs: the other clients' chunks to read, as a JSON array of keys.
  std::string refreshPlan(uintptr_t ptr, size_t len) {
    return guard(std::string("[]"), [&] {
      if (!persister_) return std::string("[]");
      auto heads = readRecords(ptr, len);
      heads.resize(2);
      return keysJson(persister_->planRefresh(heads[0], heads[1]));
    });
  }
  // Takes the chunks read for `keysJson` (a JSON array): their mutations
  // wait for the next replayBegin. Returns how many, or -1; problems go to
  // lastError().
  int takeForeign(std::string keysJsonText, uintptr_t ptr, size_t len) {
    return guard(-1, [&] {
      if (!persister_) return fail(-1, "no persister");
      std::vector<std::string> keys;
      // Keys are ASCII store keys the core made: a flat array of strings.
      std::string_view text = keysJsonText;
      size_t at = 0;
      while ((at = text.find('"', at)) != std::string_view::npos) {
        size_t end = text.find('"', at + 1);
        if (end == std::string_view::npos) break;
        keys.emplace_back(text.substr(at + 1, end - at - 1));
        at = end + 1;
      }
      std::vector<std::string> problems;
      std::vector<Mutation> more = persister_->takeForeign(keys, readRecords(ptr, len), &problems);
      for (Mutation& m : more) foreign_.push_back(std::move(m));
      if (!problems.empty()) {
        lastError_.clear();
        for (const std::string& p : problems) lastError_ += (lastError_.empty() ? "" : "; ") + p;
      }
      return int(more.size());
    });
  }
  bool hasForeign() const { return !foreign_.empty(); }

  // Journals (persister.h): this client's mutations the store may lack, as
  // a record for localStorage ("" when every one is stored).
  std::string journal() {
    return guard(std::string(), [&] { return persister_ ? persister_->journal(nullptr) : std::string(); });
  }
  // Takes another client's journal: its mutations wait for the next
  // replayBegin, as foreign ones do. Returns how many, or -1 with
  // lastError() set (a bad record).
  int takeJournal(std::string record) {
    return guard(-1, [&] {
      if (!persister_) return fail(-1, "no persister");
      RecordProblem problem;
      std::optional<std::vector<Mutation>> more = persister_->takeJournal(record, &problem);
      if (!more) return fail(-1, ("journal: " + problem.message).c_str());
      for (Mutation& m : *more) foreign_.push_back(std::move(m));
      return int(more->size());
    });
  }
  bool journalsPending() const { return persister_ && persister_->journalsPending(); }

  // Opens a replay of the pending mutations plus the foreign ones taken
  // (core/replica.h, beginReplay); JS drives it with rebaseNext/... like a
  // pull's rebase. {"started":true}, or {"started":false} when a write is
  // open.
  std::string replayBegin() {
    return guard(std::string("{\"started\":false}"), [&] {
      // Another write is open: the foreign mutations wait for the next one.
      if (rebase_ || pendingWrite_) return std::string("{\"started\":false}");
      std::vector<Mutation> more = std::move(foreign_);
      foreign_.clear();
      rebase_ = replica_->beginReplay(std::move(more));
      return std::string("{\"started\":true}");
    });
  }

  // Called by RoutingTransport for JS-routed URLs.
  void sendCustom(HttpRequest request, std::function<void(HttpResponse)> done) {
    int token = nextToken_++;
    customs_[token] = std::move(done);
    std::string requestID;
    for (auto& [k, v] : request.headers)
      if (k == "X-Replicache-RequestID") requestID = v;
    host_.call<void>("send", token, request.url == kPullerURL, request.body, requestID,
                     scheduler_ ? scheduler_->auth() : std::string());
  }

 private:
  struct PendingPull {
    PullSuccess response;
    Cookie requestCookie;
    std::function<void(std::string)> done;
  };

  // SyncHost
  RequestIdentity identity() override { return replica_->identity(); }
  std::vector<Mutation> mutationsToPush() override { return replica_->mutationsToPush(); }
  Cookie confirmedCookie() override { return replica_->cookie(); }
  void applyPull(PullSuccess response, Cookie requestCookie,
                 std::function<void(std::string error)> done) override {
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

  template <class T, class F>
  T guard(T onError, F&& f) {
    try {
      lastError_.clear();
      return f();
    } catch (const std::exception& e) {
      lastError_ = e.what();
      return onError;
    } catch (...) {
      lastError_ = "unknown error";
      return onError;
    }
  }

  // Starts the next op of watch `wid` in noteWatch_ (`[wid,[` before its
  // first, a comma before the others): `[op,` where op is 0 add, 1 del,
  // 2 change; the key and the values follow.
  template <class C>
  void beginWatchOp(int wid, const C& change, bool* any) {
    if (*any) {
      noteWatch_ += ',';
    } else {
      if (!noteWatch_.empty()) noteWatch_ += ',';
      noteWatch_ += '[';
      appendJsonInteger(noteWatch_, wid);
      noteWatch_ += ",[";
    }
    *any = true;
    noteWatch_ += '[';
    appendJsonInteger(noteWatch_, !change.oldValue ? 0 : !change.newValue ? 1 : 2);
    noteWatch_ += ',';
  }

  // Adds a scan's entry to `answer`: its value's id, and its JSON when JS
  // neither holds the value nor has it cached yet.
  void noteEntry(ScanAnswer& answer, const ValuePtr& v, bool keysOnly) {
    answer.ids.push_back(double(v->id()));
    if (!keysOnly && !v->heldByHost() && jsKnown_.insert(v->id())) answer.values.push_back(v.get());
  }

  template <class T>
  T fail(T value, const char* message) {
    lastError_ = message;
    return value;
  }

  ReadTransaction* txFor(int txID) {
    if (txID == 0) {
      WriteTransaction* w = writeTx();
      if (!w) lastError_ = "no open write transaction";
      return w;
    }
    auto it = reads_.find(txID);
    if (it == reads_.end()) {
      lastError_ = "transaction is closed";
      return nullptr;
    }
    return it->second.get();
  }

  WriteTransaction* writeTx() {
    if (pendingWrite_) return &pendingWrite_->tx();
    if (rebase_) return &rebase_->tx();
    return nullptr;
  }

  size_t indexCount() const { return replica_->indexes() ? replica_->indexes()->size() : 0; }

  double idFor(const ValuePtr& v) {
    uint64_t id = v->id();
    if (v->heldByHost() || jsKnown_.contains(id)) return double(id);
    jsKnown_.insert(id);
    valueText_ = v->text();
    return -double(id);
  }

  // Collects what a commit changed for JS (see the top of the file).
  void onChanges(const ChangeSet& cs) {
    // The index entries the commit changed, worked out once, and only when
    // a subscription read an index or an index is watched.
    std::optional<IndexChanges> indexChanges;
    auto changedEntries = [&]() -> const IndexChanges* {
      if (!replica_->indexes()) return nullptr;
      if (!indexChanges) indexChanges = replica_->indexChanges(cs);
      return &*indexChanges;
    };
    for (auto& [id, rs] : subs_) {
      if (rs.affectedBy(cs, rs.readsIndexes() ? changedEntries() : nullptr)) {
        if (!noteSubs_.empty()) noteSubs_ += ',';
        appendJsonInteger(noteSubs_, id);
      }
    }
    auto ensure = [&](const ValuePtr& v, bool keep) {
      if (!v) {
        noteWatch_ += ",0";
        return;
      }
      noteWatch_ += ',';
      appendJsonInteger(noteWatch_, v->id());
      if (!v->heldByHost() && !jsKnown_.contains(v->id())) {
        if (!noteValues_.empty()) noteValues_ += ',';
        appendJsonInteger(noteValues_, v->id());
        noteValues_ += ',';
        noteValues_ += v->text();
        if (keep) jsKnown_.insert(v->id());
        else evictLater_.push_back(v->id());  // JS drops it after the diff
      }
    };
    for (auto& [wid, prefix] : watches_) {
      std::string ops;
      bool any = false;
      for (auto it = cs.lower_bound(prefix); it != cs.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        const Change& c = it->second;
        beginWatchOp(wid, c, &any);
        appendJsonString(noteWatch_, it->first);
        ensure(c.oldValue, false);
        ensure(c.newValue, true);
        noteWatch_ += ']';
      }
      if (any) noteWatch_ += "]]";
    }
    for (auto& [wid, watched] : indexWatches_) {
      const IndexChanges* all = changedEntries();
      if (!all || watched.first >= all->size()) continue;
      const std::string& prefix = watched.second;
      bool any = false;
      for (const IndexChange& c : (*all)[watched.first]) {
        if (c.key.secondary.compare(0, prefix.size(), prefix) != 0) continue;
        beginWatchOp(wid, c, &any);
        noteWatch_ += '[';  // the key: [secondary, primary]
        appendJsonString(noteWatch_, c.key.secondary);
        noteWatch_ += ',';
        appendJsonString(noteWatch_, c.key.primary);
        noteWatch_ += ']';
        ensure(c.oldValue, false);
        ensure(c.newValue, true);
        noteWatch_ += ']';
      }
      if (any) noteWatch_ += "]]";
    }
    for (auto& [key, c] : cs) {
      if (c.oldValue && jsKnown_.erase(c.oldValue->id())) evictLater_.push_back(c.oldValue->id());
    }
  }

  // {"s":[subIDs],"e":[evicted ids],"w":[[watchID,[[op,key,oldID,newID]...]]...],
  //  "v":[id,value,...]}; op 0 add, 1 del, 2 change; id 0 = none.
  std::string takeNote() {
    maybeSweep();
    std::string out = "{\"s\":[";
    out += noteSubs_;
    out += "],\"e\":[";
    bool first = true;
    for (auto* ids : {&evictLater_, &jsValues_.releasedIDs()}) {
      for (uint64_t id : *ids) {
        if (!first) out += ',';
        first = false;
        appendJsonInteger(out, id);
      }
    }
    jsValues_.releasedIDs().clear();
    out += "],\"w\":[";
    out += noteWatch_;
    out += "],\"v\":[";
    out += noteValues_;
    out += "]}";
    noteSubs_.clear();
    noteWatch_.clear();
    noteValues_.clear();
    evictLater_.clear();
    return out;
  }

  // Drops from jsKnown_ (and so from the JS cache) ids no longer visible,
  // once the cache has grown to twice what was live at the last sweep;
  // amortized O(1) per write. Catches values replaced by an equal value,
  // which a ChangeSet does not list.
  void maybeSweep() {
    if (jsKnown_.size() <= sweepAt_) return;
    IdSet live;
    auto tx = replica_->read();
    tx->scanEach(ScanOptions{}, [&](const std::string&, const ValuePtr& v) {
      if (jsKnown_.contains(v->id())) live.insert(v->id());
      return true;
    });
    jsKnown_.forEach([&](uint64_t id) {
      if (!live.contains(id)) evictLater_.push_back(id);
    });
    jsKnown_ = std::move(live);
    sweepAt_ = std::max<size_t>(sweepMin_, 2 * jsKnown_.size());
  }

  emscripten::val host_;
  // Before everything that may hold a Value: it must outlive them all.
  JsValueHost jsValues_{&host_};
  EmClock clock_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<RoutingTransport> transport_;
  std::unique_ptr<SyncScheduler> scheduler_;
  std::unique_ptr<PokeSocket> poke_;
  bool closed_ = false;
  bool started_ = false;
  std::string pushURL_, pullURL_;  // as given to the scheduler
  uint64_t pullsSent_ = 0, pullsSettled_ = 0;
  uint64_t pullsAsked_ = 0;  // the highest attempt number pull() has promised
  std::string lastError_;
  std::string valueText_;
  std::string out_;  // backs the views returned by scan and takeValueText
  std::string body_;  // a large custom-puller/pusher body being written by JS
  std::vector<ValuePtr> pullValues_;  // see holdPullValues

  std::unique_ptr<PendingWrite> pendingWrite_;
  std::unique_ptr<Rebase> rebase_;
  std::unique_ptr<Persister> persister_;
  std::vector<std::string> loadKeys_;
  std::vector<uint64_t> missedPages_;  // pages reads or writes missed (see get)
  std::vector<Mutation> foreign_;  // other tabs' mutations, for the next replay
  std::function<void(std::string)> rebaseDone_;
  std::map<int, std::unique_ptr<ReadTransaction>> reads_;
  int nextRead_ = 1;

  IdSet jsKnown_;
  size_t sweepAt_ = 4096;
  size_t sweepMin_ = 4096;
  std::map<int, ReadSet> subs_;
  int nextSub_ = 1;
  std::map<int, std::string> watches_;
  std::map<int, std::pair<size_t, std::string>> indexWatches_;  // index number, prefix
  std::string stagedIndexKeys_;  // see stageIndexKeys
  int nextWatch_ = 1;
  std::string noteSubs_, noteWatch_, noteValues_;
  std::vector<uint64_t> evictLater_;

  int nextToken_ = 1;
  std::map<int, PendingPull> pulls_;
  std::map<int, std::function<void(HttpResponse)>> customs_;
  std::map<int, std::function<void(std::optional<std::string>)>> authAnswers_;
};

void RoutingTransport::post(HttpRequest request, std::function<void(HttpResponse)> done) {
  if (core_->isPullURL(request)) core_->notePullSent();
  if (request.url == kPullerURL || request.url == kPusherURL) {
    core_->sendCustom(std::move(request), std::move(done));
  } else {
    fetch_.post(std::move(request), std::move(done));
  }
}

// Core's methods are bound as free functions taking the core's handle first
// ("coreGet(core, txID, key)"), not as an embind class: a class binding links
// embind's class runtime (instance handles, finalizers, up- and down-casts,
// `this` checks on every call) into the glue for the one object the wrapper
// owns and frees itself.
namespace {

// The cores the wrapper has created and not yet deleted. A handle that is
// not here is a wrapper bug (a call after delete); it stops the module with
// a message rather than touching freed memory.
std::vector<Core*>& liveCores() {
  static std::vector<Core*> cores;
  return cores;
}

__attribute__((noinline)) Core* coreFor(uintptr_t handle) {
  for (Core* c : liveCores()) {
    if (reinterpret_cast<uintptr_t>(c) == handle) return c;
  }
  emscripten_console_error("replicore: a deleted or unknown core was used");
  std::abort();
}

uintptr_t coreCreate(std::string optionsJson, emscripten::val host) {
  auto core = std::make_unique<Core>(std::move(optionsJson), std::move(host));
  liveCores().push_back(core.get());
  return reinterpret_cast<uintptr_t>(core.release());
}

void coreDelete(uintptr_t handle) {
  Core* core = coreFor(handle);
  auto& cores = liveCores();
  cores.erase(std::find(cores.begin(), cores.end(), core));
  delete core;
}

// CoreFunction<&Core::m>::call(handle, args...) calls core->m(args...).
template <auto Method>
struct CoreFunction;
template <class R, class... A, R (Core::*Method)(A...)>
struct CoreFunction<Method> {
  static R call(uintptr_t handle, A... args) { return (coreFor(handle)->*Method)(std::move(args)...); }
};
template <class R, class... A, R (Core::*Method)(A...) const>
struct CoreFunction<Method> {
  static R call(uintptr_t handle, A... args) { return (coreFor(handle)->*Method)(std::move(args)...); }
};

template <auto Method>
void bindCore(const char* name) {
  emscripten::function(name, &CoreFunction<Method>::call);
}

}  // namespace

REPLICORE_SIZE_OPTIMIZED_END

EMSCRIPTEN_BINDINGS(replicore) {
  emscripten::function("coreCreate", &coreCreate);
  emscripten::function("coreDelete", &coreDelete);
  bindCore<&Core::start>("coreStart");
  bindCore<&Core::setPushURL>("coreSetPushURL");
  bindCore<&Core::setPullURL>("coreSetPullURL");
  bindCore<&Core::setPushDelay>("coreSetPushDelay");
  bindCore<&Core::setPullInterval>("coreSetPullInterval");
  bindCore<&Core::close>("coreClose");
  bindCore<&Core::lastError>("coreLastError");
  bindCore<&Core::beginMutation>("coreBeginMutation");
  bindCore<&Core::beginMutationBytes>("coreBeginMutationBytes");
  bindCore<&Core::commitMutation>("coreCommitMutation");
  bindCore<&Core::abortMutation>("coreAbortMutation");
  bindCore<&Core::openRead>("coreOpenRead");
  bindCore<&Core::closeRead>("coreCloseRead");
  bindCore<&Core::get>("coreGet");
  bindCore<&Core::takeValueText>("coreTakeValueText");
  bindCore<&Core::has>("coreHas");
  bindCore<&Core::isEmpty>("coreIsEmpty");
  bindCore<&Core::scan>("coreScan");
  bindCore<&Core::setMany>("coreSetMany");
  bindCore<&Core::bodyBuffer>("coreBodyBuffer");
  bindCore<&Core::transportDoneBody>("coreTransportDoneBody");
  bindCore<&Core::holdPullValues>("coreHoldPullValues");
  bindCore<&Core::del>("coreDel");
  bindCore<&Core::addSubscription>("coreAddSubscription");
  bindCore<&Core::removeSubscription>("coreRemoveSubscription");
  bindCore<&Core::addWatch>("coreAddWatch");
  bindCore<&Core::addIndexWatch>("coreAddIndexWatch");
  bindCore<&Core::stageIndexKeys>("coreStageIndexKeys");
  bindCore<&Core::scanIndex>("coreScanIndex");
  bindCore<&Core::removeWatch>("coreRemoveWatch");
  bindCore<&Core::rebaseBegin>("coreRebaseBegin");
  bindCore<&Core::rebaseNext>("coreRebaseNext");
  bindCore<&Core::rebaseSucceeded>("coreRebaseSucceeded");
  bindCore<&Core::rebaseFailed>("coreRebaseFailed");
  bindCore<&Core::rebaseFinish>("coreRebaseFinish");
  bindCore<&Core::rebaseAbort>("coreRebaseAbort");
  bindCore<&Core::dropPull>("coreDropPull");
  bindCore<&Core::pull>("corePull");
  bindCore<&Core::push>("corePush");
  bindCore<&Core::auth>("coreAuth");
  bindCore<&Core::setAuth>("coreSetAuth");
  bindCore<&Core::authAnswer>("coreAuthAnswer");
  bindCore<&Core::pendingMutations>("corePendingMutations");
  bindCore<&Core::cookie>("coreCookie");
  bindCore<&Core::persistInit>("corePersistInit");
  bindCore<&Core::loadBegin>("coreLoadBegin");
  bindCore<&Core::loadContinue>("coreLoadContinue");
  bindCore<&Core::missedKeys>("coreMissedKeys");
  bindCore<&Core::nextPageKeys>("coreNextPageKeys");
  bindCore<&Core::fillPages>("coreFillPages");
  bindCore<&Core::fullyLoaded>("coreFullyLoaded");
  bindCore<&Core::persistHasWork>("corePersistHasWork");
  bindCore<&Core::writePlan>("coreWritePlan");
  bindCore<&Core::writeDone>("coreWriteDone");
  bindCore<&Core::refreshPlan>("coreRefreshPlan");
  bindCore<&Core::takeForeign>("coreTakeForeign");
  bindCore<&Core::hasForeign>("coreHasForeign");
  bindCore<&Core::journal>("coreJournal");
  bindCore<&Core::takeJournal>("coreTakeJournal");
  bindCore<&Core::journalsPending>("coreJournalsPending");
  bindCore<&Core::replayBegin>("coreReplayBegin");
}

}  // namespace replicore::wasm
