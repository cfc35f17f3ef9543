// What `ardus send` and `ardus receive` share about identities: the key
// (loaded from --key, or fresh) and the --allow / --trust lists.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "seal/identity.h"
#include "seal/random.h"

namespace ardus::cli {

// --key FILE, or a fresh identity from `random` when `path` is empty.
// Errors: LoadIdentity's (each naming the file).
Result<seal::Identity> IdentityFrom(const std::string& path, seal::RandomSource& random);

// The union of the lists given; nullopt when none was given.
Result<std::optional<std::set<seal::Fingerprint>>> FingerprintsFrom(
    const std::vector<std::string>& specs);

}  // namespace ardus::cli
