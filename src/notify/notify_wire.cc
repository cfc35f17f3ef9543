#include "notify/notify_wire.h"

#include <algorithm>
#include <cmath>

#include "trader/trader_wire.h"

namespace ardus::notify {

std::vector<std::uint8_t> EncodeEvent(const Event& e) {
  rex::BodyWriter w;
  w.Map(9);
  w.Key("seq").Uint(e.seq);
  w.Key("domain").Str(e.domain);
  w.Key("type").Str(e.type);
  w.Key("name").Str(e.name);
  w.Key("fields");
  trader::EncodeProperties(w, e.fields);
  w.Key("body").Bin({reinterpret_cast<const std::uint8_t*>(e.body.data()), e.body.size()});
  w.Key("priority").Int(e.priority);
  w.Key("published_ms").Int(e.published_ms);
  w.Key("expires_ms").Int(e.expires_ms);
  return w.Take();
}

namespace {

bool Int(const msgpack::object& o, std::int64_t* v) {
  if (o.type == msgpack::type::POSITIVE_INTEGER && o.via.u64 <= INT64_MAX) {
    *v = static_cast<std::int64_t>(o.via.u64);
    return true;
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *v = o.via.i64;
    return true;
  }
  return false;
}

}  // namespace

rex::Outcome<Event> DecodeEvent(const msgpack::object& o) {
  if (o.type != msgpack::type::MAP) return rex::Fail(rex::Code::kBadRequest, "an event is a map");
  Event e;
  const msgpack::object* fields = nullptr;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    std::string key;
    if (!rex::AsString(kv.key, &key)) continue;
    std::int64_t n = 0;
    if (key == "seq" && Int(kv.val, &n)) e.seq = static_cast<std::uint64_t>(n);
    if (key == "domain") rex::AsString(kv.val, &e.domain);
    if (key == "type") rex::AsString(kv.val, &e.type);
    if (key == "name") rex::AsString(kv.val, &e.name);
    if (key == "fields") fields = &kv.val;
    if (key == "body") {
      if (kv.val.type == msgpack::type::BIN) {
        e.body.assign(kv.val.via.bin.ptr, kv.val.via.bin.size);
      } else {
        rex::AsString(kv.val, &e.body);
      }
    }
    if (key == "priority" && Int(kv.val, &n)) {
      e.priority = static_cast<std::int32_t>(std::clamp<std::int64_t>(n, -32767, 32767));
    }
    if (key == "published_ms" && Int(kv.val, &n)) e.published_ms = n;
    if (key == "expires_ms" && Int(kv.val, &n)) e.expires_ms = n;
  }
  auto props = trader::DecodeProperties(fields);
  if (!props.ok()) return props.error();
  for (const auto& [name, v] : props.value()) {
    if (auto* d = std::get_if<double>(&v); d && !std::isfinite(*d)) {
      return rex::Fail(rex::Code::kBadRequest, "field '" + name + "' is not a finite number");
    }
  }
  e.fields = std::move(props).value();
  return e;
}

}  // namespace ardus::notify
