#include "ardus/window_code.h"

#include <gtest/gtest.h>
#include <isa-l/erasure_code.h>

#include <deque>
#include <random>
#include <set>

#include "ardus/layout.h"
#include "ardus/wire.h"

namespace ardus {
namespace {

// The spec's worked example (docs/ardus-protocol.md, "Window repair").
TEST(WindowCode, CoefficientsMatchSpecExample) {
  auto c = WindowCoefficients(16, 256, 10);
  std::vector<std::uint8_t> spec = {0x7B, 0x61, 0x25, 0xF9, 0xDE, 0x78, 0xBC, 0x83, 0x84, 0xCE};
  EXPECT_EQ(c, spec);
  for (std::uint8_t v : WindowCoefficients(7, 300, 4000)) EXPECT_NE(v, 0);
  EXPECT_NE(WindowCoefficients(16, 257, 10), c);
  EXPECT_NE(WindowCoefficients(17, 256, 10), c);
}

// Encode a window's symbols, lose some sources, recover them from the
// window symbols alone.
TEST(WindowCode, SolvesLostSourcesFromWindowSymbols) {
  constexpr std::size_t kLen = 64, kSources = 300, kLost = 12;
  std::mt19937 rng(5);
  std::vector<std::vector<std::uint8_t>> src(kSources, std::vector<std::uint8_t>(kLen));
  std::vector<const std::uint8_t*> ptrs;
  for (auto& v : src) {
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    ptrs.push_back(v.data());
  }
  std::vector<std::vector<std::uint8_t>> sym(kLost + 2, std::vector<std::uint8_t>(kLen));
  std::vector<std::uint8_t*> out;
  for (auto& v : sym) out.push_back(v.data());
  EncodeWindowSymbols(32, 256, kLen, ptrs, out);

  std::vector<std::size_t> lost;
  for (std::size_t i = 0; i < kLost; ++i) lost.push_back(i * 23 + 3);
  // y = symbol + known sources' terms; a = the lost sources' coefficients.
  std::vector<std::uint8_t> a;
  std::vector<std::uint8_t*> y;
  for (std::size_t r = 0; r < sym.size(); ++r) {
    auto c = WindowCoefficients(32, static_cast<std::uint16_t>(256 + r), kSources);
    for (std::size_t s = 0; s < kSources; ++s) {
      if (std::find(lost.begin(), lost.end(), s) != lost.end()) continue;
      for (std::size_t b = 0; b < kLen; ++b) sym[r][b] ^= gf_mul(c[s], src[s][b]);
    }
    for (std::size_t l : lost) a.push_back(c[l]);
    y.push_back(sym[r].data());
  }
  std::vector<std::vector<std::uint8_t>> x(kLost, std::vector<std::uint8_t>(kLen));
  std::vector<std::uint8_t*> x_ptrs;
  for (auto& v : x) x_ptrs.push_back(v.data());
  std::vector<int> redundant;
  ASSERT_TRUE(SolveSymbols(kLost, a, y, kLen, x_ptrs, &redundant));
  for (std::size_t i = 0; i < kLost; ++i) EXPECT_EQ(x[i], src[lost[i]]) << "lost " << lost[i];
}

TEST(WindowCode, ReportsRedundantEquations) {
  // Two unknowns; the second equation is twice the first.
  std::vector<std::uint8_t> a = {1, 2, 2, 4, 3, 1};
  std::vector<std::uint8_t> y0(8, 1), y1(8, 2), y2(8, 3), x0(8), x1(8);
  std::vector<std::uint8_t*> y = {y0.data(), y1.data(), y2.data()};
  std::vector<std::uint8_t*> x = {x0.data(), x1.data()};
  std::vector<int> redundant;
  EXPECT_TRUE(SolveSymbols(2, a, y, 8, x, &redundant));
  EXPECT_EQ(redundant, std::vector<int>{1});
  redundant.clear();
  EXPECT_FALSE(SolveSymbols(2, std::span(a).first(4), std::span(y).first(2), 8, x, &redundant));
  EXPECT_EQ(redundant, std::vector<int>{1});
}

TEST(WindowCode, RepairWindowsFollowTheGridAndObjects) {
  // Manifest: 1 block; file A: 20 blocks (1..20); file B: 3 blocks (21..23).
  Layout layout({1000, 1456ull * 200 * 20, 1456ull * 200 * 3}, 1456, 200);
  using W = std::pair<std::uint32_t, std::uint32_t>;
  EXPECT_EQ(layout.RepairWindow(0, 16), W(0, 1));
  EXPECT_EQ(layout.RepairWindow(5, 16), W(1, 16));
  EXPECT_EQ(layout.RepairWindow(16, 16), W(16, 21));
  EXPECT_EQ(layout.RepairWindow(22, 16), W(21, 24));
  EXPECT_EQ(layout.RepairWindow(22, 1), W(22, 23));
}

// ---- SolveWindow ------------------------------------------------------------

// A window of blocks with random sources, their Reed-Solomon parity and the
// window's symbols, and a receiver's holdings of them.
class Window {
 public:
  static constexpr std::size_t kLen = 48;
  static constexpr std::uint32_t kFirst = 40;

