#include "replicore/replica.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <set>

#include "replicore/json_text.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

namespace {

// The cold helpers first, out of line, so that the functions below (commit,
// rebase, delivery) stay small.

// Nesting the JSON text readers accept in an update's value or merge.
constexpr int kMaxUpdateDepth = 4096;

// `current` (an object, or absent) with an update op applied, as
// {...current, ...merge} then restricted to `constrain`, in JavaScript's key
// order: the current keys in place, new keys after them. Works on the JSON
// text: each member's value is copied as it is spelled, never parsed. Null,
// with *error set, when `current` or the merge is not an object.
[[gnu::noinline]] ValuePtr updatedValue(const ValuePtr& current, const PatchOp& op, std::string* error) {
  std::vector<JsonMember> members;
  if (current && !readJsonObject(current->text(), kMaxUpdateDepth, &members)) {
    *error = "the value is not an object";
    return nullptr;
  }
  if (op.merge) {
    std::vector<JsonMember> merge;
    if (!readJsonObject(op.merge->text(), kMaxUpdateDepth, &merge)) {
      *error = "the merge is not an object";
      return nullptr;
    }
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < members.size(); ++i) index.emplace(members[i].key, i);
    for (JsonMember& m : merge) {
      auto [at, fresh] = index.emplace(m.key, members.size());
      if (fresh) {
        members.push_back(std::move(m));
      } else {
        members[at->second].value = m.value;
      }
    }
  }
  if (op.constrain) {
    std::set<std::string> keep(op.constrain->begin(), op.constrain->end());
    members.erase(std::remove_if(members.begin(), members.end(),
                                 [&](const JsonMember& m) { return !keep.count(m.key); }),
                  members.end());
  }
  std::string text = "{";
  for (const JsonMember& m : members) {
    if (text.size() > 1) text += ',';
    appendJsonString(text, m.key);
    text += ':';
    text += m.value;
  }
  text += '}';
  return Value::fromText(std::move(text));
}

std::string exceptionText(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// What a mutation costs the confirmed log: its args, name and client.
size_t loggedBytes(const Mutation& m) { return m.args->text().size() + m.name.size() + m.clientID.size() + 64; }

[[gnu::noinline]] std::string lowerCookieError(const Cookie& cookie, const Cookie& confirmed) {
  return "cookie " + cookie.text().substr(0, 100) + " is lower than the confirmed " + confirmed.text().substr(0, 100);
}

// Collects into a ChangeSet the keys whose visible value differs. Pairs of
// values held by one host are compared by that host, all in one call at
// finish() (a rebase of N host-held puts would otherwise cross N times).
class ChangeCollector {
 public:
  explicit ChangeCollector(ChangeSet* changes) : changes_(changes) {}

  // `atEnd`: the key sorts after every key added so far (an O(1) insert).
  void add(const std::string& key, ValuePtr oldValue, ValuePtr newValue, bool atEnd = false) {
    if (ValueHost* host = comparingHost(oldValue, newValue)) {
      deferred_.push_back({host, &key, std::move(oldValue), std::move(newValue)});
      return;
    }
    if (sameValue(oldValue, newValue)) return;
    if (atEnd) {
      changes_->emplace_hint(changes_->end(), key, Change{std::move(oldValue), std::move(newValue)});
    } else {
      changes_->emplace(key, Change{std::move(oldValue), std::move(newValue)});
    }
  }

  // Adds every key of `candidates` whose value differs between the views
  // (first occurrence wins; later ones are the same key).
  template <typename Keys>
  void addAll(const LayeredView& before, const LayeredView& after, const Keys& candidates) {
    for (const auto& entry : candidates) {
      const std::string& key = entry.first;
      if (changes_->count(key)) continue;
      add(key, before.get(key), after.get(key));
    }
  }

  void finish() {
    while (!deferred_.empty()) {
      ValueHost* host = deferred_.front().host;
      std::vector<std::pair<uint64_t, uint64_t>> pairs;
      std::vector<Deferred> mine, others;
      for (Deferred& d : deferred_) {
        if (d.host == host) {
          pairs.emplace_back(d.oldValue->id(), d.newValue->id());
          mine.push_back(std::move(d));
        } else {
          others.push_back(std::move(d));
        }
      }
      std::vector<char> equal = host->equal(pairs);
      for (size_t i = 0; i < mine.size(); ++i) {
        if (i < equal.size() && equal[i]) continue;
        changes_->emplace(*mine[i].key, Change{std::move(mine[i].oldValue), std::move(mine[i].newValue)});
      }
      deferred_ = std::move(others);
    }
  }

 private:
  struct Deferred {
    ValueHost* host;
    const std::string* key;  // owned by a layer that outlives the collector
    ValuePtr oldValue, newValue;
  };
  ChangeSet* changes_;
  std::vector<Deferred> deferred_;
};

}  // namespace

