// Secondary indexes (core/index.h): the JSON pointer rules, index scans and
// their options, and that the index stays exactly what the visible values
// give through mutations, pulls (put, del, clear), rebases, restores and
// lazy opens. A randomized run checks every scan against an index rebuilt
// from scratch.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "replicore/index.h"
#include "replicore/replica.h"
#include "support/recording_value_host.h"
#include "support/replica_util.h"

namespace replicore {
namespace {

using namespace replicore::testing;
using Kind = PullOutcome::Kind;
using Keys = std::vector<std::string>;

Keys KeysAt(const std::string& json, const std::string& pointer) { return secondaryKeysOf(json, pointer); }

TEST(SecondaryKeys, PointerForms) {
  EXPECT_EQ(KeysAt(R"("whole")", ""), Keys{"whole"});
  EXPECT_EQ(KeysAt(R"({"a":"x"})", "/a"), Keys{"x"});
  EXPECT_EQ(KeysAt(R"({"a":{"b":"deep"}})", "/a/b"), Keys{"deep"});
  EXPECT_EQ(KeysAt(R"({"a":["p","q"]})", "/a/1"), Keys{"q"});
  EXPECT_EQ(KeysAt(R"({"":"empty name"})", "/"), Keys{"empty name"});
  EXPECT_EQ(KeysAt(R"({ "a" : { "b" : "spaced" } })", "/a/b"), Keys{"spaced"});
  // A member given twice: the last one, as JSON.parse keeps.
  EXPECT_EQ(KeysAt(R"({"a":"first","a":"last"})", "/a"), Keys{"last"});
  // Escaped strings are decoded.
  EXPECT_EQ(KeysAt(R"({"a":"\u00e9\n"})", "/a"), Keys{"\xC3\xA9\n"});
}

TEST(SecondaryKeys, Escapes) {
  EXPECT_EQ(KeysAt(R"({"a/b":"slash"})", "/a~1b"), Keys{"slash"});
  EXPECT_EQ(KeysAt(R"({"m~n":"tilde"})", "/m~0n"), Keys{"tilde"});
  // "~01" is "~1" (not "/"): ~1 is replaced first, then ~0.
  EXPECT_EQ(KeysAt(R"({"~1":"yes","/":"no"})", "/~01"), Keys{"yes"});
  EXPECT_EQ(KeysAt(R"({"/0":"yes"})", "/~10"), Keys{"yes"});
  EXPECT_EQ(KeysAt(R"({"a":{"~/":"both"}})", "/a/~0~1"), Keys{"both"});
}

TEST(SecondaryKeys, ArraysGiveOneKeyPerString) {
  EXPECT_EQ(KeysAt(R"({"tags":["b","a","b"]})", "/tags"), (Keys{"a", "b"}));
  EXPECT_EQ(KeysAt(R"(["x","y"])", ""), (Keys{"x", "y"}));
  EXPECT_TRUE(KeysAt(R"({"tags":[]})", "/tags").empty());
  // One element that is not a string: the value is not indexed at all.
  EXPECT_TRUE(KeysAt(R"({"tags":["a",1]})", "/tags").empty());
  EXPECT_TRUE(KeysAt(R"({"tags":["a",["b"]]})", "/tags").empty());
}

TEST(SecondaryKeys, NothingIndexable) {
  EXPECT_TRUE(KeysAt(R"({"a":1})", "/a").empty());
  EXPECT_TRUE(KeysAt(R"({"a":null})", "/a").empty());
  EXPECT_TRUE(KeysAt(R"({"a":true})", "/a").empty());
  EXPECT_TRUE(KeysAt(R"({"a":{"b":"c"}})", "/a").empty());
  EXPECT_TRUE(KeysAt(R"({"a":"x"})", "/b").empty());
  EXPECT_TRUE(KeysAt(R"({"a":"x"})", "/a/b").empty());
  EXPECT_TRUE(KeysAt(R"(null)", "/a").empty());
  EXPECT_TRUE(KeysAt(R"(42)", "").empty());
  // Not a pointer (no leading slash): Replicache throws and indexes nothing.
  EXPECT_TRUE(KeysAt(R"({"a":"x"})", "a").empty());
  // A NUL in a secondary key is refused.
  EXPECT_TRUE(KeysAt(R"({"a":"x\u0000y"})", "/a").empty());
  EXPECT_TRUE(KeysAt(R"({"a":["ok","x\u0000y"]})", "/a").empty());
}

TEST(SecondaryKeys, ArrayPositionsAsReplicacheParsesThem) {
  const std::string v = R"({"a":["zero","one","two"]})";
  EXPECT_EQ(KeysAt(v, "/a/0"), Keys{"zero"});
  EXPECT_EQ(KeysAt(v, "/a/2"), Keys{"two"});
  EXPECT_TRUE(KeysAt(v, "/a/3").empty());
  EXPECT_TRUE(KeysAt(v, "/a/01").empty());  // a leading zero
  EXPECT_TRUE(KeysAt(v, "/a/+1").empty());  // a sign
  EXPECT_TRUE(KeysAt(v, "/a/-1").empty());
  EXPECT_TRUE(KeysAt(v, "/a/x").empty());
  EXPECT_TRUE(KeysAt(v, "/a/").empty());
  // parseInt reads the leading digits.
  EXPECT_EQ(KeysAt(v, "/a/1x"), Keys{"one"});
  EXPECT_EQ(KeysAt(v, "/a/-0"), Keys{"zero"});
}

// --- Replica-level -----------------------------------------------------------------

IndexDefinition Def(std::string name, std::string pointer, std::string prefix = "", bool allowEmpty = false) {
  IndexDefinition d;
  d.name = std::move(name);
  d.jsonPointer = std::move(pointer);
  d.prefix = std::move(prefix);
  d.allowEmpty = allowEmpty;
  return d;
}

ReplicaOptions IndexedOptions(std::vector<IndexDefinition> defs, std::string clientID = "c1") {
  ReplicaOptions o = Options(std::move(clientID));
  o.indexes = std::move(defs);
  return o;
}

// [[secondary, primary, value], ...] of an index scan.
Json Scan(ReadTransaction& tx, const std::string& name, const IndexScanOptions& o = {}) {
  Json out = Json::array();
  for (auto& [key, value] : tx.scanIndex(name, o)) out.push_back(Json::array({key.secondary, key.primary, value->json()}));
  return out;
}
Json Scan(const Replica& r, const std::string& name, const IndexScanOptions& o = {}) {
  auto tx = r.read();
  return Scan(*tx, name, o);
}
// Just [[secondary, primary], ...].
Json ScanKeys(const Replica& r, const std::string& name, const IndexScanOptions& o = {}) {
  Json out = Json::array();
  auto tx = r.read();
  for (auto& [key, value] : tx->scanIndex(name, o)) out.push_back(Json::array({key.secondary, key.primary}));
  return out;
}

// The index rebuilt from the visible state, for comparison.
Json Rebuilt(const Replica& r, const IndexDefinition& def) {
  std::map<std::pair<std::string, std::string>, Json> entries;
  auto tx = r.read();
  ScanOptions all;
  all.prefix = def.prefix;
  for (const Entry& e : tx->scan(all)) {
    for (const std::string& s : secondaryKeysOf(e.value->text(), def.jsonPointer)) entries[{s, e.key}] = e.value->json();
  }
  Json out = Json::array();
  for (auto& [k, v] : entries) out.push_back(Json::array({k.first, k.second, v}));
  return out;
}

void Put(Replica& r, const std::string& key, Json value) {
  r.mutate("put", {{"key", key}, {"value", std::move(value)}}, 0);
}

class IndexTest : public ::testing::Test {
 protected:
  IndexTest() : r(IndexedOptions({Def("byName", "/name"), Def("todos", "/tags", "todo/")})) { RegisterBasicMutators(r); }
  Replica r;
};

TEST_F(IndexTest, UnknownIndexName) {
  auto tx = r.read();
  EXPECT_FALSE(tx->indexNumber("nope"));
  EXPECT_EQ(*tx->indexNumber("todos"), 1u);
  EXPECT_THROW(tx->scanIndex("nope", {}), std::invalid_argument);
  Replica plain(Options("c2"));
  EXPECT_EQ(plain.indexes(), nullptr);
  EXPECT_THROW(plain.read()->scanIndex("byName", {}), std::invalid_argument);
}

TEST_F(IndexTest, OrdersBySecondaryThenPrimary) {
  Put(r, "p3", {{"name", "bob"}});
  Put(r, "p1", {{"name", "bob"}});
  Put(r, "p2", {{"name", "al"}});
  Put(r, "p4", {{"name", "bo"}});
  Put(r, "p5", {{"age", 3}});  // nothing at the pointer: not indexed
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["al","p2"],["bo","p4"],["bob","p1"],["bob","p3"]])"));
  // Values are the entries' values.
  EXPECT_EQ(Scan(r, "byName")[0], Json::parse(R"(["al","p2",{"name":"al"}])"));
}

