// When the server loses what it had confirmed (a database restored from a
// backup, commits lost in a crash, failover to a lagging replica): a pull
// lowers this client's lastMutationID, and the client puts the lost
// mutations back in front of its queue, from the log of confirmed ones, so
// the server applies each exactly once; ids are renumbered when the log does
// not reach back far enough; a lower cookie is taken only with a clear; the
// queue so rebuilt is what the store keeps.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "replicore/persister.h"
#include "replicore/replica.h"
#include "support/replica_util.h"
#include "support/test_store.h"

namespace replicore {
namespace {

using namespace replicore::testing;
using Kind = PullOutcome::Kind;

Json Put(const std::string& key, Json value) { return Json{{"key", key}, {"value", std::move(value)}}; }

// Pending mutations as (client, id, key the put wrote).
std::vector<std::tuple<std::string, uint64_t, std::string>> Queue(const Replica& r) {
  std::vector<std::tuple<std::string, uint64_t, std::string>> out;
  for (const Mutation& m : r.pendingMutations()) {
    Json args = m.args->json();
    out.emplace_back(m.clientID, m.id, args.is_object() && args.contains("key") ? args["key"].get<std::string>() : "");
  }
  return out;
}

// The whole server state as a clear patch of `keys` (value: the key).
std::vector<PatchOp> Reset(std::vector<std::string> keys) {
  std::vector<PatchOp> patch{ClearOp()};
  for (const std::string& k : keys) patch.push_back(PutOp(k, k));
  return patch;
}

class ClientResetTest : public ::testing::Test {
 protected:
  explicit ClientResetTest(size_t logLimit = 1000) : r(WithLog(logLimit)) { RegisterBasicMutators(r); }
  static ReplicaOptions WithLog(size_t limit) {
    ReplicaOptions o = Options("c1");
    o.confirmedLogLimit = limit;
    return o;
  }
  // Mutations c1:1..n putting k1..kn, confirmed by a pull with cookie 1.
  void MutateAndConfirm(int n) {
    std::vector<PatchOp> patch;
    for (int i = 1; i <= n; ++i) {
      std::string k = "k" + std::to_string(i);
      r.mutate("put", Put(k, k), 0);
      patch.push_back(PutOp(k, k));
    }
    ASSERT_EQ(r.applyPull(Pull(Json{{"order", 1}, {"id", "a"}}, {{"c1", uint64_t(n)}}, patch), nullptr).kind,
              Kind::kApplied);
    ASSERT_TRUE(r.pendingMutations().empty());
  }
  Replica r;
};

TEST_F(ClientResetTest, ConfirmedMutationsAreLoggedAndAnOrdinaryPullResetsNothing) {
  MutateAndConfirm(3);
  ASSERT_EQ(r.confirmedLog().size(), 3u);
  EXPECT_EQ(r.confirmedLog().front().id, 1u);
  auto o = r.applyPull(Pull(Json{{"order", 2}, {"id", "b"}}, {{"c1", 3}}, {PutOp("x", 1)}), r.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_FALSE(o.reset);
  EXPECT_EQ(r.resetCount(), 0u);
}

TEST_F(ClientResetTest, ALowerLastMutationIDQueuesTheLostMutationsAgainInFrontWithTheirIds) {
  MutateAndConfirm(5);
  r.mutate("put", Put("k6", "k6"), 0);
  r.mutate("put", Put("k7", "k7"), 0);
  // The server was restored to where it had applied c1:1..2 only.
  auto o = r.applyPull(Pull(Json{{"order", 9}, {"id", "z"}}, {{"c1", 2}}, Reset({"k1", "k2"})), r.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_FALSE(o.reset->cookieWentBack);
  EXPECT_EQ(o.reset->knownLastMutationID, 5u);
  EXPECT_EQ(o.reset->serverLastMutationID, 2u);
  EXPECT_EQ(o.reset->requeued, 3u);
  EXPECT_EQ(o.reset->lost, 0u);
  EXPECT_FALSE(o.reset->renumbered);
  using Q = std::vector<std::tuple<std::string, uint64_t, std::string>>;
  EXPECT_EQ(Queue(r), (Q{{"c1", 3, "k3"}, {"c1", 4, "k4"}, {"c1", 5, "k5"}, {"c1", 6, "k6"}, {"c1", 7, "k7"}}));
  EXPECT_EQ(r.lastMutationIDs().at("c1"), 2u);
  EXPECT_EQ(r.resetCount(), 1u);
  // Nothing visible was lost: the queue replays on the server's state.
  for (int i = 1; i <= 7; ++i) EXPECT_EQ(Get(r, "k" + std::to_string(i)), "k" + std::to_string(i)) << i;
  // The log keeps only what the server still has.
  ASSERT_EQ(r.confirmedLog().size(), 2u);
  EXPECT_EQ(r.confirmedLog().back().id, 2u);
  // The next mutation follows the queue; once the server confirms it all,
  // a pull lowering nothing resets nothing, and each id was sent once.
  r.mutate("put", Put("k8", "k8"), 0);
  EXPECT_EQ(r.pendingMutations().back().id, 8u);
  o = r.applyPull(Pull(Json{{"order", 10}, {"id", "y"}}, {{"c1", 8}}, {}), r.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_FALSE(o.reset);
  EXPECT_EQ(o.confirmedMutations, 6u);
  EXPECT_TRUE(r.pendingMutations().empty());
  ASSERT_EQ(r.confirmedLog().size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(r.confirmedLog()[i].id, i + 1);
}

TEST_F(ClientResetTest, AServerThatForgotTheClientEntirelyGetsEverythingAgain) {
  MutateAndConfirm(2);
  // A diff (no clear) that names the client with lmid 0: the server's answer
  // after a push from the future (it had lost the client's row).
  auto o = r.applyPull(Pull(Json{{"order", 3}, {"id", "c"}}, {{"c1", 0}}, {}), r.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_EQ(o.reset->requeued, 2u);
  EXPECT_EQ(r.pendingMutations().front().id, 1u);
  EXPECT_EQ(r.pendingMutations().size(), 2u);
}

class ShortLogTest : public ClientResetTest {
 protected:
  ShortLogTest() : ClientResetTest(2) {}
};

TEST_F(ShortLogTest, WhenTheLogDoesNotReachBackTheQueueIsRenumberedFromTheServersLmid) {
  MutateAndConfirm(5);  // the log holds c1:4 and c1:5 only
  ASSERT_EQ(r.confirmedLog().size(), 2u);
  r.mutate("put", Put("k6", "k6"), 0);
  auto o = r.applyPull(Pull(Json{{"order", 9}, {"id", "z"}}, {{"c1", 1}}, Reset({"k1"})), r.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_EQ(o.reset->requeued, 2u);
  EXPECT_EQ(o.reset->lost, 2u) << "c1:2 and c1:3 are gone for good";
  EXPECT_TRUE(o.reset->renumbered);
  // Without gaps from the server's lmid, so the server takes every one once.
  using Q = std::vector<std::tuple<std::string, uint64_t, std::string>>;
  EXPECT_EQ(Queue(r), (Q{{"c1", 2, "k4"}, {"c1", 3, "k5"}, {"c1", 4, "k6"}}));
  EXPECT_EQ(Get(r, "k2"), "<absent>");
  EXPECT_EQ(Get(r, "k4"), "k4");
  r.mutate("put", Put("k7", "k7"), 0);
  EXPECT_EQ(r.pendingMutations().back().id, 5u);
}

TEST_F(ShortLogTest, TheLogIsBoundedByBytesToo) {
  ReplicaOptions o = Options("c1");
  o.confirmedLogBytes = 300;
  Replica small(o);
  RegisterBasicMutators(small);
  for (int i = 0; i < 5; ++i) small.mutate("put", Put("k" + std::to_string(i), std::string(100, 'x')), 0);
  ASSERT_EQ(small.applyPull(Pull(1, {{"c1", 5}}, {}), nullptr).kind, Kind::kApplied);
  EXPECT_GE(small.confirmedLog().size(), 1u);
  EXPECT_LT(small.confirmedLog().size(), 5u);
  EXPECT_EQ(small.confirmedLog().back().id, 5u) << "the newest stay";
}

TEST_F(ClientResetTest, ALowerCookieIsTakenOnlyWithAClear) {
  MutateAndConfirm(2);
  r.mutate("put", Put("k3", "k3"), 0);
  Cookie before = r.cookie();
  // A server whose cookies start again lower (another server, or one that
  // lost its state): a diff from it would rest on the wrong base.
  auto o = r.applyPull(Pull(Json{{"order", 0}, {"id", "n"}}, {{"c1", 2}}, {PutOp("x", 1)}), before);
  EXPECT_EQ(o.kind, Kind::kRejected);
  EXPECT_EQ(r.cookie(), before);
  EXPECT_EQ(Get(r, "x"), "<absent>");
  o = r.applyPull(Pull(Json{{"order", 0}, {"id", "n"}}, {{"c1", 2}}, Reset({"k1", "k2", "x"})), before);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_TRUE(o.reset->cookieWentBack);
  EXPECT_EQ(o.reset->requeued, 0u);
  EXPECT_EQ(r.cookie().json(), (Json{{"order", 0}, {"id", "n"}}));
  EXPECT_EQ(Get(r, "x"), "x");
  EXPECT_EQ(Get(r, "k3"), "k3") << "the pending mutation replays on the new state";
}

TEST_F(ClientResetTest, OtherClientsOfTheGroupKeepTheirMutationsOnlyWhileTheyFollowTheirLmid) {
  MutateAndConfirm(1);
  // Two other tabs' mutations, merged from the store: c2:4..5 and c3:3.
  std::vector<Mutation> more;
  for (auto [client, id] : std::vector<std::pair<std::string, uint64_t>>{{"c2", 4}, {"c2", 5}, {"c3", 3}}) {
    Mutation m;
    m.clientID = client;
    m.id = id;
    m.name = "put";
    m.args = Value::make(Put(client + "-" + std::to_string(id), 1));
    more.push_back(m);
  }
  ASSERT_EQ(r.applyPull(Pull(Json{{"order", 2}, {"id", "b"}}, {{"c2", 3}, {"c3", 2}}, {}), r.cookie()).kind,
            Kind::kApplied);
  r.replay(more);
  ASSERT_EQ(r.pendingMutations().size(), 3u);
  // The server lost c2:2..3 (c2's queue from 4 no longer follows) and c3's
  // lmid is where it was.
  auto o = r.applyPull(Pull(Json{{"order", 9}, {"id", "z"}}, {{"c1", 1}, {"c2", 1}, {"c3", 2}}, Reset({})),
                       r.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_EQ(o.reset->droppedForeign, 2u);
  EXPECT_EQ(o.reset->knownLastMutationID, 1u);
  EXPECT_EQ(o.reset->serverLastMutationID, 1u);
  using Q = std::vector<std::tuple<std::string, uint64_t, std::string>>;
  EXPECT_EQ(Queue(r), (Q{{"c3", 3, "c3-3"}}));
  EXPECT_EQ(r.resetCount(), 0u) << "this client's own queue did not change";
}

TEST_F(ClientResetTest, TheStoreKeepsTheRebuiltQueueAcrossAReopen) {
  TestStore store;
  Replica a(Options("a", "G"));
  RegisterBasicMutators(a);
  Persister pa(&a, "G");
  Open(pa, a, store);
  for (int i = 1; i <= 4; ++i) a.mutate("put", Put("k" + std::to_string(i), i), 0);
  Write(pa, store);
  ASSERT_EQ(a.applyPull(Pull(Json{{"order", 1}, {"id", "a"}}, {{"a", 3}}, {}), nullptr).kind, Kind::kApplied);
  a.mutate("put", Put("k5", 5), 0);
  Write(pa, store);  // chunks now: a:4..5 (1..3 confirmed and dropped)
  ASSERT_FALSE(pa.hasWork());
  auto o = a.applyPull(Pull(Json{{"order", 5}, {"id", "r"}}, {{"a", 1}}, {ClearOp()}), a.cookie());
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_EQ(o.reset->requeued, 2u);
  EXPECT_TRUE(pa.hasWork()) << "the rebuilt queue is not in the store yet";
  Write(pa, store);
  EXPECT_FALSE(pa.hasWork());
  Write(pa, store);  // the old chunks go once neither head names them

  Replica b(Options("b", "G"));
  RegisterBasicMutators(b);
  Persister pb(&b, "G");
  LoadReport report = Open(pb, b, store);
  EXPECT_TRUE(report.problems.empty());
  std::vector<std::pair<std::string, uint64_t>> pending;
  for (const Mutation& m : b.pendingMutations()) pending.emplace_back(m.clientID, m.id);
  EXPECT_EQ(pending, (std::vector<std::pair<std::string, uint64_t>>{{"a", 2}, {"a", 3}, {"a", 4}, {"a", 5}}));
  EXPECT_EQ(b.lastMutationIDs().at("a"), 1u);
  for (int i = 2; i <= 5; ++i) EXPECT_EQ(Get(b, "k" + std::to_string(i)), i);
  // Only chunks the head names are left in the store.
  size_t chunks = 0;
  for (const auto& [key, value] : store.records) chunks += key.find("/m") != std::string::npos;
  EXPECT_EQ(chunks, 1u);
}

}  // namespace
}  // namespace replicore

namespace replicore {
namespace {

// A tab that is gone left mutations the server no longer lets follow (it
// lost the ones before them, and only their own client could queue those
// again): a client opening the group drops them, and says so, instead of
// pushing them for ever (every push of the group would fail).
TEST(ClientResetStore, MutationsThatNoLongerFollowTheirClientsLmidAreDroppedOnOpen) {
  using namespace replicore::testing;
  TestStore store;
  Replica gone(Options("gone", "G"));
  RegisterBasicMutators(gone);
  Persister pg(&gone, "G");
  Open(pg, gone, store);
  for (int i = 1; i <= 4; ++i) gone.mutate("put", Json{{"key", "g" + std::to_string(i)}, {"value", i}}, 0);
  ASSERT_EQ(gone.applyPull(Pull(Json{{"order", 1}, {"id", "a"}}, {{"gone", 2}}, {}), nullptr).kind,
            PullOutcome::Kind::kApplied);
  Write(pg, store);  // chunks: gone:3..4, lmid 2

  Replica other(Options("other", "G"));
  RegisterBasicMutators(other);
  Persister po(&other, "G");
  Open(po, other, store);
  ASSERT_EQ(other.pendingMutations().size(), 2u);
  other.mutate("put", Json{{"key", "o1"}, {"value", 1}}, 0);
  // The server was restored: `gone` is back at lmid 0; `gone:3..4` do not follow.
  auto o = other.applyPull(Pull(Json{{"order", 9}, {"id", "r"}}, {{"gone", 0}}, {ClearOp()}), other.cookie());
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied) << o.error;
  ASSERT_TRUE(o.reset);
  EXPECT_EQ(o.reset->droppedForeign, 2u);
  Write(po, store);

  Replica later(Options("later", "G"));
  RegisterBasicMutators(later);
  Persister pl(&later, "G");
  LoadReport report = Open(pl, later, store);
  std::vector<std::pair<std::string, uint64_t>> pending;
  for (const Mutation& m : later.pendingMutations()) pending.emplace_back(m.clientID, m.id);
  EXPECT_EQ(pending, (std::vector<std::pair<std::string, uint64_t>>{{"other", 1}}));
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("client gone"), std::string::npos) << report.problems[0];
}

}  // namespace
}  // namespace replicore