// --- PendingWrite ---------------------------------------------------------------

PendingWrite::PendingWrite(Replica* replica, Mutation mutation)
    : replica_(replica), mutation_(std::move(mutation)) {
  const IndexSet* indexes = replica_->indexes_.get();
  tx_ = std::make_unique<WriteTransaction>(
      LayeredView(&replica_->base_, {&replica_->pending_layer_, &layer_}, &replica_->unloaded_), &layer_,
      mutation_.clientID, mutation_.id, MutationReason::kInitial,
      // Without indexes, no view of them (and no allocation for one).
      indexes ? IndexedView(indexes, &replica_->baseIndex_,
                            {{&replica_->pending_layer_, &replica_->pendingIndex_}, {&layer_, &layerIndex_}},
                            &replica_->unloaded_)
              : IndexedView(),
      indexes ? &layerIndex_ : nullptr);
  // Last: a constructor that throws runs no destructor to clear it.
  replica_->writeOpen_ = true;
}

PendingWrite::~PendingWrite() {
  if (!done_) replica_->writeOpen_ = false;
}

uint64_t PendingWrite::commit() {
  if (done_) throw std::logic_error("PendingWrite::commit called twice");
  ChangeSet changes;
  ChangeCollector collector(&changes);
  // The transaction's layer is on top and never hides what is below (a
  // WriteTransaction cannot clear), so its writes are the new values: one
  // lookup per key, and keys come in order (appended at the end).
  LayeredView before = replica_->visible();
  for (const auto& [key, newValue] : layer_.writes) collector.add(key, before.get(key), newValue, true);
  collector.finish();
  const IndexSet* indexes = replica_->indexes_.get();
  IndexErasePlan erase;
  if (indexes) erase = indexes->plan(replica_->pending_layer_.writes, layer_);
  // All or nothing: queue the mutation (which may fail to allocate, leaving
  // the queue as it was), then move the writes over (which cannot fail).
  replica_->pending_.push_back(mutation_);
  if (indexes) indexes->install(&replica_->pendingIndex_, std::move(erase), std::move(layerIndex_), layer_.hidesBelow);
  replica_->pending_layer_.absorb(std::move(layer_));
  done_ = true;
  replica_->writeOpen_ = false;
  replica_->notify(changes);
  return mutation_.id;
}

// --- Rebase -------------------------------------------------------------------------

Rebase::Rebase(Replica* replica, PullSuccess response, Layer patch, std::vector<Mutation> replay)
    : replica_(replica), response_(std::move(response)), patch_(std::move(patch)), replay_(std::move(replay)) {
  // The patch's index entries, for reads during the replay and to update
  // the base's at finish(): the cost of the patch, not of the state.
  if (const IndexSet* indexes = replica_->indexes_.get()) {
    for (const auto& [key, value] : patch_.writes) indexes->write(&patchIndex_, key, nullptr, value);
  }
  replica_->writeOpen_ = true;
}

Rebase::~Rebase() {
  if (!done_) replica_->writeOpen_ = false;
}

