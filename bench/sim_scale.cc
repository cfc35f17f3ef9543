// Scale benchmark in the deterministic simulator: one sender to N receivers
// (10, 100, 1000) at independent loss p, reporting feedback datagrams per
// source block, the wire ratio, and completion time against the ideal
// size / rate / (1 - p). Receivers verify every byte (CheckingStore) without
// storing it, so 1000 receivers fit in memory.
//
//   ./build/bench/sim_scale [--loss 0.01] [--mib 8] [--receivers N] [--window-repair 0|1]
//                           [--window-blocks B]
//                           [--out docs/benchmarks.md]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/memory_content.h"
#include "support/simulator.h"

using namespace ardus;
using namespace ardus::testing;

namespace {

struct Figures {
  std::size_t receivers;
  double naks_per_block, feedback_per_block, wire_ratio, completion_vs_ideal, end_vs_ideal;
  bool all_ok;
  double cpu_seconds;
};

Figures Run(std::size_t n, double loss, std::uint64_t bytes, std::uint64_t seed, bool window_repair,
            std::uint32_t window_blocks) {
  Manifest manifest = PatternManifest({bytes});
  PatternSource source;
  std::vector<std::unique_ptr<CheckingStore>> stores;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < n; ++i) {
    stores.push_back(std::make_unique<CheckingStore>());
    SimReceiver r;
    r.store = stores.back().get();
    r.down.loss = loss;
    r.up.loss = loss;
    specs.push_back(r);
  }
  SenderConfig config;
  config.expected_receivers = static_cast<std::uint32_t>(n);
  config.rate_bps = 1'000'000'000;
  config.window_repair = window_repair;
  config.window_blocks = window_blocks;
  auto cpu0 = std::chrono::steady_clock::now();
  ReceiverConfig receiver;
  // 1000 receivers holding 64 MiB of blocks each would not fit in memory;
  // CheckingStore answers read-backs from its pattern instead.
  receiver.block_memory_limit = 0;
  Simulator sim(seed, config, manifest, source, specs, receiver);
  SimResult result = sim.Run(seconds(600));
  double cpu = std::chrono::duration<double>(std::chrono::steady_clock::now() - cpu0).count();
  const SenderStats& st = sim.sender().stats();
  std::fprintf(stderr, "N=%zu: %llu source, %llu repair symbols (%llu window), %llu polls\n", n,
               (unsigned long long)st.source_symbols, (unsigned long long)st.repair_symbols,
               (unsigned long long)st.window_symbols, (unsigned long long)st.polls);
  bool ok = result.completed;
  for (const Status& s : result.receiver_results) ok = ok && s.ok();
  const double blocks = double((bytes + 1455) / 1456 + 199) / 200;  // source blocks of the file
  const double ideal = double(bytes) * 8 / double(config.rate_bps) / (1 - loss);
  return {n,
          double(result.nak_datagrams) / blocks,
          double(result.feedback_datagrams) / blocks,
          result.wire_ratio,
          double(result.all_finished.count()) / 1e9 / ideal,
          double(result.end.count()) / 1e9 / ideal,
          ok,
          cpu};
}

constexpr const char* kUsage =
    "usage: sim_scale [--loss P] [--mib M] [--receivers N] [--window-repair 0|1]\n"
    "                 [--window-blocks B] [--out FILE]\n"
    "Runs the simulator with one sender and N receivers (default: 10, 100 and 1000 in turn)\n"
    "at independent loss P (default 0.01) on every link, M MiB (default 8), and prints one\n"
    "table row per group size; --out FILE also replaces the table between the sim-scale\n"
    "markers in FILE (e.g. docs/benchmarks.md). It takes minutes at N = 1000.\n";

}  // namespace

int main(int argc, char** argv) {
  double loss = 0.01;
  std::uint64_t mib = 8;
  std::string out;
  bool window_repair = true;
  std::uint32_t window_blocks = wire::kDefaultWindowBlocks;
  std::vector<std::size_t> groups{10, 100, 1000};
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "sim_scale: %s needs a value\n%s", flag.c_str(), kUsage);
      return 2;
    }
    const std::string value = argv[i + 1];
    try {
      if (flag == "--loss")
        loss = std::stod(value);
      else if (flag == "--mib")
        mib = std::stoull(value);
      else if (flag == "--out")
        out = value;
      else if (flag == "--receivers")
        groups = {std::stoull(value)};
      else if (flag == "--window-repair")
        window_repair = std::stoi(value) != 0;
      else if (flag == "--window-blocks")
        window_blocks = static_cast<std::uint32_t>(std::stoul(value));
      else {
        std::fprintf(stderr, "sim_scale: unknown option %s\n%s", flag.c_str(), kUsage);
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "sim_scale: %s: bad value '%s'\n", flag.c_str(), value.c_str());
      return 2;
    }
  }
  std::ostringstream table;
  table << "## Scale in the simulator\n\n"
        << "Produced by `./build/bench/sim_scale --loss " << loss << " --mib " << mib
        << (out.empty() ? "" : " --out " + out) << "`: one sender, N receivers, " << mib
        << " MiB, independent loss " << loss * 100 << "% on every link both ways, 1 ms one-way "
        << "delay, rate 1 Gbit/s, seed 41. Wire ratio counts Ethernet+IP+UDP headers. Ideal "
        << "completion = size / rate / (1 - p). Completion: the sender has every receiver's "
        << "verified DONE; session end: also its three END datagrams, 10 ms apart, are out. "
           "Feedback counts every receiver datagram "
        << "(JOIN, STATUS, NAK, DONE); NAKs alone in their own column.\n\n"
        << "| N | NAKs per block | all feedback per block | wire ratio | target wire | completion "
           "/ ideal | session end / ideal | all verified | simulator wall s |\n"
           "|---|---|---|---|---|---|---|---|---|\n";
  for (std::size_t n : groups) {
    Figures f = Run(n, loss, mib << 20, 41, window_repair, window_blocks);
    char line[256];
    std::snprintf(line, sizeof line,
                  "| %zu | %.2f | %.2f | %.4f | %.4f | %.3f | %.3f | %s | %.1f |\n", f.receivers,
                  f.naks_per_block, f.feedback_per_block, f.wire_ratio, 1.05 / (1 - loss),
                  f.completion_vs_ideal, f.end_vs_ideal, f.all_ok ? "yes" : "NO", f.cpu_seconds);
    std::fputs(line, stdout);
    std::fflush(stdout);
    table << line;
  }
  std::puts(table.str().c_str());
  if (!out.empty()) {
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const std::string begin = "<!-- sim-scale:begin -->", end = "<!-- sim-scale:end -->";
    std::string block = begin + "\n" + table.str() + end + "\n";
    auto b = text.find(begin), e = text.find(end);
    if (b != std::string::npos && e != std::string::npos) {
      text = text.substr(0, b) + block + text.substr(e + end.size() + 1);
    } else {
      text = (text.empty() ? "# Benchmarks\n" : text) + "\n" + block;
    }
    std::ofstream(out) << text;
  }
  return 0;
}
