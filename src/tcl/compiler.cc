// Compile: checked AST -> Program (see program.h).
#include <algorithm>

#include "tcl/program.h"

namespace ardus::tcl {

namespace {

class Compiler {
 public:
  Program Run(const Node& root) {
    Emit(root);
    p_.result = root.type;
    p_.max_stack = max_depth_;
    return std::move(p_);
  }

 private:
  void Push(Code c, std::uint32_t arg = 0) {
    p_.code.push_back({c, arg});
    switch (c) {
      case Code::kPushInt:
      case Code::kPushFloat:
      case Code::kPushBool:
      case Code::kPushStr:
      case Code::kLoadInt:
      case Code::kLoadFloat:
      case Code::kLoadBool:
      case Code::kLoadStr:
      case Code::kExist:
        max_depth_ = std::max(max_depth_, ++depth_);
        break;
      case Code::kIntToFloat:
      case Code::kNot:
      case Code::kInInt:
      case Code::kInNum:
      case Code::kInStr:
      case Code::kInBool:
        break;
      case Code::kAndJump:
      case Code::kOrJump:
        --depth_;  // on the fall-through path the left operand is popped
        break;
      default:
        --depth_;  // binary operators: two in, one out
        break;
    }
  }

  std::uint32_t Slot(const std::string& name) {
    auto it = std::find(p_.properties.begin(), p_.properties.end(), name);
    if (it != p_.properties.end()) return static_cast<std::uint32_t>(it - p_.properties.begin());
    p_.properties.push_back(name);
    return static_cast<std::uint32_t>(p_.properties.size() - 1);
  }

  // Emits n, converting an int result to float when `as_float`.
  void Operand(const Node& n, bool as_float) {
    Emit(n);
    if (as_float && n.type == Type::kInt) Push(Code::kIntToFloat);
  }

  void Emit(const Node& n) {
    switch (n.op) {
      case Op::kLiteral:
        return Literal(n);
      case Op::kProperty:
        return Load(n);
      case Op::kExist:
        return Push(Code::kExist, Slot(n.name));
      case Op::kNot:
        Emit(*n.kids[0]);
        return Push(Code::kNot);
      case Op::kAnd:
      case Op::kOr:
        return Logical(n);
      case Op::kIn:
        return In(n);
      case Op::kSubstr:
        Emit(*n.kids[0]);
        Emit(*n.kids[1]);
        return Push(Code::kSubstr);
      default:
        return Binary(n);
    }
  }

  void Literal(const Node& n) {
    switch (n.type) {
      case Type::kInt:
        p_.ints.push_back(std::get<std::int64_t>(n.value));
        return Push(Code::kPushInt, static_cast<std::uint32_t>(p_.ints.size() - 1));
      case Type::kFloat:
        p_.floats.push_back(std::get<double>(n.value));
        return Push(Code::kPushFloat, static_cast<std::uint32_t>(p_.floats.size() - 1));
      case Type::kBool:
        return Push(Code::kPushBool, std::get<bool>(n.value) ? 1 : 0);
      default:
        p_.strings.push_back(std::get<std::string>(n.value));
        return Push(Code::kPushStr, static_cast<std::uint32_t>(p_.strings.size() - 1));
    }
  }

  void Load(const Node& n) {
    static constexpr Code kLoads[] = {Code::kLoadInt, Code::kLoadFloat, Code::kLoadBool,
                                      Code::kLoadStr};
    Push(kLoads[static_cast<int>(n.property_type.base)], Slot(n.name));
  }

  void Logical(const Node& n) {
    Emit(*n.kids[0]);
    std::size_t jump = p_.code.size();
    Push(n.op == Op::kAnd ? Code::kAndJump : Code::kOrJump);
    Emit(*n.kids[1]);
    p_.code[jump].arg = static_cast<std::uint32_t>(p_.code.size());
  }

  void In(const Node& n) {
    const Node& left = *n.kids[0];
    const Node& seq = *n.kids[1];
    std::uint32_t slot = Slot(seq.name);
    switch (seq.property_type.base) {
      case BaseType::kString:
        Emit(left);
        return Push(Code::kInStr, slot);
      case BaseType::kBool:
        Emit(left);
        return Push(Code::kInBool, slot);
      case BaseType::kInt:
        if (left.type == Type::kInt) {
          Emit(left);
          return Push(Code::kInInt, slot);
        }
        [[fallthrough]];
      case BaseType::kFloat:
        Operand(left, true);
        return Push(Code::kInNum, slot);
    }
  }

  // Comparisons and arithmetic: pick the instruction family by operand types.
  void Binary(const Node& n) {
    Type a = n.kids[0]->type, b = n.kids[1]->type;
    bool floats = (a == Type::kFloat || b == Type::kFloat);
    Operand(*n.kids[0], floats);
    Operand(*n.kids[1], floats);
    int family;  // 0 int, 1 float, 2 string, 3 bool
    if (a == Type::kString) {
      family = 2;
    } else if (a == Type::kBool) {
      family = 3;
    } else {
      family = floats ? 1 : 0;
    }
    int index = static_cast<int>(n.op) - static_cast<int>(Op::kEq);  // Eq..Ge, then Add..Div
    Code base;
    if (n.op >= Op::kAdd) {
      base = floats ? Code::kAddF : Code::kAddI;
      index = static_cast<int>(n.op) - static_cast<int>(Op::kAdd);
    } else {
      static constexpr Code kFamilies[] = {Code::kEqI, Code::kEqF, Code::kEqS, Code::kEqB};
      base = kFamilies[family];
    }
    Push(static_cast<Code>(static_cast<int>(base) + index));
  }

  Program p_;
  std::size_t depth_ = 0;
  std::size_t max_depth_ = 0;
};

}  // namespace

Program Compile(const Node& root) { return Compiler().Run(root); }

}  // namespace ardus::tcl
