#include "ardus/window_code.h"

#include <gtest/gtest.h>
#include <isa-l/erasure_code.h>

#include <random>

#include "ardus/layout.h"

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

}  // namespace
}  // namespace ardus
