#include "notify/filter.h"

#include <fmt/core.h>

#include <map>

#include "tcl/checker.h"
#include "tcl/parser.h"

namespace ardus::notify {

namespace {

using tcl::BaseType;
using tcl::Node;
using tcl::Op;
using tcl::PropertyType;
using Types = std::map<std::string, PropertyType>;

const Types kHeader = {{"$domain_name", {BaseType::kString, false}},
                       {"$type_name", {BaseType::kString, false}},
                       {"$event_name", {BaseType::kString, false}},
                       {"$priority", {BaseType::kInt, false}}};

// The type an operand has if it can be told without the schema.
std::optional<PropertyType> Known(const Node& n, const Types& types) {
  switch (n.op) {
    case Op::kLiteral: {
      auto t = tcl::TypeOf(n.value);
      if (t.base == BaseType::kInt) t.base = BaseType::kFloat;
      return t;
    }
    case Op::kProperty: {
      auto it = types.find(n.name);
      if (it == types.end()) return std::nullopt;
      return it->second;
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
      return PropertyType{BaseType::kFloat, false};
    default:
      return PropertyType{BaseType::kBool, false};
  }
}

void Assign(const Node& n, PropertyType t, Types& types, bool& changed) {
  if (n.op != Op::kProperty || types.count(n.name)) return;
  if (t.base == BaseType::kInt) t.base = BaseType::kFloat;  // numbers widen
  types[n.name] = t;
  changed = true;
}

// One pass of inference over the tree; `changed` is set when a type was learnt.
void Infer(const Node& n, Types& types, bool& changed) {
  for (const auto& k : n.kids) Infer(*k, types, changed);
  switch (n.op) {
    case Op::kNot:
    case Op::kAnd:
    case Op::kOr:
      for (const auto& k : n.kids) Assign(*k, {BaseType::kBool, false}, types, changed);
      break;
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
      for (const auto& k : n.kids) Assign(*k, {BaseType::kFloat, false}, types, changed);
      break;
    case Op::kSubstr:
      for (const auto& k : n.kids) Assign(*k, {BaseType::kString, false}, types, changed);
      break;
    case Op::kIn:
      if (auto t = Known(*n.kids[0], types)) {
        Assign(*n.kids[1], {t->base, true}, types, changed);
      }
      break;
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe:
      if (auto t = Known(*n.kids[1], types)) Assign(*n.kids[0], *t, types, changed);
      if (auto t = Known(*n.kids[0], types)) Assign(*n.kids[1], *t, types, changed);
      break;
    default:
      break;
  }
}

const Node* FirstUntyped(const Node& n, const Types& types) {
  if (n.op == Op::kProperty && !types.count(n.name)) return &n;
  for (const auto& k : n.kids) {
    if (const Node* u = FirstUntyped(*k, types)) return u;
  }
  return nullptr;
}

// `$domain_name == 'X'` (either side) in the top-level and-chain.
void HeaderEqualities(const Node& n, std::optional<std::string>& domain,
                      std::optional<std::string>& type) {
  if (n.op == Op::kAnd) {
    HeaderEqualities(*n.kids[0], domain, type);
    HeaderEqualities(*n.kids[1], domain, type);
    return;
  }
  if (n.op != Op::kEq) return;
  const Node* a = n.kids[0].get();
  const Node* b = n.kids[1].get();
  if (a->op == Op::kLiteral) std::swap(a, b);
  if (a->op != Op::kProperty || b->op != Op::kLiteral) return;
  const auto* s = std::get_if<std::string>(&b->value);
  if (!s) return;
  if (a->name == "$domain_name") domain = *s;
  if (a->name == "$type_name") type = *s;
}

class EventReader final : public tcl::PropertyReader {
 public:
  EventReader(const tcl::Program& p, const Event& e) : p_(p), e_(e) {}
  const tcl::Value* Get(std::uint32_t slot) const override {
    const std::string& name = p_.properties[slot];
    if (name[0] == '$') {
      if (name == "$domain_name") return &e_.domain_value;
      if (name == "$type_name") return &e_.type_value;
      if (name == "$event_name") return &e_.name_value;
      return &e_.priority_value;
    }
    if (auto it = e_.fields.find(name); it != e_.fields.end()) return &it->second;
    return UnionPart(name);
  }

 private:
  // `u` is a union's active value, `u._d` its discriminator, `u._default`
  // whether that is the default branch (what `default $.u` tests).
  const tcl::Value* UnionPart(std::string_view name) const {
    if (auto it = e_.unions.find(name); it != e_.unions.end()) return &it->second.value;
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return nullptr;
    auto it = e_.unions.find(name.substr(0, dot));
    if (it == e_.unions.end()) return nullptr;
    const std::string_view part = name.substr(dot + 1);
    static const tcl::Value kTrue{true}, kFalse{false};
    if (part == "_d") return &it->second.discriminator;
    if (part == "_default") return it->second.is_default ? &kTrue : &kFalse;
    return nullptr;
  }

  const tcl::Program& p_;
  const Event& e_;
};

}  // namespace

Result<std::shared_ptr<const Filter>> Filter::Compile(const std::string& text) {
  auto ast = tcl::ParseConstraint(text, tcl::Dialect::kEtcl);
  if (!ast.ok()) return ast.status();
  Types types = kHeader;
  for (bool changed = true; changed;) {
    changed = false;
    Infer(*ast.value(), types, changed);
  }
  if (const Node* u = FirstUntyped(*ast.value(), types)) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("column {}: cannot tell the type of '$.{}'; compare it with "
                                     "a literal",
                                     u->column, u->name));
  }
  // Every field operand has a type now; a name still unknown is used only by
  // `exist`, where its type does not matter.
  auto checked = tcl::CheckConstraint(*ast.value(), [&](std::string_view name) {
    auto it = types.find(std::string(name));
    return std::optional<PropertyType>(it == types.end() ? PropertyType{BaseType::kString, false}
                                                         : it->second);
  });
  if (!checked.ok()) return checked;
  auto f = std::make_shared<Filter>();
  f->text_ = text;
  f->match_all_ = text.find_first_not_of(" \t\r\n") == std::string::npos;
  f->program_ = tcl::Compile(*ast.value());
  HeaderEqualities(*ast.value(), f->domain_, f->type_);
  return std::shared_ptr<const Filter>(std::move(f));
}

Filter::Verdict Filter::Evaluate(const Event& e, tcl::Budget& budget) const {
  if (match_all_) return Verdict::kYes;
  auto r = tcl::Evaluate(program_, EventReader(program_, e), budget);
  if (r.outcome == tcl::Evaluation::kOverBudget) return Verdict::kOverBudget;
  return r.truth() ? Verdict::kYes : Verdict::kNo;
}

}  // namespace ardus::notify
