// Replica: one client's local state, its mutators and its queue of pending
// mutations, and the rebase of that queue onto each accepted pull.
//
// The visible state is always `confirmed base + pull patch being applied (if
// any) + pending layer`. Guarantees:
//  - A mutation that fails (unknown name, a throwing mutator) writes nothing
//    and records nothing; the caller gets the error.
//  - Pending mutations stay in the queue, in order, until a pull's
//    lastMutationIDChanges confirms them; nothing else removes them.
//  - A pull response is validated in full before anything changes; an
//    invalid one changes nothing.
//  - A pull that lowers this client's lastMutationID (the server lost
//    mutations it had confirmed: a restored database, commits lost in a
//    crash, failover to a lagging replica) puts the lost ones back in front
//    of the queue from a bounded log of recently confirmed mutations, so the
//    server gets each again and applies it once; the pull reports it
//    (PullOutcome::reset). A cookie lower than the confirmed one is taken
//    only together with a clear (a full reset), never as a diff.
//  - A mutator that throws during a rebase keeps its mutation pending, its
//    effect is skipped for that replay, and the error is reported; the rebase
//    goes on (Replicache would instead fail the pull forever).
//  - Each commit (mutation or rebase) notifies change listeners once, with
//    the keys whose visible value changed.
//
// Single-threaded. At most one write (a mutation or a rebase) is open at a
// time; a host whose mutators are asynchronous (JavaScript) drives the staged
// forms (beginMutation, beginRebase) and serializes them itself.
#ifndef REPLICORE_REPLICA_H_
#define REPLICORE_REPLICA_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "replicore/change_set.h"
#include "replicore/layered_map.h"
#include "replicore/protocol.h"
#include "replicore/transaction.h"

namespace replicore {

// Thrown by Replica::mutate and beginMutation for an unknown mutator name or
// a mutator that threw; nothing was written.
class MutationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplicaOptions {
  std::string clientID;
  std::string clientGroupID;
  std::string profileID;
  std::string schemaVersion;
  // The log of this client's confirmed mutations kept to push again when the
  // server loses them: the newest this many, and at most about this many
  // bytes of args. In memory only: a client reloaded since its mutations
  // were confirmed cannot send them again (the reset reports them lost).
  size_t confirmedLogLimit = 1000;
  size_t confirmedLogBytes = size_t(1) << 20;
  // Secondary indexes (index.h), kept up to date by every write, pull and
  // rebase; read with ReadTransaction::scanIndexEach.
  std::vector<IndexDefinition> indexes;
};

// A pull that reset this client's state: the server no longer has mutations
// it had confirmed, or sent a cookie below the confirmed one with a clear.
struct ClientReset {
  bool cookieWentBack = false;        // a lower cookie, taken because the patch cleared
  uint64_t knownLastMutationID = 0;   // this client's confirmed lmid before the pull
  uint64_t serverLastMutationID = 0;  // the lmid the server has now (lower, or equal)
  size_t requeued = 0;   // confirmed mutations put back in the queue from the log
  size_t lost = 0;       // lost by the server and no longer in the log: never sent again
  bool renumbered = false;  // this client's queue got new ids from serverLastMutationID + 1
  // Mutations of other clients of the group (tabs) this replica held pending
  // that no longer follow their client's lmid: dropped here; their own
  // client puts them back (each client handles its own lmid).
  size_t droppedForeign = 0;
};

// A mutator run during a rebase failed; its mutation stays pending.
struct ReplayError {
  std::string clientID;
  uint64_t mutationID = 0;
  std::string name;
  std::string message;
};

// What became of a pull response handed to the replica.
struct PullOutcome {
  enum class Kind {
    kApplied,   // new confirmed state, pending mutations rebased
    kNoOp,      // same cookie as the confirmed one: nothing to do
    kDropped,   // the confirmed cookie changed while the pull was out
    kRejected,  // invalid (lower cookie, lower lmid, bad update op): nothing changed
  };
  Kind kind = Kind::kApplied;
  std::string error;                      // for kRejected
  size_t confirmedMutations = 0;          // pending mutations the pull confirmed
  std::vector<ReplayError> replayErrors;  // mutators that threw on replay
  std::optional<ClientReset> reset;       // kApplied only
};

class Replica;

// A mutation being run by a host (staged form of Replica::mutate). Write
// through tx(); commit() records the mutation. Destroying it without commit
// discards every write.
class PendingWrite {
 public:
  ~PendingWrite();
  PendingWrite(const PendingWrite&) = delete;
  PendingWrite& operator=(const PendingWrite&) = delete;

