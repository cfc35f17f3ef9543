#include "ardus/repair_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ardus/wire.h"

namespace ardus {
namespace {

// P(Binomial(k, p) = x) for x = 0..k, p < 1.
std::vector<double> BinomialPmf(int k, double p) {
  std::vector<double> pmf(static_cast<std::size_t>(k) + 1);
  pmf[0] = std::pow(1 - p, k);
  for (int x = 0; x < k; ++x) {
    pmf[static_cast<std::size_t>(x) + 1] =
        pmf[static_cast<std::size_t>(x)] * double(k - x) / double(x + 1) * p / (1 - p);
  }
  return pmf;
}

// Per block: the largest deficit of a reporter that does not solve through
// the window, or that lacks the block whole; and at least the deficit that
// all but `exceed` reporters are within.
Deficits BaseParity(const WindowReports& in, const std::vector<int>& held, std::size_t exceed) {
  const std::size_t n = in.deficits.size();
  Deficits parity(in.ks.size(), 0);
  for (std::size_t b = 0; b < in.ks.size(); ++b) {
    std::vector<std::uint16_t> column;
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint16_t d = in.deficits[r][b];
      if (d >= in.ks[b] || held[r] < 0) parity[b] = std::max(parity[b], d);
      column.push_back(d);
    }
    std::sort(column.begin(), column.end(), std::greater<>());
    if (exceed < n) parity[b] = std::max(parity[b], column[exceed]);
  }
  return parity;
}

// A reporter with too much left to solve through the window gets parity for
// all of its deficits, and solves without window symbols.
void CoverOverflow(const std::vector<Deficits>& deficits, std::vector<int>& held,
                   Deficits& parity) {
  for (std::size_t r = 0; r < deficits.size(); ++r) {
    if (held[r] < 0 || Rest(deficits[r], parity) <= wire::kMaxWindowDeficit) continue;
    held[r] = -1;
    for (std::size_t b = 0; b < parity.size(); ++b) {
      parity[b] = std::max(parity[b], deficits[r][b]);
    }
  }
}

// The window symbols the neediest reporter lacks beyond parity and held.
int WindowNeed(const std::vector<Deficits>& deficits, const std::vector<int>& held,
               const Deficits& parity) {
  int window = 0;
  for (std::size_t r = 0; r < deficits.size(); ++r) {
    if (held[r] >= 0) window = std::max(window, Rest(deficits[r], parity) - held[r]);
  }
  return window;
}

// Each block's worst deficit: the plan with parity alone.
Deficits WorstDeficits(const std::vector<Deficits>& deficits, std::size_t blocks) {
  Deficits worst(blocks, 0);
  for (const Deficits& d : deficits) {
    for (std::size_t b = 0; b < blocks; ++b) worst[b] = std::max(worst[b], d[b]);
  }
  return worst;
}

int Sum(const Deficits& d) {
  int sum = 0;
  for (std::uint16_t v : d) sum += v;
  return sum;
}

}  // namespace

WindowPlan PlanReportedWindow(const WindowReports& reports) {
  std::vector<int> held = reports.held;
  // Not windowed: parity for each block's worst deficit leaves no rest.
  const std::size_t exceed = reports.windowed && reports.deficits.size() > 1 ? 1 : 0;
  WindowPlan plan{BaseParity(reports, held, exceed), 0};
  CoverOverflow(reports.deficits, held, plan.parity);
  LevelTopNeed(reports.deficits, held, plan.parity);
  const int window = WindowNeed(reports.deficits, held, plan.parity);
  if (window == 0) return plan;
  Deficits worst = WorstDeficits(reports.deficits, reports.ks.size());
  if (Sum(worst) - (Sum(plan.parity) + window) < kWindowSaving * window) {
    plan.parity = std::move(worst);
    return plan;
  }
  plan.window = static_cast<std::uint16_t>(std::min(window, 0xFFFF));
  return plan;
}

int Rest(const Deficits& deficits, const Deficits& parity) {
  int sum = 0;
  for (std::size_t b = 0; b < parity.size(); ++b) sum += std::max(0, deficits[b] - parity[b]);
  return sum;
}

void LevelTopNeed(const std::vector<Deficits>& deficits, const std::vector<int>& held,
                  Deficits& parity) {
  for (;;) {
    std::size_t top = deficits.size();
    int most = 0, next = 0;
    for (std::size_t r = 0; r < deficits.size(); ++r) {
      if (held[r] < 0) continue;
      const int need = Rest(deficits[r], parity) - held[r];
      if (need > most) {
        next = most;
        most = need;
        top = r;
      } else {
        next = std::max(next, need);
      }
    }
    if (top == deficits.size() || most == next) return;
    std::size_t pick = parity.size();
    int smallest = std::numeric_limits<int>::max();
    for (std::size_t b = 0; b < parity.size(); ++b) {
      const int left = deficits[top][b] - parity[b];
      if (left > 0 && left < smallest) {
        smallest = left;
        pick = b;
      }
    }
    parity[pick] += static_cast<std::uint16_t>(std::min(smallest, most - next));
  }
}

std::uint16_t GroupDeficit(std::uint16_t k, double p, std::size_t receivers) {
  if (p <= 0) return 0;
  const double allowed = 1.0 / double(receivers);
  double pmf = std::pow(1 - p, k), tail = 1 - pmf;  // P(X = 0), P(X > 0)
  for (std::uint16_t q = 0; q < k; ++q) {
    if (tail <= allowed) return q;
    pmf *= double(k - q) / double(q + 1) * p / (1 - p);  // P(X = q + 1)
    tail -= pmf;
  }
  return k;
}

std::optional<GroupWindowPlan> EstimateGroupWindow(std::span<const std::uint16_t> ks, double p,
                                                   std::size_t receivers,
                                                   std::uint16_t max_window) {
  const std::size_t cap = std::size_t{max_window} + 1;
  std::vector<double> rest(cap + 1, 0);  // P(rest = r); the last entry: rest >= cap
  rest[0] = 1;
  GroupWindowPlan plan;
  for (std::uint16_t k : ks) {
    const std::vector<double> pmf = BinomialPmf(k, p);
    std::uint16_t q = 0;        // the largest q with P(X > q) >= 1/2
    double above = 1 - pmf[0];  // P(X > q)
    while (q + 1u < pmf.size() && above - pmf[q + 1u] >= 0.5) above -= pmf[++q];
    plan.parity.push_back(q);
    std::vector<double> beyond(cap + 1, 0);  // P((X - q)+ = r)
    for (std::size_t x = 0; x < pmf.size(); ++x) {
      beyond[std::min<std::size_t>(cap, x > q ? x - q : 0)] += pmf[x];
    }
    std::vector<double> sum(cap + 1, 0);
    for (std::size_t i = 0; i <= cap; ++i) {
      if (rest[i] == 0) continue;
      for (std::size_t j = 0; j <= cap; ++j) sum[std::min(cap, i + j)] += rest[i] * beyond[j];
    }
    rest = std::move(sum);
  }
  const double allowed = 1.0 / double(receivers);
  double tail = 1;  // P(rest > window)
  for (std::size_t window = 0; window < cap; ++window) {
    tail -= rest[window];
    if (tail <= allowed) {
      plan.window = static_cast<std::uint16_t>(window);
      return plan;
    }
  }
  return std::nullopt;
}

}  // namespace ardus