TEST_F(IndexTest, PrefixOfTheDefinitionSelectsPrimaryKeys) {
  Put(r, "todo/1", {{"tags", {"work", "home"}}});
  Put(r, "note/1", {{"tags", {"work"}}});
  Put(r, "todo/2", {{"tags", {"work"}}});
  EXPECT_EQ(ScanKeys(r, "todos"), Json::parse(R"([["home","todo/1"],["work","todo/1"],["work","todo/2"]])"));
}

TEST_F(IndexTest, AllowEmptyChangesNoEntry) {
  Replica a(IndexedOptions({Def("x", "/x", "", true), Def("y", "/x", "", false)}));
  RegisterBasicMutators(a);
  Put(a, "k1", {{"x", "one"}});
  Put(a, "k2", {{"z", 1}});
  Put(a, "k3", {{"x", 5}});
  EXPECT_EQ(ScanKeys(a, "x"), Json::parse(R"([["one","k1"]])"));
  EXPECT_EQ(ScanKeys(a, "y"), ScanKeys(a, "x"));
}

TEST_F(IndexTest, ScanOptions) {
  for (auto [k, n] : std::vector<std::pair<std::string, std::string>>{
           {"a", "x"}, {"b", "x"}, {"c", "xy"}, {"d", "xy"}, {"e", "y"}, {"f", "xz"}}) {
    Put(r, k, {{"name", n}});
  }
  IndexScanOptions o;
  o.prefix = "xy";
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xy","c"],["xy","d"]])"));

  // Start at a secondary key: every entry of it, inclusive.
  o = {};
  o.startSecondary = "xy";
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xy","c"],["xy","d"],["xz","f"],["y","e"]])"));
  // Exclusive without a primary key: the whole secondary key is skipped.
  o.startExclusive = true;
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xz","f"],["y","e"]])"));
  // With a primary key: from that entry; exclusive skips just it.
  o = {};
  o.startSecondary = "xy";
  o.startPrimary = "d";
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xy","d"],["xz","f"],["y","e"]])"));
  o.startExclusive = true;
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xz","f"],["y","e"]])"));
  o.startPrimary = "c0";  // between entries
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xy","d"],["xz","f"],["y","e"]])"));
  // An empty primary key is a primary key (exclusive skips only ("x","")).
  o = {};
  o.startSecondary = "x";
  o.startPrimary = "";
  o.startExclusive = true;
  EXPECT_EQ(ScanKeys(r, "byName", o).size(), 6u);

  // The later of prefix and start wins; the prefix still ends the scan.
  o = {};
  o.prefix = "x";
  o.startSecondary = "xy";
  o.startPrimary = "d";
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xy","d"],["xz","f"]])"));
  o.startSecondary = "a";  // before the prefix: the prefix decides
  EXPECT_EQ(ScanKeys(r, "byName", o).size(), 5u);
  o.startSecondary = "z";  // past the prefix: nothing
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::array());

  o = {};
  o.limit = 3;
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["x","a"],["x","b"],["xy","c"]])"));
  o.startSecondary = "xy";
  o.startExclusive = true;
  o.limit = 1;
  EXPECT_EQ(ScanKeys(r, "byName", o), Json::parse(R"([["xz","f"]])"));
}

