// Maps REX requests onto the Trader: decodes the body, calls the engine,
// encodes the reply. Watch events are encoded here too, for the server to
// push. Sans-IO like the Trader itself.
//
// Thread-safety: none; used by rexd's single event-loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "rex/frame.h"
#include "trader/trader.h"

namespace ardus::rexd {

class TraderService {
 public:
  explicit TraderService(trader::Trader& trader) : trader_(trader) {}

  // Serves one request from connection `owner`. The reply body, or the error
  // to send back.
  Result<std::vector<std::uint8_t>, rex::Error> Handle(std::int64_t now_ms, std::uint64_t owner,
                                                       const rex::Frame& request);
  // Body of a kWatchEvent push.
  static std::vector<std::uint8_t> EncodeEvent(const trader::WatchEvent& e);

 private:
  trader::Trader& trader_;
};

}  // namespace ardus::rexd
