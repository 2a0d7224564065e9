// Persister: what a client writes survives a reopen; a write cut off at any
// point, or torn, reopens to a consistent prefix; tabs of one group share
// their mutations; bad records never break the client.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "replicore/persister.h"
#include "support/replica_util.h"
#include "support/test_store.h"

namespace replicore {
namespace {

using namespace replicore::testing;

// A client: a replica with the basic mutators and its persister.
struct Tab {
  explicit Tab(std::string clientID, PersistOptions options = {})
      : replica(Options(clientID, "G")), persister(&replica, "G", options) {
    RegisterBasicMutators(replica);
  }
  Replica replica;
  Persister persister;
};

Json Put(const std::string& key, Json value) { return Json{{"key", key}, {"value", std::move(value)}}; }

// What a reopened client must show: its visible state, and its pending
// mutations as (client, id).
struct Seen {
  Json state;
  std::vector<std::pair<std::string, uint64_t>> pending;
  std::string cookie;
  bool operator==(const Seen& o) const { return state == o.state && pending == o.pending && cookie == o.cookie; }
};
Seen See(const Replica& r) {
  Seen s{State(r), {}, r.cookie().text()};
  for (const Mutation& m : r.pendingMutations()) s.pending.push_back({m.clientID, m.id});
  return s;
}
std::ostream& operator<<(std::ostream& os, const Seen& s) {
  os << s.state.dump() << " cookie " << s.cookie << " pending";
  for (const auto& [c, id] : s.pending) os << " " << c << ":" << id;
  return os;
}

Seen Reopen(const TestStore& store, LoadReport* report = nullptr, const std::string& clientID = "reader") {
  Tab t(clientID);
  LoadReport r = Open(t.persister, t.replica, store);
  if (report) *report = r;
  return See(t.replica);
}

TEST(Persister, AFreshStoreOpensEmptyAndTheFirstWriteMakesAHead) {
  TestStore store;
  Tab a("a");
  LoadReport report = Open(a.persister, a.replica, store);
  EXPECT_TRUE(report.fresh);
  EXPECT_TRUE(a.persister.hasWork());
  Write(a.persister, store);
  EXPECT_TRUE(store.get("g/G/h0"));
  EXPECT_FALSE(a.persister.hasWork());
  LoadReport again;
  Reopen(store, &again);
  EXPECT_FALSE(again.fresh);
  EXPECT_TRUE(again.problems.empty());
}

TEST(Persister, ConfirmedStateCookieAndPendingMutationsSurviveAReopen) {
  TestStore store;
  Tab a("a", PersistOptions{200});  // small pages: several of them
  Open(a.persister, a.replica, store);
  std::vector<PatchOp> patch;
  for (int i = 0; i < 50; ++i) patch.push_back(PutOp("k" + std::to_string(100 + i), Json{{"n", i}, {"pad", std::string(20, 'x')}}));
  ASSERT_EQ(a.replica.applyPull(Pull(Json{{"order", 3}}, {}, patch), nullptr).kind, PullOutcome::Kind::kApplied);
  a.replica.mutate("put", Put("k120", "mine"), 1);
  a.replica.mutate("incr", Json{{"key", "count"}, {"by", 2}}, 2);
  EXPECT_THROW(a.replica.mutate("fail", nullptr, 3), MutationError);  // not queued
  Write(a.persister, store);
  EXPECT_GT(store.records.size(), 5u);

  LoadReport report;
  Seen seen = Reopen(store, &report);
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.entries, 50u);
  EXPECT_EQ(report.pending, 2u);
  EXPECT_EQ(seen, See(a.replica));
  // The reopened client pushes the old client's mutations, args and all.
  Tab b("b");
  Open(b.persister, b.replica, store);
  auto push = b.replica.mutationsToPush();
  ASSERT_EQ(push.size(), 2u);
  EXPECT_EQ(push[0].clientID, "a");
  EXPECT_EQ(push[0].args->json(), Put("k120", "mine"));
  EXPECT_EQ(push[1].name, "incr");
}

TEST(Persister, APullWritesOnlyThePagesItChangedAndConfirmationCollectsChunks) {
  TestStore store;
  Tab a("a", PersistOptions{300});
  Open(a.persister, a.replica, store);
  std::vector<PatchOp> patch;
  for (int i = 0; i < 100; ++i) patch.push_back(PutOp("k" + std::to_string(1000 + i), std::string(40, 'v')));
  a.replica.applyPull(Pull(1, {}, patch), nullptr);
  a.replica.mutate("put", Put("x", 1), 1);
  Write(a.persister, store);
  size_t pages = 0;
  for (const auto& [k, v] : store.records) pages += k.find("/p") != std::string::npos;
  ASSERT_GT(pages, 10u);

  // One key changes and the mutation is confirmed: one page and a head.
  a.replica.applyPull(Pull(2, {{"a", 1}}, {PutOp("k1050", "changed"), PutOp("x", 1)}), 1);
  EXPECT_TRUE(a.replica.pendingMutations().empty());
  StoreBatch batch = Write(a.persister, store);
  size_t puts = 0;
  for (const auto& op : batch.ops) puts += op.second.has_value();
  EXPECT_EQ(puts, 3u);  // the two changed pages (k1050's, x's) and the head
  // The next write collects what only the older head named.
  a.replica.applyPull(Pull(3, {}, {PutOp("k1000", "first")}), 2);
  Write(a.persister, store);
  size_t chunks = 0;
  for (const auto& [k, v] : store.records) chunks += k.find("/m") != std::string::npos;
  EXPECT_EQ(chunks, 0u);
  EXPECT_EQ(Reopen(store), See(a.replica));

  // A clear rewrites everything; the old pages go within two writes.
  a.replica.applyPull(Pull(4, {}, {ClearOp(), PutOp("only", 1)}), 3);
  Write(a.persister, store);
  a.replica.mutate("put", Put("y", 2), 5);
  Write(a.persister, store);
  EXPECT_LE(store.records.size(), 5u);  // 2 heads, 1-2 pages, 1 chunk
  EXPECT_EQ(Reopen(store), See(a.replica));
}

// The crash test: a history of mutations and pulls, a write after each
// step; every write is cut after each of its operations in turn, with and
// without tearing the next one. The store must then open to the state of
// the write before or of the cut write itself (a prefix), keeping every
// mutation that an earlier completed write made durable, with no
// duplicates.
TEST(Persister, AWriteCutAtAnyPointOrTornReopensToAConsistentPrefix) {
  struct Step {
    std::function<void(Replica&)> run;
  };
  std::vector<Step> steps;
  for (int i = 0; i < 6; ++i) {
    steps.push_back({[i](Replica& r) { r.mutate("put", Put("m" + std::to_string(i), i), i); }});
    if (i % 2 == 1) {
      steps.push_back({[i](Replica& r) {
        std::vector<PatchOp> patch;
        for (int k = 0; k < 12; ++k) patch.push_back(PutOp("s" + std::to_string(k), Json{{"i", i}, {"pad", std::string(30, 'p')}}));
        if (i == 3) patch.insert(patch.begin(), ClearOp());
        uint64_t lmid = uint64_t(i);  // confirms all but the newest mutation
        r.applyPull(Pull(i, {{"a", lmid}}, patch), r.cookie());
      }});
    }
  }
  // A mutation whose args are a piece of their own in the chunk record
  // (StoreRecord): a tear inside them must be caught like any other.
  steps.push_back({[](Replica& r) { r.mutate("put", Put("big", std::string(kChunkArgsPieceBytes + 10, 'L')), 7); }});
  int cases = 0;
  int piecedWrites = 0;
  for (size_t cutStep = 0; cutStep < steps.size(); ++cutStep) {
    // Run the history up to cutStep with whole writes, remembering what
    // each reopen should show.
    TestStore store;
    Tab a("a", PersistOptions{150});
    Open(a.persister, a.replica, store);
    Seen before = Reopen(store);
    for (size_t s = 0; s < cutStep; ++s) {
      steps[s].run(a.replica);
      Write(a.persister, store);
    }
    before = Reopen(store);
    steps[cutStep].run(a.replica);
    Seen after = See(a.replica);
    StoreBatch batch = a.persister.planWrite(store.get("g/G/h0"), store.get("g/G/h1"), 1000);
    a.persister.writeDone(false);
    for (const auto& op : batch.ops) piecedWrites += op.second && op.second->pieceCount() > 1;
    for (size_t limit = 0; limit <= batch.ops.size(); ++limit) {
      for (int tear = 0; tear < 3; ++tear) {
        if (tear && (limit == batch.ops.size() || !batch.ops[limit].second)) continue;
        TestStore cut = store;
        std::optional<size_t> tearAt;
        if (tear) tearAt = tear == 1 ? size_t(0) : batch.ops[limit].second->size() / 2;
        cut.apply(batch, limit, tearAt);
        LoadReport report;
        Seen seen = Reopen(cut, &report);
        ++cases;
        EXPECT_TRUE(seen == before || seen == after)
            << "step " << cutStep << " cut after " << limit << " tear " << tear << "\n seen   " << seen
            << "\n before " << before << "\n after  " << after;
        EXPECT_FALSE(report.confirmedDropped) << "step " << cutStep << " cut after " << limit;
        std::set<std::pair<std::string, uint64_t>> unique(seen.pending.begin(), seen.pending.end());
        EXPECT_EQ(unique.size(), seen.pending.size());
        // A cut write leaves a store that the next whole write repairs.
        Tab next("n");
        Open(next.persister, next.replica, cut);
        Write(next.persister, cut);
        EXPECT_EQ(Reopen(cut), See(next.replica));
      }
    }
  }
  EXPECT_GT(cases, 80);
  EXPECT_EQ(piecedWrites, 1);
}

TEST(Persister, TwoTabsOfOneGroupShareTheirMutationsAndNeitherLosesTheOthers) {
  TestStore store;
  Tab a("a"), b("b");
  Open(a.persister, a.replica, store);
  Open(b.persister, b.replica, store);
  a.replica.mutate("append", Json{{"key", "list"}, {"item", "from a"}}, 1);
  StoreBatch wa = Write(a.persister, store);
  EXPECT_TRUE(wa.foreignChunks.empty());
  b.replica.mutate("append", Json{{"key", "list"}, {"item", "from b"}}, 2);
  // B's write finds A's chunk: B reads it and replays it after its own.
  StoreBatch wb = Write(b.persister, store);
  ASSERT_EQ(wb.foreignChunks.size(), 1u);
  std::vector<std::string> problems;
  std::vector<Mutation> foreign = b.persister.takeForeign(wb.foreignChunks, store.getAll(wb.foreignChunks), &problems);
  ASSERT_EQ(foreign.size(), 1u);
  b.replica.replay(foreign);
  EXPECT_EQ(Get(b.replica, "list"), Json::parse(R"(["from b","from a"])"));
  // A learns of B's chunk from a refresh (after B's broadcast).
  std::vector<std::string> keys = a.persister.planRefresh(store.get("g/G/h0"), store.get("g/G/h1"));
  ASSERT_EQ(keys.size(), 1u);
  a.replica.replay(a.persister.takeForeign(keys, store.getAll(keys), &problems));
  EXPECT_EQ(Get(a.replica, "list"), Json::parse(R"(["from a","from b"])"));
  EXPECT_TRUE(problems.empty());
  // Nothing is learnt twice.
  EXPECT_TRUE(a.persister.planRefresh(store.get("g/G/h0"), store.get("g/G/h1")).empty());
  a.replica.replay(foreign);  // a duplicate offered again is ignored
  EXPECT_EQ(a.replica.pendingMutations().size(), 2u);
  // Each pushes the group's mutations; the server dedups by (client, id).
  EXPECT_EQ(b.replica.mutationsToPush().size(), 2u);

  // A writes again: B's chunk stays. A new tab sees both, in write order.
  a.replica.mutate("put", Put("z", 1), 3);
  Write(a.persister, store);
  Seen fresh = Reopen(store);
  ASSERT_EQ(fresh.pending.size(), 3u);
  EXPECT_EQ(fresh.pending[0], (std::pair<std::string, uint64_t>{"a", 1}));
  EXPECT_EQ(fresh.pending[1], (std::pair<std::string, uint64_t>{"b", 1}));
  EXPECT_EQ(fresh.pending[2], (std::pair<std::string, uint64_t>{"a", 2}));

  // B pulls and confirms everything; A's older confirmed state does not
  // overwrite B's newer one.
  b.replica.applyPull(Pull(5, {{"a", 2}, {"b", 1}}, {PutOp("list", Json::parse(R"(["from a","from b"])")), PutOp("z", 1)}),
                      nullptr);
  Write(b.persister, store);
  a.replica.mutate("put", Put("w", 2), 4);
  Write(a.persister, store);
  Seen last = Reopen(store);
  EXPECT_EQ(last.cookie, "5");
  ASSERT_EQ(last.pending.size(), 1u);
  EXPECT_EQ(last.pending[0], (std::pair<std::string, uint64_t>{"a", 3}));
}

// A tab whose page unloads cannot wait to read the heads: it plans against
// the heads it saw last. If another tab wrote meanwhile, its newest chunk
// is no longer named; that tab's next write names it again.
TEST(Persister, AWritePlannedAgainstOldHeadsLosesNothingForGood) {
  TestStore store;
  Tab a("a"), b("b");
  Open(a.persister, a.replica, store);
  Open(b.persister, b.replica, store);
  Write(a.persister, store);
  TestStore seenByB = store;  // B's last view of the heads
  a.replica.mutate("put", Put("from-a", 1), 1);
  Write(a.persister, store);
  b.replica.mutate("put", Put("from-b", 2), 2);
  StoreBatch stale = b.persister.planWrite(seenByB.get("g/G/h0"), seenByB.get("g/G/h1"), 1000);
  store.apply(stale);
  b.persister.writeDone(true);
  Seen afterStale = Reopen(store);
  ASSERT_EQ(afterStale.pending.size(), 1u);  // B's; A's chunk is not named
  // A's next write (any change, or its heartbeat) names its mutation again.
  Write(a.persister, store);
  Seen healed = Reopen(store);
  EXPECT_EQ(healed.pending.size(), 2u);
  EXPECT_EQ(healed.state, Json::parse(R"([["from-a",1],["from-b",2]])"));
}

bool WritesAChunkOf(const StoreBatch& batch, const std::string& client) {
  for (const auto& [key, value] : batch.ops) {
    if (value && key.find("/m") != std::string::npos && value->text().find(client) != std::string::npos) return true;
  }
  return false;
}

// A page that unloads leaves a journal of what it had not stored, in case
// its unload write never lands (WebKit). The next client to open takes it:
// the mutations are stored as the old client's, each once, and pushed.
TEST(Persister, AJournalLeftByAnUnloadingPageIsStoredOnceByTheNextOpen) {
  TestStore store;
  Tab a("a");
  Open(a.persister, a.replica, store);
  a.replica.mutate("put", Put("k1", 1), 1);
  Write(a.persister, store);
  uint64_t last = 7;
  EXPECT_EQ(a.persister.journal(&last), "");  // everything stored
  EXPECT_EQ(last, 0u);
  a.replica.mutate("put", Put("k2", 2), 2);
  a.replica.mutate("put", Put("k3", 3), 3);
  std::string journal = a.persister.journal(&last);
  ASSERT_FALSE(journal.empty());
  EXPECT_EQ(last, 3u);
  // A's unload write is lost: the store has a:1 only.
  ASSERT_EQ(Reopen(store).pending.size(), 1u);

  Tab b("b");
  Open(b.persister, b.replica, store);
  RecordProblem problem;
  std::optional<std::vector<Mutation>> taken = b.persister.takeJournal(journal, &problem);
  ASSERT_TRUE(taken);
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].clientID, "a");
  EXPECT_EQ((*taken)[0].id, 2u);
  EXPECT_TRUE(b.persister.journalsPending());
  EXPECT_TRUE(b.persister.hasWork());
  b.replica.replay(*taken);
  EXPECT_EQ(b.replica.mutationsToPush().size(), 3u);
  StoreBatch wrote = Write(b.persister, store);
  EXPECT_TRUE(WritesAChunkOf(wrote, "a"));
  EXPECT_FALSE(b.persister.journalsPending());
  Seen after = Reopen(store);
  ASSERT_EQ(after.pending.size(), 3u);
  EXPECT_EQ(after.pending[2], (std::pair<std::string, uint64_t>{"a", 3}));
  EXPECT_EQ(after.state, Json::parse(R"([["k1",1],["k2",2],["k3",3]])"));

  // A second open takes the same journal (the first had not removed it
  // yet): nothing is stored twice.
  Tab c("c");
  Open(c.persister, c.replica, store);
  taken = c.persister.takeJournal(journal, &problem);
  ASSERT_TRUE(taken);
  c.replica.replay(*taken);
  EXPECT_EQ(c.replica.pendingMutations().size(), 3u);
  EXPECT_FALSE(WritesAChunkOf(Write(c.persister, store), "a"));
  EXPECT_FALSE(c.persister.journalsPending());
  EXPECT_EQ(Reopen(store).pending.size(), 3u);

  // Once the server confirmed them, a journal gives nothing.
  c.replica.applyPull(Pull(9, {{"a", 3}}, {PutOp("k1", 1), PutOp("k2", 2), PutOp("k3", 3)}), nullptr);
  Tab d("d");
  taken = d.persister.takeJournal(journal, &problem);  // d has not loaded: nothing is confirmed for it
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->size(), 2u);
  taken = c.persister.takeJournal(journal, &problem);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(taken->empty());
  EXPECT_FALSE(c.persister.journalsPending());
}

