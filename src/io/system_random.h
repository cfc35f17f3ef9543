// The kernel's randomness (getrandom(2)) as a seal::RandomSource: what real
// sessions draw their keys from.
//
// Thread-safety: Fill() may be called from any thread.
#pragma once

#include "seal/random.h"

namespace ardus::net {

class SystemRandom final : public seal::RandomSource {
 public:
  // Blocks until the kernel's pool is initialised; aborts if getrandom fails
  // (no key may come from anything weaker).
  void Fill(std::span<std::uint8_t> out) override;
};

}  // namespace ardus::net
