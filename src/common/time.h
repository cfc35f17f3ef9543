// Time as the protocol engines see it: nanoseconds on a monotonic axis whose
// origin the caller chooses. Engines never read a clock; the I/O driver passes
// CLOCK_MONOTONIC readings, the simulator passes virtual time.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

namespace ardus {

using Duration = std::chrono::nanoseconds;
using Time = std::chrono::nanoseconds;  // since an arbitrary origin

inline constexpr Time kNever = Time(std::numeric_limits<std::int64_t>::max());

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

}  // namespace ardus