// The page's own unload write landed after all: the journal adds nothing.
TEST(Persister, AJournalWhoseWriteLandedAddsNothing) {
  TestStore store;
  Tab a("a");
  Open(a.persister, a.replica, store);
  a.replica.mutate("put", Put("k1", 1), 1);
  uint64_t last = 0;
  std::string journal = a.persister.journal(&last);
  Write(a.persister, store);
  Tab b("b");
  Open(b.persister, b.replica, store);
  RecordProblem problem;
  std::optional<std::vector<Mutation>> taken = b.persister.takeJournal(journal, &problem);
  ASSERT_TRUE(taken);
  b.replica.replay(*taken);
  EXPECT_EQ(b.replica.pendingMutations().size(), 1u);
  EXPECT_FALSE(WritesAChunkOf(Write(b.persister, store), "a"));
  EXPECT_EQ(Reopen(store).pending.size(), 1u);
}

TEST(Persister, ABadJournalIsRefusedWhole) {
  Tab a("a");
  a.replica.mutate("put", Put("k1", 1), 1);
  a.replica.mutate("put", Put("k2", 2), 2);
  uint64_t last = 0;
  std::string journal = a.persister.journal(&last);
  Tab b("b");
  for (std::string bad : {journal.substr(0, journal.size() - 3), journal + "x", std::string("RC1 m 0 x")}) {
    RecordProblem problem;
    EXPECT_FALSE(b.persister.takeJournal(bad, &problem)) << bad;
    EXPECT_NE(problem.kind, RecordError::kNone);
  }
  std::string flipped = journal;
  flipped[flipped.size() - 5] ^= 1;
  RecordProblem problem;
  EXPECT_FALSE(b.persister.takeJournal(flipped, &problem));
  EXPECT_FALSE(b.persister.journalsPending());
}

