// The Trader's REX methods and how their bodies encode trader values
// (docs/rex-protocol.md, "Trader methods", has the field-by-field tables).
//
// Values map onto MessagePack natively: int -> integer, float -> float64,
// bool -> boolean, string -> str, sequences -> arrays (an array holding any
// float decodes as float[]).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <msgpack.hpp>

#include "rex/body.h"
#include "tcl/value_codec.h"
#include "trader/trader.h"

namespace ardus::trader {

enum class Method : std::uint16_t {
  kAddType = 10,
  kDescribeType = 11,
  kListTypes = 12,
  kRemoveType = 13,
  kExport = 20,
  kWithdraw = 21,
  kModify = 22,
  kDescribe = 23,
  kRenew = 24,
  kQuery = 30,
  kNextPage = 31,
  kCloseIterator = 32,
  kWatch = 40,
  kUnwatch = 41,
  kWatchEvent = 42,  // PUSH frames; id = watch id
};

// Decoders return kBadRequest naming the field at fault.
Result<ServiceType, rex::Error> DecodeServiceType(const rex::BodyReader& body);
Result<Offer, rex::Error> DecodeOffer(const msgpack::object& o);

// Property definitions: [{name, type, mandatory, readonly}]. `o` nullptr or
// nil is none; `key` names the field in errors (kBadRequest, or
// kInvalidType for an unknown value type).
Result<std::vector<PropertyDef>, rex::Error> DecodePropertyDefs(const msgpack::object* o,
                                                                std::string_view key);
void EncodePropertyDefs(rex::BodyWriter& w, const std::vector<PropertyDef>& defs);

// The map: {name, supers, properties: [{name, type, mandatory, readonly}]}.
void EncodeServiceType(rex::BodyWriter& w, const ServiceType& t);
// The map: {id, type, props, lease, deadline_ms}.
void EncodeOffer(rex::BodyWriter& w, const Offer& o);

}  // namespace ardus::trader
