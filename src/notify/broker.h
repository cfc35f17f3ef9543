// The Notify broker: a sans-IO engine for channels, filtered subscriptions,
// bounded per-consumer queues, credit-based push and durable cursors.
//
// Like the Trader it takes `now_ms` on every timed call and never touches a
// socket or disk. Effects leave through queues the I/O layer drains:
//   - TakeMutations(): what must be durable (persistent channels' events,
//     durable cursors, channel definitions). rexd commits them before it
//     acknowledges the batch's publishes;
//   - TakeDeliveries(): events to push, already within each subscriber's
//     credit.
//
// Delivery, by subscription kind:
//   - plain: each matching event is queued for the subscriber (at most
//     max_queue events and max_queue_bytes; when full, the discard policy
//     drops one and the drop is reported to the subscriber as a gap) and
//     pushed while credit lasts. All queues together stay under
//     max_total_queued_bytes;
//   - durable (persistent channels only): the subscription has a name and a
//     server-side cursor, the last sequence number acked. It reads the
//     channel's retained log from the cursor, so a reconnect, or a restart of
//     rexd, resumes right after the last ack: nothing is lost, and only
//     unacked events may come twice. If retention removed events before they
//     were acked, the subscriber is told how many it missed.
//
// Filter work is bounded: one filter may spend kStepsPerFilter evaluation
// steps on an event, and all the filters of one owner (connection) together
// kStepsPerOwnerEvent. A subscription whose filter could not be decided
// within that misses the event, and learns of it by a gap like any drop.
// A durable subscription catching up on the log spends at most
// kStepsPerOwnerEvent per call; Tick carries on where it stopped.
//
// Errors are rex::Error values; none of them changes state.
// Thread-safety: none; one thread drives a Broker.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "notify/event.h"
#include "notify/filter.h"
#include "rex/error_code.h"