TEST(Persister, ABadPageFallsBackToTheOlderHeadThenDropsOnlyTheConfirmedState) {
  TestStore store;
  Tab a("a", PersistOptions{100});
  Open(a.persister, a.replica, store);
  std::vector<PatchOp> patch;
  for (int i = 0; i < 20; ++i) patch.push_back(PutOp("k" + std::to_string(10 + i), std::string(30, 'v')));
  a.replica.applyPull(Pull(1, {}, patch), nullptr);
  a.replica.mutate("put", Put("mine", 1), 1);
  Write(a.persister, store);
  Seen first = See(a.replica);
  a.replica.applyPull(Pull(2, {}, {PutOp("k15", "new")}), 1);
  Write(a.persister, store);

  // The newest head's new page is altered: the older head is whole.
  std::string newest;
  uint64_t top = 0;
  for (const auto& [k, v] : store.records) {
    if (k.rfind("g/G/p", 0) == 0 && std::stoull(k.substr(5)) > top) {
      top = std::stoull(k.substr(5));
      newest = k;
    }
  }
  TestStore damaged = store;
  damaged.records[newest][damaged.records[newest].size() / 2] ^= 1;
  LoadReport report;
  EXPECT_EQ(Reopen(damaged, &report), first);
  EXPECT_FALSE(report.problems.empty());

  // Every page damaged: the confirmed state is dropped (cookie null, the
  // next pull refetches it); the pending mutation is kept.
  for (auto& [k, v] : damaged.records) {
    if (k.rfind("g/G/p", 0) == 0) v = "garbage";
  }
  Seen seen = Reopen(damaged, &report);
  EXPECT_TRUE(report.confirmedDropped);
  EXPECT_EQ(seen.cookie, "null");
  EXPECT_EQ(seen.state, Json::parse(R"([["mine",1]])"));
  ASSERT_EQ(seen.pending.size(), 1u);

  // And the next pull and write heal the store.
  Tab c("c");
  Open(c.persister, c.replica, damaged);
  c.replica.applyPull(Pull(2, {}, {PutOp("k", 1)}), nullptr);
  Write(c.persister, damaged);
  LoadReport healed;
  Seen now = Reopen(damaged, &healed);
  EXPECT_FALSE(healed.confirmedDropped);
  EXPECT_EQ(now.cookie, "2");
}