  WriteTransaction& tx() { return *tx_; }
  const Mutation& mutation() const { return mutation_; }
  // Commits the writes and queues the mutation. Returns its id.
  uint64_t commit();

 private:
  friend class Replica;
  PendingWrite(Replica* replica, Mutation mutation);
  Replica* replica_;
  Mutation mutation_;
  Layer layer_;
  IndexMaps layerIndex_;  // the index entries of layer_'s values
  std::unique_ptr<WriteTransaction> tx_;
  bool done_ = false;
};

// A rebase being run by a host (staged form of Replica::applyPull): for each
// mutation from next(), run its mutator on tx() and call succeeded() or
// failed(); then finish(). Destroying it unfinished changes nothing.
class Rebase {
 public:
  ~Rebase();
  Rebase(const Rebase&) = delete;
  Rebase& operator=(const Rebase&) = delete;

  // The next mutation to replay, or nullptr when all are done.
  const Mutation* next();
  WriteTransaction& tx() { return *tx_; }
  void succeeded();
  void failed(std::string message);
  // Installs the new confirmed state and pending layer, notifies listeners.
  PullOutcome finish();

 private:
  friend class Replica;
  Rebase(Replica* replica, PullSuccess response, Layer patch, std::vector<Mutation> replay);
  void closeCurrent(bool keep);
  Replica* replica_;
  PullSuccess response_;
  Layer patch_;
  Layer newPending_;
  // The index entries of the values of patch_, newPending_ and txLayer_.
  IndexMaps patchIndex_, newPendingIndex_, txIndex_;
  std::vector<Mutation> replay_;
  size_t index_ = 0;
  bool current_ = false;
  Layer txLayer_;
  std::unique_ptr<WriteTransaction> tx_;
  std::vector<ReplayError> errors_;
  size_t confirmed_ = 0;
  bool done_ = false;
  bool replayOnly_ = false;  // beginReplay: no pull, the cookie stays
  // This client's mutations the pull confirmed (they join the log), and a
  // reset: the log keeps its first logKeep_ entries (the rest are queued).
  std::vector<Mutation> confirmedOwn_;
  std::optional<ClientReset> reset_;
  size_t logKeep_ = 0;
};

class Replica {
 public:
  using Mutator = std::function<Json(WriteTransaction& tx, const Json& args)>;
  using Query = std::function<Json(ReadTransaction& tx)>;
  using ChangeListener = std::function<void(const ChangeSet&)>;

  explicit Replica(ReplicaOptions options);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  const ReplicaOptions& options() const { return options_; }
  RequestIdentity identity() const;

  // --- Mutators ---------------------------------------------------------------
  // Registers (or replaces) the mutator called `name`.
  void registerMutator(std::string name, Mutator mutator);
  bool hasMutator(const std::string& name) const;

  // Runs mutator `name` now with reason 'initial', commits its writes and
  // queues the mutation. Returns the mutator's result. Throws MutationError
  // (nothing written, nothing queued) for an unknown name or a throwing
  // mutator, std::logic_error while another write is open.
  Json mutate(const std::string& name, Json args, double timestamp);

