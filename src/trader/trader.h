// The Trader: a sans-IO engine holding service types and offers, answering
// constraint queries, expiring leases and feeding watches.
//
// It never touches sockets, disks or clocks. Every call that depends on time
// takes `now_ms` (milliseconds of wall-clock time, chosen by the caller), and
// randomness comes from the seed given at construction. Effects leave through
// two queues the I/O layer drains after each batch of calls:
//   - TakeMutations(): changes to make durable. rexd commits them in one
//     transaction and only then releases the replies of the batch, so an
//     acknowledged change has been committed (group commit);
//   - TakeWatchEvents(): offers entering or leaving the results of a watch.
//
// Errors are rex::Error values with codes from rex/error_code.h; none of them
// changes state. Thread-safety: none; one thread drives a Trader.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rex/error_code.h"
#include "tcl/program.h"
#include "trader/offer_index.h"
#include "trader/service_type.h"

namespace ardus::trader {

struct Offer {
  OfferId id = 0;
  std::string type;
  tcl::Properties props;
  std::uint32_t lease_seconds = 0;  // 0: no lease
  std::int64_t deadline_ms = 0;     // when the lease runs out (0: never)
  // The identity that exported it: only it (or an admin) may modify,
  // withdraw or renew it. Empty for offers journalled before identities.
  std::string owner;
};

// Which service types a query or watch may see (rexd: the types the
// caller's identity may query or watch). Empty: every type.
using TypeFilter = std::function<bool(const std::string& type)>;

// Import policies (OMG names). Zero means "use the default".
struct Policies {
  std::uint32_t search_card = 0;  // offers evaluated at most
  std::uint32_t match_card = 0;   // matches gathered at most
  std::uint32_t return_card = 0;  // offers returned (over all pages) at most
  bool exact_type_match = false;  // ignore subtypes
};

struct PolicyLimits {
  std::uint32_t def_search_card = 1'000'000, max_search_card = 10'000'000;
  std::uint32_t def_match_card = 100'000, max_match_card = 1'000'000;
  std::uint32_t def_return_card = 10'000, max_return_card = 100'000;
  std::uint64_t steps_per_query = 50'000'000;  // evaluation budget (tcl::Budget)
  // A page stops once its offers pass this many bytes (it holds at least one
  // offer); the rest wait behind the iterator.
  std::size_t max_page_bytes = 4 << 20;
  // A watch whose initial matches pass this many bytes is refused.
  std::size_t max_watch_bytes = 8 << 20;
};

struct QueryRequest {
  std::string type;
  std::string constraint;
  std::string preference;
  Policies policies;
  std::uint32_t page_size = 100;  // offers in the first reply; the rest via NextPage
};

struct Page {
  std::vector<Offer> offers;
  std::uint64_t iterator = 0;           // non-zero while more offers remain
  std::uint64_t remaining = 0;          // offers left behind the iterator
  std::vector<std::string> limited_by;  // policies that cut the search short
  std::uint64_t considered = 0;         // offers evaluated (index effect made visible)
};

struct Mutation {
  enum Kind : std::uint8_t { kPutType, kDeleteType, kPutOffer, kDeleteOffer } kind;
  ServiceType type;  // kPutType
  Offer offer;       // kPutOffer (full offer); kDeleteType / kDeleteOffer use name / id
  std::string name;
  OfferId id = 0;
};

struct WatchEvent {
  enum Kind : std::uint8_t { kEnter, kLeave, kUpdate } kind;
  std::uint64_t owner = 0;  // the connection that created the watch
  std::uint64_t watch = 0;
  Offer offer;         // kLeave: the offer as it was
  std::string reason;  // kLeave: "withdrawn", "expired", "modified", "type removed"
};

// Limits that protect the trader from one client.
// Iterators a connection may hold; opening one more drops its least recently
// used (which then answers kUnknownIterator).
inline constexpr std::size_t kMaxIteratorsPerOwner = 64;
inline constexpr std::size_t kMaxWatchesPerOwner = 256;
inline constexpr std::int64_t kIteratorIdleMs = 120'000;
inline constexpr std::size_t kMaxPropertiesPerOffer = 256;
inline constexpr std::size_t kMaxValueBytes = 65536;

class Trader {
 public:
  explicit Trader(std::uint64_t seed, PolicyLimits limits = {});
  ~Trader();
  Trader(const Trader&) = delete;
  Trader& operator=(const Trader&) = delete;

  // --- service types
  rex::Ack AddType(ServiceType type);
  Result<ServiceType, rex::Error> DescribeType(const std::string& name) const;
  // Every property, inherited ones included.
  Result<std::vector<PropertyDef>, rex::Error> TypeProperties(const std::string& name) const;
  std::vector<std::string> ListTypes() const;
  rex::Ack RemoveType(const std::string& name);

