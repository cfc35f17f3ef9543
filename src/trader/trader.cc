#include "trader/trader.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tcl/checker.h"
#include "tcl/parser.h"

namespace ardus::trader {

using rex::Code;

struct Trader::Compiled {
  std::unique_ptr<tcl::Node> ast;
  tcl::Program program;
};

struct Trader::Iterator {
  std::uint64_t owner = 0;
  std::vector<OfferId> ids;
  std::size_t next = 0;
  std::int64_t last_used_ms = 0;
};

struct Trader::WatchState {
  std::uint64_t owner = 0;
  std::string root_type;
  TypeFilter may_see;           // empty: every type
  std::set<std::string> types;  // root_type and its subtypes that may_see allows
  std::shared_ptr<Compiled> compiled;
  std::set<OfferId> matching;
};

namespace {

// `name` and its subtypes, less those `may_see` refuses.
std::set<std::string> Visible(const TypeRepository& types, const std::string& name,
                              const TypeFilter& may_see) {
  std::set<std::string> out = types.WithSubtypes(name);
  if (may_see) std::erase_if(out, [&](const std::string& t) { return !may_see(t); });
  return out;
}

// Reads an offer's properties by program slot.
class OfferReader final : public tcl::PropertyReader {
 public:
  OfferReader(const tcl::Program& p, const Offer& o) : p_(p), o_(o) {}
  const tcl::Value* Get(std::uint32_t slot) const override {
    auto it = o_.props.find(p_.properties[slot]);
    return it == o_.props.end() ? nullptr : &it->second;
  }

 private:
  const tcl::Program& p_;
  const Offer& o_;
};

tcl::Schema SchemaOf(const std::map<std::string, PropertyDef>& props) {
  return [&props](std::string_view name) -> std::optional<tcl::PropertyType> {
    auto it = props.find(std::string(name));
    if (it == props.end()) return std::nullopt;
    return it->second.type;
  };
}

rex::Error FromStatus(const Status& s, Code code) {
  return rex::Fail(s.kind() == ErrorKind::kLimitExceeded ? Code::kLimitExceeded : code,
                   s.message());
}

bool Finite(const tcl::Value& v) {
  if (auto* d = std::get_if<double>(&v)) return std::isfinite(*d);
  if (auto* ds = std::get_if<std::vector<double>>(&v)) {
    return std::all_of(ds->begin(), ds->end(), [](double d) { return std::isfinite(d); });
  }
  return true;
}

std::size_t ByteSize(const tcl::Value& v) {
  return std::visit(
      [](const auto& x) -> std::size_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return x.size();
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::size_t n = 0;
          for (const auto& s : x) n += s.size() + 8;
          return n;
        } else if constexpr (requires { x.size(); }) {
          return x.size() * 8;
        } else {
          return 8;
        }
      },
      v);
}

// About the bytes an offer takes in a reply (a little over its encoding).
std::size_t OfferBytes(const Offer& o) {
  std::size_t n = 48 + o.type.size();
  for (const auto& [name, v] : o.props) n += name.size() + ByteSize(v) + 10;
  return n;
}

// Adds the steps a budget lost to `work` when it goes out of scope.
class Spent {
 public:
  Spent(std::uint64_t& work, const tcl::Budget& b) : work_(work), b_(b), start_(b.remaining) {}
  ~Spent() { work_ += start_ - b_.remaining; }

 private:
  std::uint64_t& work_;
  const tcl::Budget& b_;
  std::uint64_t start_;
};

}  // namespace

Trader::Trader(std::uint64_t seed, PolicyLimits limits) : limits_(limits), rng_(seed) {}
Trader::~Trader() = default;

// ---------------------------------------------------------------- types

rex::Ack Trader::AddType(ServiceType type) {
  ServiceType copy = type;
  auto s = types_.Add(std::move(type));
  if (!s.ok()) return s;
  for (auto& [id, w] : watches_) w.types = Visible(types_, w.root_type, w.may_see);
  mutations_.push_back({Mutation::kPutType, std::move(copy)});
  return s;
}

Result<ServiceType, rex::Error> Trader::DescribeType(const std::string& name) const {
  const ServiceType* t = types_.Find(name);
  if (!t) return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", name));
  return *t;
}

