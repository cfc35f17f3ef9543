// A one-line progress display on stderr, redrawn at most 5 times a second.
// Disabled (every call a no-op) unless stderr is a terminal and enabled.
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>

#include "common/time.h"

namespace ardus::cli {

class Progress {
 public:
  Progress(bool enabled, std::string label);
  ~Progress() { Clear(); }
  // `done` of `total` bytes at `now`; `detail` is appended (e.g. receivers done).
  void Update(Time now, std::uint64_t done, std::uint64_t total, const std::string& detail);
  void Clear();

 private:
  bool enabled_;
  std::string label_;
  Time start_{-1}, last_draw_{0};
  bool drawn_ = false;
};

}  // namespace ardus::cli
