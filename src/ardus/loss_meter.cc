#include "ardus/loss_meter.h"

#include <algorithm>

namespace ardus {

void LossMeter::OnSequence(Time now, std::uint16_t seq) {
  if (now - alarm_start_ >= alarm_window_) {
    alarm_ = {};
    alarm_start_ = now;
  }
  ++report_.received;
  ++alarm_.received;
  const auto delta = static_cast<std::uint16_t>(seq - last_seq_);
  if (!have_seq_) {
    have_seq_ = true;
    last_seq_ = seq;
  } else if (delta >= 1 && delta < 0x8000) {
    report_.lost += delta - 1u;
    alarm_.lost += delta - 1u;
    last_seq_ = seq;
  }
}

std::uint32_t LossMeter::FloorPpm() const {
  if (floor_count_ == 0) return 0;
  const auto used = floor_samples_.begin() + std::min(floor_count_, floor_samples_.size());
  return *std::min_element(floor_samples_.begin(), used);
}

bool LossMeter::Alarm() const { return alarm_.seen() >= 32 && alarm_.ppm() > FloorPpm() + 20'000; }

std::uint32_t LossMeter::TakeExcessPpm(Time now, bool alarm) {
  const std::uint32_t loss = alarm ? alarm_.ppm() : report_.ppm();
  const std::uint32_t floor = FloorPpm();
  if (!alarm && report_.seen() >= 64) floor_samples_[floor_count_++ % floor_samples_.size()] = loss;
  report_ = alarm_ = {};
  alarm_start_ = now;
  return loss > floor ? loss - floor : 0;
}

}  // namespace ardus
