// LossMeter: the DATA loss a receiver sees, from gaps in DATA sequence
// numbers, split into what the path always loses (its floor: the lowest loss
// of the last 8 heartbeat windows) and the excess above it, which is the
// congestion signal a rate-adaptive sender acts on.
//
// Two windows run at once: the report window (since the last STATUS) and a
// short alarm window (the last `alarm_window`), so a burst of loss is seen
// promptly instead of being diluted by a long clean report window.
//
// Thread-safety: none; owned by one Receiver.
#pragma once

#include <array>
#include <cstdint>

#include "common/time.h"

namespace ardus {

class LossMeter {
 public:
  explicit LossMeter(Duration alarm_window) : alarm_window_(alarm_window) {}

  // A DATA datagram with sequence number `seq` arrived. A smaller number
  // than the newest seen (reordering, duplication) counts as received, no gap.
  void OnSequence(Time now, std::uint16_t seq);
  // Over at least 32 datagrams, the alarm window's loss exceeds the floor by
  // more than 2 percentage points.
  bool Alarm() const;
  // Ends the report (and alarm) window: returns the loss above the floor, in
  // parts per million, of the alarm window if `alarm`, else of the report
  // window, which then (if it saw at least 64 datagrams) becomes a floor sample.
  std::uint32_t TakeExcessPpm(Time now, bool alarm);

 private:
  struct Window {
    std::uint64_t received = 0, lost = 0;
    std::uint64_t seen() const { return received + lost; }
    std::uint32_t ppm() const {
      return static_cast<std::uint32_t>(seen() ? lost * 1'000'000 / seen() : 0);
    }
  };
  std::uint32_t FloorPpm() const;

  Duration alarm_window_;
  bool have_seq_ = false;
  std::uint16_t last_seq_ = 0;
  Window report_, alarm_;
  Time alarm_start_{0};
  std::array<std::uint32_t, 8> floor_samples_{};
  std::size_t floor_count_ = 0;
};

}  // namespace ardus