TEST(Persister, AStoreOfANewerFormatIsLeftAlone) {
  TestStore store;
  Tab a("a");
  Open(a.persister, a.replica, store);
  a.replica.mutate("put", Put("x", 1), 1);
  Write(a.persister, store);
  std::string head = store.records["g/G/h0"];
  store.records["g/G/h0"] = "RC2 " + head.substr(4);
  TestStore before = store;
  Tab b("b");
  LoadReport report = Open(b.persister, b.replica, store);
  EXPECT_TRUE(report.newerFormat);
  EXPECT_FALSE(b.persister.hasWork());
  b.replica.mutate("put", Put("y", 1), 1);
  EXPECT_TRUE(b.persister.planWrite(store.get("g/G/h0"), store.get("g/G/h1"), 1).ops.empty());
  EXPECT_EQ(store.records, before.records);
}

TEST(Persister, IdleClientsWithNothingPendingAreForgottenOthersKept) {
  TestStore store;
  PersistOptions options;
  options.clientMaxAgeMs = 1000;
  Tab a("a", options), b("b", options), c("c", options);
  Open(a.persister, a.replica, store);
  Open(b.persister, b.replica, store);
  Open(c.persister, c.replica, store);
  Write(b.persister, store, 0);                      // b: nothing pending
  c.replica.mutate("put", Put("c", 1), 1);
  Write(c.persister, store, 0);                      // c: one pending
  Write(a.persister, store, 5000);
  std::optional<Head> head = decodeHead(*store.get("g/G/h0"), nullptr);  // the third write
  ASSERT_TRUE(head);
  EXPECT_FALSE(head->clients.count("b"));
  EXPECT_TRUE(head->clients.count("c"));
  EXPECT_TRUE(head->clients.count("a"));
}