  Window(std::vector<std::uint16_t> ks, std::uint32_t seed) : ks_(std::move(ks)), rng_(seed) {
    std::vector<const std::uint8_t*> all;
    for (std::uint16_t k : ks_) {
      auto& block = sources_.emplace_back(std::size_t{k} * kLen);
      for (auto& b : block) b = static_cast<std::uint8_t>(rng_());
      for (std::size_t i = 0; i < k; ++i) all.push_back(block.data() + i * kLen);
      held_.emplace_back(block.begin(), block.end());
    }
    window_.assign(64, std::vector<std::uint8_t>(kLen));
    std::vector<std::uint8_t*> out;
    for (auto& w : window_) out.push_back(w.data());
    EncodeWindowSymbols(kFirst, wire::kFirstWindowEsi, kLen, all, out);
    for (std::size_t b = 0; b < ks_.size(); ++b) {
      WindowBlock& block = problem_.blocks.emplace_back();
      block.k = ks_[b];
      block.sources = held_[b].data();
      for (std::size_t i = 0; i < ks_[b]; ++i) block.present.set(i);
    }
    problem_.first_block = kFirst;
    problem_.symbol_size = kLen;
  }

  // The receiver lacks source `esi` of block `b`: its slot holds junk.
  void Lose(std::size_t b, std::uint16_t esi) {
    problem_.blocks[b].present.reset(esi);
    std::fill_n(held_[b].begin() + std::ptrdiff_t(esi * kLen), kLen, 0xEE);
  }
  // It holds parity ESI `esi` of block `b`.
  void HoldParity(std::size_t b, std::uint16_t esi) {
    auto& symbol = parity_.emplace_back(kLen);
    std::vector<const std::uint8_t*> src;
    for (std::size_t i = 0; i < ks_[b]; ++i) src.push_back(sources_[b].data() + i * kLen);
    std::uint8_t* out[] = {symbol.data()};
    FecCodec().Encode(ks_[b], kLen, src, out, esi - ks_[b]);
    problem_.blocks[b].parity.push_back({esi, symbol.data()});
  }
  // It holds window symbol kFirstWindowEsi + r.
  void HoldWindowSymbol(std::size_t r) {
    problem_.window_symbols.push_back(
        {static_cast<std::uint16_t>(wire::kFirstWindowEsi + r), window_[r].data()});
  }

  WindowProblem& problem() { return problem_; }

