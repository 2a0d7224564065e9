// Core: one replicore client as the JavaScript wrapper (wasm/js/replicore.js)
// drives it: a Replica, its SyncScheduler, a poke socket and a Persister,
// and the bookkeeping that keeps JS's value cache in step. binding.cpp
// binds each public method as a function taking the core's handle first
// (coreGet(core, txID, key)). The wrapper is the public API; Core is the
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
//    that JS decodes and parses one by one (ScanAnswer). Only a scan whose
//    uncached values pass 1 MB crosses again, once per MB (scanRest), so
//    that its buffer stays small and reused.
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
//
// Core's methods are defined by concern: core_reads.cpp (transactions,
// reads, index scans), core_writes.cpp (mutations, rebases),
// core_notes.cpp (subscriptions, watches, the note of each commit),
// core_sync.cpp (construction, lifecycle, pull and push, the scheduler's
// callbacks and transport) and core_persist.cpp (loading, pages, write
// plans, tabs, journals). Single-threaded: JS calls in, and every callback
// runs on the JS event loop.
#ifndef REPLICORE_WASM_CORE_BINDING_H_
#define REPLICORE_WASM_CORE_BINDING_H_

#include <emscripten/val.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "emscripten_platform.h"
#include "js_value_host.h"
#include "scan_answer.h"
#include "replicore/id_set.h"
#include "replicore/persister.h"
#include "replicore/replica.h"
#include "replicore/scheduler.h"
#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

// Sends the scheduler's requests (core_sync.cpp).
class RoutingTransport;

// One replicore client driven by JS (see the top of this file). Its public
// methods are what binding.cpp binds, one JS function each; the SyncHost
// methods are the scheduler's.
class Core : public SyncHost {
 public:
  Core(std::string optionsJson, emscripten::val host);

  ~Core() override;

  // ----------------------------------------------------------- lifecycle --
  // Starts syncing: the start-up pull, the push of loaded mutations, the
  // poke socket. Only the first call does anything, so JS may call it
  // before every pull and push (one asked for before the start-up task
  // joins the start-up pull instead of running ahead of it), and a poke
  // socket closed by ClientStateNotFound stays closed.
  void start();

  void close();

  std::string lastError() const { return lastError_; }

  // Replicache lets apps change these at any time; they apply from the next
  // request. A new pushURL pushes what is pending at once.
  void setPushURL(std::string url);
  void setPullURL(std::string url);
  void setPushDelay(double ms);
  // A negative interval: none (pullInterval null).
  void setPullInterval(double ms);

  // ----------------------------------------------------------- mutations --
  // Opens the write transaction of a new mutation; returns its id, or 0 with
  // lastError() set.
  double beginMutation(std::string name, std::string argsJson, double timestamp);

  // beginMutation with the args' `len` bytes of UTF-8 staged in the body
  // buffer (bodyBuffer): large args cross with no copy beyond JS's encode
  // (embind's std::string conversion walks a string in a JS loop).
  double beginMutationBody(std::string name, size_t len, double timestamp);

  // Commits the open mutation; returns the note (see the top of the file).
  std::string commitMutation();

  void abortMutation() { pendingWrite_.reset(); }

  // -------------------------------------------------------- transactions --
  // Transaction handle 0 is the open write (mutation or rebase replay);
  // other handles are reads from openRead.
  int openRead(int subID);

  void closeRead(int id) { reads_.erase(id); }

  // 0: absent. >0: the value's id, already in the JS cache. <0: minus the
  // id of a value JS has not cached; its text is in takeValueText().
  // kMissed (0.5, never an id): the answer lies in a page of the store not
  // read yet (a lazy open); JS reads missedKeys() and asks again.
  double get(int txID, std::string key);

  // The text of the value a get() just reported as not cached, as a view
  // (see scan).
  emscripten::val takeValueText();

  // 1 yes, 0 no, 2 missed (see get).
  int has(int txID, std::string key);

  // 1 empty, 0 not, 2 missed (see get).
  int isEmpty(int txID);

  // One crossing per scan, one buffer (a Uint8Array view, valid until the
  // next call; JS reads it at once; empty on error), laid out by
  // ScanAnswer::packInto (scan_answer.h); values beyond about 1 MB follow
  // through scanRest. flags: 1 start key given, 2 start exclusive, 4 keys
  // only (no values are sent for keys(), so JS neither parses nor caches
  // them).
  // A warm scan thus costs JS one decode + split of the keys and a typed
  // array of ids (JSON.parse of keys and ids was most of it).
  emscripten::val scan(int txID, std::string prefix, std::string startKey, int flags, double limit);

  bool scanInto(int txID, std::string prefix, std::string startKey, int flags, double limit);

  // The next pieces of the last scan's (or index scan's) values, when its
  // buffer said more remain (ScanAnswer::packRest; an empty view when none
  // do). JS asks at once, before any other call.
  emscripten::val scanRest();

