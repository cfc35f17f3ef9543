#include "tcl/ast.h"

#include <fmt/core.h>

namespace ardus::tcl {

const char* OpText(Op op) {
  switch (op) {
    case Op::kLiteral:
      return "literal";
    case Op::kProperty:
      return "property";
    case Op::kExist:
      return "exist";
    case Op::kNot:
      return "not";
    case Op::kAnd:
      return "and";
    case Op::kOr:
      return "or";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kSubstr:
      return "~";
    case Op::kIn:
      return "in";
  }
  return "?";
}

namespace {

std::string LiteralText(const Value& v) {
  if (auto* s = std::get_if<std::string>(&v)) {
    std::string out = "'";
    for (char c : *s) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  }
  if (auto* b = std::get_if<bool>(&v)) return *b ? "TRUE" : "FALSE";
  if (auto* d = std::get_if<double>(&v)) {
    std::string text = fmt::format("{}", *d);
    // Keep it a float literal when printed back ("2" would lex as an int).
    if (text.find_first_of(".eE") == std::string::npos) text += ".0";
    return text;
  }
  return FormatValue(v);
}

}  // namespace

std::string ToText(const Node& n) {
  switch (n.op) {
    case Op::kLiteral:
      return LiteralText(n.value);
    case Op::kProperty:
      return n.name;
    case Op::kExist:
      return "exist " + n.name;
    case Op::kNot:
      return "not (" + ToText(*n.kids[0]) + ")";
    default:
      return fmt::format("({} {} {})", ToText(*n.kids[0]), OpText(n.op), ToText(*n.kids[1]));
  }
}

}  // namespace ardus::tcl
