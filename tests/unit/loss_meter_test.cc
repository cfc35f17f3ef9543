#include "ardus/loss_meter.h"

#include <gtest/gtest.h>

namespace ardus {
namespace {

// Feeds `count` datagrams, dropping one in every `every` (0: none), 1 us apart.
std::uint16_t Feed(LossMeter& m, Time& now, std::uint16_t seq, int count, int every) {
  for (int i = 0; i < count; ++i, ++seq) {
    if (every && i % every == every / 2) continue;  // never the last: a gap shows on the next one
    m.OnSequence(now, seq);
    now += microseconds(1);
  }
  return seq;
}

TEST(LossMeter, CountsGapsButNotReorderingOrDuplicates) {
  LossMeter m(milliseconds(20));
  Time now{0};
  for (std::uint16_t s : {0, 1, 3, 2, 2, 4, 7}) m.OnSequence(now, s);
  // Gaps: 2 (later seen, out of order, still counted once) and 5, 6: 3 lost of 10.
  EXPECT_EQ(m.TakeExcessPpm(now, false), 300'000u);
}

TEST(LossMeter, SequenceWrapIsNotLoss) {
  LossMeter m(milliseconds(20));
  Time now{0};
  for (std::uint16_t s : {65534, 65535, 0, 1}) m.OnSequence(now, s);
  EXPECT_EQ(m.TakeExcessPpm(now, false), 0u);
}

TEST(LossMeter, SteadyLossBecomesTheFloorAndBurstsRaiseTheAlarm) {
  LossMeter m(milliseconds(20));
  Time now{0};
  std::uint16_t seq = 0;
  seq = Feed(m, now, seq, 200, 20);  // 5% loss: first heartbeat window
  EXPECT_EQ(m.TakeExcessPpm(now, false), 50'000u);
  for (int w = 0; w < 3; ++w) {
    seq = Feed(m, now, seq, 200, 20);
    EXPECT_FALSE(m.Alarm()) << "steady loss is the path's floor, not congestion";
    EXPECT_EQ(m.TakeExcessPpm(now, false), 0u);
  }
  seq = Feed(m, now, seq, 100, 3);  // a burst: a third lost
  EXPECT_TRUE(m.Alarm());
  const std::uint32_t excess = m.TakeExcessPpm(now, true);
  EXPECT_GT(excess, 250'000u);
  EXPECT_LT(excess, 300'000u);
  // The burst did not become a floor sample: steady 5% is still no alarm.
  seq = Feed(m, now, seq, 200, 20);
  EXPECT_FALSE(m.Alarm());
}

TEST(LossMeter, AlarmWindowForgetsOldLoss) {
  LossMeter m(milliseconds(20));
  Time now{0};
  std::uint16_t seq = Feed(m, now, 0, 100, 2);  // 50% loss
  EXPECT_TRUE(m.Alarm());
  now += milliseconds(25);
  Feed(m, now, seq, 100, 0);  // clean, in a new alarm window
  EXPECT_FALSE(m.Alarm());
}

}  // namespace
}  // namespace ardus
