// A ContentStore that keeps nothing, for tests and fuzzers that drive a
// receiver and care about what it does, not what it writes. Reads give
// zeros. Begin refuses a manifest larger than `free_bytes`, as a full disk
// would. Header-only so the fuzz build, which has no test libraries, can
// use it too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "ardus/manifest.h"
#include "ardus/store.h"

namespace ardus::testing {

class NullStore final : public ContentStore {
 public:
  std::uint64_t free_bytes = ~std::uint64_t{0};
  int begins = 0, aborts = 0;

  Status Begin(const Manifest& m) override {
    ++begins;
    if (m.total_bytes() > free_bytes) {
      return Status::Error(ErrorKind::kNoSpace, std::to_string(free_bytes) + " bytes free");
    }
    return Status::Ok();
  }
  Status Write(std::uint32_t, std::uint64_t, std::span<const std::uint8_t>) override {
    return Status::Ok();
  }
  Status Read(std::uint32_t, std::uint64_t, std::span<std::uint8_t> out) override {
    std::fill(out.begin(), out.end(), 0);
    return Status::Ok();
  }
  Status Commit(std::uint32_t) override { return Status::Ok(); }
  Status Finish() override { return Status::Ok(); }
  void Abort() override { ++aborts; }
};

}  // namespace ardus::testing