namespace ardus::notify {

// Retention applies to persistent channels, the only ones with a log.
struct ChannelConfig {
  bool persistent = false;
  std::uint64_t retain_count = 100'000;  // events kept in the log
  std::int64_t retain_age_ms = 0;        // 0: no age limit
  std::uint64_t retain_bytes = 256 << 20;
  bool operator==(const ChannelConfig&) const = default;
};

enum class Discard : std::uint8_t { kOldest, kNewest, kPriority, kDeadline };

struct SubscribeRequest {
  std::string channel;
  std::string filter;
  std::string durable;       // empty: not durable
  bool from_first = true;    // a new durable subscription starts at the first retained event
  std::uint32_t credit = 0;  // pushes allowed before the subscriber grants more (0: pull only)
  std::uint32_t max_queue = 1000;  // MaxEventsPerConsumer
  Discard discard = Discard::kOldest;
};

struct Subscribed {
  std::uint64_t subscription = 0;
  std::uint64_t resume_after = 0;  // the cursor a durable subscription resumed from
};

struct Delivery {
  std::uint64_t owner = 0;
  std::uint64_t subscription = 0;
  EventPtr event;
  std::uint64_t missed = 0;  // events dropped or trimmed before this one (a gap)
};

struct Mutation {
  enum Kind : std::uint8_t { kPutChannel, kAppend, kTrim, kPutCursor } kind;
  std::string channel;
  ChannelConfig config;   // kPutChannel
  EventPtr event;         // kAppend
  std::uint64_t seq = 0;  // kTrim: events up to seq are gone; kPutCursor: acked seq
  std::string durable;    // kPutCursor
  std::string owner;      // kPutCursor: the identity the durable subscription belongs to
};

// OMG offer_change / subscription_change: a channel gained an offered type,
// or the set of types its subscribers ask for gained or lost one.
struct TypeChange {
  enum Kind : std::uint8_t { kOffered, kSubscribed, kUnsubscribed } kind;
  std::uint64_t owner = 0;  // the connection watching
  std::string channel;
  std::string type;  // "domain/type", "*" for any
};

struct TypeSets {
  std::vector<std::string> offered;     // "domain/type" published on the channel
  std::vector<std::string> subscribed;  // "domain/type" filters ask for ("*" = any)
};

struct BrokerLimits {
  std::uint32_t max_queue = 100'000;                  // ceiling on a subscriber's max_queue
  std::uint32_t max_credit = 100'000;                 // ceiling on outstanding credit
  std::uint64_t max_queue_bytes = 64 << 20;           // one subscriber's queue
  std::uint64_t max_total_queued_bytes = 1ull << 30;  // all queues together
  std::size_t max_subscriptions_per_owner = 1024;
  std::size_t max_channels = 10'000;
  std::size_t max_offered_types = 1'000;  // per channel, for offer changes
};

inline constexpr std::uint64_t kStepsPerFilter = 1'000'000;
inline constexpr std::uint64_t kStepsPerOwnerEvent = 8'000'000;
// A pull returns events up to this many bytes (and at least one).
inline constexpr std::size_t kMaxPullBytes = 4 << 20;

// Encodes an event's PUSH body once, at publish (see Event::wire). The broker
// stays free of the wire format; rexd passes notify_wire's encoder.
using EventEncoder = std::function<std::vector<std::uint8_t>(const Event&)>;

class Broker {
 public:
  explicit Broker(EventEncoder encoder, BrokerLimits limits = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Creates a channel, accepts an identical re-creation, and gives a channel
  // so far only used (best-effort) its declared configuration. Errors:
  // kBadRequest (bad name, or created before with another configuration).
  rex::Ack CreateChannel(const std::string& name, const ChannelConfig& config);
  Result<ChannelConfig, rex::Error> DescribeChannel(const std::string& name) const;

  // Publishes; a channel used before it is created is best-effort. Returns
  // the event's sequence number. Errors: kBadRequest, kLimitExceeded (body).
  // The event is taken over in place (seq, publish time and wire encoding
  // are filled in), so a caller that decodes straight into a fresh Event
  // moves nothing.
  Result<std::uint64_t, rex::Error> Publish(std::int64_t now_ms, const std::string& channel,
                                            std::shared_ptr<Event> event);
  Result<std::uint64_t, rex::Error> Publish(std::int64_t now_ms, const std::string& channel,
                                            Event event) {
    return Publish(now_ms, channel, std::make_shared<Event>(std::move(event)));
  }

  // Errors: kIllegalConstraint (filter), kBadRequest (durable on a
  // best-effort channel, or a durable name already attached), kLimitExceeded.
  // A new durable subscription belongs to `identity` (an identity's name;
  // empty without identities). Who may attach to an existing one is the
  // caller's decision (DurableOwner), made before.
  Result<Subscribed, rex::Error> Subscribe(std::int64_t now_ms, std::uint64_t owner,
                                           const SubscribeRequest& r,
                                           const std::string& identity = {});
  // The identity a durable subscription belongs to, or nullopt if it does
  // not exist yet ("" if it was made before identities).
  std::optional<std::string> DurableOwner(const std::string& channel,
                                          const std::string& durable) const;
  // Cumulative: everything up to `seq` is done. For durable subscriptions
  // this moves the cursor (journalled); for others it is accepted and ignored.
  rex::Ack AckUpTo(std::uint64_t owner, std::uint64_t subscription, std::uint64_t seq);
  rex::Ack GrantCredit(std::int64_t now_ms, std::uint64_t owner, std::uint64_t subscription,
                       std::uint32_t n);
  // Pull mode: up to `max` events now, and past the first at most
  // kMaxPullBytes of them (they count against no credit).
  Result<std::vector<Delivery>, rex::Error> Pull(std::int64_t now_ms, std::uint64_t owner,
                                                 std::uint64_t subscription, std::uint32_t max);
  rex::Ack Unsubscribe(std::uint64_t owner, std::uint64_t subscription);
  void DropOwner(std::uint64_t owner);
  // The owner's identity changed (rexd reloaded its auth file): its
  // subscriptions that `may_hold` refuses (durable "" for plain ones), and
  // its type watches on channels `may_watch_types` refuses, end now. A
  // durable subscription keeps its cursor and events, so its real owner
  // resumes with nothing lost.
  using HoldFilter = std::function<bool(const std::string& channel, const std::string& durable)>;
  using ChannelFilter = std::function<bool(const std::string& channel)>;
  void Reauthorize(std::uint64_t owner, const HoldFilter& may_hold,
                   const ChannelFilter& may_watch_types);

  Result<TypeSets, rex::Error> Types(const std::string& channel) const;
  // Types() now, then a TypeChange whenever either set changes, until the
  // owner is dropped. Errors: kBadRequest (bad channel name).
  Result<TypeSets, rex::Error> WatchTypes(std::uint64_t owner, const std::string& channel);

  // Age-based retention and event expiry, and durable subscriptions that ran
  // out of filter steps catching up.
  void Tick(std::int64_t now_ms);
  std::int64_t NextDeadline() const;

  std::vector<Mutation> TakeMutations();
  std::vector<Delivery> TakeDeliveries();
  std::vector<TypeChange> TakeTypeChanges();

  // The next sequence number of a channel (1 if it does not exist).
  std::uint64_t next_seq(const std::string& channel) const;

  // Start-up: channels first, then their events in order, then cursors.
  // `next_seq` keeps sequence numbers rising even when every event was trimmed.
  void RestoreChannel(const std::string& name, const ChannelConfig& config, std::uint64_t next_seq);
  void RestoreEvent(const std::string& channel, EventPtr event);
  void RestoreCursor(const std::string& channel, const std::string& durable, std::uint64_t acked,
                     const std::string& owner = {});

  // Counters for tests and operators.
  std::uint64_t dropped() const { return dropped_; }
  // Filter evaluation steps spent so far: the caller's measure of work.
  std::uint64_t work() const { return work_; }
  std::size_t queued_events() const;

 private:
  struct Channel;
  struct Subscription;
  // What an owner's subscriptions share: their count, and this event's steps.
  struct Owner {
    std::size_t subscriptions = 0;
    std::uint64_t event = 0;  // the routing the steps below belong to
    std::uint64_t steps_left = 0;
  };
  Channel& ChannelFor(const std::string& name);
  void Declare(Channel& ch, const ChannelConfig& config);
  void Route(std::int64_t now_ms, Channel& ch, const EventPtr& e);
  EventPtr Finish(std::shared_ptr<Event> e) const;
  void Enqueue(Subscription& s, const EventPtr& e);
  void Queue(Subscription& s, EventPtr e);
  EventPtr Unqueue(Subscription& s, std::deque<EventPtr>::iterator it);
  void Pump(std::int64_t now_ms, Subscription& s, std::uint32_t budget, std::vector<Delivery>& out,
            std::size_t max_bytes = SIZE_MAX);
  // Decides whether s takes e, within its filter's and its owner's steps.
  Filter::Verdict Decide(Subscription& s, const Event& e, tcl::Budget& owner_budget);
  void Trim(Channel& ch, std::int64_t now_ms);
  void Index(Subscription& s, bool add);
  // Records that e's domain/type is offered on ch, telling watchers if new.
  void Offered(Channel& ch, const Event& e);
  void TypesChanged(Channel& ch, TypeChange::Kind kind, const std::string& type);

  EventEncoder encoder_;
  BrokerLimits limits_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  // Channels with age retention: rexd ticks every loop turn, so Tick and
  // NextDeadline look at these, not at every channel.
  std::set<Channel*> aged_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Subscription>> subs_;
  std::unordered_map<std::uint64_t, Owner> owners_;  // node-based: pointers stay valid
  std::set<Subscription*> behind_;  // durable, with credit, stopped by the step bound
  std::uint64_t routed_ = 0;        // events routed so far
  std::uint64_t next_sub_ = 1;
  std::vector<Mutation> mutations_;
  std::vector<Delivery> deliveries_;
  std::vector<TypeChange> type_changes_;
  std::uint64_t dropped_ = 0;
  std::uint64_t queued_bytes_ = 0;  // over all plain subscriptions' queues
  std::uint64_t work_ = 0;
};

// "oldest", "newest", "priority", "deadline".
std::optional<Discard> ParseDiscard(const std::string& name);

}  // namespace ardus::notify
