#include "ardus/layout.h"

#include <algorithm>

namespace ardus {
namespace {
// Without the a + b - 1 of the usual form, which wraps for sizes near 2^64.
std::uint64_t CeilDiv(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0); }
}  // namespace

Layout::Layout(std::vector<std::uint64_t> object_sizes, std::uint16_t symbol_size,
               std::uint16_t block_symbols)
    : sizes_(std::move(object_sizes)), symbol_size_(symbol_size), block_symbols_(block_symbols) {
  first_block_.reserve(sizes_.size() + 1);
  std::uint64_t total = 0;
  for (std::uint64_t size : sizes_) {
    first_block_.push_back(static_cast<std::uint32_t>(total));
    total += CeilDiv(CeilDiv(size, symbol_size_), block_symbols_);
    if (total > 0xFFFFFFF0ull) return;  // valid_ stays false
  }
  first_block_.push_back(static_cast<std::uint32_t>(total));
  total_blocks_ = static_cast<std::uint32_t>(total);
  valid_ = true;
}

BlockInfo Layout::Block(std::uint32_t block) const {
  // The last object whose first block is <= `block`. It cannot be an empty
  // object: an empty object's successor starts at the same index.
  auto it = std::upper_bound(first_block_.begin(), first_block_.end() - 1, block);
  auto object = static_cast<std::uint32_t>(it - first_block_.begin() - 1);

  const std::uint64_t symbols = CeilDiv(sizes_[object], symbol_size_);
  const std::uint64_t nblocks = blocks_of(object);
  const std::uint64_t base = symbols / nblocks, extra = symbols % nblocks;
  const std::uint64_t b = block - first_block_[object];
  const std::uint64_t first_symbol = b * base + std::min(b, extra);
  BlockInfo info;
  info.object = object;
  info.k = static_cast<std::uint16_t>(base + (b < extra ? 1 : 0));
  info.offset = first_symbol * symbol_size_;
  info.bytes =
      std::min<std::uint64_t>(std::uint64_t{info.k} * symbol_size_, sizes_[object] - info.offset);
  return info;
}

std::pair<std::uint32_t, std::uint32_t> Layout::RepairWindow(std::uint32_t block,
                                                             std::uint32_t window_blocks) const {
  const std::uint32_t object = Block(block).object;
  const std::uint64_t grid = block - block % window_blocks;
  const auto first =
      static_cast<std::uint32_t>(std::max<std::uint64_t>(grid, first_block_[object]));
  const auto end = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(grid + window_blocks, first_block_[object + 1]));
  return {first, end};
}

}  // namespace ardus
