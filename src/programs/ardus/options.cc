#include "programs/ardus/options.h"

#include <sys/random.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ardus::cli {

int ExitCodeFor(const Status& status) {
  switch (status.kind()) {
    case ErrorKind::kOk:
      return exit_code::kOk;
    case ErrorKind::kInvalidArgument:
      return exit_code::kUsage;
    case ErrorKind::kTimeout:
      return exit_code::kNoPeer;
    case ErrorKind::kCancelled:
      return exit_code::kInterrupted;
    case ErrorKind::kLocalIo:
    case ErrorKind::kNoSpace:
    case ErrorKind::kUnsafePath:
      return exit_code::kLocalError;
    default:
      return exit_code::kFailed;
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

Result<RateSetting> ParseRateSetting(const std::string& text) {
  RateSetting r;
  if (text.rfind("auto", 0) != 0) {
    Result<std::uint64_t> fixed = ParseRate(text);
    if (!fixed.ok()) return fixed.status();
    r.start_bps = r.min_bps = r.max_bps = fixed.value();
    return r;
  }
  r.adaptive = true;
  std::string rest = text.substr(4);
  if (!rest.empty() && rest[0] != ':') {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--rate '" + text + "': expected auto or auto:min=R,max=R");
  }
  std::size_t pos = 1;
  while (pos < rest.size()) {
    std::size_t comma = rest.find(',', pos);
    std::string item = rest.substr(pos, comma == std::string::npos ? comma : comma - pos);
    pos = comma == std::string::npos ? rest.size() : comma + 1;
    std::size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (eq == std::string::npos || (key != "min" && key != "max")) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "--rate '" + text + "': unknown setting '" + item + "' (min=, max=)");
    }
    Result<std::uint64_t> value = ParseRate(item.substr(eq + 1));
    if (!value.ok()) return value.status();
    (key == "min" ? r.min_bps : r.max_bps) = value.value();
  }
  if (r.min_bps > r.max_bps) {
    return Status::Error(ErrorKind::kInvalidArgument, "--rate '" + text + "': min above max");
  }
  // Start at 100 Mbit/s (or the bounds): slow start finds faster links in
  // well under a second and does not flood a slow one.
  r.start_bps = std::clamp<std::uint64_t>(100'000'000, r.min_bps, r.max_bps);
  return r;
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

std::optional<std::string> NearestName(const std::string& word,
                                       const std::vector<std::string>& names) {
  std::optional<std::string> best;
  std::size_t best_distance = std::min<std::size_t>(3, word.size());
  for (const std::string& name : names) {
    // Levenshtein distance, one row at a time.
    std::vector<std::size_t> row(name.size() + 1);
    for (std::size_t j = 0; j <= name.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= word.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= name.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (word[i - 1] != name[j - 1])});
        diagonal = up;
      }
    }
    if (row[name.size()] < best_distance) {
      best_distance = row[name.size()];
      best = name;
    }
  }
  return best;
}

std::uint32_t RandomId() {
  std::uint32_t v = 0;
  while (v == 0) {
    if (getrandom(&v, sizeof v, 0) != sizeof v) v = 0;
  }
  return v;
}

}  // namespace ardus::cli
