// Persister: keeps one Replica's state in a key-value store, and the rules
// by which that state is written, read back, recovered and shared between
// the clients (tabs) of one client group.
//
// The persister does no I/O. A host (the native tests, the WebAssembly
// glue) reads records and carries out write batches, each batch in one store
// transaction where the store has them (IndexedDB does), and hands back what
// it read. So every rule here runs natively and deterministically.
//
// What is kept (store_format.h has the records): the confirmed state in
// pages of sorted entries, its cookie, the group's last mutation ids, and
// every client's unconfirmed mutations in chunks. Pending mutations are
// kept as mutations, not as their effects: a reopened client replays them
// (Replica::beginReplay), so their effects always rest on the confirmed
// state that is loaded with them.
//
// Guarantees:
//  - A batch is ordered pages, chunks, head, deletions. A head names only
//    records written before it, and a record is deleted only once neither
//    head slot names it. So a store cut off anywhere in a batch, or whose
//    last record was torn, reopens to the previous head or the new one:
//    a prefix of the writes, never a mix.
//  - A chunk is dropped only once the group's last mutation ids confirm
//    every mutation in it; a client is forgotten only when it has no chunk
//    left and has not written for clientMaxAgeMs. Nothing else removes an
//    unconfirmed mutation.
//  - A write reads the current head in the same transaction and merges:
//    the confirmed state with the higher cookie wins; each client writes
//    only its own chunks; everyone's chunks are kept. So tabs that write
//    one after another never lose each other's mutations.
//  - Bad records are reported and never half-used: a head that fails its
//    check falls back to the other slot; a confirmed state that cannot be
//    read whole is dropped (cookie null: the next pull refetches it);
//    mutations in readable chunks are kept, as long as they follow their
//    client's last mutation id (after a gap, which a server that lost
//    mutations leaves, they could never be pushed and would fail every push
//    of the group: those are dropped, and reported).
#ifndef REPLICORE_PERSISTER_H_
#define REPLICORE_PERSISTER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "replicore/replica.h"
#include "replicore/store_format.h"

namespace replicore {

struct PersistOptions {
  // Pages are cut at about this many bytes of keys and values: large enough
  // that a store holds few records (10,000 values of 1 KiB: ~160 pages),
  // small enough that a pull that changes a few keys rewrites little.
  size_t pageBytes = 64 * 1024;
  // Clients with nothing unconfirmed that have not written for this long
  // are removed from the group's head (Replicache's clientMaxAgeMs).
  double clientMaxAgeMs = 14.0 * 24 * 3600 * 1000;
};

// Writes for the store: a record to put, or nullopt to delete, in order.
struct StoreBatch {
  std::vector<std::pair<std::string, std::optional<StoreRecord>>> ops;
  // Chunks of other clients of the group that this client has not merged:
  // read them and hand them to takeForeign (tabs).
  std::vector<std::string> foreignChunks;
};

// What opening found.
struct LoadReport {
  bool fresh = true;          // no usable head: the group starts empty
  bool newerFormat = false;   // written by a newer replicore: left alone
  bool confirmedDropped = false;  // the confirmed state could not be read
  size_t entries = 0;         // confirmed entries loaded
  size_t pending = 0;         // unconfirmed mutations loaded
  std::vector<std::string> problems;  // what was discarded, and why
};

class Persister {
 public:
  // `replica` must outlive the persister; its persisted state is group
  // `groupID`'s.
  Persister(Replica* replica, std::string groupID, PersistOptions options = {});
  Persister(const Persister&) = delete;
  Persister& operator=(const Persister&) = delete;

  const std::string& groupID() const { return group_; }
  std::string headKey(int slot) const { return replicore::headKey(group_, slot); }

  // --- Opening ----------------------------------------------------------------
  // (1) Given both head slots (nullopt: absent), returns the records to
  // read next. (2) Hand them, in that order (nullopt: absent), to
  // continueLoad, which returns more records to read when it has to fall
  // back to the other head, and nothing once the replica holds the loaded
  // state (restored, not yet replayed: run Replica::beginReplay next).
  //
  // Lazy form (`lazy`): the records asked for are only the chunks, and the
  // replica is restored with every page of the confirmed state unloaded
  // (Replica::unloaded, named by page number), so that it can answer
  // before the store has been read whole. Read the pages with
  // unloadedPageKeys (the ones a read missed first, then the rest) and
  // hand them to fillPages. A pull waits until all are in.
  std::vector<std::string> beginLoad(const std::optional<std::string>& head0,
                                     const std::optional<std::string>& head1, bool lazy = false);
  std::vector<std::string> continueLoad(const std::vector<std::optional<std::string>>& records);
  const LoadReport& report() const { return report_; }

