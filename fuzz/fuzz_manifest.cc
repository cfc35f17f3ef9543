// Fuzzes the manifest decoder: hostile paths and sizes must be rejected
// cleanly; a decoded manifest must re-encode to the same bytes.
#include <cstdint>
#include <vector>

#include "ardus/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = ardus::DecodeManifest({data, size});
  if (!m.ok()) return 0;
  for (const auto& e : m.value().entries) {
    if (!ardus::ValidateRelativePath(e.path).ok()) __builtin_trap();
  }
  std::vector<std::uint8_t> again = ardus::EncodeManifest(m.value());
  if (again != std::vector<std::uint8_t>(data, data + size)) __builtin_trap();
  return 0;
}
