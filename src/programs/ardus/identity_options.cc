#include "programs/ardus/identity_options.h"

#include "io/key_file.h"

namespace ardus::cli {

Result<seal::Identity> IdentityFrom(const std::string& path, seal::RandomSource& random) {
  if (path.empty()) return seal::Identity::Generate(random);
  return net::LoadIdentity(path);
}

Result<std::optional<std::set<seal::Fingerprint>>> FingerprintsFrom(
    const std::vector<std::string>& specs) {
  if (specs.empty()) return std::optional<std::set<seal::Fingerprint>>();
  std::set<seal::Fingerprint> all;
  for (const std::string& spec : specs) {
    Result<std::set<seal::Fingerprint>> one = net::LoadFingerprints(spec);
    if (!one.ok()) return one.status();
    all.insert(one.value().begin(), one.value().end());
  }
  return std::optional<std::set<seal::Fingerprint>>(std::move(all));
}

}  // namespace ardus::cli