TEST_F(IndexTest, MutationsKeepTheIndex) {
  Put(r, "a", {{"name", "n1"}});
  Put(r, "b", {{"name", "n2"}});
  Put(r, "a", {{"name", "n3"}});       // secondary key moves
  Put(r, "b", {{"name", "n2"}, {"v", 2}});  // same key, new value
  EXPECT_EQ(Scan(r, "byName"), Json::parse(R"([["n2","b",{"name":"n2","v":2}],["n3","a",{"name":"n3"}]])"));
  r.mutate("del", {{"key", "b"}}, 0);
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["n3","a"]])"));
  Put(r, "a", {{"other", 1}});  // no longer indexable
  EXPECT_EQ(ScanKeys(r, "byName"), Json::array());
}

TEST_F(IndexTest, MutatorReadsItsOwnWritesThroughTheIndex) {
  Put(r, "a", {{"name", "n1"}});
  Put(r, "b", {{"name", "n2"}});
  Json seen;
  r.registerMutator("shuffle", [&](WriteTransaction& tx, const Json&) {
    tx.set("c", Json{{"name", "n0"}});
    tx.set("c", Json{{"name", "n9"}});  // rewritten in the same transaction
    tx.del("a");
    tx.set("b", Json{{"name", "n5"}});
    seen = Scan(tx, "byName");
    return Json();
  });
  r.mutate("shuffle", nullptr, 0);
  EXPECT_EQ(seen, Json::parse(R"([["n5","b",{"name":"n5"}],["n9","c",{"name":"n9"}]])"));
  EXPECT_EQ(Scan(r, "byName"), seen);
}