TEST(Persister, TheRegistryKeepsOneGroupPerSchemaAndMutatorNames) {
  std::string problem;
  GroupChoice first = chooseGroup(std::nullopt, "1", {"b", "a"}, "G1", 10, 100, &problem);
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.groupID, "G1");
  GroupChoice same = chooseGroup(first.registry, "1", {"a", "b"}, "G2", 20, 100, &problem);
  EXPECT_FALSE(same.created);
  EXPECT_EQ(same.groupID, "G1");
  GroupChoice otherSchema = chooseGroup(same.registry, "2", {"a", "b"}, "G3", 30, 100, &problem);
  EXPECT_EQ(otherSchema.groupID, "G3");
  GroupChoice otherNames = chooseGroup(otherSchema.registry, "1", {"a"}, "G4", 500, 100, &problem);
  EXPECT_EQ(otherNames.groupID, "G4");
  EXPECT_EQ(otherNames.expired, (std::vector<std::string>{"G1", "G3"}));
  std::string without = registryWithout(otherNames.registry, "G1");
  EXPECT_EQ(chooseGroup(without, "1", {"a", "b"}, "G5", 600, 100, &problem).groupID, "G5");
  // An unreadable registry is reported and replaced.
  GroupChoice bad = chooseGroup(std::string("junk"), "1", {}, "G6", 1, 100, &problem);
  EXPECT_EQ(bad.groupID, "G6");
  EXPECT_FALSE(problem.empty());
}

