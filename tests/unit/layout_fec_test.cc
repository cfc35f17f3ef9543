#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "ardus/fec.h"
#include "ardus/layout.h"

namespace ardus {
namespace {

TEST(Layout, BalancesBlocksAndCoversEveryByte) {
  Layout layout({1000, 0, 1456 * 401 + 7}, 1456, 200);
  ASSERT_TRUE(layout.Valid());
  EXPECT_EQ(layout.blocks_of(0), 1u);
  EXPECT_EQ(layout.blocks_of(1), 0u);
  EXPECT_EQ(layout.blocks_of(2), 3u);  // 402 symbols over 3 blocks: 134 each
  EXPECT_EQ(layout.block_count(), 4u);
  std::uint64_t covered = 0;
  for (std::uint32_t b = layout.first_block(2); b < layout.block_count(); ++b) {
    BlockInfo info = layout.Block(b);
    EXPECT_EQ(info.object, 2u);
    EXPECT_EQ(info.k, 134);
    EXPECT_EQ(info.offset, covered);
    covered += info.bytes;
  }
  EXPECT_EQ(covered, layout.object_size(2));
  EXPECT_EQ(layout.Block(0).bytes, 1000u);
  EXPECT_EQ(layout.Block(0).k, 1);
}

TEST(Layout, OffsetsPastFourGiB) {
  const std::uint64_t size = (5ull << 30) + 12345;
  Layout layout({100, size}, 1456, 200);
  ASSERT_TRUE(layout.Valid());
  std::uint64_t symbols = (size + 1455) / 1456;
  EXPECT_EQ(layout.blocks_of(1), (symbols + 199) / 200);
  BlockInfo last = layout.Block(layout.block_count() - 1);
  EXPECT_GT(last.offset, 4ull << 30);
  EXPECT_EQ(last.offset + last.bytes, size);
  int sizes_seen[256] = {};
  for (std::uint32_t b = 1; b < layout.block_count(); ++b) ++sizes_seen[layout.Block(b).k];
  int distinct = 0;
  for (int c : sizes_seen) distinct += c > 0;
  EXPECT_LE(distinct, 2);  // balanced: block sizes differ by at most one symbol
}

// Sizes near 2^64 once wrapped in the ceiling division to a few blocks, a
// layout that claimed to be valid; a peer's manifest sets these sizes.
TEST(Layout, SizesNearTwoToTheSixtyFourAreInvalidNotWrapped) {
  for (std::uint64_t size : {~std::uint64_t{0}, ~std::uint64_t{0} - 1000, std::uint64_t{1} << 63}) {
    EXPECT_FALSE(Layout({100, size}, 1456, 200).Valid()) << size;
    EXPECT_FALSE(Layout({100, size}, 64, 1).Valid()) << size;
  }
  Layout largest({(0xFFFFFFF0ull - 1) * 64}, 64, 1);  // one block short of the limit
  ASSERT_TRUE(largest.Valid());
  EXPECT_EQ(largest.block_count(), 0xFFFFFFEFu);
}

TEST(Layout, EmptyObjectsBetweenOthers) {
  Layout layout({10, 0, 0, 10, 0}, 64, 4);
  EXPECT_EQ(layout.block_count(), 2u);
  EXPECT_EQ(layout.Block(0).object, 0u);
  EXPECT_EQ(layout.Block(1).object, 3u);
}

class FecTest : public ::testing::TestWithParam<int> {};

TEST_P(FecTest, AnyKSymbolsRecoverTheBlock) {
  const int k = GetParam();
  const std::size_t len = 100;
  std::mt19937 rng(k);
  std::vector<std::vector<std::uint8_t>> symbols(255, std::vector<std::uint8_t>(len));
  for (int i = 0; i < k; ++i)
    for (auto& b : symbols[i]) b = static_cast<std::uint8_t>(rng());
  FecCodec codec;
  std::vector<const std::uint8_t*> src;
  std::vector<std::uint8_t*> parity;
  for (int i = 0; i < k; ++i) src.push_back(symbols[i].data());
  for (int i = k; i < 255; ++i) parity.push_back(symbols[i].data());
  codec.Encode(k, len, src, parity);

  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int> esis(255);
    std::iota(esis.begin(), esis.end(), 0);
    std::shuffle(esis.begin(), esis.end(), rng);
    esis.resize(k);
    std::vector<std::uint8_t> have, missing;
    std::vector<const std::uint8_t*> received;
    for (int e : esis) {
      have.push_back(static_cast<std::uint8_t>(e));
      received.push_back(symbols[e].data());
    }
    for (int i = 0; i < k; ++i)
      if (std::find(esis.begin(), esis.end(), i) == esis.end()) missing.push_back(i);
    std::vector<std::vector<std::uint8_t>> out(missing.size(), std::vector<std::uint8_t>(len));
    std::vector<std::uint8_t*> outp;
    for (auto& o : out) outp.push_back(o.data());
    ASSERT_TRUE(codec.Decode(k, len, have, received, missing, outp).ok());
    for (std::size_t m = 0; m < missing.size(); ++m) {
      ASSERT_EQ(out[m], symbols[missing[m]]) << "k=" << k << " trial " << trial;
    }
  }
}

// A sender computes parity rows in runs as repair needs them; every run must
// equal the same rows of a one-shot encode.
TEST_P(FecTest, ParityInRunsEqualsParityAtOnce) {
  const int k = GetParam();
  const std::size_t len = 64;
  std::mt19937 rng(k + 1);
  std::vector<std::vector<std::uint8_t>> source(k, std::vector<std::uint8_t>(len));
  for (auto& s : source)
    for (auto& b : s) b = static_cast<std::uint8_t>(rng());
  std::vector<const std::uint8_t*> src;
  for (auto& s : source) src.push_back(s.data());
  const int rows = 255 - k;
  std::vector<std::vector<std::uint8_t>> whole(rows, std::vector<std::uint8_t>(len)),
      runs(rows, std::vector<std::uint8_t>(len));
  std::vector<std::uint8_t*> whole_p, runs_p;
  for (auto& r : whole) whole_p.push_back(r.data());
  for (auto& r : runs) runs_p.push_back(r.data());
  FecCodec codec;
  codec.Encode(k, len, src, whole_p);
  for (int first = 0, step = 1; first < rows; first += step, step = step % 7 + 1) {
    const int n = std::min(step, rows - first);
    codec.Encode(k, len, src, std::span<std::uint8_t* const>(runs_p.data() + first, n), first);
  }
  for (int r = 0; r < rows; ++r) ASSERT_EQ(runs[r], whole[r]) << "k=" << k << " row " << r;
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, FecTest, ::testing::Values(1, 2, 17, 134, 200, 224));

TEST(Fec, RejectsDuplicateEsis) {
  FecCodec codec;
  std::vector<std::uint8_t> a(16), b(16), out(16);
  std::vector<std::uint8_t> esis{5, 5};
  const std::uint8_t* received[] = {a.data(), b.data()};
  std::uint8_t missing[] = {0};
  std::uint8_t* outp[] = {out.data()};
  EXPECT_EQ(codec.Decode(2, 16, esis, received, missing, outp).kind(), ErrorKind::kInternal);
}

}  // namespace
}  // namespace ardus
