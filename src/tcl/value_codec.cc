#include "tcl/value_codec.h"

#include <fmt/core.h>

namespace ardus::tcl {

using rex::Code;

namespace {

rex::Error Bad(std::string what) { return rex::Fail(Code::kBadRequest, std::move(what)); }

template <typename T>
Result<Value, rex::Error> Elements(const msgpack::object_array& a,
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

Result<Value, rex::Error> DecodeValue(const msgpack::object& o) {
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

Result<Properties, rex::Error> DecodeProperties(const msgpack::object* o) {
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

}  // namespace ardus::tcl
