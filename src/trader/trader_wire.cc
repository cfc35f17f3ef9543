#include "trader/trader_wire.h"

#include <fmt/core.h>

namespace ardus::trader {

using rex::Code;
using tcl::DecodeProperties;
using tcl::EncodeProperties;

namespace {

rex::Error Bad(std::string what) { return rex::Fail(Code::kBadRequest, std::move(what)); }

}  // namespace

Result<ServiceType, rex::Error> DecodeServiceType(const rex::BodyReader& body) {
  ServiceType t;
  auto name = body.String("name");
  if (!name.ok()) return name.error();
  t.name = std::move(name).value();
  auto supers = body.Strings("supers");
  if (!supers.ok()) return supers.error();
  t.supers = std::move(supers).value();
  auto props = DecodePropertyDefs(body.Find("properties"), "properties");
  if (!props.ok()) return props.error();
  t.properties = std::move(props).value();
  return t;
}

Result<std::vector<PropertyDef>, rex::Error> DecodePropertyDefs(const msgpack::object* props,
                                                                std::string_view key) {
  std::vector<PropertyDef> defs;
  if (!props || props->type == msgpack::type::NIL) return defs;
  auto bad = [&] { return Bad(fmt::format("'{}' must be an array of maps", key)); };
  if (props->type != msgpack::type::ARRAY) return bad();
  for (std::uint32_t k = 0; k < props->via.array.size; ++k) {
    const msgpack::object& p = props->via.array.ptr[k];
    if (p.type != msgpack::type::MAP) return bad();
    PropertyDef def;
    std::string type_name;
    for (std::uint32_t f = 0; f < p.via.map.size; ++f) {
      std::string field;
      const auto& kv = p.via.map.ptr[f];
      if (!rex::AsString(kv.key, &field)) continue;
      if (field == "name") rex::AsString(kv.val, &def.name);
      if (field == "type") rex::AsString(kv.val, &type_name);
      if (field == "mandatory" && kv.val.type == msgpack::type::BOOLEAN)
        def.mandatory = kv.val.via.boolean;
      if (field == "readonly" && kv.val.type == msgpack::type::BOOLEAN)
        def.readonly = kv.val.via.boolean;
    }
    auto type = tcl::ParseTypeName(type_name);
    if (!type) {
      return rex::Fail(Code::kInvalidType,
                       fmt::format("property '{}': unknown value type '{}' (int, float, bool, "
                                   "string, or one of these followed by [])",
                                   def.name, type_name));
    }
    def.type = *type;
    defs.push_back(std::move(def));
  }
  return defs;
}

void EncodePropertyDefs(rex::BodyWriter& w, const std::vector<PropertyDef>& defs) {
  w.Array(static_cast<std::uint32_t>(defs.size()));
  for (const auto& p : defs) {
    w.Map(4);
    w.Key("name").Str(p.name);
    w.Key("type").Str(tcl::TypeName(p.type));
    w.Key("mandatory").Bool(p.mandatory);
    w.Key("readonly").Bool(p.readonly);
  }
}

Result<Offer, rex::Error> DecodeOffer(const msgpack::object& o) {
  if (o.type != msgpack::type::MAP) return Bad("an offer must be a map");
  Offer offer;
  const msgpack::object* props = nullptr;
  for (std::uint32_t k = 0; k < o.via.map.size; ++k) {
    std::string key;
    const auto& kv = o.via.map.ptr[k];
    if (!rex::AsString(kv.key, &key)) continue;
    if (key == "id" && kv.val.type == msgpack::type::POSITIVE_INTEGER) offer.id = kv.val.via.u64;
    if (key == "type") rex::AsString(kv.val, &offer.type);
    if (key == "props") props = &kv.val;
    if (key == "lease" && kv.val.type == msgpack::type::POSITIVE_INTEGER) {
      offer.lease_seconds = static_cast<std::uint32_t>(kv.val.via.u64);
    }
    if (key == "deadline_ms" && kv.val.type == msgpack::type::POSITIVE_INTEGER) {
      offer.deadline_ms = static_cast<std::int64_t>(kv.val.via.u64);
    }
    if (key == "owner") rex::AsString(kv.val, &offer.owner);
  }
  auto p = DecodeProperties(props);
  if (!p.ok()) return p.error();
  offer.props = std::move(p).value();
  return offer;
}

void EncodeServiceType(rex::BodyWriter& w, const ServiceType& t) {
  w.Map(3);
  w.Key("name").Str(t.name);
  w.Key("supers").Array(static_cast<std::uint32_t>(t.supers.size()));
  for (const auto& s : t.supers) w.Str(s);
  w.Key("properties");
  EncodePropertyDefs(w, t.properties);
}

void EncodeOffer(rex::BodyWriter& w, const Offer& o) {
  // "owner" only when there is one: offers without it encode as before.
  w.Map(o.owner.empty() ? 5 : 6);
  w.Key("id").Uint(o.id);
  w.Key("type").Str(o.type);
  w.Key("props");
  EncodeProperties(w, o.props);
  w.Key("lease").Uint(o.lease_seconds);
  w.Key("deadline_ms").Uint(static_cast<std::uint64_t>(std::max<std::int64_t>(o.deadline_ms, 0)));
  if (!o.owner.empty()) w.Key("owner").Str(o.owner);
}

}  // namespace ardus::trader
