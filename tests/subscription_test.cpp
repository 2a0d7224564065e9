// Subscriptions (re-run only when what they read changed) and watches
// (diffs under a prefix).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "replicore/replica.h"
#include "support/replica_util.h"

namespace replicore {
namespace {

using namespace replicore::testing;
using Op = Replica::DiffOp::Op;

class SubscriptionTest : public ::testing::Test {
 protected:
  SubscriptionTest() : r(Options("c1")) { RegisterBasicMutators(r); }
  void put(const std::string& k, Json v) { r.mutate("put", {{"key", k}, {"value", std::move(v)}}, 0); }
  void del(const std::string& k) { r.mutate("del", {{"key", k}}, 0); }
  Replica r;
};

TEST_F(SubscriptionTest, FiresInitiallyAndOnlyWhenReadKeysChange) {
  put("a", 1);
  put("b", 2);
  int runs = 0;
  std::vector<Json> data;
  r.subscribe(
      [&](ReadTransaction& tx) {
        ++runs;
        ValuePtr v = tx.get("a");
        return v ? v->json() : Json("none");
      },
      [&](const Json& d) { data.push_back(d); });
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(data, (std::vector<Json>{1}));

  put("b", 3);  // not read
  put("c", 1);  // not read
  EXPECT_EQ(runs, 1);
  put("a", 1);  // same value: no change at all
  EXPECT_EQ(runs, 1);
  put("a", 5);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(data, (std::vector<Json>{1, 5}));
  del("a");
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(data.back(), "none");
  put("a", 6);
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(data.back(), 6);
  // A failed mutation changes nothing and runs nothing.
  EXPECT_THROW(r.mutate("fail", nullptr, 0), MutationError);
  EXPECT_EQ(runs, 4);
}

TEST_F(SubscriptionTest, OnDataOnlyWhenResultChanges) {
  put("a", 1);
  int runs = 0, calls = 0;
  r.subscribe(
      [&](ReadTransaction& tx) {
        ++runs;
        return Json(tx.has("a"));
      },
      [&](const Json&) { ++calls; });
  EXPECT_EQ(calls, 1);
  put("a", 2);  // re-runs: it read "a"; the result is still true
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(calls, 1);
  del("a");
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(calls, 2);
}

TEST_F(SubscriptionTest, ScanDependsOnItsRange) {
  for (const char* k : {"a/1", "a/2", "a/3", "a/4", "b/1"}) put(k, 0);
  int runs = 0;
  Json last;
  ScanOptions o = Prefix("a/");
  o.limit = 2;
  r.subscribe(
      [&](ReadTransaction& tx) {
        ++runs;
        return tx.scanKeys(o);
      },
      [&](const Json& d) { last = d; });
  EXPECT_EQ(last, (Json{"a/1", "a/2"}));
  put("a/3", 1);  // after the last returned key of a limited scan
  put("a/9", 1);
  put("b/1", 1);  // outside the prefix
  put("a", 1);    // before the prefix
  EXPECT_EQ(runs, 1);
  put("a/2", 1);  // a returned key: re-run, same keys
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(last, (Json{"a/1", "a/2"}));
  put("a/15", 1);  // between returned keys: result changes
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(last, (Json{"a/1", "a/15"}));
  put("a/0", 1);  // before the first: result changes
  EXPECT_EQ(last, (Json{"a/0", "a/1"}));
  del("a/0");
  del("a/1");  // now the range grows to a/2
  EXPECT_EQ(last, (Json{"a/15", "a/2"}));

  // An unlimited scan depends on the whole prefix.
  int all = 0;
  r.subscribe([&](ReadTransaction& tx) { ++all; return tx.scanKeys(Prefix("b/")); }, [](const Json&) {});
  put("b/zzzz", 1);
  EXPECT_EQ(all, 2);
  put("c", 1);
  EXPECT_EQ(all, 2);

  // A start key: keys before it do not matter.
  int from = 0;
  ScanOptions s = Prefix("a/");
  s.startKey = "a/3";
  r.subscribe([&](ReadTransaction& tx) { ++from; return tx.scanKeys(s); }, [](const Json&) {});
  put("a/1", 7);
  EXPECT_EQ(from, 1);
  put("a/5", 7);
  EXPECT_EQ(from, 2);
}

TEST_F(SubscriptionTest, AtMostOnceAfterAMutationOrARebase) {
  int runs = 0, calls = 0;
  r.subscribe(
      [&](ReadTransaction& tx) {
        ++runs;
        return tx.scanEntries(Prefix("m/"));
      },
      [&](const Json&) { ++calls; });
  r.registerMutator("many", [](WriteTransaction& tx, const Json&) {
    for (int i = 0; i < 50; ++i) tx.set("m/" + std::to_string(i), Json(i));
    return Json();
  });
  r.mutate("many", nullptr, 0);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(calls, 2);
  std::vector<PatchOp> patch;
  for (int i = 0; i < 50; ++i) patch.push_back(PutOp("m/" + std::to_string(i), i * 2));
  patch.push_back(PutOp("m/x", 1));
  auto o = r.applyPull(Pull(1, {}, patch), nullptr);  // rebase: the pending "many" replays
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(calls, 3);
  // Confirming the mutation with the same values changes nothing visible.
  std::vector<PatchOp> same;
  for (int i = 0; i < 50; ++i) same.push_back(PutOp("m/" + std::to_string(i), i));
  o = r.applyPull(Pull(2, {{"c1", 1}}, same), 1);
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied);
  EXPECT_EQ(runs, 3);
}

TEST_F(SubscriptionTest, Unsubscribe) {
  int runs = 0;
  uint64_t id = r.subscribe([&](ReadTransaction& tx) { ++runs; return Json(tx.has("k")); }, [](const Json&) {});
  int other = 0;
  r.subscribe([&](ReadTransaction& tx) { ++other; return Json(tx.has("k")); }, [](const Json&) {});
  put("k", 1);
  EXPECT_EQ(runs, 2);
  r.unsubscribe(id);
  put("k", 2);
  del("k");
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(other, 4);
  r.unsubscribe(id);  // twice is harmless
  r.unsubscribe(12345);
}

TEST_F(SubscriptionTest, UnsubscribeFromInsideACallback) {
  int a = 0, b = 0;
  uint64_t idB = 0;
  r.subscribe([&](ReadTransaction& tx) { return Json(tx.has("k")); },
              [&](const Json&) {
                ++a;
                if (idB) r.unsubscribe(idB);
              });
  idB = r.subscribe([&](ReadTransaction& tx) { return Json(tx.has("k")); }, [&](const Json&) { ++b; });
  put("k", 1);
  EXPECT_EQ(a, 2);
  EXPECT_LE(b, 2);
  put("k2", 1);
  del("k");
  EXPECT_EQ(a, 3);
  EXPECT_LE(b, 2);
}

TEST_F(SubscriptionTest, QueryErrors) {
  std::vector<std::string> errors;
  int data = 0;
  r.subscribe(
      [&](ReadTransaction& tx) -> Json {
        if (tx.has("bad")) throw std::runtime_error("query failed");
        return Json(tx.has("k"));
      },
      [&](const Json&) { ++data; }, [&](const std::string& e) { errors.push_back(e); });
  put("bad", 1);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("query failed"), std::string::npos);
  del("bad");
  EXPECT_EQ(data, 1);  // result true->... still false
  put("k", 1);
  EXPECT_EQ(data, 2);
}