  // Lazy opening: the store keys of unloaded pages, in key order, from page
  // `first` (nullopt: the first unloaded one) until about `maxBytes` of
  // entries (at least one page). Empty when every page is loaded.
  std::vector<std::string> unloadedPageKeys(std::optional<uint64_t> first, uint64_t maxBytes) const;
  // Puts pages read from the store in place (records in the order of
  // `keys`; nullopt: absent). Keys not asked for, or loaded already, are
  // ignored. A page that is missing or fails its check cannot be trusted,
  // and neither can the confirmed state it belongs to: its range is left
  // empty and the replica's cookie forgotten, so the next pull fetches the
  // whole state again (a lazy open has answered from the other pages, so
  // falling back to the older head is no longer possible). Returns the
  // problems found. The records are read during the call only (views: the
  // host's read buffer, with no copy of 10 MB of pages made to be thrown
  // away).
  std::vector<std::string> fillPages(const std::vector<std::string>& keys,
                                     const std::vector<std::optional<std::string_view>>& records);

  // --- Writing -------------------------------------------------------------------
  // Plans the next write, given both head slots as the store holds them now
  // (read in the write's own transaction). An empty batch when there is
  // nothing to write or the store is of a newer format. At most one write
  // is planned at a time: carry it out, then call writeDone.
  StoreBatch planWrite(const std::optional<std::string>& head0, const std::optional<std::string>& head1,
                       double nowMs);
  // The planned write committed (true) or failed (false; it is planned
  // again, whole, next time).
  void writeDone(bool committed);
  // True when the replica has something the store lacks.
  bool hasWork();

  // --- Journals: what an unloading page could not store --------------------------
  // A page that unloads writes to the store without waiting, and on WebKit
  // that write never lands. So it also leaves a journal in a synchronous
  // store (localStorage): its own mutations above what a committed write
  // stored. Returns the record (store_format.h, encodeJournal) and the
  // newest id in it in *lastID, or "" when every own mutation is stored.
  std::string journal(uint64_t* lastID) const;
  // Merges the journal another client of the group left. Returns its
  // mutations the group has not confirmed, to merge with
  // Replica::beginReplay; the next writes store them in chunks of that
  // client (unless the store has them already: the page's own write
  // landed). nullopt with *problem set when the record is bad.
  std::optional<std::vector<Mutation>> takeJournal(std::string_view record, RecordProblem* problem);
  // True while mutations taken from journals are not all in the store: the
  // host keeps the journals until then.
  bool journalsPending() const { return !adopted_.empty(); }

  // --- Tabs ---------------------------------------------------------------------------
  // Chunks of other clients named by the current head that this client has
  // not merged yet (read in a read transaction after another tab wrote).
  std::vector<std::string> planRefresh(const std::optional<std::string>& head0,
                                       const std::optional<std::string>& head1);
  // The mutations of those chunks (records in the order planned; nullopt:
  // absent), to merge with Replica::beginReplay. Chunks that fail their
  // check are reported in *problems and skipped.
  std::vector<Mutation> takeForeign(const std::vector<std::string>& keys,
                                    const std::vector<std::optional<std::string>>& records,
                                    std::vector<std::string>* problems);

 private:
  struct Candidate {
    Head head;
    int slot = 0;
  };
  struct Page {
    uint64_t number = 0;
    uint64_t bytes = 0;
  };
  using PageTable = std::map<std::string, Page, std::less<>>;  // firstKey -> page