const Mutation* Rebase::next() {
  if (done_) throw std::logic_error("Rebase::next after finish");
  if (current_) throw std::logic_error("Rebase::next before succeeded() or failed()");
  if (index_ >= replay_.size()) return nullptr;
  const Mutation& m = replay_[index_];
  txLayer_ = Layer{};
  txIndex_ = IndexMaps{};
  const IndexSet* indexes = replica_->indexes_.get();
  tx_ = std::make_unique<WriteTransaction>(
      LayeredView(&replica_->base_, {&patch_, &newPending_, &txLayer_}, &replica_->unloaded_), &txLayer_, m.clientID, m.id,
      MutationReason::kRebase,
      indexes ? IndexedView(indexes, &replica_->baseIndex_,
                            {{&patch_, &patchIndex_}, {&newPending_, &newPendingIndex_}, {&txLayer_, &txIndex_}},
                            &replica_->unloaded_)
              : IndexedView(),
      indexes ? &txIndex_ : nullptr);
  current_ = true;
  return &m;
}

void Rebase::closeCurrent(bool keep) {
  if (!current_) throw std::logic_error("Rebase: no mutation is being replayed");
  if (keep) {
    if (const IndexSet* indexes = replica_->indexes_.get()) {
      indexes->install(&newPendingIndex_, indexes->plan(newPending_.writes, txLayer_), std::move(txIndex_),
                       txLayer_.hidesBelow);
    }
    newPending_.absorb(std::move(txLayer_));
  }
  txLayer_ = Layer{};
  txIndex_ = IndexMaps{};
  tx_.reset();
  current_ = false;
  ++index_;
}

void Rebase::succeeded() { closeCurrent(true); }

void Rebase::failed(std::string message) {
  const Mutation& m = replay_[index_];
  errors_.push_back({m.clientID, m.id, m.name, std::move(message)});
  closeCurrent(false);
}

PullOutcome Rebase::finish() {
  if (done_) throw std::logic_error("Rebase::finish called twice");
  if (current_) throw std::logic_error("Rebase::finish while a mutation is being replayed");
  // Mutations not replayed yet (a host that stopped early) keep no effect
  // but stay pending, like a failed replay.
  Replica& r = *replica_;
  LayeredView before = r.visible();
  LayeredView after(&r.base_, {&patch_, &newPending_});
  ChangeSet changes;
  // Only keys the patch or either pending layer touch can differ, unless the
  // patch clears everything: then every confirmed key is a candidate too.
  ChangeCollector collector(&changes);
  collector.addAll(before, after, patch_.writes);
  collector.addAll(before, after, r.pending_layer_.writes);
  collector.addAll(before, after, newPending_.writes);
  if (patch_.hidesBelow) collector.addAll(before, after, r.base_);
  collector.finish();

  // All or nothing: everything that may fail to allocate is built first;
  // then the pull is installed by moves and swaps, which cannot fail.
  PullOutcome outcome;
  outcome.kind = PullOutcome::Kind::kApplied;
  outcome.confirmedMutations = confirmed_;
  Cookie cookie = response_.cookie;
  std::map<std::string, uint64_t> lmids = r.lastMutationIDs_;
  for (const auto& [clientID, id] : response_.lastMutationIDChanges) lmids[clientID] = id;
  std::deque<Mutation> pending(std::make_move_iterator(replay_.begin()), std::make_move_iterator(replay_.end()));
  // The base's index entries that the patch takes away (before the patch
  // is applied: they are found from the old values).
  IndexErasePlan baseErase;
  if (r.indexes_) baseErase = r.indexes_->plan(r.base_, patch_);
  // The log of confirmed mutations: without those the pull queued again,
  // with those it confirmed, trimmed to its limits (oldest go first).
  std::optional<std::deque<Mutation>> log;
  size_t logBytes = r.confirmedLogBytes_;
  if (reset_ || !confirmedOwn_.empty()) {
    log.emplace(r.confirmedLog_.begin(), r.confirmedLog_.begin() + std::min(logKeep_, r.confirmedLog_.size()));
    logBytes = 0;
    for (const Mutation& m : *log) logBytes += loggedBytes(m);
    for (Mutation& m : confirmedOwn_) {
      logBytes += loggedBytes(m);
      log->push_back(std::move(m));
    }
    while (!log->empty() &&
           (log->size() > r.options_.confirmedLogLimit || logBytes > r.options_.confirmedLogBytes)) {
      logBytes -= loggedBytes(log->front());
      log->pop_front();
    }
  }
  if (r.trackingConfirmed_ && !r.confirmedChanges_.all) {
    if (patch_.hidesBelow) {
      r.confirmedChanges_.all = true;
      r.confirmedChanges_.keys.clear();
    } else {
      for (const auto& write : patch_.writes) r.confirmedChanges_.keys.insert(write.first);
    }
  }

  if (r.indexes_) {
    r.indexes_->install(&r.baseIndex_, std::move(baseErase), std::move(patchIndex_), patch_.hidesBelow);
    r.pendingIndex_ = std::move(newPendingIndex_);
  }
  applyLayer(r.base_, std::move(patch_));
  r.pending_layer_ = std::move(newPending_);
  // A replay leaves the cookie as it is now: a lazy open may have forgotten
  // it meanwhile (a page that could not be read; Replica::forgetCookie).
  if (!replayOnly_) r.cookie_ = std::move(cookie);
  r.lastMutationIDs_.swap(lmids);
  r.pending_.swap(pending);
  if (log) {
    r.confirmedLog_.swap(*log);
    r.confirmedLogBytes_ = logBytes;
  }
  // Only a rebuilt own queue (lowered lmid) needs its chunks stored anew.
  if (reset_ && reset_->knownLastMutationID > reset_->serverLastMutationID) ++r.resets_;
  outcome.reset = std::move(reset_);
  outcome.replayErrors = std::move(errors_);
  done_ = true;
  r.writeOpen_ = false;
  r.notify(changes);
  return outcome;
}

