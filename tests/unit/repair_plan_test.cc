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

WindowReports Reports(std::vector<std::uint16_t> ks, std::vector<Deficits> deficits,
                      std::vector<int> held, bool windowed = true) {
  return WindowReports{std::move(ks), std::move(deficits), std::move(held), windowed};
}

// Three receivers each lacking 5 of a different block: parity covers all but
// the worst per block (none), and 5 window symbols serve all three, saving
// 10 parity symbols, at least 2 per window symbol.
TEST(RepairPlan, ReportedWindowSharesWindowSymbols) {
  const WindowPlan plan = PlanReportedWindow(
      Reports({100, 100, 100, 100}, {{5, 0, 0, 0}, {0, 5, 0, 0}, {0, 0, 5, 0}}, {0, 0, 0}));
  EXPECT_EQ(plan.parity, (Deficits{0, 0, 0, 0}));
  EXPECT_EQ(plan.window, 5);
}

TEST(RepairPlan, ReportedWindowCountsHeldWindowSymbols) {
  const WindowPlan plan = PlanReportedWindow(
      Reports({100, 100, 100, 100}, {{5, 0, 0, 0}, {0, 5, 0, 0}, {0, 0, 5, 0}}, {2, 2, 2}));
  EXPECT_EQ(plan.parity, (Deficits{0, 0, 0, 0}));
  EXPECT_EQ(plan.window, 3);
}

// Two receivers: 5 window symbols would replace only 10 parity symbols, a
// saving of 5, less than 2 per window symbol: parity alone, each block's worst.
TEST(RepairPlan, ReportedWindowFallsBackToParityWhenWindowSymbolsSaveTooLittle) {
  const WindowPlan plan = PlanReportedWindow(Reports({100, 100}, {{5, 0}, {0, 5}}, {0, 0}));
  EXPECT_EQ(plan.parity, (Deficits{5, 5}));
  EXPECT_EQ(plan.window, 0);
}

// One reporter: nobody to share window symbols with, all parity.
TEST(RepairPlan, ReportedWindowOfOneReceiverIsParity) {
  const WindowPlan plan = PlanReportedWindow(Reports({10, 10}, {{2, 3}}, {0}));
  EXPECT_EQ(plan.parity, (Deficits{2, 3}));
  EXPECT_EQ(plan.window, 0);
}

// Not windowed (one block, or a window not yet sent whole): every block gets
// its worst deficit.
TEST(RepairPlan, ReportedWindowNotWindowedIsEachBlocksWorst) {
  const WindowPlan plan =
      PlanReportedWindow(Reports({100, 100}, {{5, 1}, {2, 4}, {0, 3}}, {0, 0, 0}, false));
  EXPECT_EQ(plan.parity, (Deficits{5, 4}));
  EXPECT_EQ(plan.window, 0);
}

// A block lacked whole is covered by parity, whoever lacks it.
TEST(RepairPlan, ReportedWindowCoversWholeBlocksWithParity) {
  const WindowPlan plan = PlanReportedWindow(
      Reports({10, 100, 100, 100}, {{10, 0, 0, 0}, {0, 5, 0, 0}, {0, 0, 5, 0}, {0, 0, 0, 5}},
              {0, 0, 0, 0}));
  EXPECT_EQ(plan.parity, (Deficits{10, 0, 0, 0}));
  EXPECT_EQ(plan.window, 5);
}

// A receiver lacking 144 beyond parity, over wire::kMaxWindowDeficit (128),
// is repaired with parity for all its deficits; the others need nothing more.
TEST(RepairPlan, ReportedWindowRepairsARestOverTheLimitWithParity) {
  const WindowPlan plan =
      PlanReportedWindow(Reports({200, 200}, {{75, 75}, {3, 0}, {0, 3}}, {0, 0, 0}));
  EXPECT_EQ(plan.parity, (Deficits{75, 75}));
  EXPECT_EQ(plan.window, 0);
}

// Four receivers each lacking 130 of a different block would share 130
// window symbols (saving 390 parity symbols), but no receiver solves more
// than wire::kMaxWindowDeficit (128) unknowns: parity for each instead.
TEST(RepairPlan, ReportedWindowNeverPlansMoreThanAReceiverSolves) {
  const WindowPlan plan = PlanReportedWindow(
      Reports({200, 200, 200, 200},
              {{130, 0, 0, 0}, {0, 130, 0, 0}, {0, 0, 130, 0}, {0, 0, 0, 130}}, {0, 0, 0, 0}));
  EXPECT_EQ(plan.parity, (Deficits{130, 130, 130, 130}));
  EXPECT_EQ(plan.window, 0);
}

TEST(RepairPlan, ReportedWindowWithoutReportsPlansNothing) {
  const WindowPlan plan = PlanReportedWindow(Reports({100, 100}, {}, {}));
  EXPECT_EQ(plan.parity, (Deficits{0, 0}));
  EXPECT_EQ(plan.window, 0);
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
