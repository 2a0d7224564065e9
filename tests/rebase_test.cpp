// Replica::applyPull: patch ops on the confirmed state, confirmation of
// pending mutations, replay with reason 'rebase', and every rejection.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "replicore/replica.h"
#include "support/recording_value_host.h"
#include "support/replica_util.h"

namespace replicore {
namespace {

using namespace replicore::testing;
using Kind = PullOutcome::Kind;

// A snapshot of everything a rejected pull must leave alone.
struct Snapshot {
  Json state, cookie;
  std::map<std::string, uint64_t> lmids;
  std::vector<Json> pending;
  size_t confirmed;
  explicit Snapshot(const Replica& r)
      : state(State(r)), cookie(r.cookie().json()), lmids(r.lastMutationIDs()), confirmed(r.confirmedSize()) {
    for (const auto& m : r.pendingMutations()) pending.push_back(mutationToJson(m));
  }
  bool operator==(const Snapshot& o) const {
    return state == o.state && cookie == o.cookie && lmids == o.lmids && pending == o.pending &&
           confirmed == o.confirmed;
  }
};

class RebaseTest : public ::testing::Test {
 protected:
  RebaseTest() : r(Options("c1")) {
    RegisterBasicMutators(r);
    r.addChangeListener([this](const ChangeSet& c) {
      ++notifications;
      lastChanges = c;
    });
  }
  Replica r;
  int notifications = 0;
  ChangeSet lastChanges;
};

TEST_F(RebaseTest, PatchOpsApplyInOrderOnConfirmedState) {
  auto o = r.applyPull(Pull(1, {}, {PutOp("a", 1), PutOp("b", 2), PutOp("c", 3)}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(r.cookie().json(), 1);
  EXPECT_EQ(State(r), Json::parse(R"([["a",1],["b",2],["c",3]])"));
  EXPECT_EQ(notifications, 1);
  EXPECT_EQ(lastChanges.size(), 3u);

  o = r.applyPull(Pull(2, {}, {DelOp("a"), PutOp("b", 20), DelOp("missing"), PutOp("d", 4), DelOp("d")}), 1);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(State(r), Json::parse(R"([["b",20],["c",3]])"));
  EXPECT_EQ(r.confirmedSize(), 2u);
  // a removed, b changed; d came and went, "missing" never existed.
  EXPECT_EQ(lastChanges.size(), 2u);
  ASSERT_TRUE(lastChanges.count("a"));
  EXPECT_EQ(lastChanges["a"].oldValue->json(), 1);
  EXPECT_EQ(lastChanges["a"].newValue, nullptr);
  EXPECT_EQ(lastChanges["b"].oldValue->json(), 2);
  EXPECT_EQ(lastChanges["b"].newValue->json(), 20);

  // clear in the middle: what comes before it is gone too.
  o = r.applyPull(Pull(3, {}, {PutOp("x", 1), ClearOp(), PutOp("c", 3), PutOp("e", 5)}), 2);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(State(r), Json::parse(R"([["c",3],["e",5]])"));
  EXPECT_EQ(r.confirmedSize(), 2u);
  // b deleted, e added; c put with an equal value is no change.
  EXPECT_EQ(lastChanges.size(), 2u);
  EXPECT_TRUE(lastChanges.count("b"));
  EXPECT_TRUE(lastChanges.count("e"));
  EXPECT_FALSE(lastChanges.count("c"));
  EXPECT_FALSE(lastChanges.count("x"));

  // A patch that changes nothing visible applies (new cookie) but does not notify.
  int before = notifications;
  o = r.applyPull(Pull(4, {}, {PutOp("c", 3)}), 3);
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_EQ(r.cookie().json(), 4);
  EXPECT_EQ(notifications, before);
}

TEST_F(RebaseTest, UpdateOpMergesAndConstrains) {
  ASSERT_EQ(r.applyPull(Pull(1, {}, {PutOp("o", Json{{"a", 1}, {"b", 2}, {"c", 3}}), PutOp("p", Json{{"a", 1}})}),
                        nullptr).kind,
            Kind::kApplied);
  ASSERT_EQ(State(r), Json::parse(R"([["o",{"a":1,"b":2,"c":3}],["p",{"a":1}]])"));
  auto o = r.applyPull(
      Pull(2, {},
           {UpdateOp("o", Json{{"b", 20}, {"d", 4}}, std::vector<std::string>{"a", "b", "d"}),
            UpdateOp("p", std::nullopt, std::vector<std::string>{"zzz"}),
            UpdateOp("new", Json{{"m", Json::array({1})}}, std::nullopt),
            UpdateOp("o2", std::nullopt, std::nullopt)}),
      1);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error << "; state " << State(r).dump();
  EXPECT_EQ(Get(r, "o"), (Json{{"a", 1}, {"b", 20}, {"d", 4}}));
  EXPECT_EQ(Get(r, "p"), Json::object());
  EXPECT_EQ(Get(r, "new"), (Json{{"m", Json::array({1})}}));  // update of a missing key
  EXPECT_EQ(Get(r, "o2"), Json::object());
  // An update after a put in the same patch sees the put; merge is shallow.
  o = r.applyPull(Pull(3, {},
                       {PutOp("q", Json{{"x", Json{{"deep", 1}}}}),
                        UpdateOp("q", Json{{"x", Json{{"other", 2}}}}, std::nullopt)}),
                  2);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(Get(r, "q"), (Json{{"x", Json{{"other", 2}}}}));
}

TEST_F(RebaseTest, UpdateOfANonObjectIsRejectedAndChangesNothing) {
  r.applyPull(Pull(1, {}, {PutOp("s", "string")}), nullptr);
  r.mutate("put", {{"key", "k"}, {"value", 1}}, 0);
  Snapshot before(r);
  int n = notifications;
  auto o = r.applyPull(Pull(2, {{"c1", 1}}, {PutOp("z", 1), UpdateOp("s", Json{{"a", 1}}, std::nullopt)}), 1);
  EXPECT_EQ(o.kind, Kind::kRejected);
  EXPECT_FALSE(o.error.empty());
  EXPECT_TRUE(Snapshot(r) == before);
  EXPECT_EQ(notifications, n);
}

TEST_F(RebaseTest, ConfirmedMutationsDropAndTheRestReplayAsRebase) {
  struct Run {
    MutationReason reason;
    uint64_t id;
    Json args;
  };
  std::vector<Run> runs;
  r.registerMutator("rec", [&](WriteTransaction& tx, const Json& a) {
    runs.push_back({tx.reason(), tx.mutationID(), a});
    ValuePtr v = tx.get("log");
    Json log = v ? v->json() : Json::array();
    log.push_back(a);
    tx.set("log", log);
    return Json();
  });
  r.mutate("rec", "m1", 10.5);
  r.mutate("rec", "m2", 20.5);
  r.mutate("rec", "m3", 30.5);
  EXPECT_EQ(Get(r, "log"), Json::parse(R"(["m1","m2","m3"])"));
  runs.clear();

  // The server applied m1 (and its own "s0" before it).
  auto o = r.applyPull(Pull(1, {{"c1", 1}}, {PutOp("log", Json::parse(R"(["s0","m1"])"))}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(o.confirmedMutations, 1u);
  EXPECT_TRUE(o.replayErrors.empty());
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].reason, MutationReason::kRebase);
  EXPECT_EQ(runs[0].id, 2u);
  EXPECT_EQ(runs[0].args, "m2");
  EXPECT_EQ(runs[1].id, 3u);
  EXPECT_EQ(runs[1].args, "m3");
  EXPECT_EQ(Get(r, "log"), Json::parse(R"(["s0","m1","m2","m3"])"));
  ASSERT_EQ(r.pendingMutations().size(), 2u);
  EXPECT_EQ(r.pendingMutations()[0].id, 2u);
  EXPECT_DOUBLE_EQ(r.pendingMutations()[0].timestamp, 20.5);  // unchanged by the rebase
  EXPECT_DOUBLE_EQ(r.pendingMutations()[1].timestamp, 30.5);
  EXPECT_EQ(r.lastMutationIDs().at("c1"), 1u);
  EXPECT_EQ(notifications, 4);  // 3 mutations + this rebase
  EXPECT_EQ(lastChanges.size(), 1u);

  // lmids of other clients of the group are merged in and drop nothing of ours.
  runs.clear();
  o = r.applyPull(Pull(2, {{"other", 9}}, {}), 1);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(o.confirmedMutations, 0u);
  EXPECT_EQ(runs.size(), 2u);
  EXPECT_EQ(r.lastMutationIDs().at("other"), 9u);
  EXPECT_EQ(r.lastMutationIDs().at("c1"), 1u);
  EXPECT_EQ(r.pendingMutations().size(), 2u);
  // Nothing visible changed: no notification.
  EXPECT_EQ(notifications, 4);

  // All confirmed: nothing replays.
  runs.clear();
  o = r.applyPull(Pull(3, {{"c1", 3}}, {PutOp("log", Json::parse(R"(["s0","m1","m2","m3"])"))}), 2);
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_EQ(o.confirmedMutations, 2u);
  EXPECT_TRUE(runs.empty());
  EXPECT_TRUE(r.pendingMutations().empty());
  EXPECT_EQ(Get(r, "log"), Json::parse(R"(["s0","m1","m2","m3"])"));
}

TEST_F(RebaseTest, ServerDroppedEffectDisappears) {
  // The server processed mutation 1 but its mutator failed: lmid advances,
  // nothing written. The local effect must vanish.
  r.mutate("put", {{"key", "ghost"}, {"value", 1}}, 0);
  auto o = r.applyPull(Pull(1, {{"c1", 1}}, {}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_EQ(Get(r, "ghost"), "<absent>");
  EXPECT_TRUE(lastChanges.count("ghost"));
}

TEST_F(RebaseTest, LowerCookieIsRejectedAndChangesNothing) {
  r.applyPull(Pull(5, {{"c1", 0}}, {PutOp("a", 1)}), nullptr);
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 0);
  Snapshot before(r);
  int n = notifications;
  // Without a clear: a lower cookie is an old answer (with one, a reset:
  // client_reset_test.cpp).
  auto o = r.applyPull(Pull(3, {{"c1", 1}}, {PutOp("z", 1)}), 5);
  EXPECT_EQ(o.kind, Kind::kRejected);
  EXPECT_FALSE(o.error.empty());
  EXPECT_TRUE(Snapshot(r) == before);
  EXPECT_EQ(notifications, n);
  // "10" < "9" as strings: a string cookie lower by string order is rejected.
  o = r.applyPull(Pull("10", {}, {PutOp("z", 1)}), 5);  // "10" vs 5 -> "10" < "5"
  EXPECT_EQ(o.kind, Kind::kRejected);
  EXPECT_TRUE(Snapshot(r) == before);
}

TEST_F(RebaseTest, EqualCookieIsANoOp) {
  r.applyPull(Pull(5, {}, {PutOp("a", 1)}), nullptr);
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 0);
  Snapshot before(r);
  int n = notifications;
  auto o = r.applyPull(Pull(5, {{"c1", 1}}, {ClearOp(), PutOp("z", 26)}), 5);
  EXPECT_EQ(o.kind, Kind::kNoOp);
  EXPECT_TRUE(Snapshot(r) == before);
  EXPECT_EQ(notifications, n);
  // Equal by order with different extra fields is equal too.
  r.applyPull(Pull(Json{{"order", 7}, {"v", 1}}, {}, {}), 5);
  EXPECT_EQ(r.applyPull(Pull(Json{{"order", 7}, {"v", 2}}, {}, {PutOp("q", 1)}), r.cookie()).kind,
            Kind::kNoOp);
  EXPECT_EQ(Get(r, "q"), "<absent>");
}

TEST_F(RebaseTest, RequestCookieMismatchIsDropped) {
  r.applyPull(Pull(5, {}, {PutOp("a", 1)}), nullptr);
  Snapshot before(r);
  // Sent with cookie null, but the confirmed cookie is 5 by now.
  auto o = r.applyPull(Pull(6, {}, {PutOp("a", 2)}), nullptr);
  EXPECT_EQ(o.kind, Kind::kDropped);
  EXPECT_TRUE(Snapshot(r) == before);
  o = r.applyPull(Pull(6, {}, {PutOp("a", 2)}), 4);
  EXPECT_EQ(o.kind, Kind::kDropped);
  EXPECT_TRUE(Snapshot(r) == before);
  o = r.applyPull(Pull(6, {}, {PutOp("a", 2)}), 5);
  EXPECT_EQ(o.kind, Kind::kApplied);
  EXPECT_EQ(Get(r, "a"), 2);
}

// Unlike Replicache, a lower lmid is taken (the server lost mutations; see
// client_reset_test.cpp for what the client does then). An equal one is no
// reset at all.
TEST_F(RebaseTest, EqualLastMutationIDIsNoReset) {
  r.mutate("put", {{"key", "a"}, {"value", 1}}, 0);
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 0);
  r.mutate("put", {{"key", "c"}, {"value", 3}}, 0);
  ASSERT_EQ(r.applyPull(Pull(1, {{"c1", 2}, {"c9", 4}}, {PutOp("a", 1), PutOp("b", 2)}), nullptr).kind,
            Kind::kApplied);
  auto o = r.applyPull(Pull(2, {{"c1", 2}, {"c9", 4}}, {PutOp("x", 1)}), 1);
  EXPECT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_FALSE(o.reset);
}

TEST_F(RebaseTest, ThrowingMutatorOnReplayStaysPendingAndOthersApply) {
  r.registerMutator("guarded", [](WriteTransaction& tx, const Json& a) {
    if (tx.has("poison")) throw std::runtime_error("poisoned");
    tx.set(a.get<std::string>(), Json("done"));
    return Json();
  });
  r.mutate("put", {{"key", "first"}, {"value", 1}}, 1);
  r.mutate("guarded", "g", 2);
  r.mutate("put", {{"key", "last"}, {"value", 3}}, 3);
  EXPECT_EQ(Get(r, "g"), "done");

  auto o = r.applyPull(Pull(1, {}, {PutOp("poison", true)}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_EQ(o.replayErrors.size(), 1u);
  EXPECT_EQ(o.replayErrors[0].clientID, "c1");
  EXPECT_EQ(o.replayErrors[0].mutationID, 2u);
  EXPECT_EQ(o.replayErrors[0].name, "guarded");
  EXPECT_NE(o.replayErrors[0].message.find("poisoned"), std::string::npos);
  EXPECT_EQ(Get(r, "g"), "<absent>");  // effect skipped
  EXPECT_EQ(Get(r, "first"), 1);
  EXPECT_EQ(Get(r, "last"), 3);
  ASSERT_EQ(r.pendingMutations().size(), 3u);  // still pending, in order
  EXPECT_EQ(r.pendingMutations()[1].id, 2u);

  // Once the poison is gone, the next rebase applies it again.
  o = r.applyPull(Pull(2, {}, {DelOp("poison")}), 1);
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_TRUE(o.replayErrors.empty());
  EXPECT_EQ(Get(r, "g"), "done");
  // And the write the failing replay made before throwing never leaks.
  r.registerMutator("halfway", [](WriteTransaction& tx, const Json&) -> Json {
    tx.set("half", Json(1));
    if (tx.reason() == MutationReason::kRebase) throw std::runtime_error("no");
    return Json();
  });
  r.mutate("halfway", nullptr, 4);
  EXPECT_EQ(Get(r, "half"), 1);
  o = r.applyPull(Pull(3, {}, {}), 2);
  EXPECT_EQ(o.replayErrors.size(), 1u);
  EXPECT_EQ(Get(r, "half"), "<absent>");
}

TEST_F(RebaseTest, UnknownMutatorOnReplayIsANoOpThatStaysPending) {
  {
    auto w = r.beginMutation("hostOnly", Value::make(Json{{"k", 1}}), 1);
    w->tx().set("host", Json(1));
    w->commit();
  }
  r.mutate("put", {{"key", "p"}, {"value", 2}}, 2);
  auto o = r.applyPull(Pull(1, {}, {PutOp("s", 0)}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_TRUE(o.replayErrors.empty());
  EXPECT_EQ(Get(r, "host"), "<absent>");
  EXPECT_EQ(Get(r, "p"), 2);
  ASSERT_EQ(r.pendingMutations().size(), 2u);
  EXPECT_EQ(r.pendingMutations()[0].name, "hostOnly");
}

TEST_F(RebaseTest, StagedRebaseDestroyedUnfinishedChangesNothing) {
  r.applyPull(Pull(1, {}, {PutOp("a", 1)}), nullptr);
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 0);
  r.mutate("put", {{"key", "c"}, {"value", 3}}, 0);
  Snapshot before(r);
  int n = notifications;
  {
    PullOutcome o;
    auto rb = r.beginRebase(Pull(2, {{"c1", 1}}, {ClearOp(), PutOp("z", 1)}), 1, &o);
    ASSERT_NE(rb, nullptr);
    const Mutation* m = rb->next();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->id, 2u);  // 1 is confirmed by the pull
    EXPECT_EQ(rb->tx().reason(), MutationReason::kRebase);
    EXPECT_EQ(rb->tx().get("a"), nullptr);  // the patch's clear is visible to replay
    EXPECT_EQ(rb->tx().get("z")->json(), 1);
    rb->tx().set("c", Json(30));
    rb->succeeded();
    // The old state is still what readers see meanwhile.
    EXPECT_EQ(State(r), before.state);
    EXPECT_THROW(r.mutate("put", {{"key", "x"}, {"value", 1}}, 0), std::logic_error);
    EXPECT_EQ(rb->next(), nullptr);
  }
  EXPECT_TRUE(Snapshot(r) == before);
  EXPECT_EQ(notifications, n);
  // And the replica is usable again.
  r.mutate("put", {{"key", "d"}, {"value", 4}}, 0);
  auto o = r.applyPull(Pull(2, {{"c1", 1}}, {ClearOp(), PutOp("z", 1)}), 1);
  EXPECT_EQ(o.kind, Kind::kApplied);
  EXPECT_EQ(State(r), Json::parse(R"([["c",3],["d",4],["z",1]])"));
}

TEST_F(RebaseTest, StagedRebaseFinishedEarlyKeepsTheRestPendingWithoutEffect) {
  r.mutate("put", {{"key", "a"}, {"value", 1}}, 0);
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 0);
  r.mutate("put", {{"key", "c"}, {"value", 3}}, 0);
  PullOutcome o;
  auto rb = r.beginRebase(Pull(1, {{"c1", 1}}, {PutOp("a", 1)}), nullptr, &o);
  ASSERT_NE(rb, nullptr);
  const Mutation* m = rb->next();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->id, 2u);
  EXPECT_THROW(rb->finish(), std::logic_error);  // still replaying one
  rb->tx().set("b", Json(2));
  rb->succeeded();
  PullOutcome done = rb->finish();  // mutation 3 never replayed
  EXPECT_EQ(done.kind, Kind::kApplied);
  EXPECT_EQ(done.confirmedMutations, 1u);
  EXPECT_EQ(State(r), Json::parse(R"([["a",1],["b",2]])"));
  ASSERT_EQ(r.pendingMutations().size(), 2u);
  EXPECT_EQ(r.pendingMutations()[1].id, 3u);
  // The next rebase replays it again.
  EXPECT_EQ(r.applyPull(Pull(2, {}, {}), 1).kind, Kind::kApplied);
  EXPECT_EQ(Get(r, "c"), 3);
}

TEST_F(RebaseTest, StagedRebaseWithHostReplay) {
  r.mutate("put", {{"key", "a"}, {"value", 1}}, 0);
  r.mutate("put", {{"key", "b"}, {"value", 2}}, 0);
  PullOutcome o;
  auto rb = r.beginRebase(Pull(1, {}, {PutOp("s", 1)}), nullptr, &o);
  ASSERT_NE(rb, nullptr);
  const Mutation* m1 = rb->next();
  ASSERT_NE(m1, nullptr);
  EXPECT_EQ(m1->id, 1u);
  rb->tx().set("a", Json(100));
  rb->succeeded();
  const Mutation* m2 = rb->next();
  ASSERT_NE(m2, nullptr);
  rb->tx().set("b", Json(200));
  rb->failed("host said no");
  EXPECT_EQ(rb->next(), nullptr);
  PullOutcome done = rb->finish();
  EXPECT_EQ(done.kind, Kind::kApplied);
  ASSERT_EQ(done.replayErrors.size(), 1u);
  EXPECT_EQ(done.replayErrors[0].mutationID, 2u);
  EXPECT_EQ(done.replayErrors[0].message, "host said no");
  EXPECT_EQ(State(r), Json::parse(R"([["a",100],["s",1]])"));
  EXPECT_EQ(r.pendingMutations().size(), 2u);

  // beginRebase reports non-applicable responses through outcome.
  EXPECT_EQ(r.beginRebase(Pull(1, {}, {}), 1, &o), nullptr);
  EXPECT_EQ(o.kind, Kind::kNoOp);
  EXPECT_EQ(r.beginRebase(Pull(2, {}, {}), 0, &o), nullptr);
  EXPECT_EQ(o.kind, Kind::kDropped);
  EXPECT_EQ(r.beginRebase(Pull(0, {}, {}), 1, &o), nullptr);
  EXPECT_EQ(o.kind, Kind::kRejected);
}

TEST_F(RebaseTest, EveryCommitNotifiesOnce) {
  for (int i = 0; i < 5; ++i) r.mutate("incr", {{"key", "k" + std::to_string(i)}}, i);
  int n = notifications;
  auto o = r.applyPull(Pull(1, {{"c1", 2}}, {PutOp("k0", 1), PutOp("k1", 1), PutOp("s1", 1), PutOp("s2", 2)}),
                       nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied);
  EXPECT_EQ(notifications, n + 1);
  EXPECT_EQ(lastChanges.size(), 2u);  // only s1, s2 are new to the visible state
}

// Values a host holds (the WebAssembly binding's JavaScript objects) live in
// pending layers: the core never needs their text to rebase, and each is
// released once no layer refers to it.
TEST(RebaseHostValues, HostHeldValuesAreReplayedWithoutTheirTextAndReleased) {
  RecordingValueHost host;  // declared before the replica: it must outlive the values
  Replica r(Options("c1"));
  RegisterBasicMutators(r);
  std::vector<std::string> changedKeys;
  r.addChangeListener([&](const ChangeSet& c) {
    changedKeys.clear();
    for (const auto& [key, change] : c) changedKeys.push_back(key);
  });
  std::vector<uint64_t> made;
  r.registerMutator("hostPut", [&](WriteTransaction& tx, const Json& a) -> Json {
    ValuePtr v = Value::fromHost(&host);
    host.texts[v->id()] = a["value"].dump();
    made.push_back(v->id());
    tx.set(a["key"].get<std::string>(), v);
    return nullptr;
  });
  r.mutate("hostPut", {{"key", "a"}, {"value", 1}}, 0);
  r.mutate("hostPut", {{"key", "b"}, {"value", 2}}, 0);
  r.mutate("hostPut", {{"key", "c"}, {"value", 3}}, 0);
  r.mutate("hostPut", {{"key", "d"}, {"value", 4}}, 0);
  ASSERT_EQ(made.size(), 4u);
  host.equalCalls.clear();

  // The server confirms mutation 1 (and writes its own a); 2-4 are replayed.
  auto o = r.applyPull(Pull(1, {{"c1", 1}}, {PutOp("a", 10)}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  ASSERT_EQ(made.size(), 7u) << "mutations 2-4 replayed once each";
  EXPECT_TRUE(host.fetched.empty()) << "the rebase needed no host text";
  auto released = [&] {
    std::vector<uint64_t> ids = host.releasedIDs;
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(released(), (std::vector<uint64_t>{made[0], made[1], made[2], made[3]}));
  // b, c and d's replayed values are new host values, equal to the old ones
  // as the host tells, asked once for all of them: only a changed.
  ASSERT_EQ(host.equalCalls.size(), 1u);
  EXPECT_GE(host.equalCalls[0], 3u);
  EXPECT_EQ(changedKeys, (std::vector<std::string>{"a"}));
  EXPECT_EQ(Get(r, "b"), 2);  // reading as JSON fetches the text
  EXPECT_EQ(host.fetched, std::vector<uint64_t>{made[4]});
  EXPECT_EQ(Get(r, "a"), 10);

  // Confirming the rest releases the last host values.
  o = r.applyPull(Pull(2, {{"c1", 4}}, {PutOp("b", 2), PutOp("c", 3), PutOp("d", 4)}), 1);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(released().size(), 7u);
  EXPECT_TRUE(host.texts.empty());
}

}  // namespace
}  // namespace replicore
