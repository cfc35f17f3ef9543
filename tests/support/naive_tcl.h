// A deliberately naive evaluator for the trader constraint language, used
// only by tests as the reference the compiled evaluator must agree with.
// It walks the parsed tree with dynamically typed values and ignores the
// checker's annotations; its semantics are spelled out in program.h.
#pragma once

#include <optional>

#include "tcl/ast.h"
#include "tcl/value.h"

namespace ardus::testing {

// The value of `n` for an offer with `props`, or nullopt when undefined
// (missing property, overflow, division by zero).
using NaiveValue = std::variant<std::int64_t, double, bool, std::string>;
std::optional<NaiveValue> NaiveEvaluate(const tcl::Node& n, const tcl::Properties& props);

// True iff the constraint is defined and true.
bool NaiveMatches(const tcl::Node& n, const tcl::Properties& props);

}  // namespace ardus::testing
