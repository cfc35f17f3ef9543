#include "cli/options.h"

#include <sys/random.h>

#include <cmath>
#include <cstdio>

namespace ardus::cli {

int ExitCodeFor(const Status& status) {
  switch (status.kind()) {
    case ErrorKind::kOk:
      return kExitOk;
    case ErrorKind::kInvalidArgument:
      return kExitUsage;
    case ErrorKind::kTimeout:
      return kExitNoPeer;
    case ErrorKind::kCancelled:
      return kExitInterrupted;
    case ErrorKind::kLocalIo:
    case ErrorKind::kNoSpace:
    case ErrorKind::kUnsafePath:
      return kExitLocalError;
    default:
      return kExitFailed;
  }
}

Result<std::uint64_t> ParseRate(const std::string& text) {
  auto bad = [&] {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--rate '" + text + "': expected bits/s like 500M, 2G or 750k");
  };
  if (text.empty()) return bad();
  std::size_t used = 0;
  double value;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    return bad();
  }
  std::string suffix = text.substr(used);
  double mult = 1;
  if (suffix == "k" || suffix == "K")
    mult = 1e3;
  else if (suffix == "m" || suffix == "M")
    mult = 1e6;
  else if (suffix == "g" || suffix == "G")
    mult = 1e9;
  else if (!suffix.empty())
    return bad();
  double bps = value * mult;
  if (!std::isfinite(bps) || bps < 10e3 || bps > 400e9) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--rate '" + text + "': must be between 10k and 400G bits/s");
  }
  return static_cast<std::uint64_t>(bps);
}

std::string FormatBytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string FormatRate(double bps) {
  char buf[32];
  if (bps >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f Gbit/s", bps / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.1f Mbit/s", bps / 1e6);
  return buf;
}

std::uint32_t RandomId() {
  std::uint32_t v = 0;
  while (v == 0) {
    if (getrandom(&v, sizeof v, 0) != sizeof v) v = 0;
  }
  return v;
}

}  // namespace ardus::cli