  // Writes a batch of JS-held values in the open write transaction, in one
  // crossing. JS writes the UTF-8 keys back to back at `data`
  // (TextEncoder.encodeInto straight into wasm memory) and their byte
  // lengths as uint32 at `lens`; the core makes a host-held Value for each
  // and writes its id as a float64 at `idsOut` (JS caches its value under
  // it). Returns `count`, or -1 with lastError() on failure.
  int setMany(uintptr_t data, uintptr_t lens, int count, uintptr_t idsOut);

  // 1: deleted, 0: did not exist, -1: error, -2: missed (see get).
  int del(std::string key);

  // -------------------------------------------------------------- indexes --
  // The index keys of the values the next setMany or holdPullValues makes,
  // as UTF-8 at `ptr` (JsValueHost::indexKeys has the layout). JS sends
  // them only when there are indexes.
  void stageIndexKeys(uintptr_t ptr, size_t len);

  // A scan of the index called `name`, answered like scan(): the same
  // buffer, with 2n keys (secondary, primary, ...) for n entries. flags: 1
  // start given, 2 exclusive, 4 keys only, 8 the start names a primary key.
  // An unknown index: an empty view, lastError "Unknown index name: ...".
  // A lazy open not read whole yet: missed (every page is needed).
  emscripten::val scanIndex(int txID, std::string name, std::string prefix, std::string startSecondary,
                            std::string startPrimary, int flags, double limit);

  // A watch of the index called `name` (diff keys [secondary, primary],
  // `prefix` on the secondary key). 0 for an unknown index.
  int addIndexWatch(std::string name, std::string prefix);

  // ----------------------------------------------- subscriptions, watches --
  int addSubscription();
  void removeSubscription(int id) { subs_.erase(id); }

  int addWatch(std::string prefix);
  void removeWatch(int id);

  // --------------------------------------------------------------- rebase --
  // Starts applying the pull response stored under `token` (see applyPull).
  // Returns {"started":true} when a rebase is open for JS to drive, else
  // {"started":false,"kind":...,"error":...} (already finished).
  std::string rebaseBegin(int token);

  // The next mutation to replay as JSON {id,name,args,clientID,timestamp},
  // or "" when none is left.
  std::string rebaseNext();

  void rebaseSucceeded();
  void rebaseFailed(std::string message);

  // Installs the rebase. Returns {"kind":..., "error":..., "confirmed":n,
  // "replayErrors":[...], "reset":null|{...}, "note":{...}}.
  std::string rebaseFinish();

  // Gives up an open rebase (nothing changes) and fails the pull.
  void rebaseAbort(std::string why);

  // Drops a stored pull response JS will not apply (closing).
  void dropPull(int token) { pulls_.erase(token); }

  // ----------------------------------------------------------------- sync --
  // Pulls now (or once more after the pull in flight). Returns the number
  // of the attempt that answers this call (JS waits for onPullFinished with
  // a number at least that), or 0 when no pull will run (closed, stopped, no
  // pull URL).
  double pull();
  void notePullSent() { pullsSent_++; }
  bool isPullURL(const HttpRequest& r) const;
  void push() { if (!closed_) scheduler_->push(); }
  std::string auth() const { return scheduler_->auth(); }
  void setAuth(std::string auth) { scheduler_->setAuth(std::move(auth)); }

  // A JS puller/pusher finished request `token` (through transportDoneBody).
  // status 0 = network error.
  void transportDone(int token, int status, std::string body, std::string networkError);

  // Makes `count` host-held values for the put values of the JS puller
  // response about to be handed over with transportDone(Body): JS caches its
  // values under the ids written as float64 at `idsOut`, in the order of the
  // put ops. applyPull uses them in place of the skeleton's nulls; if the
  // response is not applied they are released. Returns count, or -1.
  int holdPullValues(int count, uintptr_t idsOut);

  // Large texts cross without copies: JS asks for a buffer of `size` bytes
  // (again, larger, keeping what it wrote, if the text was not ASCII),
  // encodes the text into it with TextEncoder.encodeInto, then hands it over
  // in the same task with the bytes written: transportDoneBody (a response)
  // or beginMutationBody (mutation args) takes the buffer. 0, with
  // lastError(), if the heap cannot hold it.
  uintptr_t bodyBuffer(size_t size);
  void transportDoneBody(int token, int status, size_t len, std::string networkError);

  void authAnswer(int token, bool has, std::string value);

  // [{"name","id","args","clientID"}...], oldest first.
  std::string pendingMutations();

  std::string cookie() const { return replica_->cookie().text(); }

  // Records the page a read missed (see get); true when it did.
  bool missed(ReadTransaction* tx);

  // ---------------------------------------------------------- persistence --
  // The wrapper moves records between the store and the core in batches,
  // never one call per record: records go in as one buffer of
  // [int32 length (-1: absent), UTF-8 bytes]... that JS writes into
  // memory from malloc (readRecords), and write batches come out as one
  // index of where their values are (writePlan). The rules are all the
  // Persister's (core/persister.h).
  void persistInit(std::string groupID, double pageBytes, double clientMaxAgeMs);

