#include "ardus/window_code.h"

#include <isa-l/erasure_code.h>

#include <algorithm>
#include <string>

namespace ardus {
namespace {

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Status Bug(const std::string& what) {
  return Status::Error(ErrorKind::kInternal, "window solve: " + what);
}

// out = a * b over GF(2^8): a is rows x inner, b inner x cols, row-major.
std::vector<std::uint8_t> Multiply(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b,
                                   std::size_t rows, std::size_t inner, std::size_t cols) {
  std::vector<std::uint8_t> out(rows * cols, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t q = 0; q < inner; ++q) {
      const std::uint8_t f = a[r * inner + q];
      if (f == 0) continue;
      for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] ^= gf_mul(f, b[q * cols + c]);
    }
  }
  return out;
}

// Row pointers into a buffer of `rows` symbols of `len` bytes.
std::vector<std::uint8_t*> Rows(std::vector<std::uint8_t>& buffer, std::size_t rows,
                                std::size_t len) {
  std::vector<std::uint8_t*> out;
  for (std::size_t r = 0; r < rows; ++r) out.push_back(buffer.data() + r * len);
  return out;
}
std::vector<const std::uint8_t*> ConstRows(const std::vector<std::uint8_t>& buffer,
                                           std::size_t rows, std::size_t len) {
  std::vector<const std::uint8_t*> out;
  for (std::size_t r = 0; r < rows; ++r) out.push_back(buffer.data() + r * len);
  return out;
}

std::vector<std::uint16_t> MissingSources(const WindowBlock& block) {
  std::vector<std::uint16_t> missing;
  for (std::uint16_t i = 0; i < block.k; ++i) {
    if (!block.present[i]) missing.push_back(i);
  }
  return missing;
}

Status Validate(const WindowProblem& problem) {
  if (problem.symbol_size == 0) return Bug("symbol size 0");
  for (const WindowBlock& block : problem.blocks) {
    if (block.k < 1 || block.k > FecCodec::kSymbolsPerBlock) {
      return Bug("block of " + std::to_string(block.k) + " sources");
    }
    if (!block.sources) return Bug("block without source bytes");
    std::bitset<256> seen;
    for (const HeldSymbol& p : block.parity) {
      if (p.esi < block.k || p.esi >= FecCodec::kSymbolsPerBlock || seen[p.esi] || !p.bytes) {
        return Bug("parity ESI " + std::to_string(p.esi) + " of a block of " +
                   std::to_string(block.k));
      }
      seen.set(p.esi);
    }
    const std::size_t missing = MissingSources(block).size();
    if (missing > 0 && block.parity.size() >= missing) return Bug("block decodable alone");
  }
  for (const HeldSymbol& w : problem.window_symbols) {
    if (!w.bytes) return Bug("window symbol without bytes");
  }
  return Status::Ok();
}

// One incomplete block's parity equations, solved for its first p missing
// sources (D) in terms of the rest (F): with A the parity rows' generator
// coefficients and z the parity less the known sources' terms,
// A_D x_D + A_F x_F = z, so x_D = inverse z + coupling x_F.
struct Elimination {
  std::size_t block = 0;                  // index into WindowProblem::blocks
  std::size_t offset = 0;                 // the block's source 0 in window order
  std::vector<std::uint16_t> determined;  // D
  std::vector<std::uint16_t> unknown;     // F
  std::vector<std::uint8_t> inverse;      // A_D^-1, p x p
  std::vector<std::uint8_t> coupling;     // A_D^-1 A_F, p x f
  std::vector<std::uint8_t> z;            // p symbols
};

