#include "seal/random.h"

#include <algorithm>

namespace ardus::seal {

void SeededRandom::Fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    std::array<std::uint8_t, 16> input;
    for (int i = 0; i < 8; ++i) {
      input[i] = std::uint8_t(seed_ >> (56 - 8 * i));
      input[8 + i] = std::uint8_t(counter_ >> (56 - 8 * i));
    }
    ++counter_;
    const auto block = Sha256Of({input});
    const std::size_t n = std::min(block.size(), out.size() - done);
    std::copy_n(block.begin(), n, out.begin() + done);
    done += n;
  }
}

}  // namespace ardus::seal