Result<std::vector<PropertyDef>, rex::Error> Trader::TypeProperties(const std::string& name) const {
  if (!types_.Find(name)) {
    return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", name));
  }
  std::vector<PropertyDef> out;
  for (const auto& [n, def] : types_.Flattened(name)) out.push_back(def);
  return out;
}

std::vector<std::string> Trader::ListTypes() const { return types_.Names(); }

rex::Ack Trader::RemoveType(const std::string& name) {
  auto it = by_type_.find(name);
  bool in_use = it != by_type_.end() && !it->second.empty();
  auto s = types_.Remove(name, in_use);
  if (!s.ok()) return s;
  by_type_.erase(name);
  Mutation m{Mutation::kDeleteType};
  m.name = name;
  mutations_.push_back(std::move(m));
  return s;
}

rex::Ack Trader::RestoreType(ServiceType type) { return types_.Add(std::move(type)); }

// ---------------------------------------------------------------- offers

rex::Ack Trader::CheckProperties(const std::string& type, const tcl::Properties& props) const {
  const auto& defs = types_.Flattened(type);
  if (props.size() > kMaxPropertiesPerOffer) {
    return rex::Fail(Code::kLimitExceeded,
                     fmt::format("more than {} properties", kMaxPropertiesPerOffer));
  }
  for (const auto& [name, value] : props) {
    auto def = defs.find(name);
    if (def == defs.end()) {
      return rex::Fail(Code::kUnknownProperty,
                       fmt::format("type '{}' has no property '{}'", type, name));
    }
    if (!tcl::Conforms(value, def->second.type) || !Finite(value)) {
      return rex::Fail(
          Code::kPropertyTypeMismatch,
          fmt::format("property '{}' is {}, but the value is {}", name,
                      tcl::TypeName(def->second.type), tcl::TypeName(tcl::TypeOf(value))));
    }
    if (ByteSize(value) > kMaxValueBytes) {
      return rex::Fail(Code::kLimitExceeded,
                       fmt::format("property '{}' is over {} bytes", name, kMaxValueBytes));
    }
  }
  for (const auto& [name, def] : defs) {
    if (def.mandatory && !props.count(name)) {
      return rex::Fail(
          Code::kMissingProperty,
          fmt::format("mandatory property '{}' ({}) is missing", name, tcl::TypeName(def.type)));
    }
  }
  return rex::Ok();
}

Result<OfferId, rex::Error> Trader::Export(std::int64_t now_ms, std::string type,
                                           tcl::Properties props, std::uint32_t lease_seconds,
                                           std::string owner) {
  if (!types_.Find(type)) {
    return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", type));
  }
  if (auto s = CheckProperties(type, props); !s.ok()) return s.error();
  const auto& defs = types_.Flattened(type);
  for (auto& [name, value] : props) value = tcl::Coerce(std::move(value), defs.at(name).type);
  Offer offer{next_offer_++, std::move(type), std::move(props), lease_seconds, 0, std::move(owner)};
  if (lease_seconds > 0) offer.deadline_ms = now_ms + std::int64_t{lease_seconds} * 1000;
  OfferId id = offer.id;
  Mutation m{Mutation::kPutOffer};
  m.offer = offer;
  mutations_.push_back(std::move(m));
  Insert(std::move(offer));
  NotifyWatches(nullptr, &offers_.at(id), "");
  return id;
}

rex::Ack Trader::RestoreOffer(std::int64_t now_ms, Offer offer) {
  if (!types_.Find(offer.type)) {
    return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", offer.type));
  }
  if (offer.lease_seconds > 0) {
    offer.deadline_ms = now_ms + std::int64_t{offer.lease_seconds} * 1000;
  }
  next_offer_ = std::max(next_offer_, offer.id + 1);
  Insert(std::move(offer));
  return rex::Ok();
}

void Trader::Insert(Offer offer) {
  OfferId id = offer.id;
  by_type_[offer.type].insert(id);
  if (offer.deadline_ms) leases_.emplace(offer.deadline_ms, id);
  index_.Add(id, offer.props);
  offers_.emplace(id, std::move(offer));
}

