// What a protocol engine hands to its driver: a datagram already encoded into
// the driver's buffer, and where it goes. Endpoints are IPv4 (host order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ardus {

struct Endpoint {
  std::uint32_t ip = 0;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  std::string ToString() const;  // "a.b.c.d:port"
};

enum class Destination {
  kControlGroup,  // the session's announce/control multicast group (1835)
  kDataGroup,     // the session's data multicast group (1117)
  kPeer,          // unicast to Transmit::peer (feedback, 1834)
};

struct Transmit {
  Destination destination = Destination::kPeer;
  Endpoint peer;         // only for kPeer
  std::size_t size = 0;  // bytes written at the start of the caller's buffer
  bool is_data = false;  // a DATA symbol (for the driver's accounting)
};

}  // namespace ardus
