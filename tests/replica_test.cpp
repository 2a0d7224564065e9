// Replica: confirmed vs local state, mutators and the pending queue.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "replicore/replica.h"
#include "support/replica_util.h"

namespace replicore {
namespace {

using namespace replicore::testing;

TEST(ReplicaMutate, RunsWithReasonInitialAndQueuesMutation) {
  Replica r(Options("c1"));
  std::vector<std::tuple<MutationReason, uint64_t, std::string>> seen;
  r.registerMutator("put", [&](WriteTransaction& tx, const Json& a) {
    seen.emplace_back(tx.reason(), tx.mutationID(), tx.clientID());
    tx.set(a.at("key").get<std::string>(), a.at("value"));
    return Json("result-" + a.at("key").get<std::string>());
  });
  r.registerMutator("noargs", [&](WriteTransaction& tx, const Json& a) {
    EXPECT_TRUE(a.is_null());
    tx.set("noargs", Json(1));
    return Json();
  });
  EXPECT_TRUE(r.hasMutator("put"));
  EXPECT_FALSE(r.hasMutator("nope"));

  EXPECT_EQ(r.mutate("put", {{"key", "a"}, {"value", 1}}, 100.25), "result-a");
  EXPECT_EQ(r.mutate("put", {{"key", "b"}, {"value", Json{{"x", 2}}}}, 200.5), "result-b");
  r.mutate("noargs", nullptr, 300);

  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::get<0>(seen[0]), MutationReason::kInitial);
  EXPECT_EQ(std::get<1>(seen[0]), 1u);
  EXPECT_EQ(std::get<1>(seen[1]), 2u);
  EXPECT_EQ(std::get<2>(seen[1]), "c1");

  const auto& p = r.pendingMutations();
  ASSERT_EQ(p.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p[i].clientID, "c1");
    EXPECT_EQ(p[i].id, i + 1);  // contiguous from 1
  }
  EXPECT_EQ(p[0].name, "put");
  EXPECT_EQ(p[0].args->json(), (Json{{"key", "a"}, {"value", 1}}));
  EXPECT_DOUBLE_EQ(p[0].timestamp, 100.25);
  EXPECT_DOUBLE_EQ(p[1].timestamp, 200.5);
  EXPECT_EQ(p[2].name, "noargs");
  EXPECT_TRUE(p[2].args->json().is_null());
  EXPECT_EQ(Json(mutationToJson(p[0])),
            Json::parse(R"({"clientID":"c1","id":1,"name":"put","args":{"key":"a","value":1},"timestamp":100.25})"));

  EXPECT_EQ(Get(r, "a"), 1);
  EXPECT_EQ(Get(r, "b"), (Json{{"x", 2}}));
  // Local writes are pending, not confirmed.
  EXPECT_EQ(r.confirmedSize(), 0u);
  EXPECT_EQ(r.mutationsToPush().size(), 3u);
  EXPECT_TRUE(r.cookie().isNull());
}

TEST(ReplicaMutate, ThrowingOrUnknownMutatorWritesNothingAndKeepsIds) {
  Replica r(Options());
  RegisterBasicMutators(r);
  int changes = 0;
  r.addChangeListener([&](const ChangeSet&) { ++changes; });
  r.mutate("put", {{"key", "a"}, {"value", 1}}, 1);
  EXPECT_EQ(changes, 1);
  Json before = State(r);

  EXPECT_THROW(r.mutate("fail", nullptr, 2), MutationError);
  EXPECT_THROW(r.mutate("no-such-mutator", nullptr, 2), MutationError);
  // A mutator that throws something that is not a std::exception.
  r.registerMutator("throwInt", [](WriteTransaction& tx, const Json&) -> Json {
    tx.set("a", Json(99));
    throw 42;
  });
  EXPECT_THROW(r.mutate("throwInt", nullptr, 2), MutationError);
  // Bad args make a mutator throw (json type_error): still a MutationError.
  EXPECT_THROW(r.mutate("put", Json("not an object"), 2), MutationError);

  EXPECT_EQ(State(r), before);
  EXPECT_EQ(Get(r, "fail-was-here"), "<absent>");
  EXPECT_EQ(r.pendingMutations().size(), 1u);
  EXPECT_EQ(changes, 1);  // no notification for failed mutations

  // The failed attempts consumed no id.
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 3);
  ASSERT_EQ(r.pendingMutations().size(), 2u);
  EXPECT_EQ(r.pendingMutations()[1].id, 2u);
  // And the replica is not left with a write open.
  EXPECT_NO_THROW(r.beginMutation("x", nullptr, 4));
}

