// Window repair symbols: random linear combinations, over GF(2^8), of every
// source symbol of a repair window (Layout::RepairWindow), in the spirit of
// RFC 8681's sliding-window codes.
//
// Why: a Reed-Solomon block is repaired up to its worst receiver's deficit,
// block by block. A window symbol repairs any one missing source symbol of
// any block in its window, so the sender pays for the worst receiver's
// deficit summed over the window instead of the sum of each block's worst.
// ardus sends per-block parity for what most receivers lack and window
// symbols for the rest (docs/ardus-protocol.md, "Window repair").
//
// The coefficients of window symbol `esi` (>= wire::kFirstWindowEsi) of the
// window whose first block is `first_block` come from a seeded generator, so
// sender and receivers derive them without sending them.
//
// SolveWindow below is the receiver's side: given what a receiver holds of a
// window, it recovers the missing source symbols or says it cannot yet.
//
// Thread-safety: pure functions; SolveWindow uses the FecCodec it is given
// (its generator cache), so calls sharing one codec need one thread.
#pragma once

#include <bitset>
#include <cstdint>
#include <span>
#include <vector>

#include "ardus/fec.h"
#include "common/status.h"

namespace ardus {

// One coefficient per source symbol of the window, `n` of them, in window
// order (block by block, each block's ESIs in order): the bytes of a
// splitmix64 stream seeded with (first_block << 16) | esi, each 8-byte output
// taken least significant byte first, a zero byte replaced by 1.
std::vector<std::uint8_t> WindowCoefficients(std::uint32_t first_block, std::uint16_t esi,
                                             std::size_t n);

// Fills out[i] with window symbol first_esi + i of the window at
// `first_block`, from its source symbols in window order (the last symbol of
// each object zero-padded). Preconditions: every buffer holds `len` bytes;
// first_esi + out.size() <= 65536.
void EncodeWindowSymbols(std::uint32_t first_block, std::uint16_t first_esi, std::size_t len,
                         std::span<const std::uint8_t* const> sources,
                         std::span<std::uint8_t* const> out);

// Solves A x = y over GF(2^8) for `unknowns` symbols from y.size() >= 1
// equations: A is y.size() x unknowns, row-major; y[e] and x[u] hold `len`
// bytes. Equations are taken in order, so put the ones known to be
// independent first. Returns true and fills x when A has full column rank.
// Otherwise returns false, fills nothing, and lists in `redundant` the
// equations that added nothing to those before them (the caller drops them
// and asks for others).
bool SolveSymbols(int unknowns, std::span<const std::uint8_t> a,
                  std::span<const std::uint8_t* const> y, std::size_t len,
                  std::span<std::uint8_t* const> x, std::vector<int>* redundant);

// ---- the window solve ---------------------------------------------------------

// A symbol the caller holds, by ESI. `bytes` (symbol_size of them) is
// borrowed: it must stay valid for the SolveWindow call, no longer.
struct HeldSymbol {
  std::uint16_t esi = 0;
  const std::uint8_t* bytes = nullptr;
};

// One block of the window, as the caller holds it.
struct WindowBlock {
  std::uint16_t k = 0;  // its source symbols, 1..255
  // k * symbol_size bytes, source i at i * symbol_size, each zero-padded as
  // it was encoded. Slots of absent sources are never read. Borrowed.
  const std::uint8_t* sources = nullptr;
  std::bitset<256> present;  // bit i (< k): source i is held; bits >= k ignored
  // Parity held for the block (ESIs k..254, distinct). Fewer than its
  // missing sources: a block with as many decodes alone (FecCodec::Decode).
  std::vector<HeldSymbol> parity;
};

struct WindowProblem {
  std::uint32_t first_block = 0;    // the window's first block: seeds the coefficients
  std::size_t symbol_size = 0;      // > 0
  std::vector<WindowBlock> blocks;  // every block of the window, in order, complete ones too
  // The window symbols held, in the order they are to be tried: the first
  // as many as there are unknowns go in, and one found redundant is
  // replaced by the next.
  std::vector<HeldSymbol> window_symbols;
};

// One incomplete block's missing sources, recovered.
struct RecoveredBlock {
  std::size_t block = 0;              // index into WindowProblem::blocks
  std::vector<std::uint16_t> esis;    // every source ESI the block lacked
  std::vector<std::uint8_t> symbols;  // esis.size() * symbol_size: symbol j at j * symbol_size
};

struct WindowSolution {
  // True: `recovered` has every incomplete block, in window order. False:
  // the window symbols held (less `redundant`) are too few for the unknowns
  // (sum over blocks of missing sources less parity held); ask for more.
  bool solved = false;
  // Window symbols, by ESI, that turned out to add nothing to those before
  // them. The caller drops them, solved or not: they can never help.
  std::vector<std::uint16_t> redundant;
  std::vector<RecoveredBlock> recovered;
};

// Solves the window: each incomplete block's parity first determines as
// many of its missing sources as it has parity (Cauchy submatrices are
// invertible), so the window symbols need solve only for the rest. A window
// with no incomplete block is solved with nothing recovered.
//
// Cost: one pass over each incomplete block per parity symbol, then per try
// one pass over the window's held sources per window symbol used and an
// unknowns^2 solve. A caller that can tell (by counting) that too few window
// symbols are held should not call: the answer would be `solved == false`
// after that work.
//
// Nothing of `problem` is kept; the solution owns its bytes. The solver
// cannot tell a corrupt or forged symbol from a true one: what it recovers
// from one is wrong, and only the file's digest check will say so.
//
// Errors (kInternal, a caller bug; nothing is recovered, abort the session):
// symbol_size 0, a block's k outside 1..255, null bytes, a parity ESI outside
// k..254 or repeated, a block with as much parity as missing sources.
Result<WindowSolution> SolveWindow(const WindowProblem& problem, FecCodec& codec);

}  // namespace ardus
