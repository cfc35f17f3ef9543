#include "tcl/value.h"

#include <charconv>
#include <cmath>

namespace ardus::tcl {

PropertyType TypeOf(const Value& v) {
  switch (v.index()) {
    case 0:
      return {BaseType::kInt, false};
    case 1:
      return {BaseType::kFloat, false};
    case 2:
      return {BaseType::kBool, false};
    case 3:
      return {BaseType::kString, false};
    case 4:
      return {BaseType::kInt, true};
    case 5:
      return {BaseType::kFloat, true};
    case 6:
      return {BaseType::kBool, true};
    default:
      return {BaseType::kString, true};
  }
}

namespace {

bool EmptySequence(const Value& v) {
  return std::visit(
      [](const auto& x) {
        if constexpr (requires { x.begin(); } &&
                      !std::is_same_v<std::decay_t<decltype(x)>, std::string>) {
          return x.empty();
        } else {
          return false;
        }
      },
      v);
}

Value EmptyOf(BaseType b) {
  switch (b) {
    case BaseType::kInt:
      return std::vector<std::int64_t>{};
    case BaseType::kFloat:
      return std::vector<double>{};
    case BaseType::kBool:
      return std::vector<bool>{};
    case BaseType::kString:
      return std::vector<std::string>{};
  }
  return std::vector<std::string>{};
}

}  // namespace

bool Conforms(const Value& v, PropertyType t) {
  PropertyType have = TypeOf(v);
  if (have == t) return true;
  if (t.sequence && EmptySequence(v)) return true;  // an empty array has no element type
  return have.sequence == t.sequence && have.base == BaseType::kInt && t.base == BaseType::kFloat;
}

Value Coerce(Value v, PropertyType t) {
  if (TypeOf(v) == t) return v;
  if (t.sequence && EmptySequence(v)) return EmptyOf(t.base);
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  const auto& ints = std::get<std::vector<std::int64_t>>(v);
  return std::vector<double>(ints.begin(), ints.end());
}

std::string TypeName(PropertyType t) {
  static constexpr const char* kNames[] = {"int", "float", "bool", "string"};
  std::string name = kNames[static_cast<int>(t.base)];
  return t.sequence ? name + "[]" : name;
}

std::optional<PropertyType> ParseTypeName(std::string_view name) {
  PropertyType t;
  if (name.ends_with("[]")) {
    t.sequence = true;
    name.remove_suffix(2);
  }
  if (name == "int" || name == "integer") {
    t.base = BaseType::kInt;
  } else if (name == "float" || name == "double") {
    t.base = BaseType::kFloat;
  } else if (name == "bool" || name == "boolean") {
    t.base = BaseType::kBool;
  } else if (name == "string") {
    t.base = BaseType::kString;
  } else {
    return std::nullopt;
  }
  return t;
}

namespace {

template <typename T>
std::optional<T> ParseNumber(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) return std::nullopt;
  }
  return v;
}

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "true" || s == "TRUE" || s == "1") return true;
  if (s == "false" || s == "FALSE" || s == "0") return false;
  return std::nullopt;
}

template <typename T, typename F>
std::optional<Value> ParseSequence(std::string_view text, F parse_one) {
  std::vector<T> out;
  if (text.empty()) return Value(out);
  while (true) {
    std::size_t comma = text.find(',');
    auto item = parse_one(text.substr(0, comma));
    if (!item) return std::nullopt;
    out.push_back(*item);
    if (comma == std::string_view::npos) return Value(std::move(out));
    text.remove_prefix(comma + 1);
  }
}

template <typename T, typename F>
std::optional<Value> ParseScalarOrSequence(std::string_view text, bool sequence, F parse_one) {
  if (sequence) return ParseSequence<T>(text, parse_one);
  auto v = parse_one(text);
  if (!v) return std::nullopt;
  return Value(*v);
}

}  // namespace

std::optional<Value> ParseValueText(std::string_view text, PropertyType t) {
  switch (t.base) {
    case BaseType::kInt:
      return ParseScalarOrSequence<std::int64_t>(text, t.sequence, ParseNumber<std::int64_t>);
    case BaseType::kFloat:
      return ParseScalarOrSequence<double>(text, t.sequence, ParseNumber<double>);
    case BaseType::kBool:
      return ParseScalarOrSequence<bool>(text, t.sequence, ParseBool);
    case BaseType::kString:
      return ParseScalarOrSequence<std::string>(
          text, t.sequence, [](std::string_view s) { return std::optional<std::string>(s); });
  }
  return std::nullopt;
}

namespace {

std::string FormatOne(std::int64_t v) { return std::to_string(v); }
std::string FormatOne(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, end);
}
std::string FormatOne(bool v) { return v ? "true" : "false"; }
std::string FormatOne(const std::string& v) { return v; }

}  // namespace

std::string FormatValue(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (requires { x.begin(); } && !std::is_same_v<T, std::string>) {
          std::string out;
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) out += ',';
            out += FormatOne(static_cast<typename T::value_type>(x[i]));
          }
          return out;
        } else {
          return FormatOne(x);
        }
      },
      v);
}

}  // namespace ardus::tcl
