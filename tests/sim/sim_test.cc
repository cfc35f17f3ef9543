// Simulator scenarios: one sender to N receivers in virtual time, checking
// that every receiver ends with byte-identical files. Every failure message
// carries the seed that reproduces it.
#include <gtest/gtest.h>

#include "support/memory_content.h"
#include "support/simulator.h"

namespace ardus::testing {
namespace {

struct Scenario {
  std::string name;
  std::size_t receivers = 4;
  std::vector<std::uint64_t> sizes{1 << 20};
  LinkModel down;
  LinkModel up;
  std::uint64_t seed = 1;
};

struct Outcome {
  SimResult sim;
  std::vector<std::unique_ptr<MemoryStore>> stores;
  Manifest manifest;
  SenderStats stats;
};

Outcome RunScenario(const Scenario& sc, SenderConfig config = {},
                    std::vector<SimReceiver> overrides = {}, ReceiverConfig receiver = {}) {
  Outcome out;
  out.manifest = PatternManifest(sc.sizes);
  static PatternSource source;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < sc.receivers; ++i) {
    out.stores.push_back(std::make_unique<MemoryStore>());
    SimReceiver r = i < overrides.size() ? overrides[i] : SimReceiver{};
    if (!r.store) r.store = out.stores.back().get();
    if (i >= overrides.size()) {
      r.down = sc.down;
      r.up = sc.up;
    }
    specs.push_back(r);
  }
  config.expected_receivers = config.expected_receivers ? config.expected_receivers
                                                        : static_cast<std::uint32_t>(sc.receivers);
  Simulator sim(sc.seed, config, out.manifest, source, specs, receiver);
  out.sim = sim.Run(seconds(600));
  out.stats = sim.sender().stats();
  return out;
}

// One receiver spec per scenario receiver, with the scenario's links: a
// base for scenarios that then set some receivers apart.
std::vector<SimReceiver> Receivers(const Scenario& sc) {
  std::vector<SimReceiver> specs(sc.receivers);
  for (auto& r : specs) {
    r.down = sc.down;
    r.up = sc.up;
  }
  return specs;
}

void ExpectAllIdentical(const Scenario& sc, const Outcome& out) {
  SCOPED_TRACE("scenario " + sc.name + " seed " + std::to_string(sc.seed));
  ASSERT_TRUE(out.sim.completed) << "simulation did not finish; seed " << sc.seed;
  for (std::size_t i = 0; i < out.stores.size(); ++i) {
    ASSERT_TRUE(out.sim.receiver_results[i].ok())
        << "receiver " << i << ": " << out.sim.receiver_results[i].ToString();
    ASSERT_TRUE(out.stores[i]->finished()) << "receiver " << i;
    PatternSource source;
    for (std::uint32_t f = 0; f < out.manifest.entries.size(); ++f) {
      std::vector<std::uint8_t> expected(out.manifest.entries[f].size);
      (void)source.Read(f, 0, expected);
      ASSERT_EQ(out.stores[i]->file(f), expected) << "receiver " << i << " file " << f;
    }
  }
}

TEST(Simulation, LosslessFourReceivers) {
  Scenario sc{"lossless", 4, {1 << 20, 0, 12345}};
  Outcome out = RunScenario(sc);
  ExpectAllIdentical(sc, out);
  EXPECT_EQ(out.sim.nak_datagrams, 0u);
}

struct LossCase {
  double loss;
  std::size_t receivers;
  std::uint64_t seed;
};

class IndependentLoss : public ::testing::TestWithParam<LossCase> {};

TEST_P(IndependentLoss, EveryReceiverGetsIdenticalBytes) {
  const LossCase c = GetParam();
  Scenario sc{"loss " + std::to_string(c.loss), c.receivers, {1 << 20, 300'000, 1}};
  sc.down.loss = c.loss;
  sc.up.loss = c.loss;
  sc.seed = c.seed;
  Outcome out = RunScenario(sc);
  ExpectAllIdentical(sc, out);
  std::printf("loss %.0f%% N=%zu seed %llu: wire ratio %.3f, NAK datagrams %llu, time %.1f ms\n",
              c.loss * 100, c.receivers, (unsigned long long)c.seed, out.sim.wire_ratio,
              (unsigned long long)out.sim.nak_datagrams, out.sim.end.count() / 1e6);
}

INSTANTIATE_TEST_SUITE_P(Rates, IndependentLoss,
                         ::testing::Values(LossCase{0.01, 100, 11}, LossCase{0.05, 20, 12},
                                           LossCase{0.05, 4, 13}, LossCase{0.20, 8, 14},
                                           LossCase{0.20, 3, 15}),
                         [](const ::testing::TestParamInfo<LossCase>& info) {
                           return "Loss" + std::to_string(int(info.param.loss * 100)) + "pct" +
                                  std::to_string(info.param.receivers) + "Receivers";
                         });

// Within its block memory a receiver decodes without reading anything back;
// past it, it writes source symbols through and reads them back to decode.
// The same bytes arrive either way.
TEST(Simulation, BlockMemoryDecidesOnlyWhetherDecodingReadsBack) {
  const std::size_t block_bytes =
      std::size_t{wire::kDefaultBlockSymbols} * wire::kDefaultSymbolSize;
  for (std::size_t held_blocks : {0, 3, 1000}) {
    Scenario sc{"block memory " + std::to_string(held_blocks), 4, {2 << 20, 70'000}};
    sc.down.loss = 0.05;
    sc.seed = 23 + held_blocks;
    ReceiverConfig receiver;
    receiver.block_memory_limit = held_blocks * block_bytes;
    SenderConfig sender;
    sender.window_repair = false;  // a window solve reads its window's complete blocks back
    Outcome out = RunScenario(sc, sender, {}, receiver);
    ExpectAllIdentical(sc, out);
    for (const auto& store : out.stores) {
      if (held_blocks < 1000) {
        EXPECT_GT(store->reads(), 0u) << "no block was read back; seed " << sc.seed;
      } else {
        EXPECT_EQ(store->reads(), 0u) << "seed " << sc.seed;
      }
    }
  }
}

// A window solve needs every source symbol of its window. Within block
// memory it finds the blocks that completed after an earlier incomplete one
// still in memory, so it reads back only those that completed before; without
// block memory it reads them all back. The same bytes arrive either way.
TEST(Simulation, WindowSolvesReadLessBackWithinBlockMemory) {
  std::uint64_t reads[2] = {0, 0};
  for (bool memory : {false, true}) {
    Scenario sc{memory ? "window solve, kept blocks" : "window solve, read-back", 8, {8 << 20}};
    sc.down.loss = 0.05;
    sc.seed = 37;
    ReceiverConfig receiver;
    if (!memory) receiver.block_memory_limit = 0;
    Outcome out = RunScenario(sc, {}, {}, receiver);
    ExpectAllIdentical(sc, out);
    ASSERT_GT(out.stats.window_symbols, 0u) << "no window was solved; seed " << sc.seed;
    for (const auto& store : out.stores) reads[memory] += store->reads();
  }
  std::printf("store reads: %llu without block memory, %llu with\n", (unsigned long long)reads[0],
              (unsigned long long)reads[1]);
  EXPECT_GT(reads[0], 0u);
  EXPECT_LT(reads[1] * 2, reads[0]);
}

// A block that completes while an earlier block of its file awaits repair
// waits in memory, so each file reaches the store in order and the store can
// hash it as it is written. With too little memory (12 blocks, with half the
// POLLs lost so that some windows wait long) the oldest waiting block is
// written out of order to make room, and some blocks are written through;
// without block memory, symbols are written as they arrive. Every receiver
// gets the same bytes in all three.
TEST(Simulation, BlocksReachTheStoreInFileOrder) {
  constexpr std::uint64_t kSeed = 41;
  const std::size_t kBlockBytes = std::size_t{200} * 1456;
  const std::size_t budgets[] = {0, 12 * kBlockBytes, ReceiverConfig{}.block_memory_limit};
  std::size_t out_of_order[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    Scenario sc{"in-order writes", 4, {4 << 20, 3 << 20}};
    sc.down.loss = 0.05;
    sc.down.poll_loss = 0.5;  // blocks of a window whose POLL was lost wait longer
    sc.seed = kSeed;
    ReceiverConfig receiver;
    receiver.block_memory_limit = budgets[i];
    Outcome out = RunScenario(sc, {}, {}, receiver);
    ExpectAllIdentical(sc, out);
    for (const auto& store : out.stores) out_of_order[i] += store->out_of_order_writes();
  }
  std::printf(
      "out-of-order writes: %zu without block memory, %zu with 12 blocks, %zu with %zu MiB\n",
      out_of_order[0], out_of_order[1], out_of_order[2], budgets[2] >> 20);
  EXPECT_GT(out_of_order[0], out_of_order[1]) << "seed " << kSeed;
  EXPECT_GT(out_of_order[1], 0u) << "seed " << kSeed;
  EXPECT_EQ(out_of_order[2], 0u) << "seed " << kSeed;
}

// A receiver that starts just after the first ANNOUNCE joins on the repeat
// 5 ms later, not a whole announce interval (100 ms) later.
TEST(Simulation, ReceiverMissingTheFirstAnnounceJoinsOnAQuickRepeat) {
  Scenario sc{"missed announce", 2, {1 << 20}};
  sc.seed = 29;
  std::vector<SimReceiver> specs(2);
  specs[1].join_at = Time(milliseconds(1));
  Outcome out = RunScenario(sc, {}, specs);
  ExpectAllIdentical(sc, out);
  std::printf("session with a late receiver ended at %.1f ms\n", out.sim.end.count() / 1e6);
  EXPECT_LT(out.sim.end, Time(milliseconds(60))) << "seed " << sc.seed;
}

// A receiver that loses POLLs answers for their windows at the next POLL it
// hears, so its losses are repaired during the transfer, not left to the
// final sweep.
TEST(Simulation, LostPollsAreAnsweredAtTheNextPoll) {
  Scenario sc{"lost polls", 2, {16 << 20}};
  sc.down.loss = 0.02;
  sc.down.poll_loss = 0.5;
  sc.seed = 31;
  Outcome out = RunScenario(sc);
  ExpectAllIdentical(sc, out);
  const SenderStats& s = out.stats;
  std::printf("half the POLLs lost: %llu of %llu repair symbols in sweeps\n",
              (unsigned long long)s.sweep_repair_symbols, (unsigned long long)s.repair_symbols);
  EXPECT_LT(s.sweep_repair_symbols * 10, s.repair_symbols) << "seed " << sc.seed;
}

// NAKs that arrive after their poll closed, from a receiver alone in its
// losses, are still repaired during the transfer.
TEST(Simulation, LateNaksAreRepairedBeforeTheSweep) {
  Scenario sc{"late naks", 1, {16 << 20}};
  sc.down.loss = 0.02;
  sc.up.jitter = milliseconds(40);  // feedback often later than the collection
  sc.seed = 37;
  Outcome out = RunScenario(sc);
  ExpectAllIdentical(sc, out);
  const SenderStats& s = out.stats;
  std::printf("late NAKs %llu of %llu; %llu of %llu repair symbols in sweeps\n",
              (unsigned long long)s.late_naks, (unsigned long long)s.naks,
              (unsigned long long)s.sweep_repair_symbols, (unsigned long long)s.repair_symbols);
  EXPECT_GT(s.late_naks, 0u) << "the scenario no longer makes NAKs late; seed " << sc.seed;
  EXPECT_LT(s.sweep_repair_symbols * 10, s.repair_symbols) << "seed " << sc.seed;
}

TEST(Simulation, BurstyLoss) {
  Scenario sc{"bursty", 8, {2 << 20}};
  sc.down.burst_enter = 0.01;  // bursts start every ~100 packets
  sc.down.burst_exit = 0.1;    // and last ~10 packets
  sc.seed = 21;
  ExpectAllIdentical(sc, RunScenario(sc));
}

TEST(Simulation, ReorderingAndDuplication) {
  Scenario sc{"reorder", 6, {1 << 20, 4096}};
  sc.down.jitter = milliseconds(3);  // far more than the packet spacing: heavy reordering
  sc.down.duplicate = 0.05;
  sc.down.loss = 0.02;
  sc.up.jitter = milliseconds(2);
  sc.up.duplicate = 0.05;
  sc.seed = 22;
  ExpectAllIdentical(sc, RunScenario(sc));
}

TEST(Simulation, LateJoinerCatchesUp) {
  Scenario sc{"late", 4, {4 << 20}};
  sc.down.loss = 0.01;
  sc.seed = 23;
  std::vector<SimReceiver> specs = Receivers(sc);
  specs[3].join_at = milliseconds(20);  // the first pass is well under way by then
  SenderConfig config;
  config.expected_receivers = 3;
  config.late_announce_interval = milliseconds(5);
  Outcome out = RunScenario(sc, config, specs);
  ExpectAllIdentical(sc, out);
}

TEST(Simulation, SilentReceiverIsDeclaredFailedOthersFinish) {
  Scenario sc{"silent", 5, {2 << 20}};
  sc.down.loss = 0.02;
  sc.seed = 24;
  std::vector<SimReceiver> specs(5);
  for (auto& r : specs) r.down = sc.down;
  specs[2].silent_at = milliseconds(5);
  SenderConfig config;
  config.receiver_timeout = seconds(2);
  static PatternSource source;
  Manifest manifest = PatternManifest(sc.sizes);
  std::vector<std::unique_ptr<MemoryStore>> stores;
  for (auto& r : specs) {
    stores.push_back(std::make_unique<MemoryStore>());
    r.store = stores.back().get();
  }
  config.expected_receivers = 5;
  Simulator sim(sc.seed, config, manifest, source, specs);
  SimResult result = sim.Run(seconds(60));
  ASSERT_TRUE(sim.sender().finished()) << "seed " << sc.seed;
  int ok = 0, timed_out = 0;
  for (const ReceiverReport& r : sim.sender().Reports()) {
    ok += r.outcome == ReceiverOutcome::kSucceeded;
    timed_out += r.outcome == ReceiverOutcome::kTimedOut;
  }
  EXPECT_EQ(ok, 4) << "seed " << sc.seed;
  EXPECT_EQ(timed_out, 1) << "seed " << sc.seed;
  for (int i : {0, 1, 3, 4}) EXPECT_TRUE(stores[i]->finished()) << "receiver " << i;
  EXPECT_FALSE(stores[2]->finished());
  EXPECT_LT(result.end, seconds(5)) << "the silent receiver held the session too long";
}

// A receiver whose data path dies but which keeps sending heartbeats must
// not hold the session open: it fails for lack of progress.
TEST(Simulation, ReceiverWithoutProgressIsDeclaredFailed) {
  Manifest manifest = PatternManifest({4 << 20});
  PatternSource source;
  MemoryStore a, b, c;
  std::vector<SimReceiver> specs{{&a}, {&b}, {&c}};
  specs[1].deaf_at = milliseconds(5);
  SenderConfig config;
  config.expected_receivers = 3;
  config.progress_timeout = seconds(2);
  Simulator sim(34, config, manifest, source, specs);
  SimResult result = sim.Run(seconds(60));
  ASSERT_TRUE(sim.sender().finished()) << "seed 34";
  EXPECT_TRUE(a.finished() && c.finished());
  // The deaf receiver itself only stops when the sender's silence times out.
  EXPECT_EQ(result.receiver_results[1].kind(), ErrorKind::kTimeout);
  for (const ReceiverReport& r : sim.sender().Reports()) {
    if (r.receiver_id == 1001) {
      EXPECT_EQ(r.outcome, ReceiverOutcome::kFailed);
      EXPECT_NE(r.reason.find("no progress"), std::string::npos) << r.reason;
      EXPECT_LT(r.elapsed, seconds(3)) << "declared too late; seed 34";
    } else {
      EXPECT_EQ(r.outcome, ReceiverOutcome::kSucceeded);
    }
  }
}

TEST(Simulation, DiskFullReceiverFailsWithReasonOthersFinish) {
  Scenario sc{"disk-full", 3, {1 << 20}};
  sc.seed = 25;
  static PatternSource source;
  Manifest manifest = PatternManifest(sc.sizes);
  MemoryStore inner, ok1, ok2;
  FailingStore full(inner, 512 << 10,
                    Status::Error(ErrorKind::kNoSpace, "No space left on device"));
  std::vector<SimReceiver> specs(3);
  specs[0].store = &full;
  specs[1].store = &ok1;
  specs[2].store = &ok2;
  SenderConfig config;
  config.expected_receivers = 3;
  Simulator sim(sc.seed, config, manifest, source, specs);
  SimResult result = sim.Run(seconds(60));
  ASSERT_TRUE(result.completed) << "seed " << sc.seed;
  EXPECT_EQ(result.receiver_results[0].kind(), ErrorKind::kNoSpace);
  EXPECT_TRUE(full.aborted());
  EXPECT_TRUE(ok1.finished() && ok2.finished());
  bool reported = false;
  for (const ReceiverReport& r : sim.sender().Reports()) {
    if (r.outcome == ReceiverOutcome::kFailed) {
      reported = r.reason.find("No space left") != std::string::npos;
    }
  }
  EXPECT_TRUE(reported) << "the sender must report the receiver's reason";
}

TEST(Simulation, GarbageAndForeignSessionsAreCountedAndIgnored) {
  Scenario sc{"garbage", 2, {200'000}};
  sc.down.loss = 0.05;
  sc.seed = 26;
  static PatternSource source;
  Manifest manifest = PatternManifest(sc.sizes);
  MemoryStore a, b;
  std::vector<SimReceiver> specs(2);
  specs[0].store = &a;
  specs[1].store = &b;
  for (auto& r : specs) r.down = sc.down;
  SenderConfig config;
  config.expected_receivers = 2;
  config.session_id = 77;
  Simulator sim(sc.seed, config, manifest, source, specs);
  std::vector<std::uint8_t> buf(wire::kMaxDatagram);
  std::vector<std::uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::size_t foreign = wire::Encode(wire::Packet{78, wire::Nak{1, 1, {{0, 5, 3}}}}, buf);
  sim.sender().OnDatagram(Time(0), {1, 1}, junk);
  sim.sender().OnDatagram(Time(0), {1, 1}, {buf.data(), foreign});
  sim.receiver(0).OnDatagram(Time(0), {1, 1}, junk);
  SimResult result = sim.Run(seconds(60));
  ExpectAllIdentical(sc, Outcome{result, {}, manifest});
  EXPECT_EQ(sim.sender().stats().malformed, 1u);
  EXPECT_EQ(sim.sender().stats().foreign, 1u);
  EXPECT_EQ(sim.receiver(0).malformed(), 1u);
  EXPECT_TRUE(a.finished() && b.finished());
}

// A sender whose manifest names a path outside the destination: receivers
// must refuse the whole session before writing anything, and say why.
TEST(Simulation, HostileManifestIsRefusedByEveryReceiver) {
  Manifest manifest = PatternManifest({1000, 2000});
  manifest.entries[1].path = "../../etc/cron.d/evil";
  PatternSource source;
  MemoryStore a, b;
  std::vector<SimReceiver> specs{{&a}, {&b}};
  SenderConfig config;
  config.expected_receivers = 2;
  Simulator sim(32, config, manifest, source, specs);
  SimResult result = sim.Run(seconds(60));
  ASSERT_TRUE(result.completed) << "seed 32";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(result.receiver_results[i].kind(), ErrorKind::kUnsafePath) << "receiver " << i;
  }
  EXPECT_EQ(a.committed() + b.committed(), 0u);
  for (const ReceiverReport& r : sim.sender().Reports()) {
    EXPECT_EQ(r.outcome, ReceiverOutcome::kFailed);
    EXPECT_NE(r.reason.find("../../etc/cron.d/evil"), std::string::npos) << r.reason;
  }
}

// A sender whose manifest receivers would refuse (too many entries) says so
// at once instead of announcing a session nobody can join.
TEST(Simulation, SenderRefusesAManifestReceiversWouldRefuse) {
  Manifest manifest;
  manifest.entries.resize(kMaxManifestEntries + 1);
  for (std::size_t i = 0; i < manifest.entries.size(); ++i) {
    manifest.entries[i].path = "f" + std::to_string(i);
  }
  PatternSource source;
  Sender sender(SenderConfig{}, std::move(manifest), source);
  EXPECT_TRUE(sender.finished());
  EXPECT_EQ(sender.status().kind(), ErrorKind::kInvalidArgument) << sender.status().ToString();
}

// Rate adaptation (issue 3): behind a 200 Mbit/s bottleneck with a 50 ms
// tail-drop queue, a sender that starts at 50 Mbit/s must find the capacity
// and deliver at least 85% of it as goodput without runaway loss.
TEST(Simulation, AdaptiveRateFindsTheBottleneck) {
  const std::uint64_t size = 256ull << 20, cap = 200'000'000;
  Manifest manifest = PatternManifest({size});
  PatternSource source;
  std::vector<std::unique_ptr<CheckingStore>> stores;
  std::vector<SimReceiver> specs;
  for (int i = 0; i < 4; ++i) {
    stores.push_back(std::make_unique<CheckingStore>());
    specs.push_back(SimReceiver{stores.back().get()});
  }
  SenderConfig config;
  config.expected_receivers = 4;
  config.rate_adaptive = true;
  config.rate_bps = 100'000'000;  // where the CLI starts
  Simulator sim(33, config, manifest, source, specs);
  sim.SetBottleneck(cap, milliseconds(50));
  SimResult result = sim.Run(seconds(120));
  ASSERT_TRUE(result.completed) << "seed 33";
  for (const Status& s : result.receiver_results) ASSERT_TRUE(s.ok()) << s.ToString();
  const double goodput = double(size) * 8 / (double(result.end.count()) / 1e9);
  std::printf(
      "adaptive rate behind %.0f Mbit/s: goodput %.1f Mbit/s (%.1f%%), wire ratio %.3f, "
      "%llu bottleneck drops, %llu rate cuts, final rate %.0f Mbit/s\n",
      cap / 1e6, goodput / 1e6, 100 * goodput / cap, result.wire_ratio,
      (unsigned long long)result.bottleneck_drops,
      (unsigned long long)sim.sender().stats().rate_decreases, sim.sender().rate_bps() / 1e6);
  EXPECT_GE(goodput, 0.85 * cap) << "seed 33";
  EXPECT_LE(result.wire_ratio, 1.2) << "runaway loss; seed 33";
}

// Target of issue 2: at 5% loss on each of 4 receivers the sender's link
// carries at most 1.15x the payload (UFTP: 1.27-1.43x).
TEST(Simulation, WireRatioAtFivePercentLoss) {
  Scenario sc{"ratio", 4, {16 << 20}};
  sc.down.loss = 0.05;
  sc.seed = 27;
  Outcome out = RunScenario(sc);
  ExpectAllIdentical(sc, out);
  std::printf("wire ratio, 4 receivers, 5%% loss, 16 MiB: %.4f\n", out.sim.wire_ratio);
  EXPECT_LE(out.sim.wire_ratio, 1.15);
}

// Runs `sc` with window repair and with parity alone: both must deliver
// every byte, and window repair must send window symbols and fewer repair
// symbols in all.
void ExpectWindowRepairSendsLess(const Scenario& sc) {
  SenderConfig parity_only;
  parity_only.window_repair = false;
  Outcome parity = RunScenario(sc, parity_only);
  Outcome window = RunScenario(sc);
  ExpectAllIdentical(sc, parity);
  ExpectAllIdentical(sc, window);
  std::printf("%s: wire %.4f with window repair (%llu window symbols), %.4f with parity alone\n",
              sc.name.c_str(), window.sim.wire_ratio,
              (unsigned long long)window.stats.window_symbols, parity.sim.wire_ratio);
  EXPECT_GT(window.stats.window_symbols, 0u) << "seed " << sc.seed;
  EXPECT_EQ(parity.stats.window_symbols, 0u);
  EXPECT_LT(window.stats.repair_symbols, parity.stats.repair_symbols) << "seed " << sc.seed;
}

// Window repair: each block's parity covers all but its worst receiver, and
// window symbols the rest. Against parity alone in the same scenario, it must
// send less and lose nothing.
TEST(Simulation, WindowRepairSendsLessThanParityAlone) {
  Scenario sc{"8 receivers, 5% loss", 8, {16 << 20, 300'000}};
  sc.down.loss = 0.05;
  sc.seed = 31;
  ExpectWindowRepairSendsLess(sc);
}

// NAK suppression: ten times the receivers must cost far less than ten
// times the NAKs.
TEST(Simulation, FeedbackGrowsSublinearly) {
  double naks[2];
  std::size_t sizes[2] = {10, 100};
  for (int i = 0; i < 2; ++i) {
    Scenario sc{"feedback", sizes[i], {4 << 20}};
    sc.down.loss = 0.01;
    sc.seed = 28;
    Outcome out = RunScenario(sc);
    ExpectAllIdentical(sc, out);
    naks[i] = double(out.sim.nak_datagrams);
    std::printf("N=%zu: %.0f NAK datagrams, wire ratio %.3f\n", sizes[i], naks[i],
                out.sim.wire_ratio);
  }
  EXPECT_LT(naks[1], 5 * naks[0]);
}

// In a large group the first NAK of each window plans the whole window for
// what about one receiver in the group exceeds, so most receivers find
// their needs covered and stay silent. Growing the plan one
// NAK at a time drew about two NAKs per block here instead of under one.
TEST(Simulation, LargeGroupPlansEachWindowFromItsFirstNak) {
  Scenario sc{"group plan", 100, {4 << 20}};
  sc.down.loss = 0.01;
  sc.up.loss = 0.01;
  sc.seed = 29;
  Outcome out = RunScenario(sc);
  ExpectAllIdentical(sc, out);
  const double blocks = double(((4 << 20) + 1455) / 1456) / 200;
  const double naks_per_block = double(out.sim.nak_datagrams) / blocks;
  std::printf("N=100, 1%% loss: %.2f NAKs per block, wire ratio %.4f\n", naks_per_block,
              out.sim.wire_ratio);
  EXPECT_LT(naks_per_block, 1.2) << "seed " << sc.seed;
}

// A large group's repair: parity most receivers use whole, then window
// symbols that about one receiver per window needs more than, advertised so
// that the rest stay silent. It must cost less than parity up to each block's
// worst receiver.
TEST(Simulation, LargeGroupRepairsWithAdvertisedWindowSymbols) {
  Scenario sc{"100 receivers, 1% loss", 100, {4 << 20}};
  sc.down.loss = 0.01;
  sc.up.loss = 0.01;
  sc.seed = 30;
  ExpectWindowRepairSendsLess(sc);
}

// The group plan's loss estimate in an uneven group: one receiver at 10%
// loss among 1% ones. It is sometimes the first to NAK, and must not swell
// every window's plan: planning all windows for 10% loss makes this 1.195.
TEST(Simulation, LargeGroupWithOneLossyReceiver) {
  Scenario sc{"uneven group", 40, {8 << 20}};
  sc.down.loss = 0.01;
  sc.up.loss = 0.01;
  sc.seed = 33;
  std::vector<SimReceiver> specs = Receivers(sc);
  specs[0].down.loss = 0.10;
  Outcome out = RunScenario(sc, {}, specs);
  ExpectAllIdentical(sc, out);
  std::printf(
      "one receiver at 10%% among 40: wire ratio %.4f (%llu repair, %llu window, %llu NAKs, %llu "
      "polls)\n",
      out.sim.wire_ratio, (unsigned long long)out.stats.repair_symbols,
      (unsigned long long)out.stats.window_symbols, (unsigned long long)out.stats.naks,
      (unsigned long long)out.stats.polls);
  EXPECT_LT(out.sim.wire_ratio, 1.18) << "seed " << sc.seed;
}

// Late joiners in a large group: their first NAKs list whole blocks, which
// say nothing of loss, so a window whose first NAK is one of theirs waits
// for the next to be planned for the group.
TEST(Simulation, LargeGroupWithLateJoiners) {
  Scenario sc{"late in a group", 40, {8 << 20}};
  sc.down.loss = 0.01;
  sc.up.loss = 0.01;
  sc.seed = 34;
  std::vector<SimReceiver> specs = Receivers(sc);
  for (std::size_t i = 30; i < 40; ++i) specs[i].join_at = milliseconds(20);
  SenderConfig config;
  config.expected_receivers = 30;
  config.late_announce_interval = milliseconds(5);
  Outcome out = RunScenario(sc, config, specs);
  ExpectAllIdentical(sc, out);
}

}  // namespace
}  // namespace ardus::testing

namespace ardus::testing {
namespace {

// A file larger than 4 GiB streamed through the simulator from a synthetic
// source: nothing holds it in memory; CheckingStore verifies every byte
// against the pattern as it is written, and coverage on commit.
TEST(SimulationLarge, FileLargerThanFourGiB) {
  const std::uint64_t size = (4ull << 30) + 3 * 1456 * 200 + 777;
  Manifest manifest = PatternManifest({size});
  PatternSource source;
  CheckingStore store;
  LinkModel link;
  link.loss = 0.002;
  SenderConfig config;
  config.expected_receivers = 1;
  config.rate_bps = 10'000'000'000;
  Simulator sim(31, config, manifest, source, {SimReceiver{&store, link, {}, Time(0), kNever}});
  SimResult result = sim.Run(seconds(600));
  ASSERT_TRUE(result.completed) << "seed 31";
  ASSERT_TRUE(result.receiver_results[0].ok()) << result.receiver_results[0].ToString();
  EXPECT_TRUE(store.finished());
  EXPECT_EQ(sim.receiver(0).bytes_done(), size);
}

}  // namespace
}  // namespace ardus::testing