TEST_F(SubscriptionTest, ScanStoppedByTheVisitorStillTracksItsRange) {
  for (const char* k : {"s/1", "s/3", "s/5", "s/7"}) put(k, 0);
  int runs = 0;
  Json last;
  // Finds the first two keys, then stops the scan itself.
  r.subscribe(
      [&](ReadTransaction& tx) {
        ++runs;
        Json keys = Json::array();
        tx.scanEach(Prefix("s/"), [&](const std::string& k, const ValuePtr&) {
          keys.push_back(k);
          return keys.size() < 2;
        });
        return keys;
      },
      [&](const Json& d) { last = d; });
  EXPECT_EQ(last, (Json{"s/1", "s/3"}));
  put("s/2", 0);  // inside what the scan read: the result changes
  EXPECT_EQ(last, (Json{"s/1", "s/2"}));
  put("s/0", 0);
  EXPECT_EQ(last, (Json{"s/0", "s/1"}));
  EXPECT_EQ(runs, 3);
}

TEST_F(SubscriptionTest, IsEmptyDependsOnAnyKey) {
  std::vector<Json> data;
  r.subscribe([](ReadTransaction& tx) { return Json(tx.isEmpty()); }, [&](const Json& d) { data.push_back(d); });
  put("zzz", 1);
  del("zzz");
  put("\xe6\x97\xa5", 1);
  EXPECT_EQ(data, (std::vector<Json>{true, false, true, false}));
}

// Callbacks may mutate (Replica::notify says so). A watcher that mirrors the
// state from its diffs must then still end up with the real state: diffs
// have to arrive in commit order, not the nested commit's diff first.
TEST_F(SubscriptionTest, MutationFromACallbackKeepsWatchDiffsInOrder) {
  std::map<std::string, Json> mirror;
  r.watch("k/", [&](const std::vector<Replica::DiffOp>& diff) {
    for (const auto& d : diff) {
      if (d.op == Op::kDel) {
        mirror.erase(d.key);
      } else {
        // A diff must start from what the watcher saw last.
        if (d.op == Op::kAdd) {
          EXPECT_EQ(mirror.count(d.key), 0u) << "add of a key the watcher has: " << d.key;
        }
        if (d.op == Op::kChange) {
          EXPECT_EQ(mirror.count(d.key), 1u) << "change of a key the watcher lacks: " << d.key;
          if (mirror.count(d.key)) {
            EXPECT_EQ(mirror[d.key], d.oldValue->json()) << d.key;
          }
        }
        mirror[d.key] = d.newValue->json();
      }
    }
  });
  // A subscription that reacts to k/a = 1 by setting k/a = 2.
  r.subscribe([](ReadTransaction& tx) {
        ValuePtr v = tx.get("k/a");
        return v ? v->json() : Json();
      },
      [&](const Json& d) {
        if (d == 1) put("k/a", 2);
      });
  put("k/a", 1);
  EXPECT_EQ(Get(r, "k/a"), 2);
  std::map<std::string, Json> expected = {{"k/a", 2}};
  EXPECT_EQ(mirror, expected);
}

