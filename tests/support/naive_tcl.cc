#include "support/naive_tcl.h"

#include <algorithm>

namespace ardus::testing {

namespace {

using tcl::Op;
using V = NaiveValue;

bool IsInt(const V& v) { return std::holds_alternative<std::int64_t>(v); }
bool IsNum(const V& v) { return IsInt(v) || std::holds_alternative<double>(v); }
double Num(const V& v) {
  return IsInt(v) ? double(std::get<std::int64_t>(v)) : std::get<double>(v);
}

template <typename T>
bool Cmp(Op op, const T& a, const T& b) {
  switch (op) {
    case Op::kEq:
      return a == b;
    case Op::kNe:
      return a != b;
    case Op::kLt:
      return a < b;
    case Op::kLe:
      return a <= b;
    case Op::kGt:
      return a > b;
    default:
      return a >= b;
  }
}

std::optional<V> Arith(Op op, const V& a, const V& b) {
  if (IsInt(a) && IsInt(b)) {
    __extension__ typedef __int128 Wide;  // wide enough that overflow is a range check
    Wide x = std::get<std::int64_t>(a), y = std::get<std::int64_t>(b), r;
    if (op == Op::kAdd)
      r = x + y;
    else if (op == Op::kSub)
      r = x - y;
    else if (op == Op::kMul)
      r = x * y;
    else {
      if (y == 0) return std::nullopt;
      r = x / y;
    }
    if (r > INT64_MAX || r < INT64_MIN) return std::nullopt;
    return V(static_cast<std::int64_t>(r));
  }
  double x = Num(a), y = Num(b);
  if (op == Op::kAdd) return V(x + y);
  if (op == Op::kSub) return V(x - y);
  if (op == Op::kMul) return V(x * y);
  if (y == 0) return std::nullopt;
  return V(x / y);
}

std::optional<V> In(const V& needle, const tcl::Value& seq) {
  if (auto* ss = std::get_if<std::vector<std::string>>(&seq)) {
    return V(std::find(ss->begin(), ss->end(), std::get<std::string>(needle)) != ss->end());
  }
  if (auto* bs = std::get_if<std::vector<bool>>(&seq)) {
    return V(std::find(bs->begin(), bs->end(), std::get<bool>(needle)) != bs->end());
  }
  if (auto* is = std::get_if<std::vector<std::int64_t>>(&seq)) {
    if (IsInt(needle)) {
      return V(std::find(is->begin(), is->end(), std::get<std::int64_t>(needle)) != is->end());
    }
    for (auto x : *is) {
      if (double(x) == Num(needle)) return V(true);
    }
    return V(false);
  }
  if (auto* fs = std::get_if<std::vector<double>>(&seq)) {
    for (auto x : *fs) {
      if (x == Num(needle)) return V(true);
    }
    return V(false);
  }
  return std::nullopt;
}

}  // namespace

std::optional<V> NaiveEvaluate(const tcl::Node& n, const tcl::Properties& props) {
  switch (n.op) {
    case Op::kLiteral:
      return std::visit(
          [](const auto& x) -> std::optional<V> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_constructible_v<V, T>) return V(x);
            return std::nullopt;
          },
          n.value);
    case Op::kProperty: {
      auto it = props.find(n.name);
      if (it == props.end()) return std::nullopt;
      return std::visit(
          [](const auto& x) -> std::optional<V> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_constructible_v<V, T> && !std::is_same_v<T, std::vector<bool>>) {
              return V(x);
            }
            return std::nullopt;
          },
          it->second);
    }
    case Op::kExist:
      return V(props.count(n.name) != 0);
    case Op::kNot: {
      auto v = NaiveEvaluate(*n.kids[0], props);
      if (!v) return v;
      return V(!std::get<bool>(*v));
    }
    case Op::kAnd:
    case Op::kOr: {
      auto l = NaiveEvaluate(*n.kids[0], props);
      if (!l) return l;
      bool lb = std::get<bool>(*l);
      if (n.op == Op::kAnd && !lb) return V(false);
      if (n.op == Op::kOr && lb) return V(true);
      return NaiveEvaluate(*n.kids[1], props);
    }
    case Op::kIn: {
      auto l = NaiveEvaluate(*n.kids[0], props);
      if (!l) return l;
      auto it = props.find(n.kids[1]->name);
      if (it == props.end()) return std::nullopt;
      return In(*l, it->second);
    }
    default:
      break;
  }
  auto l = NaiveEvaluate(*n.kids[0], props);
  if (!l) return l;
  auto r = NaiveEvaluate(*n.kids[1], props);
  if (!r) return r;
  switch (n.op) {
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
      return Arith(n.op, *l, *r);
    case Op::kSubstr:
      return V(std::get<std::string>(*r).find(std::get<std::string>(*l)) != std::string::npos);
    default:
      if (IsInt(*l) && IsInt(*r))
        return V(Cmp(n.op, std::get<std::int64_t>(*l), std::get<std::int64_t>(*r)));
      if (IsNum(*l) && IsNum(*r)) return V(Cmp(n.op, Num(*l), Num(*r)));
      if (std::holds_alternative<std::string>(*l)) {
        return V(Cmp(n.op, std::get<std::string>(*l), std::get<std::string>(*r)));
      }
      return V(Cmp(n.op, std::get<bool>(*l), std::get<bool>(*r)));
  }
}

bool NaiveMatches(const tcl::Node& n, const tcl::Properties& props) {
  auto v = NaiveEvaluate(n, props);
  return v && std::holds_alternative<bool>(*v) && std::get<bool>(*v);
}

}  // namespace ardus::testing