  // Decodes both slots: the valid heads, newest first, and the slot the
  // newest one is in. Problems go to *problems when given.
  std::vector<Candidate> readHeads(const std::optional<std::string>& head0, const std::optional<std::string>& head1,
                                   std::vector<std::string>* problems);
  std::vector<std::string> keysOf(const Head& head, bool withPages = true) const;
  // Restores the replica from `head`: `base` (or, lazily, nothing and the
  // ranges of `unloaded`), and the chunks in `records` from index `chunksAt`.
  void restoreFrom(const Head& head, BaseMap base, bool confirmedOK,
                   const std::vector<std::optional<std::string>>& records, size_t chunksAt,
                   Unloaded unloaded = {});
  // Rewrites the pages of the confirmed state that `dirty` selects into
  // `batch`, updating `table`.
  void writePages(PageTable& table, const std::set<std::string, std::less<>>& dirtyPages, bool all,
                  uint64_t* nextNumber, StoreBatch* batch) const;
  void noteForeign(const Head& head, StoreBatch* batch);

  Replica* replica_;
  std::string group_;
  PersistOptions options_;
  LoadReport report_;

  // Loading.
  std::vector<Candidate> candidates_;
  size_t tried_ = 0;
  bool lazy_ = false;
  // Pages of a lazy open not in the replica yet: page number -> its index
  // in lazyRefs_, the opened head's page list, kept for each page's bounds
  // (page i ends where page i + 1 begins) and size. Keyed by number, not
  // by store key: opening makes an entry per page (about 2,000 at 100,000
  // keys of 1 KiB), and a store key is a heap string that compares over a
  // long common prefix.
  std::vector<PageRef> lazyRefs_;
  std::map<uint64_t, size_t> lazyPages_;
  // The page number a store key names (pageKey of this group), if any.
  std::optional<uint64_t> pageNumberOf(std::string_view key) const;

  // What the store holds of this replica.
  PageTable pages_;                 // the confirmed state as last written or loaded
  bool allDirty_ = true;            // every page must be written anew
  std::set<std::string, std::less<>> dirtyKeys_;  // confirmed keys changed since
  bool newerFormat_ = false;
  // The cookie of the confirmed state the store holds (or a newer one):
  // dirty pages need writing only while the replica's cookie differs.
  std::optional<Cookie> settled_;
  // This client's mutations up to this id are in chunks.
  uint64_t storedUpTo_ = 0;
  // The replica's resetCount() the stored chunks reflect: after a pull that
  // lowered this client's lmid its queue was rebuilt, and its chunks are
  // written anew, whole.
  uint64_t storedResets_ = 0;
  // Chunks whose mutations this replica has (loaded, merged or written).
  std::set<uint64_t> knownChunks_;
  // Mutations taken from other clients' journals, not yet in the store.
  std::map<std::string, std::vector<Mutation>> adopted_;
  // Foreign chunks planned for reading: key -> (client, ref).
  std::map<std::string, std::pair<std::string, ChunkRef>> foreignPlanned_;

  // The write in flight.
  struct Staged {
    bool active = false;
    bool wroteConfirmed = false;
    PageTable pages;
    Cookie cookie;
    std::vector<uint64_t> chunks;
    uint64_t upTo = 0;
    uint64_t resets = 0;
    // Journaled clients this write brings into the store: client -> up to.
    std::map<std::string, uint64_t> adopted;
    // Confirmed changes hasWork() took after this write was planned: not in
    // it, so still dirty once it is done.
    bool lateAll = false;
    std::set<std::string, std::less<>> lateKeys;
  } staged_;
};

// --- The group registry ------------------------------------------------------------
struct GroupChoice {
  std::string groupID;
  bool created = false;
  std::string registry;  // the registry record to write back
  // Groups unused for longer than the max age (not the chosen one): the
  // host removes each that has no unconfirmed mutations (see below).
  std::vector<std::string> expired;
};
// Picks the group for `schemaVersion` and `mutatorNames` (any order) from
// the registry record (nullopt: none yet, or unreadable: *problem set),
// making group `newID` when none matches, and marks it used at `nowMs`.
GroupChoice chooseGroup(const std::optional<std::string>& registry, const std::string& schemaVersion,
                        std::vector<std::string> mutatorNames, const std::string& newID, double nowMs,
                        double maxAgeMs, std::string* problem);
// The registry without `groupID`.
std::string registryWithout(const std::optional<std::string>& registry, const std::string& groupID);
// Every record of group `groupID` that its head slots name, the slots
// included, and whether either valid head has an unconfirmed mutation
// (then the group must not be removed).
std::vector<std::string> groupRecords(const std::string& groupID, const std::optional<std::string>& head0,
                                      const std::optional<std::string>& head1, bool* hasPending);

}  // namespace replicore

#endif  // REPLICORE_PERSISTER_H_