// --- Lazy opening ---------------------------------------------------------------------

// Opens lazily: only the head and the chunks are read; no page.
LoadReport OpenLazily(Persister& persister, const TestStore& store) {
  std::vector<std::string> keys =
      persister.beginLoad(store.get(persister.headKey(0)), store.get(persister.headKey(1)), /*lazy=*/true);
  for (const std::string& k : keys) EXPECT_EQ(k.find("/p"), std::string::npos) << k;
  if (!persister.report().fresh) {
    EXPECT_TRUE(persister.continueLoad(store.getAll(keys)).empty());
  }
  return persister.report();
}

// Reads `key` as a host does: on a miss, reads the page and asks again.
ValuePtr LazyGet(Tab& t, const TestStore& store, const std::string& key, int* pagesRead) {
  while (true) {
    auto tx = t.replica.read();
    ValuePtr v = tx->get(key);
    if (!tx->missed()) return v;
    std::vector<std::string> keys = t.persister.unloadedPageKeys(tx->missed(), 0);
    EXPECT_EQ(keys.size(), 1u);
    *pagesRead += int(keys.size());
    EXPECT_TRUE(t.persister.fillPages(keys, store.viewAll(keys)).empty());
  }
}

void LoadTheRest(Tab& t, const TestStore& store, std::vector<std::string>* problems = nullptr) {
  while (true) {
    std::vector<std::string> keys = t.persister.unloadedPageKeys(std::nullopt, 500);
    if (keys.empty()) return;
    std::vector<std::string> found = t.persister.fillPages(keys, store.viewAll(keys));
    if (problems) problems->insert(problems->end(), found.begin(), found.end());
  }
}

// Opens `a` on `store` and pulls `keys` keys (k100, k101, ...) of 30 bytes
// into its confirmed state at cookie 5; with pages of about 200 bytes, a
// few keys each. Not written yet.
void OpenAndPullSmallKeys(Tab& a, const TestStore& store, int keys) {
  Open(a.persister, a.replica, store);
  std::vector<PatchOp> patch;
  for (int i = 0; i < keys; ++i) patch.push_back(PutOp("k" + std::to_string(100 + i), std::string(30, 'v')));
  ASSERT_EQ(a.replica.applyPull(Pull(5, {}, patch), nullptr).kind, PullOutcome::Kind::kApplied);
}

TEST(Persister, ALazyOpenAnswersAfterReadingOnlyThePagesAReadNeeds) {
  TestStore store;
  Tab a("a", PersistOptions{200});
  OpenAndPullSmallKeys(a, store, 100);
  Write(a.persister, store);
  size_t pages = 0;
  for (const auto& [k, v] : store.records) pages += k.find("/p") != std::string::npos;
  ASSERT_GT(pages, 10u);

  Tab b("b", PersistOptions{200});
  LoadReport report = OpenLazily(b.persister, store);
  EXPECT_FALSE(report.fresh);
  EXPECT_EQ(b.replica.unloaded().ranges.size(), pages);
  EXPECT_EQ(b.replica.cookie().text(), "5");
  int read = 0;
  EXPECT_EQ(LazyGet(b, store, "k150", &read)->json(), std::string(30, 'v'));
  EXPECT_EQ(read, 1);
  EXPECT_EQ(LazyGet(b, store, "k150", &read)->json(), std::string(30, 'v'));
  EXPECT_EQ(read, 1);  // in memory now
  EXPECT_EQ(LazyGet(b, store, "k0", &read), nullptr);
  EXPECT_EQ(read, 2);
  // A pull waits for the whole state: applied to a part it would be lost.
  PullOutcome early = b.replica.applyPull(Pull(6, {}, {PutOp("k100", 1)}), Json(5));
  EXPECT_EQ(early.kind, PullOutcome::Kind::kRejected);
  EXPECT_FALSE(b.persister.hasWork());
  LoadTheRest(b, store);
  EXPECT_TRUE(b.replica.fullyLoaded());
  EXPECT_EQ(See(b.replica), See(a.replica));
  EXPECT_EQ(b.replica.applyPull(Pull(6, {}, {PutOp("k100", 1)}), Json(5)).kind, PullOutcome::Kind::kApplied);
  Write(b.persister, store);
  EXPECT_EQ(Reopen(store), See(b.replica));
}