// --- Replica --------------------------------------------------------------------------

struct Replica::Subscription {
  virtual ~Subscription() = default;
  // Runs the query on `tx`, which records its reads in `fresh`, and reports
  // a new result or an error.
  virtual void run(std::unique_ptr<ReadTransaction> tx, ReadSet& fresh) = 0;
  ReadSet readSet;
};

struct Replica::QuerySubscription : Replica::Subscription {
  void run(std::unique_ptr<ReadTransaction> tx, ReadSet& fresh) override {
    try {
      Json fresult = query(*tx);
      readSet = std::move(fresh);
      if (!hasResult || fresult != result) {
        hasResult = true;
        result = std::move(fresult);
        if (onData) onData(result);
      }
    } catch (...) {
      readSet = std::move(fresh);
      if (onError) onError(exceptionText(std::current_exception()));
    }
  }
  Query query;
  std::function<void(const Json&)> onData;
  std::function<void(const std::string&)> onError;
  bool hasResult = false;
  Json result;
};

struct Replica::Watch {
  std::string prefix;
  WatchCallback callback;
};

Replica::Replica(ReplicaOptions options) : options_(std::move(options)) {
  if (!options_.indexes.empty()) indexes_ = std::make_unique<const IndexSet>(options_.indexes);
}
Replica::~Replica() = default;

RequestIdentity Replica::identity() const {
  return {options_.profileID, options_.clientGroupID, options_.schemaVersion};
}

LayeredView Replica::visible() const { return LayeredView(&base_, {&pending_layer_}, &unloaded_); }

IndexedView Replica::visibleIndexes() const {
  if (!indexes_) return IndexedView();
  return IndexedView(indexes_.get(), &baseIndex_, {{&pending_layer_, &pendingIndex_}}, &unloaded_);
}

void Replica::registerMutator(std::string name, Mutator mutator) {
  mutators_[std::move(name)] = std::move(mutator);
}

bool Replica::hasMutator(const std::string& name) const { return mutators_.count(name) != 0; }