  // Staged form for hosts with their own mutator functions: opens the write
  // transaction for the next mutation id. Throws std::logic_error while
  // another write is open.
  std::unique_ptr<PendingWrite> beginMutation(std::string name, ValuePtr args, double timestamp);

  // --- Reading ------------------------------------------------------------------
  // A read transaction on the current visible state; records what it reads
  // in `readSet` when given. Valid until the next commit.
  std::unique_ptr<ReadTransaction> read(ReadSet* readSet = nullptr) const;

  // --- Sync state -----------------------------------------------------------------
  const Cookie& cookie() const { return cookie_; }
  // The confirmed last mutation id of each client of the group.
  const std::map<std::string, uint64_t>& lastMutationIDs() const { return lastMutationIDs_; }
  // Pending mutations, oldest first (what the next push sends).
  const std::deque<Mutation>& pendingMutations() const { return pending_; }
  std::vector<Mutation> mutationsToPush() const { return {pending_.begin(), pending_.end()}; }
  size_t confirmedSize() const { return base_.size(); }
  // This client's recently confirmed mutations, oldest first (see
  // ReplicaOptions::confirmedLogLimit).
  const std::deque<Mutation>& confirmedLog() const { return confirmedLog_; }
  // Counts the pulls that lowered this client's lastMutationID: the queue
  // was rebuilt (ids may have changed), so a persister stores it anew.
  uint64_t resetCount() const { return resets_; }

  // --- Pull ------------------------------------------------------------------------
  // Applies an accepted pull response, replaying pending mutations with the
  // registered mutators. `requestCookie` is the cookie the pull was sent with.
  PullOutcome applyPull(const PullSuccess& response, const Cookie& requestCookie);

  // Staged form. Returns nullptr and sets `outcome` when the response is not
  // to be applied (dropped, no-op, rejected); otherwise a Rebase to drive.
  std::unique_ptr<Rebase> beginRebase(const PullSuccess& response, const Cookie& requestCookie,
                                      PullOutcome* outcome);

  // Staged replay without a pull: the pending mutations, followed by `more`
  // (mutations of other clients of the group, found in the store, that are
  // neither pending here nor confirmed), replayed on the unchanged confirmed
  // state. Builds the pending layer after restore(), and merges another
  // tab's mutations. Drive it like a rebase.
  std::unique_ptr<Rebase> beginReplay(std::vector<Mutation> more);
  // The same with the registered mutators.
  PullOutcome replay(std::vector<Mutation> more = {});

  // --- Persistence ---------------------------------------------------------------------
  // Replaces the whole state with one loaded from a store: the confirmed
  // entries, their cookie and last mutation ids, and the pending mutations
  // (oldest first). Their effects show only after a replay (beginReplay).
  // Call before anything reads, subscribes or writes; notifies no one.
  // Throws std::logic_error while a write is open.
  //
  // `unloaded`: ranges of the confirmed state not read from the store yet
  // (a lazy open). Reads that need one report it (ReadTransaction::missed)
  // instead of answering; the host reads that page and calls fillUnloaded.
  // A host must load a range before writing a key in it (a commit compares
  // old values), and a pull is rejected until every range is loaded.
  void restore(BaseMap confirmed, Cookie cookie, std::map<std::string, uint64_t> lastMutationIDs,
               std::deque<Mutation> pending, Unloaded unloaded = {});
  // Puts the entries of the unloaded range starting at `first` in place
  // (they must lie inside it). Changes no visible value, notifies no one.
  // Returns false, doing nothing, when no such range is unloaded.
  bool fillUnloaded(std::string_view first, BaseMap entries);
  const Unloaded& unloaded() const { return unloaded_; }
  bool fullyLoaded() const { return unloaded_.empty(); }
  // The confirmed state is known to be incomplete (a page of it could not
  // be read): the cookie is forgotten, so the next pull fetches all of it.
  void forgetCookie() { cookie_ = Cookie(); }
  const BaseMap& confirmed() const { return base_; }

