#include "seal/replay_window.h"

namespace ardus::seal {

bool ReplayWindow::MayAccept(std::uint64_t n) const {
  if (n == 0) return false;
  if (n > highest_) return true;
  if (highest_ - n >= kSize) return false;
  return !Seen(n);
}

void ReplayWindow::Accept(std::uint64_t n) {
  if (n > highest_) {
    // Clear the words the window slides over, a word at a time.
    const std::uint64_t from = highest_ / 64 + 1, to = n / 64;
    if (to >= from) {
      if (to - from + 1 >= kWords) {
        bits_.fill(0);
      } else {
        for (std::uint64_t w = from; w <= to; ++w) bits_[w % kWords] = 0;
      }
    }
    highest_ = n;
  }
  bits_[(n / 64) % kWords] |= std::uint64_t{1} << (n % 64);
}

}  // namespace ardus::seal
