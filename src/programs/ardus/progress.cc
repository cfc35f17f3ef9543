#include "programs/ardus/progress.h"

#include <unistd.h>

#include <cstdio>

#include "programs/ardus/options.h"

namespace ardus::cli {

Progress::Progress(bool enabled, std::string label)
    : enabled_(enabled && isatty(STDERR_FILENO)), label_(std::move(label)) {}

void Progress::Update(Time now, std::uint64_t done, std::uint64_t total,
                      const std::string& detail) {
  if (!enabled_) return;
  if (start_ < Time(0)) start_ = now;
  if (drawn_ && now - last_draw_ < milliseconds(200)) return;
  last_draw_ = now;
  double secs = double((now - start_).count()) / 1e9;
  double pct = total ? 100.0 * double(done) / double(total) : 100.0;
  std::string rate = secs > 0.2 ? FormatRate(8.0 * double(done) / secs) : "-";
  std::fprintf(stderr, "\r\033[K%s %5.1f%%  %s / %s  %s  %s", label_.c_str(), pct,
               FormatBytes(done).c_str(), FormatBytes(total).c_str(), rate.c_str(), detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Clear() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace ardus::cli