  // --- Secondary indexes ----------------------------------------------------------------
  // The indexes of ReplicaOptions::indexes, or nullptr when there are none.
  const IndexSet* indexes() const { return indexes_.get(); }
  // The index entries the changes of one commit (a ChangeSet a listener
  // got, while it is being delivered) added, removed or changed. Empty
  // without indexes.
  IndexChanges indexChanges(const ChangeSet& changes) const {
    return indexes_ ? indexes_->changesOf(changes) : IndexChanges();
  }

  // What changed in the confirmed state since the last take: the keys a
  // pull wrote, or everything (a pull that cleared, or a restore).
  struct ConfirmedChanges {
    bool all = false;
    std::set<std::string, std::less<>> keys;
  };
  // Starts recording ConfirmedChanges (off by default: only a persisting
  // host pays for it).
  void trackConfirmedChanges() { trackingConfirmed_ = true; }
  ConfirmedChanges takeConfirmedChanges();

  // --- Change notification -------------------------------------------------------------
  // Called once after each commit that changed the visible state.
  uint64_t addChangeListener(ChangeListener listener);
  void removeChangeListener(uint64_t id);

  // Runs `query` now and calls `onData` with its result; afterwards re-runs
  // it only when a commit changed a key or range it read, and calls `onData`
  // only when the result differs. `onError` gets a query's exception text.
  uint64_t subscribe(Query query, std::function<void(const Json&)> onData,
                     std::function<void(const std::string&)> onError = {});
  void unsubscribe(uint64_t id);

  // One entry of a watch diff.
  struct DiffOp {
    enum class Op { kAdd, kDel, kChange } op;
    std::string key;
    ValuePtr oldValue;  // del, change
    ValuePtr newValue;  // add, change
  };
  using WatchCallback = std::function<void(const std::vector<DiffOp>&)>;
  // Calls `callback` with the changes under `prefix` after each commit that
  // has some. With `initialValuesInFirstDiff`, calls it at once with every
  // current entry under `prefix` as an add (even when there are none).
  uint64_t watch(std::string prefix, WatchCallback callback, bool initialValuesInFirstDiff = false);
  void unwatch(uint64_t id);

 private:
  friend class PendingWrite;
  friend class Rebase;
  // A subscription, behind a virtual run() so that deliver() does not refer
  // to the Json queries of subscribe(): a build that never subscribes (the
  // WebAssembly package) does not link them.
  struct Subscription;
  struct QuerySubscription;
  struct Watch;

  LayeredView visible() const;
  IndexedView visibleIndexes() const;
  // Replays with the registered mutators and finishes.
  PullOutcome runRebase(std::unique_ptr<Rebase> rebase);
  uint64_t nextMutationID(const std::string& clientID) const;
  void notify(const ChangeSet& changes);
  void deliver(const ChangeSet& changes);

  ReplicaOptions options_;
  BaseMap base_;
  Unloaded unloaded_;
  Layer pending_layer_;
  std::deque<Mutation> pending_;
  // Indexes: the definitions, and the entries of base_ and pending_layer_.
  std::unique_ptr<const IndexSet> indexes_;
  IndexMaps baseIndex_, pendingIndex_;
  std::deque<Mutation> confirmedLog_;
  size_t confirmedLogBytes_ = 0;
  uint64_t resets_ = 0;
  Cookie cookie_;
  std::map<std::string, uint64_t> lastMutationIDs_;
  std::map<std::string, Mutator> mutators_;
  bool writeOpen_ = false;
  bool notifying_ = false;
  bool trackingConfirmed_ = false;
  ConfirmedChanges confirmedChanges_;
  std::deque<ChangeSet> queuedChanges_;

  uint64_t nextListenerID_ = 1;
  std::map<uint64_t, ChangeListener> listeners_;
  std::map<uint64_t, std::shared_ptr<Subscription>> subscriptions_;
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
};

}  // namespace replicore

#endif  // REPLICORE_REPLICA_H_