  // --- offers
  // Errors: kUnknownType, kMissingProperty, kUnknownProperty,
  // kPropertyTypeMismatch, kLimitExceeded.
  // `owner` is the exporting identity's name (Offer::owner).
  Result<OfferId, rex::Error> Export(std::int64_t now_ms, std::string type, tcl::Properties props,
                                     std::uint32_t lease_seconds, std::string owner = {});
  rex::Ack Withdraw(OfferId id);
  // Sets `set` and removes `remove`. Errors as Export, plus kReadonlyProperty
  // and kMissingProperty (removing a mandatory property).
  rex::Ack Modify(OfferId id, const tcl::Properties& set, const std::vector<std::string>& remove);
  Result<Offer, rex::Error> Describe(OfferId id) const;
  // The offer, or nullptr; valid until the next call that changes offers.
  // For permission checks, which must not copy the offer.
  const Offer* Find(OfferId id) const;
  // Restarts the lease clock; returns the new deadline. Errors: kUnknownOffer,
  // kBadRequest (the offer has no lease).
  Result<std::int64_t, rex::Error> Renew(std::int64_t now_ms, OfferId id);
  std::size_t OfferCount() const { return offers_.size(); }

  // --- queries
  // A page holds at most `page_size` offers and, past its first offer, at
  // most max_page_bytes of them. Errors: kUnknownType, kIllegalConstraint
  // (message "column N: ..."), kIllegalPreference, kIllegalPolicy,
  // kLimitExceeded.
  // Searches q.type and its subtypes, less those `may_see` refuses.
  Result<Page, rex::Error> Query(std::int64_t now_ms, std::uint64_t owner, const QueryRequest& q,
                                 const TypeFilter& may_see = {});
  Result<Page, rex::Error> NextPage(std::int64_t now_ms, std::uint64_t owner,
                                    std::uint64_t iterator, std::uint32_t count);
  rex::Ack CloseIterator(std::uint64_t owner, std::uint64_t iterator);

  // --- watches
  // Starts watching; returns the id and the offers matching now. Errors:
  // kUnknownType, kIllegalConstraint, kLimitExceeded (watches per owner, the
  // step budget, or initial matches over max_watch_bytes).
  struct WatchStart {
    std::uint64_t watch = 0;
    std::vector<Offer> matching;
  };
  // The watch covers `type` and its subtypes, now and as types are added,
  // less those `may_see` refuses.
  Result<WatchStart, rex::Error> Watch(std::uint64_t owner, const std::string& type,
                                       const std::string& constraint, TypeFilter may_see = {});
  rex::Ack Unwatch(std::uint64_t owner, std::uint64_t watch);
  // Forgets the owner's watches and iterators (its connection closed).
  void DropOwner(std::uint64_t owner);
  // The owner's identity changed (rexd reloaded its auth file): its watches
  // now see only the types `may_watch` allows, and end if their own type is
  // no longer one; its iterators, computed under the old identity, end.
  void Reauthorize(std::uint64_t owner, const TypeFilter& may_watch);

  // --- time
  // Expires leases and idle iterators due at `now_ms`.
  void Tick(std::int64_t now_ms);
  // The earliest time Tick has work to do (INT64_MAX if none).
  std::int64_t NextDeadline() const;

  // Evaluation steps spent so far by queries, watches and the watch checks
  // that exports and changes cause: the caller's measure of a request's work.
  std::uint64_t work() const { return work_; }

  // --- effects and recovery
  std::vector<Mutation> TakeMutations();
  std::vector<WatchEvent> TakeWatchEvents();
  // Loads durable state at start-up (no mutations are emitted). Leased offers
  // get a fresh lease from `now_ms`: their providers could not renew while
  // the trader was down. Types must come in an order where supers precede.
  rex::Ack RestoreType(ServiceType type);
  rex::Ack RestoreOffer(std::int64_t now_ms, Offer offer);
  // The id the next export gets; journalled so that ids are never reused.
  OfferId next_offer_id() const { return next_offer_; }
  void RestoreNextOfferId(OfferId next) { next_offer_ = std::max(next_offer_, next); }

 private:
  struct Compiled;
  struct Iterator;
  struct WatchState;
  // Hashed: queries look offers up by id thousands of times; order comes from by_type_.
  using Offers = std::unordered_map<OfferId, Offer>;

  Result<std::shared_ptr<Compiled>, rex::Error> CompileConstraint(const std::string& type,
                                                                  const std::string& text) const;
  rex::Ack CheckProperties(const std::string& type, const tcl::Properties& props) const;
  std::vector<OfferId> Candidates(const Compiled& c, const std::set<std::string>& types);
  void Insert(Offer offer);
  void Erase(Offers::iterator it, const char* reason);
  void NotifyWatches(const Offer* before, const Offer* after, const char* reason);
  bool Matches(const tcl::Program& p, const Offer& offer, tcl::Budget& budget) const;
  void EvictIteratorIfFull(std::uint64_t owner);
  Page TakePage(std::int64_t now_ms, Iterator& it, std::uint32_t count);

  PolicyLimits limits_;
  std::mt19937_64 rng_;
  TypeRepository types_;
  Offers offers_;
  std::unordered_map<std::string, std::set<OfferId>> by_type_;
  std::set<std::pair<std::int64_t, OfferId>> leases_;
  OfferIndex index_;
  OfferId next_offer_ = 1;
  std::uint64_t next_handle_ = 1;  // iterator and watch ids
  std::map<std::uint64_t, Iterator> iterators_;
  std::map<std::uint64_t, WatchState> watches_;
  std::vector<Mutation> mutations_;
  std::vector<WatchEvent> events_;
  std::uint64_t work_ = 0;
};

}  // namespace ardus::trader
