#include "ardus/fec.h"

#include <isa-l/erasure_code.h>
#include <isa-l/gf_vect_mul.h>

#include <algorithm>
#include <bitset>

namespace ardus {
namespace {

// out[r] += sum over sources c of coefficient(r, c) * sources[c], with
// `tables` from ec_init_tables(k, rows, ...). Goes source by source (ISA-L's
// update form) rather than ec_encode_data's 64 bytes of every source at a
// time: a block repaired milliseconds after it arrived is out of cache, and
// k interleaved streams from DRAM stall on latency. Each symbol read once,
// in order, with the outputs staying in L1: a receiver's decode pass per
// 200-symbol block went from 311 to 76 us on the testbed.
void AddProducts(std::size_t len, int k, int rows, std::uint8_t* tables,
                 std::span<const std::uint8_t* const> sources, std::span<std::uint8_t* const> out) {
  for (int c = 0; c < k; ++c) {
    ec_encode_data_update(static_cast<int>(len), k, rows, c, tables,
                          const_cast<std::uint8_t*>(sources[static_cast<std::size_t>(c)]),
                          const_cast<std::uint8_t**>(out.data()));
  }
}

// out[r] = sum over sources c of coefficient(r, c) * sources[c].
void MultiplyAccumulate(std::size_t len, int k, int rows, std::uint8_t* tables,
                        std::span<const std::uint8_t* const> sources,
                        std::span<std::uint8_t* const> out) {
  for (int r = 0; r < rows; ++r) std::fill_n(out[static_cast<std::size_t>(r)], len, 0);
  AddProducts(len, k, rows, tables, sources, out);
}

}  // namespace

void GfMultiplyAdd(std::size_t len, std::span<const std::uint8_t> coefficients,
                   std::span<const std::uint8_t* const> sources,
                   std::span<std::uint8_t* const> out) {
  const auto k = static_cast<int>(sources.size()), rows = static_cast<int>(out.size());
  if (k == 0 || rows == 0) return;
  // ec_init_tables computes each coefficient's 32-byte table anew, which
  // for a window's thousands of coefficients per row cost as much as the
  // multiply-adds themselves; the 256 possible tables are computed once.
  static const std::vector<std::uint8_t> kTableOf = [] {
    std::vector<std::uint8_t> t(256 * 32);
    for (int c = 0; c < 256; ++c) gf_vect_mul_init(static_cast<std::uint8_t>(c), t.data() + c * 32);
    return t;
  }();
  std::vector<std::uint8_t> tables(32ull * coefficients.size());
  for (std::size_t i = 0; i < coefficients.size(); ++i) {
    std::copy_n(kTableOf.data() + coefficients[i] * 32, 32, tables.data() + i * 32);
  }
  AddProducts(len, k, rows, tables.data(), sources, out);
}

const std::vector<std::uint8_t>& FecCodec::Matrix(int k) {
  auto [it, inserted] = matrices_.try_emplace(k);
  if (inserted) {
    it->second.resize(std::size_t{kSymbolsPerBlock} * static_cast<std::size_t>(k));
    gf_gen_cauchy1_matrix(it->second.data(), kSymbolsPerBlock, k);
  }
  return it->second;
}

const std::vector<std::uint8_t>& FecCodec::ParityTables(int k) {
  auto [it, inserted] = parity_tables_.try_emplace(k);
  if (inserted) {
    const int rows = kSymbolsPerBlock - k;
    auto& matrix = const_cast<std::vector<std::uint8_t>&>(Matrix(k));
    it->second.resize(32ull * static_cast<std::size_t>(k * rows));
    ec_init_tables(k, rows, matrix.data() + static_cast<std::size_t>(k * k), it->second.data());
  }
  return it->second;
}

void FecCodec::Encode(int k, std::size_t len, std::span<const std::uint8_t* const> source,
                      std::span<std::uint8_t* const> parity, int first) {
  if (parity.empty()) return;
  auto& tables = const_cast<std::vector<std::uint8_t>&>(ParityTables(k));
  // Each parity row has its own 32 * k bytes of tables, in row order.
  MultiplyAccumulate(len, k, static_cast<int>(parity.size()),
                     tables.data() + 32ull * static_cast<std::size_t>(k * first), source, parity);
}

Status FecCodec::Decode(int k, std::size_t len, std::span<const std::uint8_t> esis,
                        std::span<const std::uint8_t* const> received,
                        std::span<const std::uint8_t> missing, std::span<std::uint8_t* const> out) {
  const auto kk = static_cast<std::size_t>(k);
  if (esis.size() != kk || received.size() != kk || missing.size() != out.size())
    return Status::Error(ErrorKind::kInternal, "fec decode: wrong symbol count");
  std::vector<std::size_t> parity_cols;  // positions in `esis` holding parity
  std::bitset<256> seen;
  for (std::size_t c = 0; c < kk; ++c) {
    if (seen[esis[c]]) return Status::Error(ErrorKind::kInternal, "fec decode: duplicate ESI");
    seen.set(esis[c]);
    if (esis[c] >= k) parity_cols.push_back(c);
  }
  const std::size_t m = missing.size();
  if (parity_cols.size() != m)
    return Status::Error(ErrorKind::kInternal, "fec decode: parity count != missing count");
  if (m == 0) return Status::Ok();

  // Present source symbols are identity rows of the generator, so only the
  // m x m system of the missing sources against the parity rows must be
  // solved: with A = G[parity][missing], x_missing = A^-1 * (parity + G[parity][present] *
  // x_present).
  const auto& g = Matrix(k);
  std::vector<std::uint8_t> a(m * m), a_inv(m * m);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < m; ++j) a[i * m + j] = g[esis[parity_cols[i]] * kk + missing[j]];
  }
  if (gf_invert_matrix(a.data(), a_inv.data(), static_cast<int>(m)) != 0)
    return Status::Error(ErrorKind::kInternal, "fec decode: singular system");

  // Decode matrix D (m x k) over the inputs in `esis` order. Its columns for
  // present sources are A^-1 * G[parity][source]: an m x m by m x k product,
  // done by ISA-L's SIMD multiply-add with the k columns as the "bytes".
  std::vector<const std::uint8_t*> parity_rows(m);
  for (std::size_t i = 0; i < m; ++i) parity_rows[i] = g.data() + esis[parity_cols[i]] * kk;
  std::vector<std::uint8_t> product(m * kk), product_tables(32 * m * m);
  std::vector<std::uint8_t*> product_rows(m);
  for (std::size_t r = 0; r < m; ++r) product_rows[r] = product.data() + r * kk;
  ec_init_tables(static_cast<int>(m), static_cast<int>(m), a_inv.data(), product_tables.data());
  ec_encode_data(k, static_cast<int>(m), static_cast<int>(m), product_tables.data(),
                 const_cast<std::uint8_t**>(parity_rows.data()), product_rows.data());
  std::vector<std::uint8_t> d(m * kk);
  for (std::size_t c = 0, p = 0; c < kk; ++c) {
    const bool is_parity = esis[c] >= k;
    for (std::size_t r = 0; r < m; ++r) {
      d[r * kk + c] = is_parity ? a_inv[r * m + p] : product[r * kk + esis[c]];
    }
    if (is_parity) ++p;
  }
  for (std::uint8_t* o : out) std::fill_n(o, len, 0);
  GfMultiplyAdd(len, d, received, out);
  return Status::Ok();
}

}  // namespace ardus