  // Every recovered symbol is the original, and exactly the lost ones came back.
  void ExpectRecovered(const WindowSolution& solution) const {
    ASSERT_TRUE(solution.solved);
    std::size_t incomplete = 0;
    for (std::size_t b = 0; b < ks_.size(); ++b) {
      std::set<std::uint16_t> lost;
      for (std::uint16_t i = 0; i < ks_[b]; ++i) {
        if (!problem_.blocks[b].present[i]) lost.insert(i);
      }
      if (lost.empty()) continue;
      ASSERT_LT(incomplete, solution.recovered.size());
      const RecoveredBlock& r = solution.recovered[incomplete++];
      EXPECT_EQ(r.block, b);
      EXPECT_EQ(std::set<std::uint16_t>(r.esis.begin(), r.esis.end()), lost);
      ASSERT_EQ(r.symbols.size(), r.esis.size() * kLen);
      for (std::size_t j = 0; j < r.esis.size(); ++j) {
        const auto* original = sources_[b].data() + std::size_t{r.esis[j]} * kLen;
        EXPECT_TRUE(std::equal(original, original + kLen, r.symbols.data() + j * kLen))
            << "block " << b << " source " << r.esis[j];
      }
    }
    EXPECT_EQ(solution.recovered.size(), incomplete);
  }

 private:
  std::vector<std::uint16_t> ks_;
  std::mt19937 rng_;
  std::vector<std::vector<std::uint8_t>> sources_, held_, window_;
  std::deque<std::vector<std::uint8_t>> parity_;  // stable addresses
  WindowProblem problem_;
};

TEST(SolveWindow, RecoversFromParityAndWindowSymbolsTogether) {
  Window w({10, 7, 12}, 1);
  // Block 0: 3 lost, 1 parity; block 1 complete; block 2: 2 lost, no parity.
  w.Lose(0, 0);
  w.Lose(0, 4);
  w.Lose(0, 9);
  w.HoldParity(0, 13);
  w.Lose(2, 5);
  w.Lose(2, 11);
  for (std::size_t r = 0; r < 4; ++r) w.HoldWindowSymbol(r);  // 2 + 2 unknowns
  FecCodec codec;
  Result<WindowSolution> s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s.value().redundant.empty());
  w.ExpectRecovered(s.value());
}

TEST(SolveWindow, TooFewWindowSymbolsIsNotYetSolvable) {
  Window w({10, 10}, 2);
  w.Lose(0, 1);
  w.Lose(0, 2);
  w.HoldParity(0, 200);
  w.Lose(1, 3);
  w.HoldWindowSymbol(0);  // 2 unknowns, 1 window symbol
  FecCodec codec;
  Result<WindowSolution> s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s.value().solved);
  EXPECT_TRUE(s.value().redundant.empty());
  EXPECT_TRUE(s.value().recovered.empty());
  // One more makes it solvable.
  w.HoldWindowSymbol(1);
  s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok());
  w.ExpectRecovered(s.value());
}

// A window symbol held twice adds nothing the second time: it is reported,
// and the next one held takes its place.
TEST(SolveWindow, RedundantWindowSymbolsAreReportedAndReplaced) {
  Window w({20, 20}, 3);
  w.Lose(0, 7);
  w.Lose(1, 8);
  w.HoldWindowSymbol(0);
  w.HoldWindowSymbol(0);
  FecCodec codec;
  Result<WindowSolution> s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s.value().solved);
  EXPECT_EQ(s.value().redundant, std::vector<std::uint16_t>{wire::kFirstWindowEsi});
  w.HoldWindowSymbol(1);
  s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.value().redundant, std::vector<std::uint16_t>{wire::kFirstWindowEsi});
  w.ExpectRecovered(s.value());
}

TEST(SolveWindow, WindowWithoutIncompleteBlocksIsSolvedWithNothingRecovered) {
  Window w({5, 6}, 4);
  w.HoldWindowSymbol(0);
  FecCodec codec;
  Result<WindowSolution> s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.value().solved);
  EXPECT_TRUE(s.value().recovered.empty());
}