// fillPages finds a page by the number in its store key: keys that name no
// page of this group's open (another group's, a chunk's, a number written
// with a leading zero, one already filled) are ignored, whatever record
// comes with them, and the right key still fills its page afterwards.
TEST(Persister, FillPagesIgnoresKeysThatNameNoUnloadedPage) {
  TestStore store;
  Tab a("a", PersistOptions{200});
  OpenAndPullSmallKeys(a, store, 60);
  Write(a.persister, store);

  Tab b("b", PersistOptions{200});
  OpenLazily(b.persister, store);
  const size_t unloaded = b.replica.unloaded().ranges.size();
  ASSERT_GT(unloaded, 3u);
  std::vector<std::string> first = b.persister.unloadedPageKeys(std::nullopt, 0);
  ASSERT_EQ(first.size(), 1u);
  const std::string& key = first[0];
  const std::string number = key.substr(key.rfind("/p") + 2);
  const std::optional<std::string> record = store.get(key);
  ASSERT_TRUE(record);
  std::vector<std::string> wrong = {
      "g/H/p" + number,                        // another group
      "g/G/m" + number,                        // a chunk
      "g/G/p0" + number,                       // a leading zero
      "g/G/p",                                 // no number
      "g/G/p" + number + "x",                  // not a number
      "g/G/p99999999999999999999999",          // too long to be one
      "g/G/h0",
  };
  std::vector<std::optional<std::string_view>> records(wrong.size(), std::string_view(*record));
  EXPECT_TRUE(b.persister.fillPages(wrong, records).empty());
  EXPECT_EQ(b.replica.unloaded().ranges.size(), unloaded);

  EXPECT_TRUE(b.persister.fillPages({key}, store.viewAll({key})).empty());
  EXPECT_EQ(b.replica.unloaded().ranges.size(), unloaded - 1);
  // Filled already: a second record for it (even a bad one) changes nothing.
  EXPECT_TRUE(b.persister.fillPages({key}, {std::string_view("garbage")}).empty());
  EXPECT_EQ(b.replica.cookie().text(), "5");
  LoadTheRest(b, store);
  EXPECT_TRUE(b.replica.fullyLoaded());
  EXPECT_EQ(See(b.replica), See(a.replica));
}

TEST(Persister, MutationsWrittenDuringALazyOpenKeepThePagesAndSurvive) {
  TestStore store;
  Tab a("a", PersistOptions{200});
  OpenAndPullSmallKeys(a, store, 40);
  a.replica.mutate("put", Put("k120", "pending"), 1);
  Write(a.persister, store);
  std::map<std::string, std::string> pagesBefore;
  for (const auto& [k, v] : store.records) {
    if (k.find("/p") != std::string::npos) pagesBefore[k] = v;
  }

  Tab b("b", PersistOptions{200});
  LoadReport report = OpenLazily(b.persister, store);
  EXPECT_EQ(report.pending, 1u);
  // The host loads the pages a mutation writes in before running it (here:
  // the replay of the loaded one, then a new one).
  int read = 0;
  LazyGet(b, store, "k120", &read);
  b.replica.replay();
  EXPECT_EQ(LazyGet(b, store, "k120", &read)->json(), "pending");
  ASSERT_TRUE(b.replica.read()->unloadedPageOf("k139"));
  LazyGet(b, store, "k139", &read);
  b.replica.mutate("put", Put("k139", "mine"), 2);
  EXPECT_TRUE(b.persister.hasWork());
  Write(b.persister, store);
  for (const auto& [k, v] : pagesBefore) EXPECT_EQ(store.records[k], v) << k;  // no page rewritten
  Seen reopened = Reopen(store);
  EXPECT_EQ(reopened.pending.size(), 2u);
  LoadTheRest(b, store);
  EXPECT_EQ(reopened, See(b.replica));
}

