#include "ardus/rate_controller.h"

#include <gtest/gtest.h>

#include "ardus/wire.h"

namespace ardus {
namespace {

constexpr double kHeader = wire::kIpUdpHeaderBytes;

RateConfig Fixed(double bps, double burst_bytes = 1000) {
  RateConfig c;
  c.start_bps = bps;
  c.burst_bytes = burst_bytes;
  return c;
}

RateConfig Adaptive(double bps) {
  RateConfig c = Fixed(bps);
  c.adaptive = true;
  c.min_bps = 10e6;
  c.max_bps = 1e9;
  return c;
}

// Sends `bytes` of UDP payload per 20 ms for `periods` periods from `now`,
// adapting at the end of each; returns the time after the last.
Time SendAndAdapt(RateController& rc, Time now, std::size_t bytes, int periods) {
  for (int i = 0; i < periods; ++i) {
    rc.OnSent(bytes);
    now += milliseconds(20);
    rc.Adapt(now);
  }
  return now;
}

TEST(RateController, TokensAccrueAtTheRateAndSendingSpendsPayloadPlusHeaders) {
  RateController rc(Fixed(8e9));  // one byte per nanosecond
  rc.Start(Time(1000));
  rc.Refill(Time(1000));
  EXPECT_FALSE(rc.Affords(1));  // the bucket starts empty
  rc.Refill(Time(1000 + 1500));
  EXPECT_TRUE(rc.Affords(1500));
  EXPECT_FALSE(rc.Affords(1501));
  rc.OnSent(1500 - wire::kIpUdpHeaderBytes);
  EXPECT_FALSE(rc.Affords(1));
  EXPECT_TRUE(rc.Affords(0));
}

TEST(RateController, SendingBeyondTheTokensIsADebtLaterRefillsPay) {
  RateController rc(Fixed(8e9));
  rc.Start(Time(0));
  rc.OnSent(1000);  // a control datagram goes out even with no tokens
  rc.Refill(Time(1000));
  EXPECT_FALSE(rc.Affords(1));
  rc.Refill(Time(1000 + std::int64_t(kHeader) + 100));
  EXPECT_TRUE(rc.Affords(100));
  EXPECT_FALSE(rc.Affords(101));
}

// The bucket holds 2 ms of sending, or two bursts if that is more.
TEST(RateController, TheBucketHoldsTwoMillisecondsOrTwoBursts) {
  RateController fast(Fixed(8e9, 1000));  // 2 ms = 2,000,000 bytes
  fast.Start(Time(0));
  fast.Refill(seconds(5));
  EXPECT_TRUE(fast.Affords(2'000'000));
  EXPECT_FALSE(fast.Affords(2'000'001));

  RateController slow(Fixed(8e6, 48'640));  // 2 ms = 2,000 bytes; two bursts more
  slow.Start(Time(0));
  slow.Refill(seconds(5));
  EXPECT_TRUE(slow.Affords(97'280));
  EXPECT_FALSE(slow.Affords(97'281));
}

TEST(RateController, NextBurstIsWhenMostOfABurstIsAffordable) {
  RateController rc(Fixed(8e9, 1000));
  rc.Start(Time(0));
  rc.Refill(Time(500));
  EXPECT_EQ(rc.NextBurst(), Time(500 + 400));  // 900 bytes wanted, 500 held
  rc.Refill(Time(2000));
  EXPECT_EQ(rc.NextBurst(), Time(2000));  // already affordable: at the last refill
  rc.OnSent(2000 - wire::kIpUdpHeaderBytes);
  EXPECT_EQ(rc.NextBurst(), Time(2000 + 900));
}

TEST(RateController, AFixedRateIgnoresMeasurementAndCongestion) {
  RateController rc(Fixed(100e6));
  rc.Start(Time(0));
  SendAndAdapt(rc, Time(0), 250'000, 10);
  EXPECT_EQ(rc.rate_bps(), 100e6);
  EXPECT_FALSE(rc.OnCongestion(seconds(1), 500'000, Duration(0)));
  EXPECT_EQ(rc.rate_bps(), 100e6);
}

TEST(RateController, SlowStartGrowsAUsedRateByAQuarterPer20ms) {
  RateController rc(Adaptive(100e6));
  rc.Start(Time(0));
  // 250,000 bytes per 20 ms is 100 Mbit/s: fully used.
  Time now = SendAndAdapt(rc, Time(0), 250'000, 1);
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 125e6);
  rc.Adapt(now + milliseconds(10));  // between measurements: nothing
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 125e6);
  SendAndAdapt(rc, now, 312'500, 1);
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 156.25e6);
}

TEST(RateController, AnUnusedRateDoesNotGrow) {
  RateController rc(Adaptive(100e6));
  rc.Start(Time(0));
  SendAndAdapt(rc, Time(0), 199'000, 5);  // 79.6 Mbit/s: below 80% of the rate
  EXPECT_EQ(rc.rate_bps(), 100e6);
}

TEST(RateController, GrowthStopsAtTheMaximum) {
  RateController rc(Adaptive(900e6));
  rc.Start(Time(0));
  SendAndAdapt(rc, Time(0), 2'250'000, 1);  // 900 Mbit/s used; 1.25x would be 1125
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 1e9);
}

// A report above 2% cuts the rate that caused it, the achieved one, to
// (1 - loss) * 0.95 of it; reports up to 2% are the path's noise.
TEST(RateController, CongestionCutsTheAchievedRate) {
  RateController rc(Adaptive(100e6));
  rc.Start(Time(0));
  Time now = SendAndAdapt(rc, Time(0), 250'000, 1);  // achieved 100, rate now 125
  EXPECT_FALSE(rc.OnCongestion(now, 20'000, Duration(0)));
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 125e6);
  EXPECT_TRUE(rc.OnCongestion(now, 100'000, Duration(0)));
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 100e6 * 0.9 * 0.95);
}

TEST(RateController, ACutNeverHalvesTheRateOrGoesBelowTheMinimum) {
  RateController rc(Adaptive(100e6));
  rc.Start(Time(0));
  Time now = SendAndAdapt(rc, Time(0), 250'000, 1);
  EXPECT_TRUE(rc.OnCongestion(now, 900'000, Duration(0)));
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 50e6);

  RateController low(Adaptive(12e6));
  low.Start(Time(0));
  EXPECT_TRUE(low.OnCongestion(Time(0), 900'000, Duration(0)));  // nothing measured: its rate
  EXPECT_DOUBLE_EQ(low.rate_bps(), 10e6);
}

// Reports of one congestion event arrive for a while: within max(100 ms, 4
// GRTT) of a cut they are measured against the rate that caused it, and
// acted on only if they call for a cut 20% deeper than the rate now.
TEST(RateController, ReportsOfOneEventCutOnceUnlessMuchDeeper) {
  RateController rc(Adaptive(100e6));
  rc.Start(Time(0));
  Time now = SendAndAdapt(rc, Time(0), 250'000, 1);
  ASSERT_TRUE(rc.OnCongestion(now, 50'000, Duration(0)));
  const double first = 100e6 * 0.95 * 0.95;
  EXPECT_DOUBLE_EQ(rc.rate_bps(), first);
  EXPECT_FALSE(rc.OnCongestion(now + milliseconds(50), 100'000, Duration(0)));
  EXPECT_DOUBLE_EQ(rc.rate_bps(), first);
  // 0.78 * 0.95 of the event's rate is above 80% of the rate now (90.25):
  // no cut; 0.74 * 0.95 is below it: a cut, still of the event's rate.
  EXPECT_FALSE(rc.OnCongestion(now + milliseconds(55), 220'000, Duration(0)));
  EXPECT_TRUE(rc.OnCongestion(now + milliseconds(60), 260'000, Duration(0)));
  EXPECT_DOUBLE_EQ(rc.rate_bps(), 100e6 * 0.74 * 0.95);
}

TEST(RateController, ALongRoundTripWidensWhatCountsAsOneEvent) {
  for (const auto& [grtt, same] : {std::pair{milliseconds(0), false}, {milliseconds(50), true}}) {
    RateController rc(Adaptive(100e6));
    rc.Start(Time(0));
    Time now = SendAndAdapt(rc, Time(0), 250'000, 1);
    ASSERT_TRUE(rc.OnCongestion(now, 50'000, grtt));
    // 150 ms later: past 100 ms, within 4 x 50 ms.
    EXPECT_EQ(rc.OnCongestion(now + milliseconds(150), 50'000, grtt), !same)
        << "grtt " << grtt.count();
  }
}

// After the first cut: back quickly (5% per 20 ms) to 90% of the rate that
// caused it, then probe slowly (0.2%).
TEST(RateController, AfterACutTheRateClimbsBackThenProbes) {
  RateController rc(Adaptive(100e6));
  rc.Start(Time(0));
  Time now = SendAndAdapt(rc, Time(0), 250'000, 1);
  ASSERT_TRUE(rc.OnCongestion(now, 200'000, Duration(0)));  // event rate 100, now 76
  double expected = 100e6 * 0.8 * 0.95;
  ASSERT_DOUBLE_EQ(rc.rate_bps(), expected);
  // The cut deferred the next measurement by 20 ms: a period's bytes at
  // the new rate keep it used.
  for (int i = 0; i < 8; ++i) {
    const auto bytes = static_cast<std::size_t>(rc.rate_bps() / 8 * 0.02) + 1;
    now = SendAndAdapt(rc, now, bytes, 1);
    expected *= expected < 0.9 * 100e6 ? 1.05 : 1.002;
    EXPECT_DOUBLE_EQ(rc.rate_bps(), expected) << "period " << i;
  }
  EXPECT_GT(expected, 90e6);  // both regimes were crossed
}

}  // namespace
}  // namespace ardus