// k = 1 (its only source lost), k = 255 (no parity ESI exists) and k = 254
// (parity ESI 254 alone), in one window.
TEST(SolveWindow, BlocksAtTheLimitsOfK) {
  Window w({1, 255, 254}, 5);
  w.Lose(0, 0);
  w.Lose(1, 0);
  w.Lose(1, 254);
  w.Lose(2, 100);
  w.Lose(2, 253);
  w.HoldParity(2, 254);
  for (std::size_t r = 0; r < 4; ++r) w.HoldWindowSymbol(r);
  FecCodec codec;
  Result<WindowSolution> s = SolveWindow(w.problem(), codec);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  w.ExpectRecovered(s.value());
}

// Random windows: whenever there are as many window symbols as unknowns the
// system is square and random, so it is solvable about 255 times in 256;
// whatever is solved must be the original bytes.
TEST(SolveWindow, RandomWindowsRecoverTheOriginal) {
  std::mt19937 rng(6);
  int solved = 0;
  constexpr int kTries = 60;
  for (int t = 0; t < kTries; ++t) {
    std::vector<std::uint16_t> ks;
    for (int b = 0; b < 1 + int(rng() % 4); ++b)
      ks.push_back(static_cast<std::uint16_t>(1 + rng() % 40));
    Window w(ks, rng());
    std::size_t unknowns = 0;
    for (std::size_t b = 0; b < ks.size(); ++b) {
      std::size_t lost = 0;
      for (std::uint16_t i = 0; i < ks[b]; ++i) {
        if (rng() % 8 == 0) {
          w.Lose(b, i);
          ++lost;
        }
      }
      std::size_t parity = lost == 0 ? 0 : rng() % lost;
      for (std::size_t j = 0; j < parity; ++j)
        w.HoldParity(b, static_cast<std::uint16_t>(ks[b] + 3 * j));
      unknowns += lost - parity;
    }
    for (std::size_t r = 0; r < unknowns; ++r) w.HoldWindowSymbol(r);
    FecCodec codec;
    Result<WindowSolution> s = SolveWindow(w.problem(), codec);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    if (!s.value().solved) continue;
    ++solved;
    w.ExpectRecovered(s.value());
  }
  EXPECT_GE(solved, kTries - 3);
}

TEST(SolveWindow, RefusesProblemsOutsideItsPreconditions) {
  FecCodec codec;
  auto refused = [&](WindowProblem p, const char* why) {
    Result<WindowSolution> s = SolveWindow(p, codec);
    ASSERT_FALSE(s.ok()) << why;
    EXPECT_EQ(s.status().kind(), ErrorKind::kInternal) << why;
  };
  Window w({10}, 7);
  w.Lose(0, 2);
  w.Lose(0, 3);
  w.HoldParity(0, 10);
  w.HoldWindowSymbol(0);
  ASSERT_TRUE(SolveWindow(w.problem(), codec).ok());  // the baseline the cases below break

  WindowProblem p = w.problem();
  p.blocks[0].k = 256;  // the bitset and the 255-symbol code end at 255
  refused(p, "k = 256");
  p = w.problem();
  p.blocks[0].k = 0;
  refused(p, "k = 0");
  p = w.problem();
  p.symbol_size = 0;
  refused(p, "symbol size 0");
  p = w.problem();
  p.blocks[0].parity[0].esi = 9;  // a source ESI
  refused(p, "parity ESI below k");
  p = w.problem();
  p.blocks[0].parity[0].esi = 255;
  refused(p, "parity ESI 255");
  p = w.problem();
  p.blocks[0].parity.push_back(p.blocks[0].parity[0]);
  refused(p, "parity ESI repeated");
  p = w.problem();
  p.blocks[0].parity.push_back({11, p.blocks[0].parity[0].bytes});
  refused(p, "as much parity as missing sources");
  p = w.problem();
  p.blocks[0].sources = nullptr;
  refused(p, "no source bytes");
}

}  // namespace
}  // namespace ardus