TEST_F(IndexTest, FailedMutationLeavesTheIndexAlone) {
  Put(r, "a", {{"name", "n1"}});
  r.registerMutator("bad", [](WriteTransaction& tx, const Json&) -> Json {
    tx.set("z", Json{{"name", "zz"}});
    throw std::runtime_error("no");
  });
  EXPECT_THROW(r.mutate("bad", nullptr, 0), MutationError);
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["n1","a"]])"));
}

TEST_F(IndexTest, PullPatchPutDelClear) {
  auto o = r.applyPull(Pull(1, {}, {PutOp("a", {{"name", "x"}}), PutOp("b", {{"name", "y"}}), PutOp("c", {{"name", "x"}})}),
                       nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["x","a"],["x","c"],["y","b"]])"));
  o = r.applyPull(Pull(2, {}, {DelOp("a"), PutOp("c", {{"name", "w"}}), PutOp("d", {{"name", "v"}})}), 1);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["v","d"],["w","c"],["y","b"]])"));
  o = r.applyPull(Pull(3, {}, {PutOp("q", {{"name", "gone"}}), ClearOp(), PutOp("e", {{"name", "u"}})}), 2);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["u","e"]])"));
  // A merge update (text values) is indexed like a put.
  o = r.applyPull(Pull(4, {}, {UpdateOp("e", Json{{"name", "t"}}, std::nullopt)}), 3);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(Scan(r, "byName"), Json::parse(R"([["t","e",{"name":"t"}]])"));
}

TEST_F(IndexTest, RebaseReplaysOverThePatch) {
  r.applyPull(Pull(1, {}, {PutOp("a", {{"name", "base"}})}), nullptr);
  Put(r, "b", {{"name", "mine"}});     // c1:1
  Put(r, "a", {{"name", "changed"}});  // c1:2
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["changed","a"],["mine","b"]])"));
  // The server confirms 1 and moves a; 2 replays on top of it.
  auto o = r.applyPull(Pull(2, {{"c1", 1}}, {PutOp("b", {{"name", "mine"}}), PutOp("c", {{"name", "server"}})}), 1);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["changed","a"],["mine","b"],["server","c"]])"));
  // The server clears and confirms everything.
  o = r.applyPull(Pull(3, {{"c1", 2}}, {ClearOp(), PutOp("z", {{"name", "only"}})}), 2);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["only","z"]])"));
}

TEST_F(IndexTest, ReplayedMutatorReadsTheIndexOfTheNewState) {
  // A mutator that numbers entries by how many the index has.
  r.registerMutator("count", [](WriteTransaction& tx, const Json&) {
    size_t n = tx.scanIndex("byName", {}).size();
    tx.set("count", Json{{"n", n}});
    return Json();
  });
  Put(r, "a", {{"name", "x"}});
  r.mutate("count", nullptr, 0);
  EXPECT_EQ(Get(r, "count"), Json::parse(R"({"n":1})"));
  // The pull adds two indexed entries under the pending ones.
  auto o = r.applyPull(Pull(1, {}, {PutOp("s1", {{"name", "s"}}), PutOp("s2", {{"name", "s"}})}), nullptr);
  ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
  EXPECT_EQ(Get(r, "count"), Json::parse(R"({"n":3})"));
}

