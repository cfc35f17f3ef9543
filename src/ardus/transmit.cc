#include "ardus/transmit.h"

namespace ardus {

std::string Endpoint::ToString() const {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255) + ":" +
         std::to_string(port);
}

}  // namespace ardus
