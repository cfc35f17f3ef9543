// Systematic Reed-Solomon erasure code over GF(2^8), computed by ISA-L.
//
// A block of k source symbols (each `symbol_size` bytes) has 255 encoding
// symbols: ESIs 0..k-1 are the source symbols themselves, ESIs k..254 are
// parity. The generator is ISA-L's Cauchy matrix (identity on top), which is
// MDS: any k distinct encoding symbols recover the block.
//
// Thread-safety: a FecCodec caches coding tables per k; use one per thread.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "common/status.h"

namespace ardus {

// out[r] += sum over c < sources.size() of coefficients[r * sources.size() + c]
// * sources[c], over GF(2^8), for every r < out.size(): ISA-L's SIMD
// multiply-add, one source at a time. Adds into `out` (zero it first for a
// plain product). Preconditions: every buffer holds `len` bytes and
// coefficients.size() == out.size() * sources.size().
void GfMultiplyAdd(std::size_t len, std::span<const std::uint8_t> coefficients,
                   std::span<const std::uint8_t* const> sources,
                   std::span<std::uint8_t* const> out);

class FecCodec {
 public:
  static constexpr int kSymbolsPerBlock = 255;

  // Fills parity[i] with the symbol of ESI k+first+i for i in
  // [0, parity.size()): any run of parity rows costs one pass over the
  // sources per six rows, so a sender computes only the rows it sends.
  // Preconditions: 1 <= k, k + first + parity.size() <= 255, every buffer
  // holds `len` bytes.
  void Encode(int k, std::size_t len, std::span<const std::uint8_t* const> source,
              std::span<std::uint8_t* const> parity, int first = 0);

  // Recovers missing source symbols. `received` holds exactly k distinct
  // encoding symbols with their ESIs (`esis`); `missing` lists every source
  // ESI (< k) not among them, and its `out` buffer is filled. Cost for m
  // missing symbols: an m x m inversion, an m x m by m x k product for the
  // decode matrix, then one ISA-L pass over the k symbols per six outputs.
  // Returns kInternal if the ESIs are not k distinct values or `missing` is
  // not exactly the absent sources (caller bugs).
  // Row `esi` of the 255 x k generator: the coefficients of encoding symbol
  // `esi` over the k sources (k entries, valid while the codec lives).
  // Precondition: esi < 255.
  const std::uint8_t* GeneratorRow(int k, int esi) { return Matrix(k).data() + esi * k; }

  Status Decode(int k, std::size_t len, std::span<const std::uint8_t> esis,
                std::span<const std::uint8_t* const> received,
                std::span<const std::uint8_t> missing, std::span<std::uint8_t* const> out);

 private:
  const std::vector<std::uint8_t>& Matrix(int k);        // 255 x k generator
  const std::vector<std::uint8_t>& ParityTables(int k);  // ec_init_tables of rows k..254
  std::map<int, std::vector<std::uint8_t>> matrices_;
  std::map<int, std::vector<std::uint8_t>> parity_tables_;
};

}  // namespace ardus
