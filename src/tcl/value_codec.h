// The REX encoding of typed values: a value is a msgpack integer, float,
// boolean or string, or an array of one of them; properties are a map from
// name to value. The Trader's offers and Notify's event fields share it.
//
// Thread-safety: free functions over caller-owned data.
#pragma once

#include <msgpack.hpp>

#include "rex/body.h"
#include "rex/error_code.h"
#include "tcl/value.h"

namespace ardus::tcl {

// Decoders return kBadRequest naming the field at fault; the caller replies
// with that error and keeps the connection.
Result<Value, rex::Error> DecodeValue(const msgpack::object& o);
Result<Properties, rex::Error> DecodeProperties(const msgpack::object* o);  // nullptr: empty

void EncodeValue(rex::BodyWriter& w, const Value& v);
void EncodeProperties(rex::BodyWriter& w, const Properties& props);

}  // namespace ardus::tcl
