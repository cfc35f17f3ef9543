#include "ardus/window_code.h"

#include <isa-l/erasure_code.h>

#include <algorithm>

#include "ardus/fec.h"

namespace ardus {
namespace {

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<std::uint8_t> WindowCoefficients(std::uint32_t first_block, std::uint16_t esi,
                                             std::size_t n) {
  std::vector<std::uint8_t> out(n);
  std::uint64_t state = (std::uint64_t{first_block} << 16) | esi;
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t word = SplitMix64(state);
    for (std::size_t b = 0; b < 8 && i + b < n; ++b, word >>= 8) {
      const auto byte = static_cast<std::uint8_t>(word);
      out[i + b] = byte == 0 ? 1 : byte;
    }
  }
  return out;
}

void EncodeWindowSymbols(std::uint32_t first_block, std::uint16_t first_esi, std::size_t len,
                         std::span<const std::uint8_t* const> sources,
                         std::span<std::uint8_t* const> out) {
  std::vector<std::uint8_t> coefficients;
  coefficients.reserve(out.size() * sources.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    auto row =
        WindowCoefficients(first_block, static_cast<std::uint16_t>(first_esi + r), sources.size());
    coefficients.insert(coefficients.end(), row.begin(), row.end());
    std::fill_n(out[r], len, 0);
  }
  GfMultiplyAdd(len, coefficients, sources, out);
}

bool SolveSymbols(int unknowns, std::span<const std::uint8_t> a,
                  std::span<const std::uint8_t* const> y, std::size_t len,
                  std::span<std::uint8_t* const> x, std::vector<int>* redundant) {
  const auto u = static_cast<std::size_t>(unknowns);
  // Incremental Gaussian elimination: each equation is reduced against the
  // basis so far (rows kept with a leading 1 in their pivot column); what is
  // left either extends the basis or is redundant.
  std::vector<std::vector<std::uint8_t>> basis;
  std::vector<std::size_t> pivots;
  std::vector<int> chosen;
  for (std::size_t e = 0; e < y.size() && chosen.size() < u; ++e) {
    std::vector<std::uint8_t> row(a.begin() + static_cast<std::ptrdiff_t>(e * u),
                                  a.begin() + static_cast<std::ptrdiff_t>((e + 1) * u));
    for (std::size_t i = 0; i < basis.size(); ++i) {
      const std::uint8_t f = row[pivots[i]];
      if (f == 0) continue;
      for (std::size_t c = 0; c < u; ++c) row[c] ^= gf_mul(f, basis[i][c]);
    }
    std::size_t pivot = 0;
    while (pivot < u && row[pivot] == 0) ++pivot;
    if (pivot == u) {
      if (redundant) redundant->push_back(static_cast<int>(e));
      continue;
    }
    const std::uint8_t inv = gf_inv(row[pivot]);
    for (std::uint8_t& v : row) v = gf_mul(v, inv);
    basis.push_back(std::move(row));
    pivots.push_back(pivot);
    chosen.push_back(static_cast<int>(e));
  }
  if (chosen.size() < u) return false;

  // x = B^-1 y[chosen], with B the chosen equations' rows of A.
  std::vector<std::uint8_t> b(u * u), b_inv(u * u);
  std::vector<const std::uint8_t*> inputs(u);
  for (std::size_t r = 0; r < u; ++r) {
    std::copy_n(a.begin() + static_cast<std::ptrdiff_t>(chosen[r] * u), u, b.begin() + r * u);
    inputs[r] = y[static_cast<std::size_t>(chosen[r])];
  }
  if (gf_invert_matrix(b.data(), b_inv.data(), unknowns) != 0) return false;  // cannot happen
  for (std::size_t r = 0; r < u; ++r) std::fill_n(x[r], len, 0);
  GfMultiplyAdd(len, b_inv, inputs, x);
  return true;
}

}  // namespace ardus
