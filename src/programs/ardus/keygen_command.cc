// `ardus keygen FILE`: a new Ed25519 identity. The fingerprint is the first
// line of stdout, so scripts can take it with `head -1`.
#include <fmt/core.h>

#include "io/key_file.h"
#include "io/system_random.h"
#include "programs/ardus/options.h"

namespace ardus::cli {

int RunKeygen(const KeygenOptions& o) {
  net::SystemRandom random;
  const seal::Identity identity = seal::Identity::Generate(random);
  if (Status s = net::WriteIdentity(o.path, identity); !s.ok()) {
    fmt::print(stderr, "ardus keygen: {}\n", s.message());
    return ExitCodeFor(s);
  }
  fmt::print("{}\n", seal::FingerprintText(identity.fingerprint()));
  fmt::print("wrote {} (private key, mode 0600) and {}.pub\n", o.path, o.path);
  return exit_code::kOk;
}

}  // namespace ardus::cli
