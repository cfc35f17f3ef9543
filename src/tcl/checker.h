// Type checker for parsed constraints and preferences.
//
// Operands are property names of the service type queried (a Schema) or
// literals. The rules, from the OMG trader specification as TAO documents it:
//   - + - * / take numbers (int op int is int; any float makes float);
//   - == != take two numbers, two strings or two booleans;
//   - < <= > >= take two numbers or two strings;
//   - a ~ b takes two strings; a in s takes a scalar and a sequence property
//     of the same kind (numbers match numbers);
//   - not, and, or take booleans; exist takes a property name;
//   - a constraint and a `with` preference are boolean, min/max numeric.
// Sequence properties may appear only on the right of `in`.
//
// Thread-safety: pure functions; they annotate the tree they are given.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "tcl/ast.h"

namespace ardus::tcl {

// Resolves a property name to its declared type; nullopt if the type has no
// such property.
using Schema = std::function<std::optional<PropertyType>(std::string_view)>;

// Checks `root` as a constraint and sets every node's `type`. Errors are
// kInvalidArgument, "column N: ..." naming the operator or property at fault.
Status CheckConstraint(Node& root, const Schema& schema);

// Checks a preference's expression (numeric for min/max, boolean for with).
Status CheckPreference(Preference& pref, const Schema& schema);

const char* TypeText(Type t);

}  // namespace ardus::tcl
