// Layout: how a sequence of objects (the manifest, then each file) is cut into
// source blocks and symbols, and how a global block index maps back to bytes.
//
// Each object of size n is cut into ceil(n / S) symbols of S bytes (the last
// one zero-padded on the wire). Its symbols are spread over
// ceil(symbols / K) blocks as evenly as possible, so blocks differ in size by
// at most one symbol and no tiny tail block pays a large repair overhead.
// Blocks are numbered globally across objects, in object order; an empty
// object has no blocks. All offsets are 64-bit.
//
// Thread-safety: immutable after construction; const methods are safe.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace ardus {

struct BlockInfo {
  std::uint32_t object = 0;  // index into the object list
  std::uint64_t offset = 0;  // byte offset of the block's first symbol in the object
  std::uint16_t k = 0;       // source symbols in the block
  std::uint64_t bytes = 0;   // real bytes covered (< k*S only for the object's last block)
};

class Layout {
 public:
  Layout() = default;
  // Preconditions: symbol_size > 0, block_symbols in [1, 255]. Total block
  // count must fit in 32 bits; Valid() reports whether it did.
  Layout(std::vector<std::uint64_t> object_sizes, std::uint16_t symbol_size,
         std::uint16_t block_symbols);

  bool Valid() const { return valid_; }
  std::uint32_t block_count() const { return total_blocks_; }
  std::uint32_t object_count() const { return static_cast<std::uint32_t>(sizes_.size()); }
  std::uint64_t object_size(std::uint32_t object) const { return sizes_[object]; }
  // Blocks of object o are [first_block(o), first_block(o) + block_count(o)).
  std::uint32_t first_block(std::uint32_t object) const { return first_block_[object]; }
  std::uint32_t blocks_of(std::uint32_t object) const {
    return first_block_[object + 1] - first_block_[object];
  }
  std::uint16_t symbol_size() const { return symbol_size_; }

  // Precondition: block < block_count().
  BlockInfo Block(std::uint32_t block) const;

  // The repair window holding `block`: blocks are grouped on a grid of
  // `window_blocks`, cut at object boundaries, so a window never spans two
  // objects (a receiver can read back every block of a window until its
  // object is complete). Returns [first, end). Preconditions: block <
  // block_count(), window_blocks >= 1.
  std::pair<std::uint32_t, std::uint32_t> RepairWindow(std::uint32_t block,
                                                       std::uint32_t window_blocks) const;

 private:
  std::vector<std::uint64_t> sizes_;
  std::vector<std::uint32_t> first_block_;  // object_count()+1 prefix sums
  std::uint16_t symbol_size_ = 1;
  std::uint16_t block_symbols_ = 1;
  std::uint32_t total_blocks_ = 0;
  bool valid_ = false;
};

}  // namespace ardus
