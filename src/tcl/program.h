// A checked constraint or preference expression compiled into a flat,
// typed stack program, and the evaluator that runs it against one offer.
//
// Because the checker fixed every operand's type, each instruction knows the
// representation it works on: no dynamic type tests at evaluation time. This
// is what the trader runs per offer and what Notify runs per event.
//
// Evaluation semantics (the naive reference evaluator in the tests defines
// the same): left to right; `and`/`or` skip their right operand when the left
// decides. A missing property, integer overflow or division by zero makes the
// whole expression undefined, and an undefined constraint does not match.
//
// Thread-safety: a Program is immutable after Compile and may be evaluated
// from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcl/ast.h"

namespace ardus::tcl {

enum class Code : std::uint8_t {
  kPushInt,
  kPushFloat,
  kPushBool,
  kPushStr,  // arg: constant index (bool: the value)
  kLoadInt,
  kLoadFloat,
  kLoadBool,
  kLoadStr,     // arg: property slot
  kExist,       // arg: property slot
  kIntToFloat,  // converts the top of the stack
  kNot,
  kAndJump,
  kOrJump,  // arg: target; jump keeping the top if it decides, else pop it
  kEqI,
  kNeI,
  kLtI,
  kLeI,
  kGtI,
  kGeI,
  kEqF,
  kNeF,
  kLtF,
  kLeF,
  kGtF,
  kGeF,
  kEqS,
  kNeS,
  kLtS,
  kLeS,
  kGtS,
  kGeS,
  kEqB,
  kNeB,
  kAddI,
  kSubI,
  kMulI,
  kDivI,
  kAddF,
  kSubF,
  kMulF,
  kDivF,
  kSubstr,
  kInInt,
  kInNum,
  kInStr,
  kInBool,  // arg: slot of the sequence property
};

struct Instr {
  Code code;
  std::uint32_t arg = 0;
};

struct Program {
  std::vector<Instr> code;
  std::vector<std::int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<std::string> properties;  // slot -> property name
  Type result = Type::kBool;
  std::size_t max_stack = 0;
};

// Compiles a tree that CheckConstraint or CheckPreference accepted.
// Precondition: every node has its type set.
Program Compile(const Node& root);

// Supplies an offer's (or event's) property values by program slot.
class PropertyReader {
 public:
  virtual ~PropertyReader() = default;
  // The value of program.properties[slot], or nullptr if the offer lacks it.
  virtual const Value* Get(std::uint32_t slot) const = 0;
};

// Counts work so that one query cannot run unbounded: each instruction costs
// 1, `in` the sequence length, `~` the lengths of both strings (its search is
// linear in them).
struct Budget {
  std::uint64_t remaining = 0;
};

struct Evaluation {
  enum Outcome : std::uint8_t { kValue, kUndefined, kOverBudget } outcome = kUndefined;
  std::int64_t i = 0;  // result for int and bool programs
  double f = 0;        // result for float programs
  bool truth() const { return outcome == kValue && i != 0; }
  // The numeric result as a double (int and float programs).
  double number(const Program& p) const { return p.result == Type::kInt ? double(i) : f; }
};

Evaluation Evaluate(const Program& program, const PropertyReader& props, Budget& budget);

}  // namespace ardus::tcl
