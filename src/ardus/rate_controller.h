// RateController: the sender's pacing and, when adaptive, its congestion
// response.
//
// Pacing is a token bucket in bytes, IP and UDP headers included, refilled
// at the current rate and capped at 2 ms of sending (at least two bursts),
// so a driver that wakes late, or spends its turn inside sendmmsg, does not
// lose rate.
//
// Adaptation (SenderConfig::rate_adaptive): every 20 ms it measures the rate
// achieved and, only if that was at least 80% of the rate (a rate the
// network never saw must not build up), grows the rate: 25% until the first
// congestion report, then 5% up to 90% of the rate that last caused
// congestion and 0.2% beyond. A report of loss above 2% cuts that rate R
// to R * max(0.5, (1 - loss) * 0.95). Bounded by [min_bps, max_bps].
//
// Sans-IO: every input carries the caller's `now`; it reads no clock. Times
// passed in must not go backwards.
//
// Thread-safety: none; owned by one Sender.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "common/time.h"

namespace ardus {

struct RateConfig {
  double start_bps = 1e9;  // wire bits per second until adaptation moves it
  bool adaptive = false;   // false: the rate stays start_bps; Adapt/OnCongestion do nothing
  double min_bps = 1e7;    // adaptation's bounds; start_bps is not clamped to them
  double max_bps = 1e11;
  // Bytes of one burst of DATA, headers included, as the sender releases
  // them: the bucket holds at least two, and NextBurst() waits for most of one.
  double burst_bytes = 32 * (1456 + 64.0);
};

class RateController {
 public:
  explicit RateController(RateConfig config);

  // Starts the bucket's clock (empty bucket). Call once, before the rest.
  void Start(Time now);
  // Adds the tokens earned since the last refill.
  void Refill(Time now);
  // Whether `bytes` (a datagram with its IP and UDP headers) may go now.
  bool Affords(double bytes) const { return tokens_ >= bytes; }
  // A datagram of `udp_payload` bytes went out: spends its tokens (payload
  // plus IP and UDP headers; the bucket may go negative, a debt the next
  // refills pay) and counts it for the achieved rate. Control datagrams too.
  void OnSent(std::size_t udp_payload);
  // When, at the current rate, most of a burst will be affordable (now, at
  // the last refill, if it is already).
  Time NextBurst() const;

  // Every 20 ms: measures the rate achieved since the last measurement and
  // grows the rate if it was really used. No effect between measurements.
  void Adapt(Time now);
  // A receiver reported `loss_ppm` of loss above its usual. Above 2%, cuts
  // the rate that caused it (unless this report belongs to a recent cut and
  // asks for no much deeper one); `grtt` widens what counts as recent.
  // Returns true if it cut the rate.
  bool OnCongestion(Time now, std::uint32_t loss_ppm, Duration grtt);

  double rate_bps() const { return rate_; }

 private:
  RateConfig config_;
  double rate_;             // bits per second
  bool slow_start_ = true;  // until the first congestion
  double event_rate_ = 0;   // the rate that caused the congestion being answered
  double achieved_ = 0;     // bits per second actually sent over the last measurement
  std::uint64_t sent_bytes_ = 0, sent_at_adapt_ = 0;  // UDP payload bytes
  Time last_adapt_{0};
  Time next_increase_{0};
  Time last_decrease_{std::numeric_limits<std::int64_t>::min() / 2};
  double tokens_ = 0;  // bytes
  Time last_refill_{0};
};

}  // namespace ardus