Result<Elimination> Eliminate(const WindowBlock& block, std::size_t len, FecCodec& codec) {
  Elimination e;
  const std::vector<std::uint16_t> missing = MissingSources(block);
  const std::size_t p = block.parity.size(), f = missing.size() - p;
  e.determined.assign(missing.begin(), missing.begin() + static_cast<std::ptrdiff_t>(p));
  e.unknown.assign(missing.begin() + static_cast<std::ptrdiff_t>(p), missing.end());
  std::vector<const std::uint8_t*> known;
  for (std::uint16_t i = 0; i < block.k; ++i) {
    if (block.present[i]) known.push_back(block.sources + std::size_t{i} * len);
  }
  std::vector<std::uint8_t> a_d(p * p), a_f(p * f), g_known;
  e.z.resize(p * len);
  for (std::size_t j = 0; j < p; ++j) {
    std::copy_n(block.parity[j].bytes, len, e.z.begin() + static_cast<std::ptrdiff_t>(j * len));
    const std::uint8_t* g = codec.GeneratorRow(block.k, block.parity[j].esi);
    for (std::size_t i = 0, m = 0; i < block.k; ++i) {
      if (m < missing.size() && missing[m] == i) {
        (m < p ? a_d[j * p + m] : a_f[j * f + (m - p)]) = g[i];
        ++m;
      } else {
        g_known.push_back(g[i]);
      }
    }
  }
  // z = parity + the known sources' terms (in GF(2^8) adding is subtracting).
  GfMultiplyAdd(len, g_known, known, Rows(e.z, p, len));
  e.inverse.resize(p * p);
  if (p > 0 && gf_invert_matrix(a_d.data(), e.inverse.data(), static_cast<int>(p)) != 0) {
    return Bug("singular parity submatrix");
  }
  e.coupling = Multiply(e.inverse, a_f, p, p, f);
  return e;
}

// The window system over every block's F, for the window symbols `rows`:
// a (rows x unknowns) and y (rows symbols) with a x_F = y.
struct System {
  std::vector<std::uint8_t> a, y;
};

// y[r] += the known sources' terms of window symbol r (coefficients[r]
// over the whole window), moving them to the right side.
void AddKnownTerms(const WindowProblem& problem,
                   const std::vector<std::vector<std::uint8_t>>& coefficients,
                   std::span<std::uint8_t* const> y_rows) {
  std::vector<const std::uint8_t*> known;
  std::vector<bool> is_known;
  for (const WindowBlock& block : problem.blocks) {
    for (std::size_t i = 0; i < block.k; ++i) {
      is_known.push_back(block.present[i]);
      if (block.present[i]) known.push_back(block.sources + i * problem.symbol_size);
    }
  }
  std::vector<std::uint8_t> known_coefficients;
  for (const auto& c : coefficients) {
    for (std::size_t t = 0; t < is_known.size(); ++t) {
      if (is_known[t]) known_coefficients.push_back(c[t]);
    }
  }
  GfMultiplyAdd(problem.symbol_size, known_coefficients, known, y_rows);
}

// Substitutes x_D = inverse z + coupling x_F into every window row: its
// c_D x_D + c_F x_F becomes (c_F + c_D coupling) x_F, columns from `column`
// of sys.a, plus c_D inverse z, which goes to the right side.
void Substitute(const Elimination& e, const std::vector<std::vector<std::uint8_t>>& coefficients,
                std::size_t column, std::size_t len, System& sys) {
  const std::size_t n = coefficients.size(), p = e.determined.size(), f = e.unknown.size();
  const std::size_t unknowns = sys.a.size() / n;
  std::vector<std::uint8_t> c_d(n * p), c_f(n * f);
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* c = coefficients[r].data() + e.offset;
    for (std::size_t j = 0; j < p; ++j) c_d[r * p + j] = c[e.determined[j]];
    for (std::size_t j = 0; j < f; ++j) c_f[r * f + j] = c[e.unknown[j]];
  }
  const std::vector<std::uint8_t> through = Multiply(c_d, e.coupling, n, p, f);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < f; ++j) {
      sys.a[r * unknowns + column + j] = c_f[r * f + j] ^ through[r * f + j];
    }
  }
  GfMultiplyAdd(len, Multiply(c_d, e.inverse, n, p, p), ConstRows(e.z, p, len),
                Rows(sys.y, n, len));
}

// Each window symbol is the sum over the window of c_t x_t.
System BuildSystem(const WindowProblem& problem, std::span<const HeldSymbol> rows,
                   const std::vector<Elimination>& eliminations, std::size_t unknowns) {
  const std::size_t len = problem.symbol_size, n = rows.size();
  std::size_t window = 0;
  for (const WindowBlock& block : problem.blocks) window += block.k;
  System sys{std::vector<std::uint8_t>(n * unknowns, 0), std::vector<std::uint8_t>(n * len)};
  std::vector<std::vector<std::uint8_t>> coefficients;
  for (std::size_t r = 0; r < n; ++r) {
    std::copy_n(rows[r].bytes, len, sys.y.begin() + static_cast<std::ptrdiff_t>(r * len));
    coefficients.push_back(WindowCoefficients(problem.first_block, rows[r].esi, window));
  }
  AddKnownTerms(problem, coefficients, Rows(sys.y, n, len));
  std::size_t column = 0;
  for (const Elimination& e : eliminations) {
    Substitute(e, coefficients, column, len, sys);
    column += e.unknown.size();
  }
  return sys;
}