// --- Watches -------------------------------------------------------------------------------

struct Seen {
  Op op;
  std::string key;
  Json oldValue, newValue;
  bool operator==(const Seen& o) const {
    return op == o.op && key == o.key && oldValue == o.oldValue && newValue == o.newValue;
  }
};
std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << int(s.op) << " " << s.key << " " << s.oldValue.dump() << "->" << s.newValue.dump();
}
std::vector<Seen> Conv(const std::vector<Replica::DiffOp>& d) {
  std::vector<Seen> out;
  for (const auto& op : d) {
    out.push_back({op.op, op.key, op.oldValue ? op.oldValue->json() : Json("<none>"),
                   op.newValue ? op.newValue->json() : Json("<none>")});
  }
  return out;
}
const Json kNone = "<none>";

TEST_F(SubscriptionTest, WatchReportsAddDelChange) {
  put("w/change", 1);
  put("w/del", 2);
  put("x/other", 3);
  std::vector<std::vector<Seen>> calls;
  uint64_t id = r.watch("w/", [&](const std::vector<Replica::DiffOp>& d) { calls.push_back(Conv(d)); });
  EXPECT_TRUE(calls.empty());  // no initial call without initialValuesInFirstDiff

  r.registerMutator("batch", [](WriteTransaction& tx, const Json&) {
    tx.set("w/add", Json("new"));
    tx.set("w/change", Json(10));
    tx.del("w/del");
    tx.set("x/other", Json(4));
    tx.set("w/tmp", Json(1));  // added and removed within one mutation
    tx.del("w/tmp");
    return Json();
  });
  r.mutate("batch", nullptr, 0);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::vector<Seen>{{Op::kAdd, "w/add", kNone, "new"},
                                         {Op::kChange, "w/change", 1, 10},
                                         {Op::kDel, "w/del", 2, kNone}}));

  put("x/other", 5);  // unchanged prefix: no call
  put("w/add", "new");  // equal value: no call
  put("w", 1);        // not under "w/"
  EXPECT_EQ(calls.size(), 1u);

  // A rebase reports the difference between the old and new visible state.
  auto o = r.applyPull(Pull(1, {}, {PutOp("w/server", true), PutOp("w/change", 99)}), nullptr);
  ASSERT_EQ(o.kind, PullOutcome::Kind::kApplied);
  ASSERT_EQ(calls.size(), 2u);
  // w/change is 10 locally before and after (the pending mutation replays).
  EXPECT_EQ(calls[1], (std::vector<Seen>{{Op::kAdd, "w/server", kNone, true}}));

  r.unwatch(id);
  put("w/after", 1);
  EXPECT_EQ(calls.size(), 2u);
}

TEST_F(SubscriptionTest, WatchInitialValues) {
  put("p/1", "one");
  put("p/2", "two");
  put("q/1", "other");
  std::vector<std::vector<Seen>> calls;
  r.watch("p/", [&](const std::vector<Replica::DiffOp>& d) { calls.push_back(Conv(d)); }, true);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::vector<Seen>{{Op::kAdd, "p/1", kNone, "one"}, {Op::kAdd, "p/2", kNone, "two"}}));
  put("p/1", "uno");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1], (std::vector<Seen>{{Op::kChange, "p/1", "one", "uno"}}));

  // Even when there is nothing under the prefix, the first call comes.
  std::vector<std::vector<Seen>> empty;
  r.watch("none/", [&](const std::vector<Replica::DiffOp>& d) { empty.push_back(Conv(d)); }, true);
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_TRUE(empty[0].empty());

  // The empty prefix watches everything.
  std::vector<std::vector<Seen>> all;
  r.watch("", [&](const std::vector<Replica::DiffOp>& d) { all.push_back(Conv(d)); });
  put("zz", 1);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], (std::vector<Seen>{{Op::kAdd, "zz", kNone, 1}}));
}

TEST_F(SubscriptionTest, WatchOnClearPatch) {
  r.applyPull(Pull(1, {}, {PutOp("k/1", 1), PutOp("k/2", 2), PutOp("j", 0)}), nullptr);
  std::vector<std::vector<Seen>> calls;
  r.watch("k/", [&](const std::vector<Replica::DiffOp>& d) { calls.push_back(Conv(d)); });
  r.applyPull(Pull(2, {}, {ClearOp(), PutOp("k/2", 2), PutOp("k/3", 3)}), 1);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::vector<Seen>{{Op::kDel, "k/1", 1, kNone}, {Op::kAdd, "k/3", kNone, 3}}));
}

}  // namespace
}  // namespace replicore
