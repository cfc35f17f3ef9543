#include "notify/notify_wire.h"

#include <algorithm>
#include <cmath>

#include "tcl/value_codec.h"

namespace ardus::notify {

std::vector<std::uint8_t> EncodeEvent(const Event& e) {
  rex::BodyWriter w;
  w.Map(9);
  w.Key("seq").Uint(e.seq);
  w.Key("domain").Str(e.domain);
  w.Key("type").Str(e.type);
  w.Key("name").Str(e.name);
  w.Key("fields");
  EncodeFields(w, e.fields, e.unions);
  w.Key("body").Bin({reinterpret_cast<const std::uint8_t*>(e.body.data()), e.body.size()});
  w.Key("priority").Int(e.priority);
  w.Key("published_ms").Int(e.published_ms);
  w.Key("expires_ms").Int(e.expires_ms);
  return w.Take();
}

void EncodeFields(rex::BodyWriter& w, const tcl::Properties& fields, const UnionFields& unions) {
  w.Map(static_cast<std::uint32_t>(fields.size() + unions.size()));
  for (const auto& [name, v] : fields) {
    w.Key(name);
    tcl::EncodeValue(w, v);
  }
  for (const auto& [name, u] : unions) {
    w.Key(name).Map(3).Key("_d");
    tcl::EncodeValue(w, u.discriminator);
    w.Key("_v");
    tcl::EncodeValue(w, u.value);
    w.Key("_default").Bool(u.is_default);
  }
}

namespace {

rex::Ack Bad(const std::string& name, const std::string& what) {
  return rex::Fail(rex::Code::kBadRequest, "field '" + name + "': " + what);
}

Result<tcl::Value, rex::Error> FiniteValue(const std::string& name, const msgpack::object& o) {
  auto v = tcl::DecodeValue(o);
  if (!v.ok()) return Bad(name, v.error().message).error();
  if (auto* d = std::get_if<double>(&v.value()); d && !std::isfinite(*d)) {
    return Bad(name, "not a finite number").error();
  }
  return v;
}

rex::Ack DecodeUnion(const std::string& name, const msgpack::object& o, UnionField& u) {
  const msgpack::object *d = nullptr, *v = nullptr;
  bool is_default = false;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    std::string key;
    if (!rex::AsString(kv.key, &key)) return Bad(name, "union keys are strings");
    if (key == "_d") {
      d = &kv.val;
    } else if (key == "_v") {
      v = &kv.val;
    } else if (key == "_default" && kv.val.type == msgpack::type::BOOLEAN) {
      is_default = kv.val.via.boolean;
    } else {
      return Bad(name, "a union has only \"_d\", \"_v\" and \"_default\" (a bool)");
    }
  }
  if (!d || !v) return Bad(name, "a union needs \"_d\" and \"_v\"");
  auto disc = FiniteValue(name, *d);
  if (!disc.ok()) return disc.error();
  if (!std::holds_alternative<std::int64_t>(disc.value()) &&
      !std::holds_alternative<bool>(disc.value()) &&
      !std::holds_alternative<std::string>(disc.value())) {
    return Bad(name, "a union's discriminator is an integer, a bool or a string");
  }
  auto value = FiniteValue(name, *v);
  if (!value.ok()) return value.error();
  u.discriminator = std::move(disc).value();
  u.value = std::move(value).value();
  u.is_default = is_default;
  return rex::Ok();
}

}  // namespace

rex::Ack DecodeFields(const msgpack::object* o, tcl::Properties& fields, UnionFields& unions) {
  if (!o || o->type == msgpack::type::NIL) return rex::Ok();
  if (o->type != msgpack::type::MAP) {
    return rex::Fail(rex::Code::kBadRequest, "'fields' must be a map of name to value");
  }
  for (std::uint32_t k = 0; k < o->via.map.size; ++k) {
    const auto& kv = o->via.map.ptr[k];
    std::string name;
    if (!rex::AsString(kv.key, &name)) {
      return rex::Fail(rex::Code::kBadRequest, "field names must be strings");
    }
    if (fields.count(name) || unions.count(name)) return Bad(name, "given twice");
    if (kv.val.type == msgpack::type::MAP) {
      if (auto ok = DecodeUnion(name, kv.val, unions[name]); !ok.ok()) return ok;
      continue;
    }
    auto v = FiniteValue(name, kv.val);
    if (!v.ok()) return v.error();
    fields.emplace(std::move(name), std::move(v).value());
  }
  return rex::Ok();
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

Result<Event, rex::Error> DecodeEvent(const msgpack::object& o) {
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
  if (auto ok = DecodeFields(fields, e.fields, e.unions); !ok.ok()) return ok.error();
  return e;
}

}  // namespace ardus::notify
