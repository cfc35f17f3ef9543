// Fuzzes the datagram decoder: any input must decode or fail cleanly, and
// whatever decodes must re-encode to the same bytes.
#include <cstdint>
#include <cstring>
#include <vector>

#include "ardus/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = ardus::wire::Decode({data, size});
  if (!decoded.ok()) return 0;
  std::vector<std::uint8_t> out(ardus::wire::kMaxDatagram);
  std::size_t n = ardus::wire::Encode(decoded.value(), out);
  if (n != size || std::memcmp(out.data(), data, size) != 0) __builtin_trap();
  return 0;
}