void Trader::Erase(Offers::iterator it, const char* reason) {
  Offer& o = it->second;
  by_type_[o.type].erase(o.id);
  if (o.deadline_ms) leases_.erase({o.deadline_ms, o.id});
  index_.Remove(o.id, o.props);
  Mutation m{Mutation::kDeleteOffer};
  m.id = o.id;
  mutations_.push_back(std::move(m));
  NotifyWatches(&o, nullptr, reason);
  offers_.erase(it);
}

rex::Ack Trader::Withdraw(OfferId id) {
  auto it = offers_.find(id);
  if (it == offers_.end()) {
    return rex::Fail(Code::kUnknownOffer, fmt::format("no offer {}", id));
  }
  Erase(it, "withdrawn");
  return rex::Ok();
}

rex::Ack Trader::Modify(OfferId id, const tcl::Properties& set,
                        const std::vector<std::string>& remove) {
  auto it = offers_.find(id);
  if (it == offers_.end()) return rex::Fail(Code::kUnknownOffer, fmt::format("no offer {}", id));
  const Offer& old = it->second;
  const auto& defs = types_.Flattened(old.type);
  Offer next = old;
  for (const auto& name : remove) {
    auto def = defs.find(name);
    if (def != defs.end() && def->second.readonly) {
      return rex::Fail(Code::kReadonlyProperty, fmt::format("'{}' is readonly", name));
    }
    next.props.erase(name);
  }
  for (const auto& [name, value] : set) {
    auto def = defs.find(name);
    if (def != defs.end() && def->second.readonly && old.props.count(name)) {
      return rex::Fail(Code::kReadonlyProperty, fmt::format("'{}' is readonly", name));
    }
    next.props[name] = value;
  }
  if (auto s = CheckProperties(next.type, next.props); !s.ok()) return s;
  for (auto& [name, value] : next.props) value = tcl::Coerce(std::move(value), defs.at(name).type);
  index_.Remove(id, old.props);
  index_.Add(id, next.props);
  Offer before = std::move(it->second);
  it->second = std::move(next);
  Mutation m{Mutation::kPutOffer};
  m.offer = it->second;
  mutations_.push_back(std::move(m));
  NotifyWatches(&before, &it->second, "modified");
  return rex::Ok();
}

const Offer* Trader::Find(OfferId id) const {
  auto it = offers_.find(id);
  return it == offers_.end() ? nullptr : &it->second;
}

Result<Offer, rex::Error> Trader::Describe(OfferId id) const {
  auto it = offers_.find(id);
  if (it == offers_.end()) return rex::Fail(Code::kUnknownOffer, fmt::format("no offer {}", id));
  return it->second;
}

Result<std::int64_t, rex::Error> Trader::Renew(std::int64_t now_ms, OfferId id) {
  auto it = offers_.find(id);
  if (it == offers_.end()) return rex::Fail(Code::kUnknownOffer, fmt::format("no offer {}", id));
  Offer& o = it->second;
  if (o.lease_seconds == 0) {
    return rex::Fail(Code::kBadRequest, fmt::format("offer {} has no lease to renew", id));
  }
  // Renewals are not journalled: a restart grants every lease a fresh term.
  leases_.erase({o.deadline_ms, id});
  o.deadline_ms = now_ms + std::int64_t{o.lease_seconds} * 1000;
  leases_.emplace(o.deadline_ms, id);
  return o.deadline_ms;
}

// ---------------------------------------------------------------- queries

Result<std::shared_ptr<Trader::Compiled>, rex::Error> Trader::CompileConstraint(
    const std::string& type, const std::string& text) const {
  auto ast = tcl::ParseConstraint(text);
  if (!ast.ok()) return FromStatus(ast.status(), Code::kIllegalConstraint);
  auto c = std::make_shared<Compiled>();
  c->ast = std::move(ast).value();
  auto checked = tcl::CheckConstraint(*c->ast, SchemaOf(types_.Flattened(type)));
  if (!checked.ok()) return FromStatus(checked, Code::kIllegalConstraint);
  c->program = tcl::Compile(*c->ast);
  return c;
}

bool Trader::Matches(const tcl::Program& p, const Offer& offer, tcl::Budget& budget) const {
  return tcl::Evaluate(p, OfferReader(p, offer), budget).truth();
}