// Block by block, x_D from x_F (a few symbols' work, where decoding the
// block anew would cost a pass over it per parity symbol).
std::vector<RecoveredBlock> Recover(const std::vector<Elimination>& eliminations,
                                    const std::vector<std::uint8_t>& x, std::size_t len) {
  std::vector<RecoveredBlock> out;
  std::size_t column = 0;
  for (const Elimination& e : eliminations) {
    const std::size_t p = e.determined.size(), f = e.unknown.size();
    RecoveredBlock& r = out.emplace_back();
    r.block = e.block;
    r.esis = e.determined;
    r.esis.insert(r.esis.end(), e.unknown.begin(), e.unknown.end());
    r.symbols.assign((p + f) * len, 0);
    const std::vector<std::uint8_t*> d_rows = Rows(r.symbols, p, len);
    std::vector<const std::uint8_t*> f_rows;
    for (std::size_t j = 0; j < f; ++j) f_rows.push_back(x.data() + (column + j) * len);
    GfMultiplyAdd(len, e.inverse, ConstRows(e.z, p, len), d_rows);
    GfMultiplyAdd(len, e.coupling, f_rows, d_rows);
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(column * len), f * len,
                r.symbols.begin() + static_cast<std::ptrdiff_t>(p * len));
    column += f;
  }
  return out;
}

// Every incomplete block's elimination, in window order.
Result<std::vector<Elimination>> EliminateAll(const WindowProblem& problem, FecCodec& codec) {
  std::vector<Elimination> out;
  for (std::size_t b = 0, offset = 0; b < problem.blocks.size(); offset += problem.blocks[b++].k) {
    if (MissingSources(problem.blocks[b]).empty()) continue;
    Result<Elimination> e = Eliminate(problem.blocks[b], problem.symbol_size, codec);
    if (!e.ok()) return e.status();
    out.push_back(std::move(e).value());
    out.back().block = b;
    out.back().offset = offset;
  }
  return out;
}

// Removes the rows SolveSymbols found redundant (by index), keeping the
// others in order, and lists the removed ones' ESIs in `dropped`.
void DropRedundant(const std::vector<int>& redundant, std::vector<HeldSymbol>& rows,
                   std::vector<std::uint16_t>& dropped) {
  std::vector<HeldSymbol> kept;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (std::find(redundant.begin(), redundant.end(), static_cast<int>(r)) != redundant.end()) {
      dropped.push_back(rows[r].esi);
    } else {
      kept.push_back(rows[r]);
    }
  }
  rows = std::move(kept);
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

Result<WindowSolution> SolveWindow(const WindowProblem& problem, FecCodec& codec) {
  if (Status v = Validate(problem); !v.ok()) return v;
  Result<std::vector<Elimination>> eliminated = EliminateAll(problem, codec);
  if (!eliminated.ok()) return eliminated.status();
  const std::vector<Elimination>& eliminations = eliminated.value();
  std::size_t unknowns = 0;
  for (const Elimination& e : eliminations) unknowns += e.unknown.size();
  WindowSolution solution;
  if (unknowns == 0) {
    solution.solved = true;
    return solution;
  }
  // Tries the first `unknowns` window symbols not yet found redundant; each
  // failed try drops at least one (a square system short of full rank has a
  // row in the span of those before it), and the next untried takes its place.
  const std::size_t len = problem.symbol_size;
  std::vector<HeldSymbol> untried(problem.window_symbols.rbegin(), problem.window_symbols.rend());
  std::vector<HeldSymbol> rows;
  for (;;) {
    for (; rows.size() < unknowns && !untried.empty(); untried.pop_back()) {
      rows.push_back(untried.back());
    }
    if (rows.size() < unknowns) return solution;
    const System sys = BuildSystem(problem, rows, eliminations, unknowns);
    std::vector<std::uint8_t> x(unknowns * len);
    std::vector<int> redundant;
    if (SolveSymbols(static_cast<int>(unknowns), sys.a, ConstRows(sys.y, rows.size(), len), len,
                     Rows(x, unknowns, len), &redundant)) {
      solution.solved = true;
      solution.recovered = Recover(eliminations, x, len);
      return solution;
    }
    // SolveSymbols fails only for a row it lists; if it ever did not, the
    // same try would repeat forever.
    if (redundant.empty()) return Bug("no independent subset, none redundant");
    DropRedundant(redundant, rows, solution.redundant);
  }
}

}  // namespace ardus