uint64_t Replica::nextMutationID(const std::string& clientID) const {
  uint64_t last = 0;
  auto confirmed = lastMutationIDs_.find(clientID);
  if (confirmed != lastMutationIDs_.end()) last = confirmed->second;
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    if (it->clientID == clientID) {
      last = std::max(last, it->id);
      break;
    }
  }
  return last + 1;
}

std::unique_ptr<PendingWrite> Replica::beginMutation(std::string name, ValuePtr args, double timestamp) {
  if (writeOpen_) throw std::logic_error("another mutation or rebase is in progress");
  Mutation m;
  m.clientID = options_.clientID;
  m.id = nextMutationID(m.clientID);
  m.name = std::move(name);
  if (args) m.args = std::move(args);
  m.timestamp = timestamp;
  return std::unique_ptr<PendingWrite>(new PendingWrite(this, std::move(m)));
}

Json Replica::mutate(const std::string& name, Json args, double timestamp) {
  auto found = mutators_.find(name);
  if (found == mutators_.end()) throw MutationError("unknown mutator '" + name + "'");
  // Copy: the mutator may replace itself through registerMutator.
  Mutator mutator = found->second;
  std::unique_ptr<PendingWrite> write = beginMutation(name, Value::make(std::move(args)), timestamp);
  Json result;
  try {
    result = mutator(write->tx(), write->mutation().args->json());
  } catch (...) {
    throw MutationError("mutator '" + name + "' failed: " + exceptionText(std::current_exception()));
  }
  write->commit();
  return result;
}

std::unique_ptr<ReadTransaction> Replica::read(ReadSet* readSet) const {
  return std::make_unique<ReadTransaction>(visible(), readSet, visibleIndexes());
}

