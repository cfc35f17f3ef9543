// Notify's REX methods and event encoding (docs/rex-protocol.md, "Notify
// methods"). Events travel as one MessagePack map:
//   {seq, domain, type, name, fields: {name: value}, body: bin, priority,
//    published_ms, expires_ms}
// in PUSH frames (method kEvent, id = subscription) and in pull replies. A
// field's value is a trader value, or a union: {"_d": discriminator,
// "_v": value, "_default": bool (optional, false)}.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <vector>

#include "notify/broker.h"
#include "rex/body.h"

namespace ardus::notify {

enum class Method : std::uint16_t {
  kCreateChannel = 100,
  kDescribeChannel = 101,
  kPublish = 110,
  kPublishBatch = 111,  // {channel, events: [event]}: one reply {first_seq, count}
  kSubscribe = 120,
  kAck = 121,
  kCredit = 122,
  kPull = 123,
  kUnsubscribe = 124,
  kTypes = 125,
  kWatchTypes = 126,
  kEvent = 130,       // PUSH: one event
  kGap = 131,         // PUSH before an event: {"missed": n} events were dropped or trimmed
  kTypeChange = 132,  // PUSH: {"channel", "change": offered|subscribed|unsubscribed, "type"}
};

std::vector<std::uint8_t> EncodeEvent(const Event& e);
// Writes the "fields" map (plain and union fields) of an event.
void EncodeFields(rex::BodyWriter& w, const tcl::Properties& fields, const UnionFields& unions);
// Reads a "fields" map; nullptr or nil is no fields. Errors: kBadRequest
// naming the field (a wrong type, a non-finite number, a malformed union).
rex::Ack DecodeFields(const msgpack::object* o, tcl::Properties& fields, UnionFields& unions);
// Errors: kBadRequest naming the field.
Result<Event, rex::Error> DecodeEvent(const msgpack::object& o);

}  // namespace ardus::notify
