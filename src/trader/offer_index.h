// Secondary indexes over offer properties, built for the properties queries
// actually constrain, and the planner that uses them.
//
// The planner looks at a checked constraint's top-level `and` chain for atoms
// `property OP literal` (or `literal OP property`) with OP one of == < <= > >=
// on an int, float or string property. For each such atom it estimates how
// many offers the index range holds and picks the smallest. The range is a
// superset of the atom's matches (bounds are inclusive, ints are keyed as
// doubles), so every candidate is still evaluated in full.
//
// An index for a property is built the first time a query could use it and is
// maintained from then on: properties nobody queries cost nothing.
//
// Thread-safety: none; owned by the Trader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "tcl/ast.h"
#include "tcl/value.h"

namespace ardus::trader {

using OfferId = std::uint64_t;

class OfferIndex {
 public:
  // A candidate range on one property. Bounds are inclusive; nullopt is open.
  struct Range {
    std::string property;
    bool string_keys = false;
    std::optional<std::variant<double, std::string>> low, high;
  };

  // The indexable atoms of a checked constraint (possibly none).
  static std::vector<Range> Atoms(const tcl::Node& constraint);

  bool Has(const std::string& property) const { return indexes_.count(property) != 0; }
  // Starts indexing `property` over `all` offers.
  template <typename Offers>
  void Build(const std::string& property, const Offers& all) {
    auto& index = indexes_[property];
    for (const auto& [id, offer] : all) Insert(index, id, offer.props, property);
  }

  void Add(OfferId id, const tcl::Properties& props);
  void Remove(OfferId id, const tcl::Properties& props);

  // Ids of offers in `range` (unsorted), or nullopt if more than `cap` lie in
  // it. Precondition: Has(range.property).
  std::optional<std::vector<OfferId>> Collect(const Range& range, std::size_t cap) const;

 private:
  using Key = std::variant<double, std::string>;
  using Index = std::set<std::pair<Key, OfferId>>;
  static std::optional<Key> KeyOf(const tcl::Value& v);
  static void Insert(Index& index, OfferId id, const tcl::Properties& props,
                     const std::string& name);

  std::map<std::string, Index> indexes_;
};

}  // namespace ardus::trader