std::unique_ptr<Rebase> Replica::beginRebase(const PullSuccess& response, const Cookie& requestCookie,
                                             PullOutcome* outcome) {
  if (writeOpen_) throw std::logic_error("another mutation or rebase is in progress");
  *outcome = PullOutcome{};
  if (requestCookie != cookie_) {
    outcome->kind = PullOutcome::Kind::kDropped;
    return nullptr;
  }
  if (!response.cookie.valid()) {
    outcome->kind = PullOutcome::Kind::kRejected;
    outcome->error = "invalid cookie";
    return nullptr;
  }
  // A lastMutationID lower than the confirmed one is taken (Replicache
  // fails such a pull, for ever): the server lost mutations, and this
  // client sends its own again below.
  if (!unloaded_.empty()) {
    // A patch applies to the whole confirmed state; the host finishes
    // reading it first (a pull waits for that).
    outcome->kind = PullOutcome::Kind::kRejected;
    outcome->error = "the stored confirmed state is still being read";
    return nullptr;
  }
  bool clears = false;
  for (const PatchOp& op : response.patch) clears = clears || op.kind == PatchOpKind::kClear;
  int order = compareCookies(response.cookie, cookie_);
  // A lower cookie is an old answer, unless it brings the whole state: a
  // server that lost its state (or another one) starts this client over.
  if (order < 0 && !clears) {
    outcome->kind = PullOutcome::Kind::kRejected;
    outcome->error = lowerCookieError(response.cookie, cookie_);
    return nullptr;
  }
  if (order == 0) {
    outcome->kind = PullOutcome::Kind::kNoOp;
    return nullptr;
  }

  // The patch becomes a layer over the confirmed base; nothing is applied
  // until finish(), so the current state stays readable meanwhile.
  Layer patch;
  for (const PatchOp& op : response.patch) {
    switch (op.kind) {
      case PatchOpKind::kPut:
        patch.put(op.key, op.value);
        break;
      case PatchOpKind::kDel:
        patch.erase(op.key);
        break;
      case PatchOpKind::kClear:
        patch.clear();
        break;
      case PatchOpKind::kUpdate: {
        ValuePtr current = LayeredView(&base_, {&patch}).get(op.key);
        std::string error;
        ValuePtr updated = updatedValue(current, op, &error);
        if (!updated) {
          outcome->kind = PullOutcome::Kind::kRejected;
          outcome->error = "update of '" + op.key.substr(0, 100) + "': " + error;
          return nullptr;
        }
        patch.put(op.key, std::move(updated));
        break;
      }
    }
  }

  std::map<std::string, uint64_t> lmids = lastMutationIDs_;
  for (const auto& [clientID, id] : response.lastMutationIDChanges) lmids[clientID] = id;
  const std::string& me = options_.clientID;
  std::optional<ClientReset> reset;
  if (order < 0) {
    reset.emplace();
    reset->cookieWentBack = true;
  }
  // The server lost this client's mutations up to the confirmed lmid: they
  // go back in front of the queue, from the log as far as it reaches.
  std::vector<Mutation> replay;
  size_t logKeep = confirmedLog_.size();
  auto knownMine = lastMutationIDs_.find(me);
  auto serverMine = response.lastMutationIDChanges.find(me);
  if (knownMine != lastMutationIDs_.end() && serverMine != response.lastMutationIDChanges.end() &&
      serverMine->second < knownMine->second) {
    if (!reset) reset.emplace();
    reset->knownLastMutationID = knownMine->second;
    reset->serverLastMutationID = serverMine->second;
    logKeep = 0;
    while (logKeep < confirmedLog_.size() && confirmedLog_[logKeep].id <= serverMine->second) ++logKeep;
    replay.assign(confirmedLog_.begin() + logKeep, confirmedLog_.end());
    reset->requeued = replay.size();
    reset->lost = (knownMine->second - serverMine->second) - replay.size();
  }
  const bool lowered = reset && reset->knownLastMutationID > reset->serverLastMutationID;
  // Other clients of the group whose lmid went down: their mutations held
  // here are kept only while they still follow it; otherwise their own
  // client (which has the log) queues them again, and this replica merges
  // that from the store. Pushing them as they are would fail every push of
  // the group (a mutation from the future).
  std::set<std::string> stale;
  for (const auto& [clientID, id] : response.lastMutationIDChanges) {
    auto known = lastMutationIDs_.find(clientID);
    if (clientID == me || known == lastMutationIDs_.end() || id >= known->second) continue;
    for (const Mutation& m : pending_) {
      if (m.clientID != clientID) continue;
      if (m.id != id + 1) stale.insert(clientID);
      break;
    }
  }
  size_t confirmed = 0;
  std::vector<Mutation> confirmedOwn;
  for (const Mutation& m : pending_) {
    auto lmid = lmids.find(m.clientID);
    if (lmid != lmids.end() && m.id <= lmid->second) {
      ++confirmed;
      if (m.clientID == me) confirmedOwn.push_back(m);
    } else if (stale.count(m.clientID)) {
      if (!reset) reset.emplace();
      ++reset->droppedForeign;
    } else {
      replay.push_back(m);
    }
  }
  if (reset && !lowered) {
    // Reported for the cookie or other clients: this client's lmid as is.
    auto mine = lmids.find(me);
    reset->knownLastMutationID = knownMine == lastMutationIDs_.end() ? 0 : knownMine->second;
    reset->serverLastMutationID = mine == lmids.end() ? 0 : mine->second;
  }
  if (lowered) {
    // The server applies a client's mutations only in id order without
    // gaps: when the log did not reach back to the server's lmid, this
    // client's queue takes new ids from there, in order, so each is
    // applied exactly once.
    uint64_t next = reset->serverLastMutationID + 1;
    bool follows = true;
    for (const Mutation& m : replay) {
      if (m.clientID != me) continue;
      if (m.id != next) follows = false;
      ++next;
    }
    if (!follows) {
      reset->renumbered = true;
      next = reset->serverLastMutationID + 1;
      for (Mutation& m : replay) {
        if (m.clientID == me) m.id = next++;
      }
    }
  }
  std::unique_ptr<Rebase> rebase(new Rebase(this, response, std::move(patch), std::move(replay)));
  rebase->confirmed_ = confirmed;
  rebase->confirmedOwn_ = std::move(confirmedOwn);
  rebase->reset_ = std::move(reset);
  rebase->logKeep_ = logKeep;
  return rebase;
}

