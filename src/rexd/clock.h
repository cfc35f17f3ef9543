// rexd's two clocks. The engines take wall-clock time (lease and retention
// deadlines are Unix ms, and survive a restart); connections take a monotonic
// clock, so that a clock step does not expire them.
#pragma once

#include <chrono>
#include <cstdint>

namespace ardus::rexd {

inline std::int64_t WallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline std::int64_t MonoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace ardus::rexd
