// Where the seal layer's randomness comes from. The layer draws no entropy
// itself (it is sans-IO): whoever builds a session passes a RandomSource in.
// The I/O layer's SystemRandom (io/system_random.h) reads the kernel's; tests
// and the simulator use SeededRandom, so a seed replays a run exactly.
//
// Thread-safety: a RandomSource is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>

#include "seal/types.h"

namespace ardus::seal {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with random bytes. Never fails: a source that cannot deliver
  // must end the process rather than hand out predictable keys.
  virtual void Fill(std::span<std::uint8_t> out) = 0;

  Key32 Key() {
    Key32 k;
    Fill(k);
    return k;
  }
};

// Deterministic bytes from a seed: block i is SHA-256(seed u64 BE || i u64 BE).
// For tests and the simulator only: anyone who knows the seed knows the keys.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(std::uint64_t seed) : seed_(seed) {}
  void Fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace ardus::seal
