// Property values of trader offers: the four OMG-style primitive types and
// sequences of them.
//
// A PropertyType says what a service type promises for one property; a Value
// is what an offer holds. Integers are 64-bit signed, floats IEEE doubles,
// strings arbitrary bytes (UTF-8 by convention).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ardus::tcl {

enum class BaseType : std::uint8_t { kInt, kFloat, kBool, kString };

struct PropertyType {
  BaseType base = BaseType::kString;
  bool sequence = false;
  bool operator==(const PropertyType&) const = default;
};

using Value = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
                           std::vector<double>, std::vector<bool>, std::vector<std::string>>;

// An offer's or an event's named values.
using Properties = std::map<std::string, Value>;

// The type a value has ("int", "float[]", ...).
PropertyType TypeOf(const Value& v);

// Whether a value may be stored under a property of type t. An int value is
// accepted (and widened) for a float property, element-wise for sequences.
bool Conforms(const Value& v, PropertyType t);
// Converts v to t; precondition: Conforms(v, t).
Value Coerce(Value v, PropertyType t);

// "int", "float", "bool", "string", with "[]" appended for sequences.
std::string TypeName(PropertyType t);
std::optional<PropertyType> ParseTypeName(std::string_view name);

// Parses command-line text as a value of type t: "30", "2.5", "true"/"false",
// any text for strings; sequences are comma-separated ("en,fr").
std::optional<Value> ParseValueText(std::string_view text, PropertyType t);
// Formats a value for humans: strings unquoted, sequences comma-separated.
std::string FormatValue(const Value& v);

}  // namespace ardus::tcl
