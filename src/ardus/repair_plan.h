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

// A window symbol costs each receiver that solves it a pass over the whole
// window; a parity symbol, over one block. So window symbols go out only
// where each saves this many parity symbols besides itself. Simulator, 64 MiB
// at 5% loss, receiver GF multiply-adds per source symbol and wire, without
// and with: N=4 23.2 / 1.1067 and 14.3 / 1.1108 (parity alone 10.1 / 1.1139);
// N=8 15.9 / 1.1139 and 15.5 / 1.1137. A saving of 3 left N=8 at 1.1185.
inline constexpr int kWindowSaving = 2;

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

// What a small group's reporting receivers said of one repair window.
struct WindowReports {
  std::vector<std::uint16_t> ks;   // source symbols of each block of the window
  std::vector<Deficits> deficits;  // per reporting receiver: one entry per block
  std::vector<int> held;           // per reporting receiver: window symbols it holds
  // False (a one-block window, or one not yet sent whole): parity only.
  bool windowed = true;
};

struct WindowPlan {
  Deficits parity;           // per block of the window
  std::uint16_t window = 0;  // window symbols
};

// A small group's plan for one window from every report (Sender::PlanWindow
// says why each rule is there). Each block's parity covers every reporter
// but the one that lacks most, and all of a block someone lacks whole;
// window symbols cover the largest rest a reporter still has over the
// window, less those it holds. A reporter whose rest would exceed
// wire::kMaxWindowDeficit is repaired with parity instead. LevelTopNeed
// then moves what one reporter alone needs to parity, and the window falls
// back to parity alone (each block's worst deficit) unless each window
// symbol saves kWindowSaving parity symbols besides itself.
// Preconditions: held.size() == deficits.size(); every deficits[r] has
// ks.size() entries, each at most its block's k.
WindowPlan PlanReportedWindow(const WindowReports& reports);

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