TEST(Persister, ABadPageFoundLazilyEmptiesItsRangeAndTheNextPullRefetchesAll) {
  TestStore store;
  Tab a("a", PersistOptions{100});
  Open(a.persister, a.replica, store);
  std::vector<PatchOp> patch;
  for (int i = 0; i < 20; ++i) patch.push_back(PutOp("k" + std::to_string(10 + i), std::string(30, 'v')));
  a.replica.applyPull(Pull(1, {}, patch), nullptr);
  Write(a.persister, store);
  std::string victim;
  for (const auto& [k, v] : store.records) {
    if (k.find("/p") != std::string::npos) victim = k;  // the page holding the last keys
  }
  store.records[victim][store.records[victim].size() / 2] ^= 1;
  TestStore damaged = store;

  Tab b("b", PersistOptions{100});
  OpenLazily(b.persister, store);
  std::vector<std::string> problems;
  LoadTheRest(b, store, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find(victim), std::string::npos);
  EXPECT_EQ(b.replica.cookie().text(), "null");  // the next pull asks for everything
  EXPECT_EQ(Get(b.replica, "k10"), std::string(30, 'v'));
  EXPECT_EQ(Get(b.replica, "k29"), Json("<absent>"));  // its range is empty until then
  // Nothing half-known is written: the store keeps its head and pages.
  Write(b.persister, store);
  EXPECT_EQ(store.records[victim], damaged.records[victim]);
  // The refetch heals the store.
  std::vector<PatchOp> all{ClearOp()};
  for (int i = 0; i < 20; ++i) all.push_back(PutOp("k" + std::to_string(10 + i), i));
  ASSERT_EQ(b.replica.applyPull(Pull(2, {}, all), nullptr).kind, PullOutcome::Kind::kApplied);
  Write(b.persister, store);
  Write(b.persister, store);  // the older head, and with it the bad page, goes
  EXPECT_EQ(store.records.count(victim), 0u);
  Tab c("c", PersistOptions{100});
  OpenLazily(c.persister, store);
  problems.clear();
  LoadTheRest(c, store, &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(See(c.replica).state, See(b.replica).state);
  EXPECT_EQ(c.replica.cookie().text(), "2");
}

TEST(Persister, ACookieForgottenDuringTheOpeningReplayStaysForgotten) {
  TestStore store;
  Tab a("a", PersistOptions{100});
  Open(a.persister, a.replica, store);
  a.replica.applyPull(Pull(1, {}, {PutOp("k1", std::string(200, 'v'))}), nullptr);
  a.replica.mutate("put", Put("mine", 1), 1);
  Write(a.persister, store);
  for (auto& [k, v] : store.records) {
    if (k.find("/p") != std::string::npos) v = "garbage";
  }
  Tab b("b", PersistOptions{100});
  OpenLazily(b.persister, store);
  // The host replays the pending mutation; a page it reads meanwhile is bad.
  std::unique_ptr<Rebase> replay = b.replica.beginReplay({});
  LoadTheRest(b, store);
  EXPECT_EQ(b.replica.cookie().text(), "null");
  while (replay->next()) replay->succeeded();
  replay->finish();
  EXPECT_EQ(b.replica.cookie().text(), "null");
}

// A write in flight (planned, not done) while a pull applies, and the host
// asks hasWork() meanwhile (persist.js does, e.g. when the background page
// loader ends): that write's end must not forget the pull's changes, which
// it did not plan. Seen as a flush() that resolved at once after a cold
// pull, writing nothing (bench coldSetup in WebKit).
TEST(Persister, ChangesTakenWhileAWriteIsInFlightAreWrittenByTheNext) {
  TestStore store;
  Tab a("a");
  Open(a.persister, a.replica, store);
  ASSERT_TRUE(a.persister.hasWork());
  StoreBatch first = a.persister.planWrite(store.get("g/G/h0"), store.get("g/G/h1"), 1000);
  ASSERT_EQ(a.replica.applyPull(Pull(1, {}, {ClearOp(), PutOp("k1", 1), PutOp("k2", 2)}), nullptr).kind,
            PullOutcome::Kind::kApplied);
  EXPECT_TRUE(a.persister.hasWork());  // takes the pull's changes
  store.apply(first);
  a.persister.writeDone(true);
  EXPECT_TRUE(a.persister.hasWork());
  Write(a.persister, store);
  EXPECT_FALSE(a.persister.hasWork());
  EXPECT_EQ(Reopen(store), See(a.replica));

  // The same with one key changed (not a clear).
  first = a.persister.planWrite(store.get("g/G/h0"), store.get("g/G/h1"), 2000);
  ASSERT_EQ(a.replica.applyPull(Pull(2, {}, {PutOp("k2", 3)}), 1).kind, PullOutcome::Kind::kApplied);
  EXPECT_TRUE(a.persister.hasWork());
  store.apply(first);
  a.persister.writeDone(true);
  EXPECT_TRUE(a.persister.hasWork());
  Write(a.persister, store);
  EXPECT_EQ(Reopen(store), See(a.replica));
}

}  // namespace
}  // namespace replicore
