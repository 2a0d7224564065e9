// The local state's storage: values, the layered map, views, scans in UTF-8
// byte order, transactions, and read sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "replicore/change_set.h"
#include "replicore/layered_map.h"
#include "replicore/transaction.h"
#include "replicore/value.h"
#include "support/recording_value_host.h"
#include "support/test_util.h"

namespace replicore {
namespace {

using testing::KeysOf;
using testing::Prefix;
using testing::RecordingValueHost;
using testing::V;
using Keys = std::vector<std::string>;

// --- Value -------------------------------------------------------------------

TEST(Value, IdsAreUniqueAndNonZero) {
  std::set<uint64_t> ids;
  for (int i = 0; i < 1000; ++i) {
    ValuePtr v = Value::make(Json(i));
    EXPECT_NE(v->id(), 0u);
    ids.insert(v->id());
    EXPECT_EQ(v->json(), Json(i));
  }
  EXPECT_EQ(ids.size(), 1000u);
  // Equal JSON made twice is still two values.
  EXPECT_NE(Value::make(Json("x"))->id(), Value::make(Json("x"))->id());
}

TEST(Value, SameValue) {
  EXPECT_TRUE(sameValue(nullptr, nullptr));
  EXPECT_FALSE(sameValue(V(1), nullptr));
  EXPECT_FALSE(sameValue(nullptr, V(1)));
  EXPECT_TRUE(sameValue(V(Json{{"a", 1}}), V(Json{{"a", 1}})));
  EXPECT_FALSE(sameValue(V(Json{{"a", 1}}), V(Json{{"a", 2}})));
  // A present null is not an absent value.
  EXPECT_FALSE(sameValue(V(nullptr), nullptr));
  EXPECT_TRUE(sameValue(V(nullptr), V(nullptr)));
}

TEST(Value, HostHeldValueFetchesItsTextOnceAndReportsItsRelease) {
  RecordingValueHost host;
  ValuePtr v = Value::fromHost(&host);
  host.texts[v->id()] = R"({"a":[1,2]})";
  EXPECT_TRUE(v->heldByHost());
  EXPECT_EQ(v->textIfAny(), nullptr);
  EXPECT_EQ(v->parsedIfAny(), nullptr);
  EXPECT_TRUE(host.fetched.empty()) << "nothing is fetched until a reader asks";

  EXPECT_EQ(v->json(), Json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(v->text(), R"({"a":[1,2]})");
  EXPECT_EQ(host.fetched, std::vector<uint64_t>{v->id()});

  uint64_t id = v->id();
  ValuePtr copy = v;
  v.reset();
  EXPECT_TRUE(host.releasedIDs.empty()) << "released only when the last holder lets go";
  copy.reset();
  EXPECT_EQ(host.releasedIDs, std::vector<uint64_t>{id});
  EXPECT_FALSE(Value::fromText("1")->heldByHost());
}

TEST(Value, SameValueDoesNotFetchHostTexts) {
  RecordingValueHost host;
  ValuePtr a = Value::fromHost(&host), b = Value::fromHost(&host);
  host.texts[a->id()] = host.texts[b->id()] = "[1]";
  EXPECT_TRUE(sameValue(a, a));
  EXPECT_EQ(host.equalCalls.size(), 0u);
  EXPECT_TRUE(sameValue(a, b)) << "the host compares its own values";
  EXPECT_EQ(host.equalCalls.size(), 1u);
  host.texts[b->id()] = "[2]";
  EXPECT_FALSE(sameValue(a, b));
  EXPECT_FALSE(sameValue(a, V(Json::array({1})))) << "unfetched: not compared with other kinds";
  EXPECT_TRUE(host.fetched.empty());
  host.texts[b->id()] = "[1]";
  // Once both texts are known, they compare like any other value.
  a->text();
  b->text();
  EXPECT_TRUE(sameValue(a, b));
  EXPECT_TRUE(sameValue(a, Value::fromText("[1]")));
}

// --- LayeredView over a base ---------------------------------------------------

// Keys in UTF-8 byte order, written out by hand: bytes compare unsigned, so
// every non-ASCII key (lead byte >= 0xC2) sorts after "~" (0x7E) and DEL.
const Keys kSortedKeys = {
    std::string("a"),
    std::string("a\0b", 3),  // embedded NUL sorts right after its prefix
    std::string("a/1"),
    std::string("b"),
    std::string("z"),
    std::string("~"),
    std::string("\x7f"),
    std::string("\xc3\xa9"),          // é  U+00E9
    std::string("\xc3\xbf"),          // ÿ  U+00FF
    std::string("\xe6\x97\xa5\xe6\x9c\xac"),  // 日本
    std::string("\xf0\x9f\x98\x80"),  // 😀 U+1F600
};

BaseMap MakeBase(const Keys& keys) {
  BaseMap base;
  for (size_t i = 0; i < keys.size(); ++i) base.emplace(keys[i], V(Json(static_cast<int>(i))));
  return base;
}

TEST(LayeredView, ScanOrderIsUtf8ByteOrder) {
  // Insert in reverse so order cannot come from insertion.
  Keys reversed(kSortedKeys.rbegin(), kSortedKeys.rend());
  BaseMap base;
  for (const auto& k : reversed) base.emplace(k, V(k));
  LayeredView view(&base, {});
  EXPECT_EQ(KeysOf(view), kSortedKeys);

  // The same order when every key lives in a layer instead.
  BaseMap empty;
  Layer layer;
  for (const auto& k : reversed) layer.put(k, V(k));
  LayeredView layered(&empty, {&layer});
  EXPECT_EQ(KeysOf(layered), kSortedKeys);

  // And mixed: odd keys in the base, even keys in a layer.
  BaseMap half;
  Layer other;
  for (size_t i = 0; i < kSortedKeys.size(); ++i) {
    if (i % 2) half.emplace(kSortedKeys[i], V(1));
    else other.put(kSortedKeys[i], V(2));
  }
  EXPECT_EQ(KeysOf(LayeredView(&half, {&other})), kSortedKeys);
}

TEST(LayeredView, GetAndEmpty) {
  BaseMap base = MakeBase(kSortedKeys);
  LayeredView view(&base, {});
  EXPECT_FALSE(view.empty());
  for (size_t i = 0; i < kSortedKeys.size(); ++i) {
    ValuePtr v = view.get(kSortedKeys[i]);
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(v->json(), Json(static_cast<int>(i)));
  }
  EXPECT_EQ(view.get(std::string("a\0", 2)), nullptr);  // differs from "a\0b" and "a"
  EXPECT_EQ(view.get(""), nullptr);
  EXPECT_EQ(view.get("c"), nullptr);

  BaseMap none;
  EXPECT_TRUE(LayeredView(&none, {}).empty());
  Layer empty;
  EXPECT_TRUE(LayeredView(&none, {&empty}).empty());
}

TEST(LayeredView, ScanPrefix) {
  BaseMap base;
  for (const char* k : {"a", "a/", "a/1", "a/2", "a/2/x", "a0", "b/1", "\xc3\xa9/1", "\xc3\xa9/2"})
    base.emplace(k, V(k));
  LayeredView view(&base, {});
  EXPECT_EQ(KeysOf(view, Prefix("a/")), (Keys{"a/", "a/1", "a/2", "a/2/x"}));
  EXPECT_EQ(KeysOf(view, Prefix("a")), (Keys{"a", "a/", "a/1", "a/2", "a/2/x", "a0"}));
  EXPECT_EQ(KeysOf(view, Prefix("\xc3\xa9/")), (Keys{"\xc3\xa9/1", "\xc3\xa9/2"}));
  // A prefix of a multi-byte character's first byte still selects by bytes.
  EXPECT_EQ(KeysOf(view, Prefix("\xc3")), (Keys{"\xc3\xa9/1", "\xc3\xa9/2"}));
  EXPECT_TRUE(KeysOf(view, Prefix("c")).empty());
  EXPECT_TRUE(KeysOf(view, Prefix("a/3")).empty());
}

TEST(LayeredView, ScanStartKeyAndLimit) {
  BaseMap base;
  for (const char* k : {"a/1", "a/2", "a/3", "a/4", "b/1", "b/2"}) base.emplace(k, V(k));
  LayeredView view(&base, {});

  ScanOptions o;
  o.startKey = "a/2";
  EXPECT_EQ(KeysOf(view, o), (Keys{"a/2", "a/3", "a/4", "b/1", "b/2"}));
  o.startExclusive = true;
  EXPECT_EQ(KeysOf(view, o), (Keys{"a/3", "a/4", "b/1", "b/2"}));
  // A start key that does not exist: exclusive or not, starts at the next key.
  o.startKey = "a/25";
  EXPECT_EQ(KeysOf(view, o), (Keys{"a/3", "a/4", "b/1", "b/2"}));
  o.startExclusive = false;
  EXPECT_EQ(KeysOf(view, o), (Keys{"a/3", "a/4", "b/1", "b/2"}));

  // Start + prefix + limit together.
  ScanOptions p = Prefix("a/");
  p.startKey = "a/2";
  p.startExclusive = true;
  p.limit = 1;
  EXPECT_EQ(KeysOf(view, p), (Keys{"a/3"}));
  p.limit = 10;
  EXPECT_EQ(KeysOf(view, p), (Keys{"a/3", "a/4"}));
  p.limit = 0;
  EXPECT_TRUE(KeysOf(view, p).empty());

  // A start key before the prefix starts at the prefix; after it, nothing.
  ScanOptions q = Prefix("b/");
  q.startKey = "a";
  EXPECT_EQ(KeysOf(view, q), (Keys{"b/1", "b/2"}));
  q.startKey = "c";
  EXPECT_TRUE(KeysOf(view, q).empty());
}

TEST(LayeredView, ScanReturnsVisitedCountAndStopsWhenAsked) {
  BaseMap base = MakeBase(kSortedKeys);
  LayeredView view(&base, {});
  size_t calls = 0;
  size_t n = view.scan({}, [&](const std::string&, const ValuePtr&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3u);
  EXPECT_EQ(n, 3u);
  ScanOptions lim;
  lim.limit = 4;
  calls = 0;
  n = view.scan(lim, [&](const std::string&, const ValuePtr&) { ++calls; return true; });
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(n, 4u);
}

TEST(LayeredView, LayersOverrideAndTombstonesHide) {
  BaseMap base;
  for (const char* k : {"a", "b", "c", "d"}) base.emplace(k, V(std::string("base-") + k));
  Layer l1;
  l1.put("b", V("l1-b"));
  l1.erase("c");
  l1.put("e", V("l1-e"));
  Layer l2;
  l2.put("c", V("l2-c"));  // a tombstone below, a value above
  l2.erase("e");
  l2.erase("zz");  // deleting what never existed
  LayeredView view(&base, {&l1, &l2});
  EXPECT_EQ(view.get("a")->json(), "base-a");
  EXPECT_EQ(view.get("b")->json(), "l1-b");
  EXPECT_EQ(view.get("c")->json(), "l2-c");
  EXPECT_EQ(view.get("e"), nullptr);
  EXPECT_EQ(view.get("zz"), nullptr);
  EXPECT_EQ(KeysOf(view), (Keys{"a", "b", "c", "d"}));

  std::vector<std::string> values;
  view.scan({}, [&](const std::string&, const ValuePtr& v) {
    EXPECT_NE(v, nullptr);
    values.push_back(v->json().get<std::string>());
    return true;
  });
  EXPECT_EQ(values, (Keys{"base-a", "l1-b", "l2-c", "base-d"}));

  // Only l1: c is deleted.
  EXPECT_EQ(KeysOf(LayeredView(&base, {&l1})), (Keys{"a", "b", "d", "e"}));

  // Tombstones of every key: empty.
  Layer all;
  for (const char* k : {"a", "b", "c", "d"}) all.erase(k);
  LayeredView gone(&base, {&all});
  EXPECT_TRUE(gone.empty());
  EXPECT_TRUE(KeysOf(gone).empty());
  // Tombstones count against nothing: a limit counts only visible entries.
  ScanOptions lim;
  lim.limit = 2;
  EXPECT_EQ(KeysOf(LayeredView(&base, {&l1, &l2}), lim), (Keys{"a", "b"}));
  Layer firstTwoGone;
  firstTwoGone.erase("a");
  firstTwoGone.erase("b");
  EXPECT_EQ(KeysOf(LayeredView(&base, {&firstTwoGone}), lim), (Keys{"c", "d"}));
}

TEST(LayeredView, HidingLayerHidesEverythingBelow) {
  BaseMap base;
  for (const char* k : {"a", "b", "c"}) base.emplace(k, V(k));
  Layer low;
  low.put("d", V("d"));
  Layer clear;
  clear.clear();
  EXPECT_TRUE(clear.hidesBelow);
  EXPECT_FALSE(clear.empty());
  clear.put("b", V("new-b"));
  Layer top;
  top.put("e", V("e"));

  LayeredView view(&base, {&low, &clear, &top});
  EXPECT_EQ(KeysOf(view), (Keys{"b", "e"}));
  EXPECT_EQ(view.get("a"), nullptr);
  EXPECT_EQ(view.get("d"), nullptr);
  EXPECT_EQ(view.get("b")->json(), "new-b");
  EXPECT_FALSE(view.empty());

  Layer onlyClear;
  onlyClear.clear();
  EXPECT_TRUE(LayeredView(&base, {&onlyClear}).empty());
  // clear() drops the layer's own earlier writes too.
  Layer l;
  l.put("x", V(1));
  l.clear();
  EXPECT_TRUE(l.writes.empty());
  EXPECT_TRUE(LayeredView(&base, {&l}).empty());
}

TEST(Layer, AbsorbAndApply) {
  Layer lower;
  lower.put("a", V(1));
  lower.put("b", V(2));
  lower.erase("c");
  Layer upper;
  upper.put("b", V(20));
  upper.erase("a");
  upper.put("d", V(4));
  lower.absorb(std::move(upper));
  EXPECT_TRUE(upper.empty()) << "absorb consumes the upper layer";
  BaseMap base;
  base.emplace("c", V(3));
  base.emplace("e", V(5));
  LayeredView view(&base, {&lower});
  EXPECT_EQ(KeysOf(view), (Keys{"b", "d", "e"}));
  EXPECT_EQ(view.get("b")->json(), 20);

  applyLayer(base, std::move(lower));
  EXPECT_TRUE(lower.empty()) << "applyLayer consumes the layer";
  EXPECT_EQ(base.size(), 3u);
  EXPECT_EQ(base.count("c"), 0u);
  EXPECT_EQ(base.at("b")->json(), 20);
  EXPECT_EQ(base.at("d")->json(), 4);
  EXPECT_EQ(base.at("e")->json(), 5);
  // applyLayer keeps no tombstones.
  for (const auto& [k, v] : base) EXPECT_NE(v, nullptr) << k;

  // Absorbing a hiding layer hides what was below.
  Layer hider;
  hider.clear();
  hider.put("z", V(26));
  Layer target;
  target.put("q", V(1));
  target.absorb(std::move(hider));
  EXPECT_TRUE(target.hidesBelow);
  applyLayer(base, std::move(target));
  EXPECT_TRUE(target.empty());
  ASSERT_EQ(base.size(), 1u);
  EXPECT_EQ(base.at("z")->json(), 26);
}

TEST(Layer, AbsorbIntoAnEmptyLayerTakesTheWritesAndTheHiding) {
  Layer upper;
  upper.put("a", V(1));
  upper.erase("b");
  Layer empty;
  empty.absorb(std::move(upper));
  EXPECT_FALSE(empty.hidesBelow);
  ASSERT_EQ(empty.writes.size(), 2u);
  EXPECT_EQ(empty.writes.at("a")->json(), 1);
  EXPECT_EQ(empty.writes.at("b"), nullptr);
  // An empty layer that hides keeps hiding after absorbing plain writes.
  Layer cleared;
  cleared.clear();
  Layer more;
  more.put("c", V(3));
  cleared.absorb(std::move(more));
  EXPECT_TRUE(cleared.hidesBelow);
  EXPECT_EQ(cleared.writes.size(), 1u);
}

TEST(Layer, ApplyKeepsValuePointers) {
  BaseMap base;
  ValuePtr a = V("a");
  base.emplace("a", a);
  Layer l;
  ValuePtr b = V("b");
  l.put("b", b);
  applyLayer(base, std::move(l));
  EXPECT_EQ(base.at("a").get(), a.get());
  EXPECT_EQ(base.at("b").get(), b.get());
}

// --- Transactions --------------------------------------------------------------

TEST(ReadTransaction, ReadsAndScanForms) {
  BaseMap base;
  base.emplace("a/1", V(Json{{"n", 1}}));
  base.emplace("a/2", V(Json{{"n", 2}}));
  base.emplace("b", V("bee"));
  ReadTransaction tx(LayeredView(&base, {}), nullptr);
  EXPECT_TRUE(tx.has("a/1"));
  EXPECT_FALSE(tx.has("a/3"));
  EXPECT_EQ(tx.get("b")->json(), "bee");
  EXPECT_FALSE(tx.isEmpty());
  ScanOptions a = Prefix("a/");
  EXPECT_EQ(tx.scanKeys(a), (Json{"a/1", "a/2"}));
  EXPECT_EQ(tx.scanValues(a), (Json{Json{{"n", 1}}, Json{{"n", 2}}}));
  EXPECT_EQ(tx.scanEntries(a), Json::parse(R"([["a/1",{"n":1}],["a/2",{"n":2}]])"));
  std::vector<Entry> entries = tx.scan(a);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].key, "a/2");
  EXPECT_EQ(entries[1].value.get(), base.at("a/2").get());  // no copy
  size_t seen = 0;
  EXPECT_EQ(tx.scanEach({}, [&](const std::string&, const ValuePtr&) { return ++seen < 2; }), 2u);

  BaseMap none;
  ReadTransaction empty(LayeredView(&none, {}), nullptr);
  EXPECT_TRUE(empty.isEmpty());
  EXPECT_EQ(empty.scanKeys({}), Json::array());
  EXPECT_EQ(empty.scanEntries({}), Json::array());
}

TEST(WriteTransaction, SetsEveryJsonTypeAndReadsOwnWrites) {
  BaseMap base;
  base.emplace("old", V("o"));
  base.emplace("gone", V("g"));
  Layer own;
  WriteTransaction tx(LayeredView(&base, {&own}), &own, "c1", 7, MutationReason::kInitial);
  EXPECT_EQ(tx.clientID(), "c1");
  EXPECT_EQ(tx.mutationID(), 7u);
  EXPECT_EQ(tx.reason(), MutationReason::kInitial);
  EXPECT_STREQ(reasonName(MutationReason::kInitial), "initial");
  EXPECT_STREQ(reasonName(MutationReason::kRebase), "rebase");

  const std::vector<std::pair<std::string, Json>> values = {
      {"null", nullptr},
      {"true", true},
      {"false", false},
      {"int", 42},
      {"neg", -7},
      {"float", 1.5},
      {"str", "h\xc3\xa9llo"},
      {"empty", ""},
      {"arr", Json::array({1, "two", nullptr})},
      {"obj", Json{{"a", Json{{"b", Json::array()}}}}},
      {"emptyobj", Json::object()},
  };
  for (const auto& [k, v] : values) tx.set(k, v);
  for (const auto& [k, v] : values) {
    ASSERT_TRUE(tx.has(k)) << k;  // a null value is present
    EXPECT_EQ(tx.get(k)->json(), v) << k;
  }
  EXPECT_EQ(tx.get("old")->json(), "o");
  tx.set("old", Json("new"));
  EXPECT_EQ(tx.get("old")->json(), "new");

  EXPECT_TRUE(tx.del("gone"));
  EXPECT_FALSE(tx.has("gone"));
  EXPECT_FALSE(tx.del("gone"));      // already deleted in this transaction
  EXPECT_FALSE(tx.del("never"));     // never existed
  EXPECT_TRUE(tx.del("null"));       // a present null value existed
  EXPECT_FALSE(tx.has("null"));
  tx.set("gone", Json(1));           // set after delete
  EXPECT_EQ(tx.get("gone")->json(), 1);

  // Scans in the transaction see its writes merged in key order.
  Json keys = tx.scanKeys({});
  std::vector<std::string> got;
  for (const auto& k : keys) got.push_back(k.get<std::string>());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(got.size(), values.size() - 1 + 2);  // minus "null", plus "old", "gone"
  EXPECT_EQ(std::count(got.begin(), got.end(), "null"), 0);

  // The base is untouched: every write went to the transaction's layer.
  EXPECT_EQ(base.size(), 2u);
  EXPECT_EQ(base.at("old")->json(), "o");
  EXPECT_EQ(base.count("gone"), 1u);
  EXPECT_EQ(own.writes.at("old")->json(), "new");

  // A shared value is stored as is.
  ValuePtr shared = V(Json{{"big", 1}});
  tx.set("shared", shared);
  EXPECT_EQ(tx.get("shared").get(), shared.get());
}

TEST(WriteTransaction, DeleteEverythingThenEmpty) {
  BaseMap base;
  base.emplace("a", V(1));
  Layer own;
  WriteTransaction tx(LayeredView(&base, {&own}), &own, "c", 1, MutationReason::kRebase);
  EXPECT_FALSE(tx.isEmpty());
  EXPECT_TRUE(tx.del("a"));
  EXPECT_TRUE(tx.isEmpty());
  tx.set("b", Json(2));
  EXPECT_FALSE(tx.isEmpty());
}

// --- ReadSet ---------------------------------------------------------------------

ChangeSet Changed(std::initializer_list<const char*> keys) {
  ChangeSet c;
  for (const char* k : keys) c[k] = Change{nullptr, V(1)};
  return c;
}

TEST(ReadSet, KeysAndRanges) {
  ReadSet rs;
  EXPECT_FALSE(rs.affectedBy(Changed({"a"})));
  rs.addKey("k");
  EXPECT_TRUE(rs.affectedByKey("k"));
  EXPECT_FALSE(rs.affectedByKey("k2"));
  EXPECT_TRUE(rs.affectedBy(Changed({"a", "k"})));
  EXPECT_FALSE(rs.affectedBy(Changed({"a", "j", "l"})));
  EXPECT_FALSE(rs.affectedBy(ChangeSet{}));

  // An unlimited scan of a prefix: any key with the prefix.
  rs.addScan(Prefix("p/"), std::nullopt);
  EXPECT_TRUE(rs.affectedByKey("p/"));
  EXPECT_TRUE(rs.affectedByKey("p/zzz"));
  EXPECT_FALSE(rs.affectedByKey("p"));
  EXPECT_FALSE(rs.affectedByKey("q/1"));

  // A limited scan that stopped at "r/5": keys from the start to r/5.
  ScanOptions lim = Prefix("r/");
  lim.startKey = "r/2";
  lim.limit = 3;
  rs.addScan(lim, std::string("r/5"));
  EXPECT_FALSE(rs.affectedByKey("r/1"));
  EXPECT_TRUE(rs.affectedByKey("r/2"));
  EXPECT_TRUE(rs.affectedByKey("r/3"));
  EXPECT_TRUE(rs.affectedByKey("r/5"));
  EXPECT_FALSE(rs.affectedByKey("r/6"));

  ScanOptions ex = Prefix("s/");
  ex.startKey = "s/2";
  ex.startExclusive = true;
  rs.addScan(ex, std::nullopt);
  EXPECT_FALSE(rs.affectedByKey("s/2"));
  EXPECT_TRUE(rs.affectedByKey("s/20"));
  EXPECT_TRUE(rs.affectedByKey("s/3"));

  rs.clear();
  EXPECT_FALSE(rs.affectedByKey("k"));
  EXPECT_FALSE(rs.affectedByKey("p/x"));
}

TEST(ReadSet, ReadTransactionRecordsWhatItReads) {
  BaseMap base;
  for (const char* k : {"a/1", "a/2", "a/3", "b"}) base.emplace(k, V(k));
  ReadSet rs;
  ReadTransaction tx(LayeredView(&base, {}), &rs);
  tx.get("b");
  tx.has("missing");
  ScanOptions o = Prefix("a/");
  o.limit = 2;
  tx.scan(o);
  EXPECT_TRUE(rs.affectedByKey("b"));
  EXPECT_TRUE(rs.affectedByKey("missing"));  // a miss is a read too
  EXPECT_TRUE(rs.affectedByKey("a/1"));
  EXPECT_TRUE(rs.affectedByKey("a/15"));
  EXPECT_TRUE(rs.affectedByKey("a/2"));
  EXPECT_FALSE(rs.affectedByKey("a/3"));  // after the last key of a cut-short scan
  EXPECT_FALSE(rs.affectedByKey("c"));

  // isEmpty depends on every key.
  ReadSet rs2;
  ReadTransaction tx2(LayeredView(&base, {}), &rs2);
  tx2.isEmpty();
  EXPECT_TRUE(rs2.affectedByKey("a/1"));
}

}  // namespace
}  // namespace replicore
