// Abstract syntax tree of a trader constraint or preference.
//
// The parser builds it; the checker annotates every node with its static type;
// the compiler turns a checked tree into a Program. Nodes own their children.
//
// Thread-safety: plain data; immutable once checked.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tcl/value.h"

namespace ardus::tcl {

enum class Op : std::uint8_t {
  kLiteral,   // value
  kProperty,  // name
  kExist,     // name
  kNot,       // kids[0]
  kAnd,
  kOr,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kSubstr,  // kids[0] ~ kids[1]: true when kids[1] contains kids[0]
  kIn,      // kids[0] in kids[1] (kids[1] is a sequence property)
};

// Static types the checker assigns. kNumber is never assigned; see checker.
enum class Type : std::uint8_t { kUnknown, kInt, kFloat, kBool, kString, kSequence };

struct Node {
  Op op = Op::kLiteral;
  int column = 0;    // where the node's text starts (1-based)
  Value value;       // kLiteral: int64, double, bool or string
  std::string name;  // kProperty, kExist
  std::vector<std::unique_ptr<Node>> kids;
  Type type = Type::kUnknown;  // set by the checker
  PropertyType property_type;  // set by the checker for kProperty
};

enum class PreferenceKind : std::uint8_t { kFirst, kRandom, kMin, kMax, kWith };

struct Preference {
  PreferenceKind kind = PreferenceKind::kFirst;
  std::unique_ptr<Node> expr;  // for min, max, with
};

// Operator spelling for messages and for printing expressions back.
const char* OpText(Op op);
// Prints the tree back as constraint text, fully parenthesised.
std::string ToText(const Node& n);

}  // namespace ardus::tcl
