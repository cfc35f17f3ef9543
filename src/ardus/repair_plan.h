// Repair planning arithmetic: how much parity and how many window symbols a
// repair window gets, from receivers' reported deficits (small groups) or
// from the sampled loss rate (large groups). The Sender decides when to plan
// and what to advertise; these functions only compute.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ardus {

// One receiver's deficits, or the planned parity, per block of a window.
using Deficits = std::vector<std::uint16_t>;

// What `deficits` lacks beyond each block's parity. Precondition: same sizes.
int Rest(const Deficits& deficits, const Deficits& parity);

// While one receiver alone needs the most window symbols (its Rest less what
// it holds; held[r] < 0: it does not solve through the window), moves that
// need into parity for its blocks, smallest leftovers first: one parity
// symbol more per window symbol less costs the wire nothing, and spares that
// receiver (and the sender) a pass over the window per symbol.
// Preconditions: held.size() == deficits.size(); every deficits[r] and
// parity have one entry per block.
void LevelTopNeed(const std::vector<Deficits>& deficits, const std::vector<int>& held,
                  Deficits& parity);

// The smallest q with receivers * P(Binomial(k, p) > q) <= 1: the deficit
// about one receiver of the group exceeds in a block of k. 0 when p == 0.
// Preconditions: 0 <= p <= 0.5, receivers >= 1.
std::uint16_t GroupDeficit(std::uint16_t k, double p, std::size_t receivers);

struct GroupWindowPlan {
  Deficits parity;           // per block: the largest q with P(X > q) >= 1/2
  std::uint16_t window = 0;  // window symbols about one receiver needs more than
};

// A large group's plan for a window whose blocks hold `ks` source symbols,
// each receiver losing each symbol with probability p: per block, the parity
// more than half the receivers use whole; for the window, the smallest w with
// receivers * P(sum over blocks of (X_b - parity_b)+ > w) <= 1, X_b ~
// Binomial(k_b, p). nullopt when that w exceeds max_window.
// Preconditions: 0 <= p <= 0.5, receivers >= 1, every k >= 1.
std::optional<GroupWindowPlan> EstimateGroupWindow(std::span<const std::uint16_t> ks, double p,
                                                   std::size_t receivers, std::uint16_t max_window);

}  // namespace ardus