std::unique_ptr<Rebase> Replica::beginReplay(std::vector<Mutation> more) {
  if (writeOpen_) throw std::logic_error("another mutation or rebase is in progress");
  std::set<std::pair<std::string, uint64_t>> known;
  for (const Mutation& m : pending_) known.emplace(m.clientID, m.id);
  std::vector<Mutation> replay(pending_.begin(), pending_.end());
  for (Mutation& m : more) {
    auto lmid = lastMutationIDs_.find(m.clientID);
    if (lmid != lastMutationIDs_.end() && m.id <= lmid->second) continue;
    if (!known.emplace(m.clientID, m.id).second) continue;
    replay.push_back(std::move(m));
  }
  PullSuccess same;
  same.cookie = cookie_;
  std::unique_ptr<Rebase> rebase(new Rebase(this, std::move(same), Layer{}, std::move(replay)));
  rebase->replayOnly_ = true;
  return rebase;
}

void Replica::restore(BaseMap confirmed, Cookie cookie, std::map<std::string, uint64_t> lastMutationIDs,
                      std::deque<Mutation> pending, Unloaded unloaded) {
  if (writeOpen_) throw std::logic_error("restore while a mutation or rebase is in progress");
  // Indexes are never stored: the base's are built here (and as a lazy
  // open fills pages in), once.
  IndexMaps baseIndex;
  if (indexes_) indexes_->addAll(&baseIndex, confirmed);
  base_ = std::move(confirmed);
  baseIndex_ = std::move(baseIndex);
  pendingIndex_ = IndexMaps{};
  unloaded_ = std::move(unloaded);
  pending_layer_ = Layer{};
  cookie_ = std::move(cookie);
  lastMutationIDs_ = std::move(lastMutationIDs);
  pending_ = std::move(pending);
  confirmedChanges_ = ConfirmedChanges{};
  confirmedChanges_.all = true;
}

bool Replica::fillUnloaded(std::string_view first, BaseMap entries) {
  auto range = unloaded_.ranges.find(first);
  if (range == unloaded_.ranges.end()) return false;
  // The entries are the range's (the host checked them against its bounds),
  // and an unloaded range has none in the base: every node moves over.
  if (indexes_) indexes_->addAll(&baseIndex_, entries);
  base_.merge(entries);
  unloaded_.ranges.erase(range);
  return true;
}

Replica::ConfirmedChanges Replica::takeConfirmedChanges() {
  ConfirmedChanges out = std::move(confirmedChanges_);
  confirmedChanges_ = ConfirmedChanges{};
  return out;
}

PullOutcome Replica::replay(std::vector<Mutation> more) { return runRebase(beginReplay(std::move(more))); }

PullOutcome Replica::applyPull(const PullSuccess& response, const Cookie& requestCookie) {
  PullOutcome outcome;
  std::unique_ptr<Rebase> rebase = beginRebase(response, requestCookie, &outcome);
  if (!rebase) return outcome;
  return runRebase(std::move(rebase));
}

PullOutcome Replica::runRebase(std::unique_ptr<Rebase> rebase) {
  while (const Mutation* m = rebase->next()) {
    auto found = mutators_.find(m->name);
    if (found == mutators_.end()) {
      rebase->succeeded();  // an unknown mutator is a no-op that stays pending
      continue;
    }
    Mutator mutator = found->second;
    try {
      mutator(rebase->tx(), m->args->json());
    } catch (...) {
      rebase->failed(exceptionText(std::current_exception()));
      continue;
    }
    rebase->succeeded();
  }
  return rebase->finish();
}

// --- Notification -------------------------------------------------------------------------