TEST(ReplicaMutate, ErrorMessageNamesTheMutator) {
  Replica r(Options());
  RegisterBasicMutators(r);
  try {
    r.mutate("fail", nullptr, 0);
    FAIL() << "no throw";
  } catch (const MutationError& e) {
    EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos) << e.what();
  }
}

TEST(ReplicaMutate, StagedCommitAndAbort) {
  Replica r(Options("cX"));
  RegisterBasicMutators(r);
  int changes = 0;
  r.addChangeListener([&](const ChangeSet&) { ++changes; });
  {
    auto w = r.beginMutation("hostPut", Value::make(Json{{"k", "v"}}), 5.5);
    EXPECT_EQ(w->mutation().id, 1u);
    EXPECT_EQ(w->mutation().clientID, "cX");
    EXPECT_EQ(w->tx().reason(), MutationReason::kInitial);
    w->tx().set("staged", Json("yes"));
    EXPECT_EQ(w->tx().get("staged")->json(), "yes");
    // Not visible before commit.
    EXPECT_EQ(Get(r, "staged"), "<absent>");
    // Another write while this one is open.
    EXPECT_THROW(r.beginMutation("y", nullptr, 6), std::logic_error);
    EXPECT_THROW(r.mutate("put", {{"key", "z"}, {"value", 1}}, 6), std::logic_error);
    PullOutcome o;
    EXPECT_THROW(r.beginRebase(Pull(1, {}), nullptr, &o), std::logic_error);
    EXPECT_EQ(w->commit(), 1u);
  }
  EXPECT_EQ(Get(r, "staged"), "yes");
  EXPECT_EQ(changes, 1);
  ASSERT_EQ(r.pendingMutations().size(), 1u);
  EXPECT_EQ(r.pendingMutations()[0].name, "hostPut");
  EXPECT_EQ(r.pendingMutations()[0].args->json(), (Json{{"k", "v"}}));
  EXPECT_DOUBLE_EQ(r.pendingMutations()[0].timestamp, 5.5);

  {
    auto w = r.beginMutation("hostPut", nullptr, 7);
    EXPECT_EQ(w->mutation().id, 2u);
    w->tx().set("aborted", Json(1));
    w->tx().del("staged");
  }  // destroyed without commit
  EXPECT_EQ(Get(r, "aborted"), "<absent>");
  EXPECT_EQ(Get(r, "staged"), "yes");
  EXPECT_EQ(r.pendingMutations().size(), 1u);
  EXPECT_EQ(changes, 1);
  // The aborted id is reused.
  auto w = r.beginMutation("hostPut", nullptr, 8);
  EXPECT_EQ(w->mutation().id, 2u);
  w->commit();
  EXPECT_EQ(r.pendingMutations().size(), 2u);
  // A commit that changed nothing visible does not notify.
  EXPECT_EQ(changes, 1);
}

TEST(ReplicaMutate, MutationIdsContinueAfterConfirmation) {
  Replica r(Options("c1"));
  RegisterBasicMutators(r);
  for (int i = 0; i < 3; ++i) r.mutate("incr", {{"key", "n"}}, i);
  auto o = r.applyPull(Pull(1, {{"c1", 2}}, {PutOp("n", 2)}), nullptr);
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied);
  EXPECT_EQ(o.confirmedMutations, 2u);
  ASSERT_EQ(r.pendingMutations().size(), 1u);
  EXPECT_EQ(r.pendingMutations()[0].id, 3u);
  r.mutate("incr", {{"key", "n"}}, 9);
  EXPECT_EQ(r.pendingMutations().back().id, 4u);
  // All confirmed: the next id still follows the confirmed lmid.
  o = r.applyPull(Pull(2, {{"c1", 4}}, {PutOp("n", 4)}), Json(1));
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied);
  EXPECT_TRUE(r.pendingMutations().empty());
  EXPECT_EQ(r.lastMutationIDs().at("c1"), 4u);
  r.mutate("incr", {{"key", "n"}}, 10);
  EXPECT_EQ(r.pendingMutations().back().id, 5u);
  EXPECT_EQ(Get(r, "n"), 5);
}

