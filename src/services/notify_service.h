// Maps REX requests on the Notify port onto the Broker, and deliveries onto
// PUSH frames. Sans-IO like the Broker.
//
// Thread-safety: none; used by rexd's single event-loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "notify/broker.h"
#include "rex/frame.h"

namespace ardus::rexd {

class NotifyService {
 public:
  explicit NotifyService(notify::Broker& broker) : broker_(broker) {}

  // Serves one request from connection `owner`: the reply body or the error.
  Result<std::vector<std::uint8_t>, rex::Error> Handle(std::int64_t now_ms, std::uint64_t owner,
                                                       const rex::Frame& request);

 private:
  notify::Broker& broker_;
};

}  // namespace ardus::rexd