TEST_F(IndexTest, RestoreAndLazyFill) {
  BaseMap base;
  base["a"] = Value::make(Json{{"name", "x"}});
  base["m"] = Value::make(Json{{"name", "y"}});
  r.restore(base, Cookie(Json(1)), {}, {});
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["x","a"],["y","m"]])"));

  // Lazily: the index is unusable until every range is in.
  Unloaded unloaded;
  unloaded.ranges["a"] = Unloaded::Range{std::string("m"), 7};
  unloaded.ranges["m"] = Unloaded::Range{std::nullopt, 8};
  r.restore(BaseMap{}, Cookie(Json(1)), {}, {}, unloaded);
  {
    auto tx = r.read();
    size_t n = tx->scanIndexEach(0, {}, [](const IndexKey&, const ValuePtr&) { return true; });
    EXPECT_EQ(n, 0u);
    ASSERT_TRUE(tx->missed());
    EXPECT_EQ(*tx->missed(), 7u);
    // A primary read after it reports its own miss, not the index's.
    tx->get("zz");
    EXPECT_EQ(tx->missed(), std::optional<uint64_t>(8));
  }
  BaseMap first;
  first["a"] = Value::make(Json{{"name", "x"}});
  ASSERT_TRUE(r.fillUnloaded("a", first));
  {
    auto tx = r.read();
    tx->scanIndexEach(0, {}, [](const IndexKey&, const ValuePtr&) { return true; });
    EXPECT_EQ(tx->missed(), std::optional<uint64_t>(8));
  }
  // A read open across the last fill (JS keeps a query's transaction open
  // while it loads the pages it missed, then scans again) sees the index
  // whole once nothing is unloaded.
  auto held = r.read();
  BaseMap second;
  second["m"] = Value::make(Json{{"name", "y"}});
  second["n"] = Value::make(Json{{"name", "a"}});
  ASSERT_TRUE(r.fillUnloaded("m", second));
  size_t n = held->scanIndexEach(0, {}, [](const IndexKey&, const ValuePtr&) { return true; });
  EXPECT_FALSE(held->missed());
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(ScanKeys(r, "byName"), Json::parse(R"([["a","n"],["x","a"],["y","m"]])"));
}

TEST_F(IndexTest, IndexChangesOfACommit) {
  Put(r, "a", {{"name", "x"}});
  Put(r, "b", {{"name", "y"}});
  std::vector<IndexChange> seen;
  r.addChangeListener([&](const ChangeSet& cs) { seen = r.indexChanges(cs)[0]; });
  r.registerMutator("many", [](WriteTransaction& tx, const Json&) {
    tx.set("a", Json{{"name", "z"}});          // x -> z: del + add
    tx.set("b", Json{{"name", "y"}, {"v", 1}});  // same key: change
    tx.set("c", Json{{"name", "c"}});          // add
    return Json();
  });
  r.mutate("many", nullptr, 0);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].key, (IndexKey{"c", "c"}));
  EXPECT_TRUE(!seen[0].oldValue && seen[0].newValue);
  EXPECT_EQ(seen[1].key, (IndexKey{"x", "a"}));
  EXPECT_TRUE(seen[1].oldValue && !seen[1].newValue);
  EXPECT_EQ(seen[2].key, (IndexKey{"y", "b"}));
  EXPECT_TRUE(seen[2].oldValue && seen[2].newValue);
  EXPECT_EQ(seen[3].key, (IndexKey{"z", "a"}));
  EXPECT_TRUE(!seen[3].oldValue && seen[3].newValue);
}

TEST_F(IndexTest, SubscriptionsRerunOnlyForTheirIndexRange) {
  Put(r, "a", {{"name", "ant"}});
  Put(r, "b", {{"name", "bee"}});
  int runs = 0;
  Json last;
  IndexScanOptions o;
  o.prefix = "b";
  r.subscribe(
      [&](ReadTransaction& tx) {
        ++runs;
        return Scan(tx, "byName", o);
      },
      [&](const Json& j) { last = j; });
  EXPECT_EQ(runs, 1);
  Put(r, "c", {{"name", "ant2"}});  // another secondary key: no rerun
  Put(r, "d", {{"other", 1}});      // not indexed: no rerun
  EXPECT_EQ(runs, 1);
  Put(r, "e", {{"name", "bat"}});  // in the prefix
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(last.size(), 2u);
  Put(r, "a", {{"name", "bug"}});  // a moves into it
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(last.size(), 3u);
  r.applyPull(Pull(1, {}, {PutOp("f", {{"name", "bird"}})}), nullptr);  // by a pull
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(last.size(), 4u);
  r.mutate("del", {{"key", "e"}}, 0);
  EXPECT_EQ(runs, 5);
  EXPECT_EQ(last.size(), 3u);
}

