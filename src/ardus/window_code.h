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
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

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

}  // namespace ardus
