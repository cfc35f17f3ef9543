#include "trader/offer_index.h"

#include <algorithm>
#include <limits>

namespace ardus::trader {

namespace {

using tcl::Node;
using tcl::Op;

// Mirrors `a OP b` into `b OP' a` so that the property is on the left.
Op Mirror(Op op) {
  switch (op) {
    case Op::kLt:
      return Op::kGt;
    case Op::kLe:
      return Op::kGe;
    case Op::kGt:
      return Op::kLt;
    case Op::kGe:
      return Op::kLe;
    default:
      return op;
  }
}

bool Indexable(const Node& n) {
  return n.op == Op::kProperty && !n.property_type.sequence &&
         n.property_type.base != tcl::BaseType::kBool;
}

std::optional<OfferIndex::Range> AtomRange(const Node& n) {
  if (n.op < Op::kEq || n.op > Op::kGe || n.op == Op::kNe) return std::nullopt;
  const Node* prop = n.kids[0].get();
  const Node* lit = n.kids[1].get();
  Op op = n.op;
  if (!Indexable(*prop)) {
    std::swap(prop, lit);
    op = Mirror(op);
  }
  if (!Indexable(*prop) || lit->op != Op::kLiteral) return std::nullopt;
  OfferIndex::Range r;
  r.property = prop->name;
  std::variant<double, std::string> key;
  if (auto* s = std::get_if<std::string>(&lit->value)) {
    r.string_keys = true;
    key = *s;
  } else if (auto* i = std::get_if<std::int64_t>(&lit->value)) {
    key = static_cast<double>(*i);
  } else if (auto* d = std::get_if<double>(&lit->value)) {
    key = *d;
  } else {
    return std::nullopt;
  }
  if (op == Op::kEq || op == Op::kGt || op == Op::kGe) r.low = key;
  if (op == Op::kEq || op == Op::kLt || op == Op::kLe) r.high = key;
  return r;
}

void Conjuncts(const Node& n, std::vector<OfferIndex::Range>& out) {
  if (n.op == Op::kAnd) {
    Conjuncts(*n.kids[0], out);
    Conjuncts(*n.kids[1], out);
  } else if (auto r = AtomRange(n)) {
    out.push_back(std::move(*r));
  }
}

}  // namespace

std::vector<OfferIndex::Range> OfferIndex::Atoms(const tcl::Node& constraint) {
  std::vector<Range> atoms;
  Conjuncts(constraint, atoms);
  // Intersect atoms on the same property: "x > 1 and x < 2" is one narrow range.
  std::vector<Range> out;
  for (auto& a : atoms) {
    auto same = std::find_if(out.begin(), out.end(), [&](const Range& r) {
      return r.property == a.property && r.string_keys == a.string_keys;
    });
    if (same == out.end()) {
      out.push_back(std::move(a));
      continue;
    }
    if (a.low && (!same->low || *same->low < *a.low)) same->low = a.low;
    if (a.high && (!same->high || *a.high < *same->high)) same->high = a.high;
  }
  return out;
}

std::optional<OfferIndex::Key> OfferIndex::KeyOf(const tcl::Value& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return Key(static_cast<double>(*i));
  if (auto* d = std::get_if<double>(&v)) return Key(*d);
  if (auto* s = std::get_if<std::string>(&v)) return Key(*s);
  return std::nullopt;
}

void OfferIndex::Insert(Index& index, OfferId id, const tcl::Properties& props,
                        const std::string& name) {
  auto it = props.find(name);
  if (it == props.end()) return;
  if (auto key = KeyOf(it->second)) index.emplace(std::move(*key), id);
}

void OfferIndex::Add(OfferId id, const tcl::Properties& props) {
  for (auto& [name, index] : indexes_) Insert(index, id, props, name);
}

void OfferIndex::Remove(OfferId id, const tcl::Properties& props) {
  for (auto& [name, index] : indexes_) {
    auto it = props.find(name);
    if (it == props.end()) continue;
    if (auto key = KeyOf(it->second)) index.erase({std::move(*key), id});
  }
}

std::optional<std::vector<OfferId>> OfferIndex::Collect(const Range& range, std::size_t cap) const {
  const Index& index = indexes_.at(range.property);
  // Keys of one kind (numbers or strings) form one contiguous run of the set.
  Key low = range.low ? Key(*range.low)
                      : (range.string_keys ? Key(std::string())
                                           : Key(-std::numeric_limits<double>::infinity()));
  auto it = index.lower_bound({low, 0});
  std::vector<OfferId> out;
  for (; it != index.end(); ++it) {
    const Key& k = it->first;
    if (k.index() != low.index()) break;
    if (range.high && *range.high < k) break;
    if (out.size() == cap) return std::nullopt;
    out.push_back(it->second);
  }
  return out;
}

}  // namespace ardus::trader
