// A base map read lazily (Unloaded, layered_map.h): a read that needs a
// range not in memory says so instead of answering, and once the host has
// filled the ranges a read asked for, every answer is what the whole map
// gives. Checked against the fully loaded view on random maps, pages,
// layers and scans.
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "replicore/layered_map.h"
#include "support/test_util.h"

namespace replicore {
namespace {

using testing::V;

struct Result {
  std::vector<std::string> keys;
  bool operator==(const Result& o) const { return keys == o.keys; }
};

Result ScanAll(const LayeredView& view, const ScanOptions& options) {
  Result r;
  view.scan(options, [&](const std::string& key, const ValuePtr&) {
    r.keys.push_back(key);
    return true;
  });
  return r;
}

// A random map, cut into pages, some of them not loaded yet.
struct LazyWorld {
  explicit LazyWorld(uint32_t seed) : rng(seed) {
    const char* alphabet = "ab\x7f\xc3";  // ASCII and UTF-8 lead bytes order as unsigned
    int n = int(rng() % 60);
    for (int i = 0; i < n; ++i) whole.emplace(key(alphabet), V(i));
    // Pages: cut points among the keys (the first page starts at "").
    std::vector<std::string> firsts{""};
    for (const auto& [k, v] : whole) {
      if (rng() % 4 == 0 && k != firsts.back()) firsts.push_back(k);
    }
    for (size_t i = 0; i < firsts.size(); ++i) {
      std::optional<std::string> end;
      if (i + 1 < firsts.size()) end = firsts[i + 1];
      bool loaded = rng() % 3 == 0;
      for (auto it = whole.lower_bound(firsts[i]); it != whole.end() && (!end || it->first < *end); ++it) {
        (loaded ? partial : stored[i])[it->first] = it->second;
      }
      if (!loaded) unloaded.ranges[firsts[i]] = Unloaded::Range{end, i};
      pageFirst.push_back(firsts[i]);
    }
    // Layers: pending writes and deletes, sometimes a clear under them.
    int layers = int(rng() % 3);
    for (int l = 0; l < layers; ++l) {
      Layer layer;
      if (rng() % 5 == 0) layer.clear();
      int writes = int(rng() % 8);
      for (int w = 0; w < writes; ++w) {
        if (rng() % 3 == 0) {
          layer.erase(key(alphabet));
        } else {
          layer.put(key(alphabet), V(1000 + w));
        }
      }
      this->layers.push_back(std::move(layer));
    }
  }
  std::string key(const char* alphabet) {
    std::string k;
    int len = 1 + int(rng() % 3);
    for (int i = 0; i < len; ++i) k += alphabet[rng() % 4];
    return k;
  }
  std::vector<const Layer*> layerPtrs() const {
    std::vector<const Layer*> out;
    for (const Layer& l : layers) out.push_back(&l);
    return out;
  }
  // What the host does on a miss: puts the page in place.
  void fill(uint64_t page) {
    auto range = unloaded.ranges.find(pageFirst[page]);
    ASSERT_NE(range, unloaded.ranges.end()) << "missed a page that is loaded";
    partial.merge(stored[page]);
    unloaded.ranges.erase(range);
    ++fills;
  }
  std::mt19937 rng;
  BaseMap whole, partial;
  std::map<uint64_t, BaseMap> stored;
  std::vector<std::string> pageFirst;
  Unloaded unloaded;
  std::vector<Layer> layers;
  int fills = 0;
};

TEST(Unloaded, ReadsMissUntilTheirPagesAreInThenAnswerAsTheWholeMap) {
  int misses = 0, answeredEarly = 0;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    LazyWorld w(seed);
    LayeredView whole(&w.whole, w.layerPtrs());
    LayeredView lazy(&w.partial, w.layerPtrs(), &w.unloaded);
    const char* prefixes[] = {"", "a", "b", "ab", "\x7f", "\xc3", "ba"};
    for (int q = 0; q < 30; ++q) {
      ScanOptions o;
      o.prefix = prefixes[w.rng() % 7];
      if (w.rng() % 2) o.startKey = w.key("ab\x7f\xc3");
      o.startExclusive = w.rng() % 2;
      if (w.rng() % 3 == 0) o.limit = size_t(w.rng() % 5);
      Result expected = ScanAll(whole, o);
      // A scan that misses has visited a prefix of the answer; one that
      // does not is the answer.
      for (int tries = 0;; ++tries) {
        ASSERT_LT(tries, 100);
        Result got = ScanAll(lazy, o);
        if (!lazy.missed()) {
          ASSERT_EQ(got.keys, expected.keys) << "seed " << seed << " prefix " << o.prefix;
          if (tries == 0 && !w.unloaded.empty()) ++answeredEarly;
          break;
        }
        ASSERT_LE(got.keys.size(), expected.keys.size());
        ASSERT_TRUE(std::equal(got.keys.begin(), got.keys.end(), expected.keys.begin())) << "seed " << seed;
        ++misses;
        w.fill(*lazy.missed());
      }
      std::string k = w.key("ab\x7f\xc3");
      for (int tries = 0;; ++tries) {
        ASSERT_LT(tries, 2);
        ValuePtr got = lazy.get(k);
        if (!lazy.missed()) {
          ASSERT_EQ(got, whole.get(k)) << "seed " << seed << " key " << k;
          break;
        }
        ASSERT_EQ(lazy.unloadedPageOf(k), lazy.missed());
        w.fill(*lazy.missed());
      }
    }
  }
  // The random worlds did exercise both paths.
  EXPECT_GT(misses, 500);
  EXPECT_GT(answeredEarly, 1000);
}

TEST(Unloaded, AScanStopsAtTheFirstRangeItNeedsAndNotAtOnesItDoesNot) {
  BaseMap base{{"a1", V(1)}, {"c1", V(3)}};
  Unloaded unloaded;
  unloaded.ranges["b"] = Unloaded::Range{std::string("c"), 7};  // [b, c)
  unloaded.ranges["d"] = Unloaded::Range{std::nullopt, 9};       // [d, ...)
  LayeredView view(&base, {}, &unloaded);
  ScanOptions a;
  a.prefix = "a";
  EXPECT_EQ(ScanAll(view, a).keys, std::vector<std::string>{"a1"});
  EXPECT_FALSE(view.missed());
  ScanOptions all;
  EXPECT_EQ(ScanAll(view, all).keys, std::vector<std::string>{"a1"});
  EXPECT_EQ(view.missed(), std::optional<uint64_t>(7));
  ScanOptions limited;
  limited.limit = 1;
  EXPECT_EQ(ScanAll(view, limited).keys, std::vector<std::string>{"a1"});
  EXPECT_FALSE(view.missed());  // the limit stopped it before the range
  ScanOptions fromC;
  fromC.startKey = "c";
  EXPECT_EQ(ScanAll(view, fromC).keys, std::vector<std::string>{"c1"});
  EXPECT_EQ(view.missed(), std::optional<uint64_t>(9));  // [d, ...) could hold more
  ScanOptions inB;
  inB.prefix = "bz";
  ScanAll(view, inB);
  EXPECT_EQ(view.missed(), std::optional<uint64_t>(7));
  EXPECT_EQ(view.get("a1"), base["a1"]);
  EXPECT_FALSE(view.missed());
  EXPECT_EQ(view.get("b5"), nullptr);
  EXPECT_EQ(view.missed(), std::optional<uint64_t>(7));
  EXPECT_EQ(view.get("a2"), nullptr);
  EXPECT_FALSE(view.missed());  // absent for sure: its page is in
  // A layer that hides the base needs no page.
  Layer cleared;
  cleared.clear();
  cleared.put("b5", V(5));
  LayeredView over(&base, {&cleared}, &unloaded);
  EXPECT_EQ(ScanAll(over, all).keys, std::vector<std::string>{"b5"});
  EXPECT_FALSE(over.missed());
}

}  // namespace
}  // namespace replicore
