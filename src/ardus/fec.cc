#include "ardus/fec.h"

#include <isa-l/erasure_code.h>

#include <algorithm>
#include <bitset>

namespace ardus {

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
  ec_encode_data(static_cast<int>(len), k, static_cast<int>(parity.size()),
                 tables.data() + 32ull * static_cast<std::size_t>(k * first),
                 const_cast<std::uint8_t**>(source.data()),
                 const_cast<std::uint8_t**>(parity.data()));
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
  std::vector<std::uint8_t> tables(32ull * kk * m);
  ec_init_tables(k, static_cast<int>(m), d.data(), tables.data());
  ec_encode_data(static_cast<int>(len), k, static_cast<int>(m), tables.data(),
                 const_cast<std::uint8_t**>(received.data()),
                 const_cast<std::uint8_t**>(out.data()));
  return Status::Ok();
}

}  // namespace ardus