std::vector<OfferId> Trader::Candidates(const Compiled& c, const std::set<std::string>& types) {
  std::optional<std::vector<OfferId>> best;
  for (const auto& range : OfferIndex::Atoms(*c.ast)) {
    if (!index_.Has(range.property)) index_.Build(range.property, offers_);
    std::size_t cap = best ? best->size() : offers_.size();
    if (auto ids = index_.Collect(range, cap)) best = std::move(ids);
  }
  std::vector<OfferId> out;
  if (best) {
    for (OfferId id : *best) {
      if (types.count(offers_.at(id).type)) out.push_back(id);
    }
  } else {
    for (const auto& t : types) {
      auto it = by_type_.find(t);
      if (it != by_type_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
  if (best || types.size() > 1) std::sort(out.begin(), out.end());  // `first` = export order
  return out;
}

Result<Page, rex::Error> Trader::Query(std::int64_t now_ms, std::uint64_t owner,
                                       const QueryRequest& q, const TypeFilter& may_see) {
  if (!types_.Find(q.type)) {
    return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", q.type));
  }
  Page page;
  auto card = [&](std::uint32_t asked, std::uint32_t def, std::uint32_t max, const char* name) {
    if (asked == 0) return def;
    if (asked > max) {
      page.limited_by.push_back(name);
      return max;
    }
    return asked;
  };
  std::uint32_t search =
      card(q.policies.search_card, limits_.def_search_card, limits_.max_search_card, "search_card");
  std::uint32_t match =
      card(q.policies.match_card, limits_.def_match_card, limits_.max_match_card, "match_card");
  std::uint32_t ret =
      card(q.policies.return_card, limits_.def_return_card, limits_.max_return_card, "return_card");

  auto compiled = CompileConstraint(q.type, q.constraint);
  if (!compiled.ok()) return compiled.error();
  auto pref = tcl::ParsePreference(q.preference);
  if (!pref.ok()) return FromStatus(pref.status(), Code::kIllegalPreference);
  auto pref_checked = tcl::CheckPreference(pref.value(), SchemaOf(types_.Flattened(q.type)));
  if (!pref_checked.ok()) return FromStatus(pref_checked, Code::kIllegalPreference);

  std::set<std::string> types = q.policies.exact_type_match ? std::set<std::string>{q.type}
                                                            : Visible(types_, q.type, may_see);
  if (may_see && !may_see(q.type)) types.erase(q.type);
  std::vector<OfferId> candidates = Candidates(*compiled.value(), types);
  if (candidates.size() > search) {
    candidates.resize(search);
    page.limited_by.push_back("search_card");
  }

  tcl::Budget budget{limits_.steps_per_query};
  Spent spent(work_, budget);
  const tcl::Program& program = compiled.value()->program;
  std::vector<OfferId> matched;
  for (OfferId id : candidates) {
    auto e = tcl::Evaluate(program, OfferReader(program, offers_.at(id)), budget);
    if (e.outcome == tcl::Evaluation::kOverBudget) {
      return rex::Fail(Code::kLimitExceeded,
                       fmt::format("the query needs over {} evaluation steps; narrow it",
                                   limits_.steps_per_query));
    }
    page.considered++;
    if (!e.truth()) continue;
    matched.push_back(id);
    if (matched.size() >= match) {
      if (matched.size() < candidates.size()) page.limited_by.push_back("match_card");
      break;
    }
  }

  const tcl::Preference& p = pref.value();
  if (p.kind == tcl::PreferenceKind::kRandom) {
    std::shuffle(matched.begin(), matched.end(), rng_);
  } else if (p.expr) {
    tcl::Program order = tcl::Compile(*p.expr);
    // Key: (undefined last, then by value); stable sort keeps export order on ties.
    std::vector<std::pair<std::pair<int, double>, OfferId>> keyed;
    for (OfferId id : matched) {
      auto e = tcl::Evaluate(order, OfferReader(order, offers_.at(id)), budget);
      if (e.outcome == tcl::Evaluation::kOverBudget) {
        return rex::Fail(Code::kLimitExceeded, "ordering the matches ran out of steps");
      }
      std::pair<int, double> key{1, 0};
      if (e.outcome == tcl::Evaluation::kValue) {
        if (p.kind == tcl::PreferenceKind::kWith) {
          key = {e.truth() ? 0 : 1, 0};
        } else {
          double v = e.number(order);
          if (!std::isnan(v)) key = {0, p.kind == tcl::PreferenceKind::kMax ? -v : v};
        }
      }
      keyed.push_back({key, id});
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < keyed.size(); ++i) matched[i] = keyed[i].second;
  }
  if (matched.size() > ret) {
    matched.resize(ret);
    page.limited_by.push_back("return_card");
  }

  Iterator it{owner, std::move(matched), 0, now_ms};
  Page first = TakePage(now_ms, it, q.page_size);
  first.limited_by = std::move(page.limited_by);
  first.considered = page.considered;
  if (it.next < it.ids.size()) {
    EvictIteratorIfFull(owner);
    first.iterator = next_handle_++;
    iterators_.emplace(first.iterator, std::move(it));
  }
  return first;
}

void Trader::EvictIteratorIfFull(std::uint64_t owner) {
  // A client that never closes its iterators loses its least recently used one.
  std::size_t open = 0;
  auto oldest = iterators_.end();
  for (auto i = iterators_.begin(); i != iterators_.end(); ++i) {
    if (i->second.owner != owner) continue;
    ++open;
    if (oldest == iterators_.end() || i->second.last_used_ms < oldest->second.last_used_ms) {
      oldest = i;
    }
  }
  if (open >= kMaxIteratorsPerOwner) iterators_.erase(oldest);
}

Page Trader::TakePage(std::int64_t now_ms, Iterator& it, std::uint32_t count) {
  Page page;
  it.last_used_ms = now_ms;
  std::size_t bytes = 0;
  while (it.next < it.ids.size() && page.offers.size() < count &&
         (page.offers.empty() || bytes < limits_.max_page_bytes)) {
    auto found = offers_.find(it.ids[it.next++]);
    if (found == offers_.end()) continue;  // withdrawn since the query
    bytes += OfferBytes(found->second);
    page.offers.push_back(found->second);
  }
  page.remaining = it.ids.size() - it.next;
  return page;
}

Result<Page, rex::Error> Trader::NextPage(std::int64_t now_ms, std::uint64_t owner,
                                          std::uint64_t iterator, std::uint32_t count) {
  auto it = iterators_.find(iterator);
  if (it == iterators_.end() || it->second.owner != owner) {
    return rex::Fail(Code::kUnknownIterator,
                     fmt::format("no iterator {} (closed, exhausted or idle for {} s)", iterator,
                                 kIteratorIdleMs / 1000));
  }
  Page page = TakePage(now_ms, it->second, count);
  if (page.remaining > 0) {
    page.iterator = iterator;
  } else {
    iterators_.erase(it);
  }
  return page;
}

rex::Ack Trader::CloseIterator(std::uint64_t owner, std::uint64_t iterator) {
  auto it = iterators_.find(iterator);
  if (it == iterators_.end() || it->second.owner != owner) {
    return rex::Fail(Code::kUnknownIterator, fmt::format("no iterator {}", iterator));
  }
  iterators_.erase(it);
  return rex::Ok();
}

// ---------------------------------------------------------------- watches

Result<Trader::WatchStart, rex::Error> Trader::Watch(std::uint64_t owner, const std::string& type,
                                                     const std::string& constraint,
                                                     TypeFilter may_see) {
  if (!types_.Find(type)) {
    return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", type));
  }
  std::size_t open = 0;
  for (const auto& [id, w] : watches_) open += w.owner == owner;
  if (open >= kMaxWatchesPerOwner) {
    return rex::Fail(Code::kLimitExceeded,
                     fmt::format("{} watches are open on this connection", open));
  }
  auto compiled = CompileConstraint(type, constraint);
  if (!compiled.ok()) return compiled.error();
  std::set<std::string> visible = Visible(types_, type, may_see);
  WatchState w{owner, type, std::move(may_see), std::move(visible), compiled.value(), {}};
  WatchStart start;
  tcl::Budget budget{limits_.steps_per_query};
  Spent spent(work_, budget);
  std::size_t bytes = 0;
  for (const auto& t : w.types) {
    auto ids = by_type_.find(t);
    if (ids == by_type_.end()) continue;
    for (OfferId id : ids->second) {
      const Offer& o = offers_.at(id);
      if (!Matches(w.compiled->program, o, budget)) continue;
      bytes += OfferBytes(o);
      if (bytes > limits_.max_watch_bytes) {
        return rex::Fail(Code::kLimitExceeded,
                         fmt::format("the offers matching the watch pass {} bytes; narrow its "
                                     "constraint, or query them page by page",
                                     limits_.max_watch_bytes));
      }
      w.matching.insert(id);
      start.matching.push_back(o);
    }
  }
  if (budget.remaining == 0) {
    return rex::Fail(Code::kLimitExceeded, "the watch's initial evaluation ran out of steps");
  }
  start.watch = next_handle_++;
  watches_.emplace(start.watch, std::move(w));
  return start;
}

rex::Ack Trader::Unwatch(std::uint64_t owner, std::uint64_t watch) {
  auto it = watches_.find(watch);
  if (it == watches_.end() || it->second.owner != owner) {
    return rex::Fail(Code::kUnknownWatch, fmt::format("no watch {}", watch));
  }
  watches_.erase(it);
  return rex::Ok();
}

void Trader::DropOwner(std::uint64_t owner) {
  std::erase_if(watches_, [owner](const auto& kv) { return kv.second.owner == owner; });
  std::erase_if(iterators_, [owner](const auto& kv) { return kv.second.owner == owner; });
}

void Trader::Reauthorize(std::uint64_t owner, const TypeFilter& may_watch) {
  std::erase_if(iterators_, [owner](const auto& kv) { return kv.second.owner == owner; });
  std::erase_if(watches_, [&](const auto& kv) {
    return kv.second.owner == owner && may_watch && !may_watch(kv.second.root_type);
  });
  for (auto& entry : watches_) {
    WatchState& w = entry.second;
    if (w.owner != owner) continue;
    w.may_see = may_watch;
    w.types = Visible(types_, w.root_type, w.may_see);
    // Offers of types it may no longer see leave its matching set quietly:
    // the watcher is told nothing more about them.
    std::erase_if(w.matching, [&](OfferId o) {
      auto it = offers_.find(o);
      return it == offers_.end() || !w.types.count(it->second.type);
    });
  }
}

void Trader::NotifyWatches(const Offer* before, const Offer* after, const char* reason) {
  constexpr std::uint64_t kStepsPerWatchEvaluation = 1'000'000;
  for (auto& [id, w] : watches_) {
    OfferId offer_id = before ? before->id : after->id;
    bool was = before && w.matching.count(offer_id);
    bool now = false;
    if (after && w.types.count(after->type)) {
      tcl::Budget budget{kStepsPerWatchEvaluation};
      Spent spent(work_, budget);
      now = Matches(w.compiled->program, *after, budget);
    }
    if (!was && !now) continue;
    WatchEvent e{WatchEvent::kUpdate, w.owner, id, now ? *after : *before, ""};
    if (!was) {
      e.kind = WatchEvent::kEnter;
      w.matching.insert(offer_id);
    } else if (!now) {
      e.kind = WatchEvent::kLeave;
      e.reason = after ? "modified" : reason;
      w.matching.erase(offer_id);
    }
    events_.push_back(std::move(e));
  }
}

// ---------------------------------------------------------------- time and effects

void Trader::Tick(std::int64_t now_ms) {
  while (!leases_.empty() && leases_.begin()->first <= now_ms) {
    Erase(offers_.find(leases_.begin()->second), "expired");
  }
  std::erase_if(iterators_, [now_ms](const auto& kv) {
    return now_ms - kv.second.last_used_ms >= kIteratorIdleMs;
  });
}

std::int64_t Trader::NextDeadline() const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  if (!leases_.empty()) next = leases_.begin()->first;
  for (const auto& [id, it] : iterators_) {
    next = std::min(next, it.last_used_ms + kIteratorIdleMs);
  }
  return next;
}

std::vector<Mutation> Trader::TakeMutations() { return std::exchange(mutations_, {}); }
std::vector<WatchEvent> Trader::TakeWatchEvents() { return std::exchange(events_, {}); }

}  // namespace ardus::trader
