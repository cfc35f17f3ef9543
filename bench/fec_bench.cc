// Reed-Solomon cost per block as a receiver and a sender pay it: decoding a
// 200-symbol block with m source symbols lost, and encoding parity rows; and
// a receiver's whole work on a session repaired with window symbols.
// Run: ./build/bench/fec_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "ardus/fec.h"
#include "engine_loop.h"

namespace {

constexpr int kK = 200;
constexpr std::size_t kLen = 1456;

struct Block {
  std::vector<std::vector<std::uint8_t>> symbols;  // k sources, then parity
  explicit Block(int parity) : symbols(static_cast<std::size_t>(kK + parity)) {
    static std::mt19937 rng(7);
    for (auto& s : symbols) {
      s.resize(kLen);
      for (auto& b : s) b = static_cast<std::uint8_t>(rng());
    }
  }
  std::vector<const std::uint8_t*> Sources() const {
    std::vector<const std::uint8_t*> p;
    for (int i = 0; i < kK; ++i) p.push_back(symbols[static_cast<std::size_t>(i)].data());
    return p;
  }
};

// One block's symbols with m sources lost and m parity received in their place.
struct LossyBlock {
  Block block;
  std::vector<std::uint8_t> missing, esis;
  std::vector<const std::uint8_t*> received;
  LossyBlock(ardus::FecCodec& codec, int m) : block(m) {
    std::vector<std::uint8_t*> parity;
    for (int j = 0; j < m; ++j) {
      parity.push_back(block.symbols[static_cast<std::size_t>(kK + j)].data());
    }
    codec.Encode(kK, kLen, block.Sources(), parity);
    // Losses spread over the block: the cost does not depend on which.
    for (int i = 0; i < kK + m; ++i) {
      if (i < kK && i % (kK / m) == 0 && static_cast<int>(missing.size()) < m) {
        missing.push_back(static_cast<std::uint8_t>(i));
      } else {
        esis.push_back(static_cast<std::uint8_t>(i));
        received.push_back(block.symbols[static_cast<std::size_t>(i)].data());
      }
    }
  }
};

// Args: m lost symbols; blocks decoded in turn. One block stays in cache; 256
// blocks (75 MiB) do not, as for a receiver whose repair comes milliseconds
// after the block's data.
void BM_Decode(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  ardus::FecCodec codec;
  std::vector<LossyBlock> blocks;
  for (int b = 0; b < state.range(1); ++b) blocks.emplace_back(codec, m);
  std::vector<std::vector<std::uint8_t>> out(static_cast<std::size_t>(m),
                                             std::vector<std::uint8_t>(kLen));
  std::vector<std::uint8_t*> out_ptrs;
  for (auto& o : out) out_ptrs.push_back(o.data());
  std::size_t next = 0;
  for (auto _ : state) {
    const LossyBlock& b = blocks[next];
    next = (next + 1) % blocks.size();
    if (!codec.Decode(kK, kLen, b.esis, b.received, b.missing, out_ptrs).ok()) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(out_ptrs[0][0]);
  }
  const LossyBlock& last = blocks[(next + blocks.size() - 1) % blocks.size()];
  for (int j = 0; j < m; ++j) {
    if (out[static_cast<std::size_t>(j)] !=
        last.block.symbols[last.missing[static_cast<std::size_t>(j)]]) {
      state.SkipWithError("decoded symbol differs");
      return;
    }
  }
  state.SetBytesProcessed(state.iterations() * kK * static_cast<std::int64_t>(kLen));
}
BENCHMARK(BM_Decode)->ArgsProduct({{1, 2, 5, 10, 20, 40}, {1, 256}});

void BM_EncodeSixRows(benchmark::State& state) {
  Block block(6);
  ardus::FecCodec codec;
  std::vector<std::uint8_t*> parity;
  for (int j = 0; j < 6; ++j)
    parity.push_back(block.symbols[static_cast<std::size_t>(kK + j)].data());
  for (auto _ : state) {
    codec.Encode(kK, kLen, block.Sources(), parity);
    benchmark::DoNotOptimize(parity[0][0]);
  }
  state.SetBytesProcessed(state.iterations() * kK * static_cast<std::int64_t>(kLen));
}
BENCHMARK(BM_EncodeSixRows);

// A receiver's work on one 32 MiB session at 5% loss with window repair
// (receiver 0 of bench/engine_trace's "window" scenario at the given loss):
// its inbound datagrams are recorded once from the closed loop, then replayed
// into a fresh Receiver per iteration, so window solves, block decodes and
// everything around them are timed as the receiver pays them. Arg: loss in
// per mille.
void BM_ReceiverWindowSolve(benchmark::State& state) {
  ardus::bench::LoopConfig config;
  config.loss = double(state.range(0)) / 1000;
  config.bytes = 32u << 20;
  config.record_first_receiver = true;
  const ardus::bench::LoopResult loop = ardus::bench::RunLoop(config);
  if (!loop.completed || loop.stats.window_symbols == 0) {
    state.SkipWithError("the recorded session did not complete with window symbols");
    return;
  }
  for (auto _ : state) {
    if (!ardus::bench::ReplayFirstReceiver(config, loop.first_inbound).ok()) {
      state.SkipWithError("replayed receiver failed");
      return;
    }
  }
  state.counters["window_symbols_sent"] = double(loop.stats.window_symbols);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(config.bytes));
}
BENCHMARK(BM_ReceiverWindowSolve)->Arg(20)->Arg(50)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
