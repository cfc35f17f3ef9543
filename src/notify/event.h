// A structured event, as the OMG Notification service defines one: a fixed
// header (domain, type, event name), typed filterable fields, and an opaque
// body, plus the QoS a publisher may set (priority, expiry).
//
// Thread-safety: immutable once published; shared between the channel's log
// and subscriber queues through EventPtr.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tcl/value.h"

namespace ardus::notify {

// A union-valued field, as a CORBA any holding an IDL union carries it: the
// discriminator, the active member's value, and whether the discriminator
// selects the union's default branch (which only the union's type knows, so
// the publisher states it). Filters read it as `$.u._d`, `$.u` (the active
// value) and `default $.u`.
struct UnionField {
  tcl::Value discriminator;
  tcl::Value value;
  bool is_default = false;
};
using UnionFields = std::map<std::string, UnionField, std::less<>>;  // finds by string_view

struct Event {
  std::uint64_t seq = 0;  // per channel, from 1, assigned at publish
  std::string domain, type, name;
  tcl::Properties fields;
  UnionFields unions;  // field names unique across fields and unions
  std::string body;
  std::int32_t priority = 0;
  std::int64_t published_ms = 0;
  std::int64_t expires_ms = 0;  // 0: never
  // The header values as trader::Values, so filters read them like fields.
  tcl::Value domain_value, type_value, name_value, priority_value;
  // The PUSH body, encoded once and sent to every subscriber.
  std::vector<std::uint8_t> wire;

  std::size_t bytes() const { return body.size() + wire.size() + 64; }
};

using EventPtr = std::shared_ptr<const Event>;

// Default and hard limits on one event.
inline constexpr std::size_t kMaxBodyBytes = 1 << 20;

}  // namespace ardus::notify