TEST(ReplicaState, PendingLayerOverConfirmedBase) {
  Replica r(Options("c1"));
  RegisterBasicMutators(r);
  r.applyPull(Pull(1, {}, {PutOp("a", "server-a"), PutOp("b", "server-b")}), nullptr);
  EXPECT_EQ(r.confirmedSize(), 2u);
  r.mutate("put", {{"key", "a"}, {"value", "local-a"}}, 1);
  r.mutate("del", {{"key", "b"}}, 2);
  r.mutate("put", {{"key", "c"}, {"value", "local-c"}}, 3);
  EXPECT_EQ(State(r), Json::parse(R"([["a","local-a"],["c","local-c"]])"));
  EXPECT_EQ(r.confirmedSize(), 2u);  // the base did not change

  // The server confirms only the first mutation and also changed b.
  auto o = r.applyPull(Pull(2, {{"c1", 1}}, {PutOp("a", "local-a"), PutOp("b", "server-b2")}), Json(1));
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied) << o.error;
  EXPECT_EQ(State(r), Json::parse(R"([["a","local-a"],["c","local-c"]])"));  // del b replayed
  o = r.applyPull(Pull(3, {{"c1", 3}}, {DelOp("b"), PutOp("c", "local-c")}), Json(2));
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied) << o.error;
  EXPECT_TRUE(r.pendingMutations().empty());
  EXPECT_EQ(State(r), Json::parse(R"([["a","local-a"],["c","local-c"]])"));
  EXPECT_EQ(r.confirmedSize(), 2u);
}

TEST(ReplicaState, RebaseOnLargeBaseTouchesOnlyPatchAndPending) {
  Replica r(Options("c1"));
  RegisterBasicMutators(r);
  const int N = 10000;
  std::vector<PatchOp> puts;
  for (int i = 0; i < N; ++i) {
    char key[16];
    snprintf(key, sizeof key, "k%05d", i);
    puts.push_back(PutOp(key, Json{{"i", i}}));
  }
  ASSERT_EQ(r.applyPull(Pull(1, {}, puts), nullptr).kind, PullOutcome::Kind::kApplied);
  EXPECT_EQ(r.confirmedSize(), static_cast<size_t>(N));

  r.mutate("put", {{"key", "k00010"}, {"value", "mine"}}, 1);
  r.mutate("incr", {{"key", "counter"}}, 2);

  // Ids of every value before the rebase.
  std::map<std::string, uint64_t> idsBefore;
  {
    auto tx = r.read();
    tx->scanEach({}, [&](const std::string& k, const ValuePtr& v) {
      idsBefore[k] = v->id();
      return true;
    });
  }
  ASSERT_EQ(idsBefore.size(), static_cast<size_t>(N + 1));

  size_t notified = 0;
  r.addChangeListener([&](const ChangeSet& c) { notified = c.size(); });
  auto o = r.applyPull(Pull(2, {{"c1", 1}},
                            {PutOp("k00010", "mine"), PutOp("k00020", "server"), DelOp("k00030"),
                             PutOp("new", 1)}),
                       Json(1));
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied) << o.error;
  EXPECT_EQ(o.confirmedMutations, 1u);
  ASSERT_EQ(r.pendingMutations().size(), 1u);
  EXPECT_EQ(r.confirmedSize(), static_cast<size_t>(N));  // -k00030 +new

  auto tx = r.read();
  size_t same = 0, count = 0;
  tx->scanEach({}, [&](const std::string& k, const ValuePtr& v) {
    ++count;
    auto it = idsBefore.find(k);
    if (it != idsBefore.end() && it->second == v->id()) ++same;
    return true;
  });
  EXPECT_EQ(count, static_cast<size_t>(N + 1));
  // Every key but the patched ones and the replayed counter keeps its value
  // object: nothing was copied.
  EXPECT_EQ(same, static_cast<size_t>(N - 3));
  EXPECT_EQ(tx->get("k00010")->json(), "mine");
  EXPECT_EQ(tx->get("k00020")->json(), "server");
  EXPECT_EQ(tx->get("k00030"), nullptr);
  EXPECT_EQ(tx->get("k09999")->json(), (Json{{"i", 9999}}));
  EXPECT_EQ(tx->get("counter")->json(), 1);
  EXPECT_EQ(tx->get("new")->json(), 1);
  // Changed visible keys: k00020, k00030, new (k00010 and counter kept
  // their visible value).
  EXPECT_EQ(notified, 3u);
}

TEST(ReplicaState, ReadTransactionSeesOneState) {
  Replica r(Options());
  RegisterBasicMutators(r);
  r.mutate("put", {{"key", "a"}, {"value", 1}}, 0);
  ValuePtr held;
  {
    auto tx = r.read();
    held = tx->get("a");
  }
  r.mutate("put", {{"key", "a"}, {"value", 2}}, 0);
  // A value read earlier is immutable and stays valid.
  EXPECT_EQ(held->json(), 1);
  EXPECT_EQ(Get(r, "a"), 2);
}

TEST(ReplicaState, Identity) {
  Replica r(Options("cid", "gid"));
  RequestIdentity who = r.identity();
  EXPECT_EQ(who.profileID, "p1");
  EXPECT_EQ(who.clientGroupID, "gid");
  EXPECT_EQ(who.schemaVersion, "1");
  EXPECT_EQ(r.options().clientID, "cid");
}

}  // namespace
}  // namespace replicore
