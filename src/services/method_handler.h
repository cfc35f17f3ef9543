// What every service's method handlers share: decode the request with its
// codec, serve it, encode the engine's answer. Header-only templates.
//
// Thread-safety: pure functions.
#pragma once

#include "rex/body.h"
#include "services/service.h"

namespace ardus::services {

// Decodes the request body of call `c` (any struct with a `body` reader) with
// `decode`, then answers it with `serve`, which may move fields out of the
// request it is handed. A body that does not decode is answered with
// decode's error (kBadRequest).
template <class Call, class Decode, class Serve>
Reply With(const Call& c, Decode decode, Serve serve) {
  auto r = decode(c.body);
  if (!r.ok()) return r.error();
  return serve(r.value());
}

// Encodes an engine result as the reply, or passes its error on.
template <class T>
Reply Answer(const Result<T, rex::Error>& r) {
  if (!r.ok()) return r.error();
  return rex::EncodeBody(r.value());
}

}  // namespace ardus::services
