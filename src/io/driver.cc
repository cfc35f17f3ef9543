#include "io/driver.h"

namespace ardus::net {

Time MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Time(std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
}

}  // namespace ardus::net
