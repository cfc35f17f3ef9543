#include "trader/trader_wire.h"

#include <fmt/core.h>

namespace ardus::trader {

using rex::Code;

namespace {

rex::Error Bad(std::string what) { return rex::Fail(Code::kBadRequest, std::move(what)); }

template <typename T>
rex::Outcome<Value> Elements(const msgpack::object_array& a,
                             bool (*get)(const msgpack::object&, T*)) {
  std::vector<T> out;
  out.reserve(a.size);
  for (std::uint32_t i = 0; i < a.size; ++i) {
    T v;
    if (!get(a.ptr[i], &v)) return Bad("a sequence mixes element types");
    out.push_back(std::move(v));
  }
  return Value(std::move(out));
}

bool GetInt(const msgpack::object& o, std::int64_t* v) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) return false;
    *v = static_cast<std::int64_t>(o.via.u64);
    return true;
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *v = o.via.i64;
    return true;
  }
  return false;
}
bool GetNumber(const msgpack::object& o, double* v) {
  std::int64_t i;
  if (GetInt(o, &i)) {
    *v = static_cast<double>(i);
    return true;
  }
  if (o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64) {
    *v = o.via.f64;
    return true;
  }
  return false;
}
bool GetBool(const msgpack::object& o, bool* v) {
  if (o.type != msgpack::type::BOOLEAN) return false;
  *v = o.via.boolean;
  return true;
}
bool GetString(const msgpack::object& o, std::string* v) { return rex::AsString(o, v); }

}  // namespace

rex::Outcome<Value> DecodeValue(const msgpack::object& o) {
  std::int64_t i;
  double d;
  bool b;
  std::string s;
  if (GetInt(o, &i)) return Value(i);
  if (GetNumber(o, &d)) return Value(d);
  if (GetBool(o, &b)) return Value(b);
  if (GetString(o, &s)) return Value(std::move(s));
  if (o.type != msgpack::type::ARRAY)
    return Bad("a value must be a number, boolean, string or array");
  const auto& a = o.via.array;
  if (a.size == 0) return Value(std::vector<std::int64_t>{});
  bool any_float = false, all_numbers = true;
  for (std::uint32_t k = 0; k < a.size; ++k) {
    double unused;
    all_numbers &= GetNumber(a.ptr[k], &unused);
    any_float |= a.ptr[k].type == msgpack::type::FLOAT64 || a.ptr[k].type == msgpack::type::FLOAT32;
  }
  if (all_numbers)
    return any_float ? Elements<double>(a, GetNumber) : Elements<std::int64_t>(a, GetInt);
  if (a.ptr[0].type == msgpack::type::BOOLEAN) return Elements<bool>(a, GetBool);
  return Elements<std::string>(a, GetString);
}

rex::Outcome<Properties> DecodeProperties(const msgpack::object* o) {
  Properties out;
  if (!o || o->type == msgpack::type::NIL) return out;
  if (o->type != msgpack::type::MAP) return Bad("'props' must be a map of name to value");
  for (std::uint32_t k = 0; k < o->via.map.size; ++k) {
    const auto& kv = o->via.map.ptr[k];
    std::string name;
    if (!rex::AsString(kv.key, &name)) return Bad("property names must be strings");
    auto v = DecodeValue(kv.val);
    if (!v.ok())
      return rex::Fail(Code::kBadRequest,
                       fmt::format("property '{}': {}", name, v.error().message));
    out[std::move(name)] = std::move(v).value();
  }
  return out;
}

rex::Outcome<ServiceType> DecodeServiceType(const rex::BodyReader& body) {
  ServiceType t;
  auto name = body.String("name");
  if (!name.ok()) return name.error();
  t.name = std::move(name).value();
  auto supers = body.Strings("supers");
  if (!supers.ok()) return supers.error();
  t.supers = std::move(supers).value();
  const msgpack::object* props = body.Find("properties");
  if (!props || props->type == msgpack::type::NIL) return t;
  if (props->type != msgpack::type::ARRAY) return Bad("'properties' must be an array of maps");
  for (std::uint32_t k = 0; k < props->via.array.size; ++k) {
    const msgpack::object& p = props->via.array.ptr[k];
    if (p.type != msgpack::type::MAP) return Bad("'properties' must be an array of maps");
    PropertyDef def;
    std::string type_name;
    for (std::uint32_t f = 0; f < p.via.map.size; ++f) {
      std::string key;
      const auto& kv = p.via.map.ptr[f];
      if (!rex::AsString(kv.key, &key)) continue;
      if (key == "name") rex::AsString(kv.val, &def.name);
      if (key == "type") rex::AsString(kv.val, &type_name);
      if (key == "mandatory" && kv.val.type == msgpack::type::BOOLEAN)
        def.mandatory = kv.val.via.boolean;
      if (key == "readonly" && kv.val.type == msgpack::type::BOOLEAN)
        def.readonly = kv.val.via.boolean;
    }
    auto type = ParseTypeName(type_name);
    if (!type) {
      return rex::Fail(Code::kInvalidType,
                       fmt::format("property '{}': unknown value type '{}' (int, float, bool, "
                                   "string, or one of these followed by [])",
                                   def.name, type_name));
    }
    def.type = *type;
    t.properties.push_back(std::move(def));
  }
  return t;
}

rex::Outcome<Offer> DecodeOffer(const msgpack::object& o) {
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
  }
  auto p = DecodeProperties(props);
  if (!p.ok()) return p.error();
  offer.props = std::move(p).value();
  return offer;
}

void EncodeValue(rex::BodyWriter& w, const Value& v) {
  std::visit(
      [&w](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::int64_t>) {
          w.Int(x);
        } else if constexpr (std::is_same_v<T, double>) {
          w.Double(x);
        } else if constexpr (std::is_same_v<T, bool>) {
          w.Bool(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.Str(x);
        } else {
          w.Array(static_cast<std::uint32_t>(x.size()));
          for (const auto& e : x) EncodeValue(w, Value(static_cast<typename T::value_type>(e)));
        }
      },
      v);
}

void EncodeProperties(rex::BodyWriter& w, const Properties& props) {
  w.Map(static_cast<std::uint32_t>(props.size()));
  for (const auto& [name, value] : props) {
    w.Key(name);
    EncodeValue(w, value);
  }
}

void EncodeServiceType(rex::BodyWriter& w, const ServiceType& t) {
  w.Map(3);
  w.Key("name").Str(t.name);
  w.Key("supers").Array(static_cast<std::uint32_t>(t.supers.size()));
  for (const auto& s : t.supers) w.Str(s);
  w.Key("properties").Array(static_cast<std::uint32_t>(t.properties.size()));
  for (const auto& p : t.properties) {
    w.Map(4);
    w.Key("name").Str(p.name);
    w.Key("type").Str(TypeName(p.type));
    w.Key("mandatory").Bool(p.mandatory);
    w.Key("readonly").Bool(p.readonly);
  }
}

void EncodeOffer(rex::BodyWriter& w, const Offer& o) {
  w.Map(5);
  w.Key("id").Uint(o.id);
  w.Key("type").Str(o.type);
  w.Key("props");
  EncodeProperties(w, o.props);
  w.Key("lease").Uint(o.lease_seconds);
  w.Key("deadline_ms").Uint(static_cast<std::uint64_t>(std::max<std::int64_t>(o.deadline_ms, 0)));
}

}  // namespace ardus::trader
