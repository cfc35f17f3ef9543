// Behaviour fingerprint of the engines (bench/engine_loop.h): runs seeded
// sessions in virtual time and prints, per scenario, the digest of every
// datagram every engine emitted (with its virtual time and origin), the
// virtual completion time and the sender's counters. A refactor that changes
// no behaviour prints the same lines; under valgrind it gives an instruction
// count that does not depend on the machine's load.
//
//   ./build/bench/engine_trace [--scenario window|rate|all] [--mib M] [--seed S]
//                              [--receivers N] [--loss P] [--block-memory BYTES]
//
// window: N (4) receivers at P (5%) loss each way, window repair (window
//         solves); --block-memory 0 makes every solve read its window back.
// rate:   N receivers, no random loss (--loss is the window scenario's),
//         adaptive rate from 100 Mbit/s behind a 200 Mbit/s bottleneck with
//         a 50 ms queue (rate control).
#include <cstdio>
#include <exception>
#include <string>

#include "engine_loop.h"

using namespace ardus;
using ardus::bench::LoopConfig;

namespace {

constexpr const char* kUsage =
    "usage: engine_trace [--scenario window|rate|all] [--mib M] [--seed S] [--receivers N]\n"
    "                    [--loss P] [--block-memory BYTES]\n";

bool Report(const char* name, const LoopConfig& config) {
  const bench::LoopResult r = bench::RunLoop(config);
  bool ok = r.completed;
  for (const Status& s : r.results) ok = ok && s.ok();
  const SenderStats& st = r.stats;
  std::printf(
      "%s: digest %016llx datagrams %llu end_ns %lld source %llu repair %llu window %llu polls "
      "%llu "
      "naks %llu rate_cuts %llu final_rate %.0f drops %llu all_ok %s\n",
      name, (unsigned long long)r.digest, (unsigned long long)r.datagrams, (long long)r.end.count(),
      (unsigned long long)st.source_symbols, (unsigned long long)st.repair_symbols,
      (unsigned long long)st.window_symbols, (unsigned long long)st.polls,
      (unsigned long long)st.naks, (unsigned long long)st.rate_decreases, r.final_rate_bps,
      (unsigned long long)r.bottleneck_drops, ok ? "yes" : "NO");
  for (const Status& s : r.results) {
    if (!s.ok()) std::printf("  receiver failed: %s\n", s.ToString().c_str());
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string scenario = "all";
  std::uint64_t mib = 32, seed = 41;
  LoopConfig base;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    try {
      if (flag == "--scenario") {
        scenario = argv[i + 1];
      } else if (flag == "--mib") {
        mib = std::stoull(argv[i + 1]);
      } else if (flag == "--seed") {
        seed = std::stoull(argv[i + 1]);
      } else if (flag == "--receivers") {
        base.receivers = std::stoull(argv[i + 1]);
      } else if (flag == "--loss") {
        base.loss = std::stod(argv[i + 1]);
      } else if (flag == "--block-memory") {
        base.block_memory_limit = std::stoull(argv[i + 1]);
      } else {
        std::fputs(kUsage, stderr);
        return 2;
      }
    } catch (const std::exception&) {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (scenario != "all" && scenario != "window" && scenario != "rate") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  bool ok = true;
  if (scenario != "rate") {
    LoopConfig window = base;
    window.seed = seed;
    window.bytes = mib << 20;
    ok = Report("window", window) && ok;
  }
  if (scenario != "window") {
    LoopConfig rate = base;
    rate.seed = seed;
    rate.bytes = mib << 20;
    rate.loss = 0;
    rate.rate_adaptive = true;
    rate.rate_bps = 100'000'000;
    rate.bottleneck_bps = 200'000'000;
    ok = Report("rate", rate) && ok;
  }
  return ok ? 0 : 1;
}