// A host that works out index keys itself (as the WebAssembly host does):
// the core must not fetch the values' texts for its indexes.
struct KeyingHost : RecordingValueHost {
  std::map<uint64_t, Keys> keys;
  bool indexKeys(uint64_t id, size_t index, std::vector<std::string>* out) override {
    auto it = keys.find(id);
    if (index != 0 || it == keys.end()) return false;
    *out = it->second;
    return true;
  }
};

TEST(IndexHost, HostSuppliesKeysOfItsValues) {
  KeyingHost host;
  Replica r(IndexedOptions({Def("byName", "/name")}));
  auto setHeld = [&](const std::string& key, const std::string& text, Keys keys) {
    auto w = r.beginMutation("put", Value::fromText("null"), 0);
    ValuePtr v = Value::fromHost(&host);
    host.texts[v->id()] = text;
    host.keys[v->id()] = std::move(keys);
    w->tx().set(key, v);
    w->commit();
  };
  setHeld("a", R"({"name":"x"})", {"x"});
  setHeld("b", R"({"name":"y"})", {"y"});
  setHeld("a", R"({"name":"z"})", {"z"});
  auto tx = r.read();
  Json keys = Json::array();
  for (auto& [k, v] : tx->scanIndex("byName", {})) keys.push_back(Json::array({k.secondary, k.primary}));
  EXPECT_EQ(keys, Json::parse(R"([["y","b"],["z","a"]])"));
  EXPECT_TRUE(host.fetched.empty());
}

// Random mutations, pulls and rebases; after each step every index scan
// must equal the index rebuilt from the visible state.
TEST(IndexRandom, MatchesARebuiltIndex) {
  std::vector<IndexDefinition> defs = {Def("n", "/n"), Def("tags", "/t", "k1"), Def("whole", "")};
  Replica r(IndexedOptions(defs));
  RegisterBasicMutators(r);
  r.registerMutator("scanAndPut", [](WriteTransaction& tx, const Json& a) {
    // Reads the index mid-transaction, and writes what it saw.
    IndexScanOptions o;
    o.limit = 2;
    Json seen = Json::array();
    for (auto& [k, v] : tx.scanIndex("n", o)) seen.push_back(k.primary);
    tx.set(a.at("key").get<std::string>(), Json{{"n", a.at("n")}, {"seen", seen}});
    return Json();
  });
  std::mt19937 rng(7);
  auto pick = [&](int n) { return int(rng() % unsigned(n)); };
  const char* names[] = {"a", "b", "ab", "c", "b\xC3\xA9"};
  auto randomValue = [&]() -> Json {
    switch (pick(5)) {
      case 0: return Json{{"n", names[pick(5)]}};
      case 1: return Json{{"n", names[pick(5)]}, {"t", {names[pick(5)], names[pick(5)]}}};
      case 2: return Json(names[pick(5)]);
      case 3: return Json{{"t", Json::array({names[pick(5)], 1})}};
      default: return Json{{"x", pick(3)}};
    }
  };
  auto randomKey = [&] { return std::string(pick(2) ? "k1" : "k2") + std::to_string(pick(8)); };
  Cookie cookie;
  uint64_t cookieN = 0;
  for (int step = 0; step < 400; ++step) {
    int what = pick(10);
    if (what < 5) {
      Put(r, randomKey(), randomValue());
    } else if (what < 6) {
      r.mutate("del", {{"key", randomKey()}}, 0);
    } else if (what < 7) {
      r.mutate("scanAndPut", {{"key", randomKey()}, {"n", names[pick(5)]}}, 0);
    } else {
      std::vector<PatchOp> patch;
      int ops = pick(5);
      for (int i = 0; i < ops; ++i) {
        int k = pick(10);
        if (k < 6) patch.push_back(PutOp(randomKey(), randomValue()));
        else if (k < 9) patch.push_back(DelOp(randomKey()));
        else patch.push_back(ClearOp());
      }
      std::map<std::string, uint64_t> lmids;
      const auto& pending = r.pendingMutations();
      if (!pending.empty() && pick(2)) lmids["c1"] = pending[size_t(pick(int(pending.size())))].id;
      Cookie next(Json(++cookieN));
      auto o = r.applyPull(Pull(Json(cookieN), lmids, std::move(patch)), cookie);
      ASSERT_EQ(o.kind, Kind::kApplied) << o.error;
      cookie = next;
    }
    for (const IndexDefinition& d : defs) ASSERT_EQ(Scan(r, d.name), Rebuilt(r, d)) << "step " << step << " index " << d.name;
  }
}

}  // namespace
}  // namespace replicore
