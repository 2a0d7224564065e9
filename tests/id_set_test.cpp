// IdSet against std::set on the same operations: consecutive ids (what
// Value ids are), random ids, and the erase paths that move probe runs.
#include "replicore/id_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace replicore {
namespace {

std::set<uint64_t> contents(const IdSet& s) {
  std::set<uint64_t> out;
  s.forEach([&](uint64_t id) { EXPECT_TRUE(out.insert(id).second) << "id " << id << " listed twice"; });
  return out;
}

TEST(IdSet, InsertContainsEraseReportWhatChanged) {
  IdSet s;
  EXPECT_FALSE(s.contains(7));
  EXPECT_FALSE(s.erase(7));
  EXPECT_TRUE(s.insert(7));
  EXPECT_FALSE(s.insert(7));
  EXPECT_TRUE(s.contains(7));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(s.erase(7));
  EXPECT_FALSE(s.erase(7));
  EXPECT_FALSE(s.contains(7));
  EXPECT_TRUE(s.empty());
}

TEST(IdSet, ZeroAndTheLargestIdAreIds) {
  IdSet s;
  EXPECT_FALSE(s.contains(0));
  EXPECT_TRUE(s.insert(0));
  EXPECT_FALSE(s.insert(0));
  EXPECT_TRUE(s.insert(UINT64_MAX));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(contents(s), (std::set<uint64_t>{0, UINT64_MAX}));
  EXPECT_TRUE(s.erase(0));
  EXPECT_FALSE(s.contains(0));
  EXPECT_TRUE(s.contains(UINT64_MAX));
  EXPECT_EQ(s.size(), 1u);
}

// Random operations, mostly on a small range of ids so that inserts,
// repeats and erases of present ids all happen often, and the table grows
// through several sizes while probe runs form and are shifted by erases.
void checkAgainstStdSet(uint64_t range, uint64_t offset, unsigned seed) {
  std::mt19937_64 rng(seed);
  IdSet s;
  std::set<uint64_t> model;
  for (int step = 0; step < 60000; step++) {
    uint64_t id = offset + rng() % range;
    switch (rng() % 3) {
      case 0:
      case 1:
        ASSERT_EQ(s.insert(id), model.insert(id).second) << "step " << step;
        break;
      case 2:
        ASSERT_EQ(s.erase(id), model.erase(id) == 1) << "step " << step;
        break;
    }
    ASSERT_EQ(s.size(), model.size());
    uint64_t probe = offset + rng() % range;
    ASSERT_EQ(s.contains(probe), model.count(probe) == 1) << "step " << step;
  }
  EXPECT_EQ(contents(s), model);
  for (uint64_t id : model) ASSERT_TRUE(s.erase(id));
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(contents(s).empty());
}

TEST(IdSet, MatchesStdSetOnConsecutiveIds) { checkAgainstStdSet(5000, 1, 1); }
TEST(IdSet, MatchesStdSetOnIdsAroundZero) { checkAgainstStdSet(3000, 0, 2); }
TEST(IdSet, MatchesStdSetOnSparseIds) { checkAgainstStdSet(UINT64_MAX, 0, 3); }

TEST(IdSet, ManyConsecutiveIdsThenEveryOtherErased) {
  IdSet s;
  for (uint64_t id = 1; id <= 100000; id++) ASSERT_TRUE(s.insert(id));
  for (uint64_t id = 2; id <= 100000; id += 2) ASSERT_TRUE(s.erase(id));
  EXPECT_EQ(s.size(), 50000u);
  for (uint64_t id = 1; id <= 100000; id++) ASSERT_EQ(s.contains(id), id % 2 == 1) << id;
}

TEST(IdSet, MoveLeavesTheSourceEmptyAndUsable) {
  IdSet a;
  for (uint64_t id = 0; id < 100; id++) a.insert(id);
  IdSet b(std::move(a));
  EXPECT_EQ(b.size(), 100u);
  EXPECT_TRUE(b.contains(0));
  EXPECT_TRUE(b.contains(99));
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_FALSE(a.contains(5));
  EXPECT_TRUE(a.insert(5));
  IdSet c;
  c.insert(1000);
  c = std::move(b);
  EXPECT_EQ(c.size(), 100u);
  EXPECT_FALSE(c.contains(1000));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace replicore
