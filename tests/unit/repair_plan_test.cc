#include "ardus/repair_plan.h"

#include <gtest/gtest.h>

namespace ardus {
namespace {

TEST(RepairPlan, RestCountsOnlyWhatParityLeaves) {
  EXPECT_EQ(Rest({5, 0, 3}, {2, 2, 3}), 3);
  EXPECT_EQ(Rest({0, 0}, {1, 1}), 0);
}

// A lacks 5 in block 0, B 2 in block 1: A alone needs the most, so parity
// takes A's need down to B's (3 more in block 0), no further.
TEST(RepairPlan, LevelTopNeedMovesALoneTopNeedToParity) {
  Deficits parity{0, 0};
  LevelTopNeed({{5, 0}, {0, 2}}, {0, 0}, parity);
  EXPECT_EQ(parity, (Deficits{3, 0}));
}

// A lone receiver is levelled to nothing, its smallest leftover first; one
// that does not solve through the window (held -1) is left alone.
TEST(RepairPlan, LevelTopNeedCoversALoneReceiverAndSkipsNonSolvers) {
  Deficits parity{0, 0};
  LevelTopNeed({{4, 1}}, {0}, parity);
  EXPECT_EQ(parity, (Deficits{4, 1}));
  Deficits untouched{0, 0};
  LevelTopNeed({{4, 1}}, {-1}, untouched);
  EXPECT_EQ(untouched, (Deficits{0, 0}));
}

// Held window symbols count against the need: A's 5 lacking with 4 held is
// a need of 1, so B (2) is the one alone at the top, levelled down to 1.
TEST(RepairPlan, LevelTopNeedCountsHeldSymbols) {
  Deficits parity{0, 0};
  LevelTopNeed({{5, 0}, {0, 2}}, {4, 0}, parity);
  EXPECT_EQ(parity, (Deficits{0, 1}));
}

// Binomial(200, 1%): 1000 * P(X > 8) = 0.24 and 1000 * P(X > 7) = 1.1.
TEST(RepairPlan, GroupDeficitIsWhatAboutOneReceiverExceeds) {
  EXPECT_EQ(GroupDeficit(200, 0.01, 1000), 8);
  EXPECT_EQ(GroupDeficit(200, 0.0, 1000), 0);
  EXPECT_LT(GroupDeficit(200, 0.01, 10), GroupDeficit(200, 0.01, 1000));
}

// 16 blocks of 200 at 1%: each block's parity is 1 (P(X > 1) = 0.59, P(X >
// 2) = 0.32); the window's rest beyond that averages about 18 symbols, and
// its 1-in-1000 tail lies well above that and well below parity up to the
// worst receiver of each block (8 per block, 128 in all).
TEST(RepairPlan, GroupWindowPlansParityMostUseAndTheTailOfTheRest) {
  const std::vector<std::uint16_t> ks(16, 200);
  auto plan = EstimateGroupWindow(ks, 0.01, 1000, 128);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->parity, Deficits(16, 1));
  EXPECT_GT(plan->window, 25);
  EXPECT_LT(plan->window, 50);
  auto smaller = EstimateGroupWindow(ks, 0.01, 100, 128);
  ASSERT_TRUE(smaller.has_value());
  EXPECT_LT(smaller->window, plan->window);
  auto lossless = EstimateGroupWindow(ks, 0.0, 1000, 128);
  ASSERT_TRUE(lossless.has_value());
  EXPECT_EQ(lossless->window, 0);
}

TEST(RepairPlan, GroupWindowAboveTheLimitIsNotPlanned) {
  const std::vector<std::uint16_t> ks(16, 200);
  EXPECT_FALSE(EstimateGroupWindow(ks, 0.05, 1000, 20).has_value());
}

}  // namespace
}  // namespace ardus
