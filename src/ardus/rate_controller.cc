#include "ardus/rate_controller.h"

#include <algorithm>

#include "ardus/wire.h"

namespace ardus {
namespace {
constexpr Duration kAdaptInterval = milliseconds(20);
constexpr std::uint32_t kCongestionPpm = 20'000;  // reports at or below: the path's noise
}  // namespace

RateController::RateController(RateConfig config) : config_(config), rate_(config.start_bps) {}

void RateController::Start(Time now) { last_refill_ = now; }

void RateController::Refill(Time now) {
  const double cap = std::max(2.0 * config_.burst_bytes, rate_ / 8.0 * 0.002);
  tokens_ = std::min(cap, tokens_ + double((now - last_refill_).count()) * rate_ / 8e9);
  last_refill_ = now;
}

void RateController::OnSent(std::size_t udp_payload) {
  tokens_ -= double(udp_payload + wire::kIpUdpHeaderBytes);
  sent_bytes_ += udp_payload;
}

Time RateController::NextBurst() const {
  const double missing = std::max(0.0, config_.burst_bytes * 0.9 - tokens_);
  return last_refill_ + Duration(static_cast<std::int64_t>(missing * 8e9 / rate_));
}

void RateController::Adapt(Time now) {
  if (!config_.adaptive || now < next_increase_) return;
  const double seconds = double((now - last_adapt_).count()) / 1e9;
  achieved_ = seconds > 0 ? double(sent_bytes_ - sent_at_adapt_) * 8 / seconds : 0;
  last_adapt_ = now;
  sent_at_adapt_ = sent_bytes_;
  next_increase_ = now + kAdaptInterval;
  // Grow only a rate that is being used: a sender held back by its CPU, its
  // disk or a lack of data must not build up a rate the network never saw.
  if (achieved_ < 0.8 * rate_) return;
  // Slow start until the first congestion; afterwards climb back quickly to
  // just under the rate that last caused congestion, then probe slowly.
  const double growth = slow_start_ ? 1.25 : rate_ < 0.9 * event_rate_ ? 1.05 : 1.002;
  rate_ = std::min(config_.max_bps, rate_ * growth);
}

bool RateController::OnCongestion(Time now, std::uint32_t loss_ppm, Duration grtt) {
  if (!config_.adaptive || loss_ppm <= kCongestionPpm) return false;
  const double loss = std::min(1.0, loss_ppm / 1e6);
  // One congestion event draws reports for a while, all about the rate that
  // caused it. Within max(100 ms, 4 GRTT) of a cut, a report is measured
  // against that rate, and acted on only if it calls for a much deeper cut
  // (the first report of a burst can understate it).
  const bool same_event = now - last_decrease_ < std::max<Duration>(milliseconds(100), 4 * grtt);
  if (!same_event) event_rate_ = achieved_ > 0 ? std::min(rate_, achieved_) : rate_;
  // One short window of a bursty queue can show far more loss than the
  // overshoot really was: never cut below half the rate that caused it.
  const double target = std::max(config_.min_bps, event_rate_ * std::max(0.5, (1 - loss) * 0.95));
  if (same_event && target > 0.8 * rate_) return false;
  rate_ = target;
  slow_start_ = false;
  last_decrease_ = now;
  next_increase_ = now + kAdaptInterval;
  return true;
}

}  // namespace ardus
