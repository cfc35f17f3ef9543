// Recursive-descent parser for the trader constraint language, following the
// OMG/TAO grammar and precedence (tightest first):
//   () exist unary-minus | not | * / | + - | ~ | in | comparisons | and | or
// Comparisons, `~` and `in` do not chain: `a < b < c` is a syntax error.
//
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "tcl/ast.h"
#include "tcl/lexer.h"

namespace ardus::tcl {

// Parentheses nested deeper than this are refused (64 levels are allowed).
inline constexpr int kMaxDepth = 64;
// Trees with more nodes than this are refused.
inline constexpr int kMaxNodes = 2048;

// Parses a constraint. Empty text (or only blanks) means TRUE and yields a
// TRUE literal. Errors: kInvalidArgument, "column N: ..." for syntax errors and
// for exceeding kMaxConstraintBytes, kMaxDepth or kMaxNodes.
Result<std::unique_ptr<Node>> ParseConstraint(std::string_view text,
                                              Dialect dialect = Dialect::kTrader);

// Parses a preference: "min e", "max e", "with e", "random", "first"; empty
// text means first. Errors as ParseConstraint.
Result<Preference> ParsePreference(std::string_view text);

}  // namespace ardus::tcl
