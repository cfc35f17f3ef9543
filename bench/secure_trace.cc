// One protected session in the simulator (virtual time, no sockets): a
// sender and one receiver, no loss, MIB MiB. Run under callgrind, its
// instruction counts per DATA packet show what sealing and opening cost the
// engines, without the kernel and without run-to-run noise:
//   valgrind --tool=callgrind build/bench/secure_trace [MIB [aes256-gcm|auth|none]]
// Prints whether the copy arrived whole and how many DATA packets were sent.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/memory_content.h"
#include "support/simulator.h"

using namespace ardus;
using namespace ardus::testing;

int main(int argc, char** argv) {
  const std::uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 16;
  const std::string mode = argc > 2 ? argv[2] : "aes256-gcm";
  Manifest manifest = PatternManifest({mib << 20});
  PatternSource source;
  CheckingStore store;
  SimReceiver r;
  r.store = &store;
  SenderConfig config;
  config.expected_receivers = 1;
  config.rate_bps = 1'000'000'000;
  std::optional<SimSecurity> security;
  if (mode != "none")
    security = SimSecurity{mode == "auth" ? Encryption::kAuth : Encryption::kAes256Gcm};
  Simulator sim(1, config, manifest, source, {r}, ReceiverConfig{}, security);
  SimResult result = sim.Run(seconds(600));
  const bool ok = result.completed && result.receiver_results[0].ok();
  std::printf("%s %llu MiB: %s, %llu source symbols\n", mode.c_str(), (unsigned long long)mib,
              ok ? "delivered" : "FAILED", (unsigned long long)sim.sender().stats().source_symbols);
  return ok ? 0 : 1;
}
