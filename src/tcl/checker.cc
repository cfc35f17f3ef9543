#include "tcl/checker.h"

#include <fmt/core.h>

namespace ardus::tcl {

const char* TypeText(Type t) {
  switch (t) {
    case Type::kUnknown:
      return "unknown";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kBool:
      return "boolean";
    case Type::kString:
      return "string";
    case Type::kSequence:
      return "sequence";
  }
  return "?";
}

namespace {

bool IsNumber(Type t) { return t == Type::kInt || t == Type::kFloat; }

Type ScalarType(BaseType b) {
  switch (b) {
    case BaseType::kInt:
      return Type::kInt;
    case BaseType::kFloat:
      return Type::kFloat;
    case BaseType::kBool:
      return Type::kBool;
    case BaseType::kString:
      return Type::kString;
  }
  return Type::kUnknown;
}

class Checker {
 public:
  explicit Checker(const Schema& schema) : schema_(schema) {}

  Status Expect(Node& n, Type want, const char* role) {
    if (auto s = Check(n); !s.ok()) return s;
    bool fits = want == Type::kFloat ? IsNumber(n.type) : n.type == want;
    if (!fits) {
      return Error(
          n, fmt::format("{} must be {}, but this is {}", role,
                         want == Type::kFloat ? "a number" : TypeText(want), TypeText(n.type)));
    }
    return Status::Ok();
  }

  Status Check(Node& n) {
    switch (n.op) {
      case Op::kLiteral:
        return Literal(n);
      case Op::kProperty:
        return Property(n);
      case Op::kExist: {
        if (!schema_(n.name)) return UnknownProperty(n);
        n.type = Type::kBool;
        return Status::Ok();
      }
      case Op::kNot: {
        if (auto s = Expect(*n.kids[0], Type::kBool, "the operand of 'not'"); !s.ok()) return s;
        n.type = Type::kBool;
        return Status::Ok();
      }
      case Op::kAnd:
      case Op::kOr:
        return Logical(n);
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        return Comparison(n);
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
        return Arithmetic(n);
      case Op::kSubstr:
        return Substring(n);
      case Op::kIn:
        return In(n);
    }
    return Error(n, "unknown operator");
  }

 private:
  Status Error(const Node& n, std::string what) {
    return Status::Error(ErrorKind::kInvalidArgument, fmt::format("column {}: {}", n.column, what));
  }
  Status UnknownProperty(const Node& n) {
    return Error(n, fmt::format("unknown property '{}'", n.name));
  }

  Status Literal(Node& n) {
    switch (n.value.index()) {
      case 0:
        n.type = Type::kInt;
        break;
      case 1:
        n.type = Type::kFloat;
        break;
      case 2:
        n.type = Type::kBool;
        break;
      default:
        n.type = Type::kString;
        break;
    }
    return Status::Ok();
  }

  Status Property(Node& n) {
    auto t = schema_(n.name);
    if (!t) return UnknownProperty(n);
    n.property_type = *t;
    n.type = t->sequence ? Type::kSequence : ScalarType(t->base);
    return Status::Ok();
  }

  Status Logical(Node& n) {
    const char* role = n.op == Op::kAnd ? "an operand of 'and'" : "an operand of 'or'";
    for (auto& k : n.kids) {
      if (auto s = Expect(*k, Type::kBool, role); !s.ok()) return s;
    }
    n.type = Type::kBool;
    return Status::Ok();
  }

  Status Both(Node& n) {
    for (auto& k : n.kids) {
      if (auto s = Check(*k); !s.ok()) return s;
      if (k->type == Type::kSequence) {
        return Error(*k,
                     fmt::format("sequence property '{}' can only be used after 'in'", k->name));
      }
    }
    return Status::Ok();
  }

  Status Comparison(Node& n) {
    if (auto s = Both(n); !s.ok()) return s;
    Type a = n.kids[0]->type, b = n.kids[1]->type;
    bool equality = n.op == Op::kEq || n.op == Op::kNe;
    bool ok = (IsNumber(a) && IsNumber(b)) || (a == Type::kString && b == Type::kString) ||
              (equality && a == Type::kBool && b == Type::kBool);
    if (!ok) {
      return Error(
          n, fmt::format("'{}' cannot compare {} with {}{}", OpText(n.op), TypeText(a), TypeText(b),
                         equality ? "" : " (ordering takes two numbers or two strings)"));
    }
    n.type = Type::kBool;
    return Status::Ok();
  }

  Status Arithmetic(Node& n) {
    if (auto s = Both(n); !s.ok()) return s;
    for (auto& k : n.kids) {
      if (!IsNumber(k->type)) {
        return Error(n, fmt::format("'{}' takes numbers, but an operand is {}", OpText(n.op),
                                    TypeText(k->type)));
      }
    }
    bool ints = n.kids[0]->type == Type::kInt && n.kids[1]->type == Type::kInt;
    n.type = ints ? Type::kInt : Type::kFloat;
    return Status::Ok();
  }

  Status Substring(Node& n) {
    if (auto s = Both(n); !s.ok()) return s;
    if (n.kids[0]->type != Type::kString || n.kids[1]->type != Type::kString) {
      return Error(n, fmt::format("'~' takes two strings, not {} and {}", TypeText(n.kids[0]->type),
                                  TypeText(n.kids[1]->type)));
    }
    n.type = Type::kBool;
    return Status::Ok();
  }

  Status In(Node& n) {
    Node& left = *n.kids[0];
    Node& right = *n.kids[1];
    if (auto s = Check(left); !s.ok()) return s;
    if (left.type == Type::kSequence) {
      return Error(left, "the left of 'in' must be a single value, not a sequence");
    }
    if (auto s = Check(right); !s.ok()) return s;
    if (right.type != Type::kSequence) {
      return Error(right,
                   fmt::format("'{}' is not a sequence property; 'in' needs one", right.name));
    }
    Type element = ScalarType(right.property_type.base);
    bool ok = element == left.type || (IsNumber(element) && IsNumber(left.type));
    if (!ok) {
      return Error(n, fmt::format("'in' looks for a {} in a sequence of {}", TypeText(left.type),
                                  TypeText(element)));
    }
    n.type = Type::kBool;
    return Status::Ok();
  }

  const Schema& schema_;
};

}  // namespace

Status CheckConstraint(Node& root, const Schema& schema) {
  return Checker(schema).Expect(root, Type::kBool, "a constraint");
}

Status CheckPreference(Preference& pref, const Schema& schema) {
  if (!pref.expr) return Status::Ok();
  if (pref.kind == PreferenceKind::kWith) {
    return Checker(schema).Expect(*pref.expr, Type::kBool, "the expression of 'with'");
  }
  return Checker(schema).Expect(*pref.expr, Type::kFloat, "the expression of 'min'/'max'");
}

}  // namespace ardus::tcl