uint64_t Replica::addChangeListener(ChangeListener listener) {
  uint64_t id = nextListenerID_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Replica::removeChangeListener(uint64_t id) { listeners_.erase(id); }

uint64_t Replica::subscribe(Query query, std::function<void(const Json&)> onData,
                            std::function<void(const std::string&)> onError) {
  auto sub = std::make_shared<QuerySubscription>();
  sub->query = std::move(query);
  sub->onData = std::move(onData);
  sub->onError = std::move(onError);
  uint64_t id = nextListenerID_++;
  subscriptions_.emplace(id, sub);
  ReadSet fresh;
  sub->run(read(&fresh), fresh);
  return id;
}

void Replica::unsubscribe(uint64_t id) { subscriptions_.erase(id); }

uint64_t Replica::watch(std::string prefix, WatchCallback callback, bool initialValuesInFirstDiff) {
  auto w = std::make_shared<Watch>();
  w->prefix = std::move(prefix);
  w->callback = std::move(callback);
  uint64_t id = nextListenerID_++;
  watches_.emplace(id, w);
  if (initialValuesInFirstDiff) {
    std::vector<DiffOp> initial;
    ScanOptions options;
    options.prefix = w->prefix;
    visible().scan(options, [&](const std::string& key, const ValuePtr& value) {
      initial.push_back({DiffOp::Op::kAdd, key, nullptr, value});
      return true;
    });
    w->callback(initial);
  }
  return id;
}

void Replica::unwatch(uint64_t id) { watches_.erase(id); }

void Replica::notify(const ChangeSet& changes) {
  if (changes.empty()) return;
  // A callback may commit again (a subscription that mutates). Its changes
  // wait until this delivery is done, so every watcher sees the commits'
  // diffs in commit order. Only such nested commits are copied.
  if (notifying_) {
    queuedChanges_.push_back(changes);
    return;
  }
  notifying_ = true;
  struct Reset {
    bool& flag;
    std::deque<ChangeSet>& queue;
    ~Reset() {
      flag = false;
      queue.clear();
    }
  } reset{notifying_, queuedChanges_};
  deliver(changes);
  while (!queuedChanges_.empty()) {
    ChangeSet next = std::move(queuedChanges_.front());
    queuedChanges_.pop_front();
    deliver(next);
  }
}

void Replica::deliver(const ChangeSet& changes) {
  // Snapshots: a callback may subscribe, unsubscribe or mutate.
  std::vector<std::pair<uint64_t, std::shared_ptr<Subscription>>> subs(subscriptions_.begin(),
                                                                       subscriptions_.end());
  // The index entries the commit changed, worked out once, if a
  // subscription read an index.
  std::optional<IndexChanges> indexChanges;
  for (auto& [id, sub] : subs) {
    if (!subscriptions_.count(id)) continue;
    if (sub->readSet.readsIndexes() && indexes_ && !indexChanges) indexChanges = this->indexChanges(changes);
    if (!sub->readSet.affectedBy(changes, indexChanges ? &*indexChanges : nullptr)) continue;
    ReadSet fresh;
    sub->run(read(&fresh), fresh);
  }
  std::vector<std::pair<uint64_t, std::shared_ptr<Watch>>> watches(watches_.begin(), watches_.end());
  for (auto& [id, w] : watches) {
    if (!watches_.count(id)) continue;
    std::vector<DiffOp> diff;
    for (auto it = changes.lower_bound(w->prefix); it != changes.end(); ++it) {
      if (it->first.compare(0, w->prefix.size(), w->prefix) != 0) break;
      const Change& c = it->second;
      if (!c.oldValue) {
        diff.push_back({DiffOp::Op::kAdd, it->first, nullptr, c.newValue});
      } else if (!c.newValue) {
        diff.push_back({DiffOp::Op::kDel, it->first, c.oldValue, nullptr});
      } else {
        diff.push_back({DiffOp::Op::kChange, it->first, c.oldValue, c.newValue});
      }
    }
    if (!diff.empty()) w->callback(diff);
  }
  std::vector<std::pair<uint64_t, ChangeListener>> listeners(listeners_.begin(), listeners_.end());
  for (auto& [id, listener] : listeners) {
    if (listeners_.count(id)) listener(changes);
  }
}

}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END