  // Opening: the two head slots in; {"keys":[...]} of the records to read
  // next, or {"done":true,"report":{...}} once the state is loaded (the
  // pending mutations then need a replay: replayBegin).
  // `lazy`: pages are read later (missedKeys, nextPageKeys, fillPages).
  std::string loadBegin(uintptr_t ptr, size_t len, bool lazy);
  std::string loadContinue(uintptr_t ptr, size_t len);

  // The store keys of the pages that reads or writes missed since the last
  // call (see get), each with the unloaded pages after it up to `bytes`
  // (a scan that goes on would miss those next), NUL-joined.
  std::string missedKeys(double bytes);
  // The next unloaded pages in key order, up to about `bytes`, NUL-joined
  // (empty: all are in).
  std::string nextPageKeys(double bytes);
  // Pages read for `keys` (NUL-joined) go in place. Returns the problems
  // found, NUL-joined ('' when none).
  std::string fillPages(std::string keys, uintptr_t ptr, size_t len);
  bool fullyLoaded() const { return replica_->fullyLoaded(); }

  bool persistHasWork() { return persister_ && guard(false, [&] { return persister_->hasWork(); }); }

  // Plans a write given the two head slots (read in the write transaction):
  // a buffer view of its index (encodeStoreBatchIndex, store_binding.h),
  // whose values stay in the plan held here until writeDone or the next
  // writePlan. Empty on error.
  emscripten::val writePlan(uintptr_t ptr, size_t len, double nowMs);
  // The write planned last committed or failed; its plan is released.
  void writeDone(bool committed);

  // Tabs: the other clients' chunks to read, as a JSON array of keys.
  std::string refreshPlan(uintptr_t ptr, size_t len);
  // Takes the chunks read for `keysJson` (a JSON array): their mutations
  // wait for the next replayBegin. Returns how many, or -1; problems go to
  // lastError().
  int takeForeign(std::string keysJsonText, uintptr_t ptr, size_t len);
  bool hasForeign() const { return !foreign_.empty(); }

  // Journals (persister.h): this client's mutations the store may lack, as
  // a record for localStorage ("" when every one is stored).
  std::string journal();
  // Takes another client's journal: its mutations wait for the next
  // replayBegin, as foreign ones do. Returns how many, or -1 with
  // lastError() set (a bad record).
  int takeJournal(std::string record);
  bool journalsPending() const { return persister_ && persister_->journalsPending(); }

  // Opens a replay of the pending mutations plus the foreign ones taken
  // (core/replica.h, beginReplay); JS drives it with rebaseNext/... like a
  // pull's rebase. {"started":true}, or {"started":false} when a write is
  // open.
  std::string replayBegin();

  // Called by RoutingTransport for JS-routed URLs.
  void sendCustom(HttpRequest request, std::function<void(HttpResponse)> done);

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
                 std::function<void(std::string error)> done) override;

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
  void beginWatchOp(int wid, const C& change, bool* any);

  // Adds a scan's entry to `answer`: its value's id, and its JSON when JS
  // neither holds the value nor has it cached yet.
  void noteEntry(ScanAnswer& answer, const ValuePtr& v, bool keysOnly);

  template <class T>
  T fail(T value, const char* message) {
    lastError_ = message;
    return value;
  }

  ReadTransaction* txFor(int txID);

  WriteTransaction* writeTx();

  size_t indexCount() const { return replica_->indexes() ? replica_->indexes()->size() : 0; }

  double idFor(const ValuePtr& v);

  // Collects what a commit changed for JS (see the top of the file).
  void onChanges(const ChangeSet& cs);

  // {"s":[subIDs],"e":[evicted ids],"w":[[watchID,[[op,key,oldID,newID]...]]...],
  //  "v":[id,value,...]}; op 0 add, 1 del, 2 change; id 0 = none.
  std::string takeNote();

  // Drops from jsKnown_ (and so from the JS cache) ids no longer visible,
  // once the cache has grown to twice what was live at the last sweep;
  // amortized O(1) per write. Catches values replaced by an equal value,
  // which a ChangeSet does not list.
  void maybeSweep();

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
  std::unique_ptr<ScanAnswer> scanRest_;  // the last scan's values not handed out yet
  std::string body_;  // a large text being written by JS (bodyBuffer)
  // body_'s first `len` bytes, taken (body_ is left empty).
  std::string takeBody(size_t len);
  std::vector<ValuePtr> pullValues_;  // see holdPullValues

  std::unique_ptr<PendingWrite> pendingWrite_;
  std::unique_ptr<Rebase> rebase_;
  std::unique_ptr<Persister> persister_;
  // The last write plan: JS copies its values straight out of these strings
  // (a chunk can be megabytes; one buffer holding them all was one more
  // copy, into fresh memory, ~2.7 ms per MB in WebKit).
  StoreBatch plan_;
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

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END

#endif  // REPLICORE_WASM_CORE_BINDING_H_
