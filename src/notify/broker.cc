#include "notify/broker.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "tcl/name.h"

namespace ardus::notify {

using rex::Code;

namespace {

constexpr std::size_t kMaxFields = 256;

bool Expired(const Event& e, std::int64_t now_ms) {
  return e.expires_ms != 0 && e.expires_ms <= now_ms;
}

}  // namespace

std::optional<Discard> ParseDiscard(const std::string& name) {
  if (name == "oldest" || name.empty()) return Discard::kOldest;
  if (name == "newest") return Discard::kNewest;
  if (name == "priority") return Discard::kPriority;
  if (name == "deadline") return Discard::kDeadline;
  return std::nullopt;
}

struct Broker::Subscription {
  std::uint64_t id = 0, owner = 0;
  Channel* channel = nullptr;
  std::shared_ptr<const Filter> filter;
  std::string durable;
  std::uint32_t credit = 0, max_queue = 0;
  Discard discard = Discard::kOldest;
  std::deque<EventPtr> queue;  // plain subscriptions
  std::uint64_t queue_bytes = 0;
  std::uint64_t missed = 0;    // reported with the next delivery
  std::uint64_t next_seq = 0;  // durable: the next log entry to examine
  Owner* owner_state = nullptr;
};

struct Broker::Channel {
  std::string name;
  ChannelConfig config;
  bool declared = false;     // created explicitly; otherwise best-effort by first use
  std::deque<EventPtr> log;  // retained events, ascending seq
  std::uint64_t log_bytes = 0;
  std::uint64_t next_seq = 1;
  // Plain subscriptions routed by the header equalities in their filters.
  std::map<std::pair<std::string, std::string>, std::set<Subscription*>> by_domain_type;
  std::map<std::string, std::set<Subscription*>> by_domain, by_type;
  std::set<Subscription*> any;
  std::set<Subscription*> durable_subs;
  std::map<std::string, std::uint64_t> cursors;       // durable name -> last acked seq
  std::map<std::string, std::string> durable_owners;  // durable name -> identity (if any)
  std::map<std::string, std::uint64_t> attached;      // durable name -> subscription id
  std::set<std::string> offered;
  std::optional<std::pair<std::string, std::string>> last_offered;  // domain, type
  std::map<std::string, std::size_t> wanted;  // "domain/type" -> subscriptions asking
  std::set<std::uint64_t> type_watchers;      // owners told of changes
};

Broker::Broker(EventEncoder encoder, BrokerLimits limits)
    : encoder_(std::move(encoder)), limits_(limits) {}
Broker::~Broker() = default;

Broker::Channel& Broker::ChannelFor(const std::string& name) {
  auto it = channels_.find(name);
  if (it != channels_.end()) return *it->second;
  auto ch = std::make_unique<Channel>();
  ch->name = name;
  return *channels_.emplace(name, std::move(ch)).first->second;
}

rex::Ack Broker::CreateChannel(const std::string& name, const ChannelConfig& config) {
  if (!tcl::ValidName(name)) {
    return rex::Fail(Code::kBadRequest, fmt::format("'{}' is not a valid channel name", name));
  }
  auto it = channels_.find(name);
  if (it != channels_.end() && it->second->declared) {
    if (it->second->config == config) return rex::Ok();
    return rex::Fail(Code::kBadRequest,
                     fmt::format("channel '{}' exists with another configuration", name));
  }
  if (it == channels_.end() && channels_.size() >= limits_.max_channels) {
    return rex::Fail(Code::kLimitExceeded, fmt::format("over {} channels", limits_.max_channels));
  }
  // A channel so far only used (best-effort) takes the declared configuration.
  Declare(ChannelFor(name), config);
  mutations_.push_back({Mutation::kPutChannel, name, config});
  return rex::Ok();
}

void Broker::Declare(Channel& ch, const ChannelConfig& config) {
  ch.config = config;
  ch.declared = true;
  // Only persistent channels have a log for age retention to trim.
  if (config.persistent && config.retain_age_ms > 0) aged_.insert(&ch);
}

Result<ChannelConfig, rex::Error> Broker::DescribeChannel(const std::string& name) const {
  auto it = channels_.find(name);
  if (it == channels_.end()) {
    return rex::Fail(Code::kBadRequest, fmt::format("no channel '{}'", name));
  }
  return it->second->config;
}

EventPtr Broker::Finish(std::shared_ptr<Event> e) const {
  e->domain_value = e->domain;
  e->type_value = e->type;
  e->name_value = e->name;
  e->priority_value = std::int64_t{e->priority};
  e->wire = encoder_(*e);
  return e;
}

Result<std::uint64_t, rex::Error> Broker::Publish(std::int64_t now_ms, const std::string& channel,
                                                  std::shared_ptr<Event> event) {
  if (!tcl::ValidName(channel)) {
    return rex::Fail(Code::kBadRequest, fmt::format("'{}' is not a valid channel name", channel));
  }
  if (event->body.size() > kMaxBodyBytes) {
    return rex::Fail(Code::kLimitExceeded, fmt::format("the body is {} bytes; the limit is {}",
                                                       event->body.size(), kMaxBodyBytes));
  }
  if (event->fields.size() + event->unions.size() > kMaxFields) {
    return rex::Fail(Code::kLimitExceeded, fmt::format("over {} fields", kMaxFields));
  }
  if (!channels_.count(channel) && channels_.size() >= limits_.max_channels) {
    return rex::Fail(Code::kLimitExceeded, fmt::format("over {} channels", limits_.max_channels));
  }
  Channel& ch = ChannelFor(channel);
  event->seq = ch.next_seq++;
  event->published_ms = now_ms;
  EventPtr e = Finish(std::move(event));
  Offered(ch, *e);
  // Only persistent channels keep a log: it serves durable subscriptions,
  // which best-effort channels do not have.
  if (ch.config.persistent) {
    ch.log.push_back(e);
    ch.log_bytes += e->bytes();
    mutations_.push_back({Mutation::kAppend, channel, {}, e});
  }
  Route(now_ms, ch, e);
  Trim(ch, now_ms);
  return e->seq;
}

Filter::Verdict Broker::Decide(Subscription& s, const Event& e, tcl::Budget& owner_budget) {
  tcl::Budget budget{std::min(kStepsPerFilter, owner_budget.remaining)};
  std::uint64_t start = budget.remaining;
  Filter::Verdict v = s.filter->Evaluate(e, budget);
  owner_budget.remaining -= start - budget.remaining;
  work_ += start - budget.remaining;
  return v;
}

void Broker::Route(std::int64_t now_ms, Channel& ch, const EventPtr& e) {
  ++routed_;
  auto offer = [&](const std::set<Subscription*>& subs) {
    for (Subscription* s : subs) {
      Owner& o = *s->owner_state;
      if (o.event != routed_) {
        o.event = routed_;
        o.steps_left = kStepsPerOwnerEvent;
      }
      tcl::Budget owner_budget{o.steps_left};
      Filter::Verdict v = Decide(*s, *e, owner_budget);
      o.steps_left = owner_budget.remaining;
      if (v == Filter::Verdict::kYes) {
        Enqueue(*s, e);
      } else if (v == Filter::Verdict::kOverBudget) {  // undecided: the subscriber hears of a gap
        ++s->missed;
        ++dropped_;
      }
    }
  };
  if (!ch.by_domain_type.empty()) {
    auto it = ch.by_domain_type.find({e->domain, e->type});
    if (it != ch.by_domain_type.end()) offer(it->second);
  }
  if (auto it = ch.by_domain.find(e->domain); it != ch.by_domain.end()) offer(it->second);
  if (auto it = ch.by_type.find(e->type); it != ch.by_type.end()) offer(it->second);
  offer(ch.any);
  for (Subscription* s : ch.durable_subs) {
    if (s->credit) Pump(now_ms, *s, s->credit, deliveries_);
  }
}

void Broker::Queue(Subscription& s, EventPtr e) {
  s.queue_bytes += e->bytes();
  queued_bytes_ += e->bytes();
  s.queue.push_back(std::move(e));
}

EventPtr Broker::Unqueue(Subscription& s, std::deque<EventPtr>::iterator it) {
  EventPtr e = std::move(*it);
  s.queue.erase(it);
  s.queue_bytes -= e->bytes();
  queued_bytes_ -= e->bytes();
  return e;
}

void Broker::Enqueue(Subscription& s, const EventPtr& e) {
  bool full = s.queue.size() >= s.max_queue || s.queue_bytes + e->bytes() > limits_.max_queue_bytes;
  if (!full) {
    Queue(s, e);
  } else {
    ++s.missed;
    ++dropped_;
    auto victim = s.queue.begin();
    switch (s.discard) {
      case Discard::kOldest:
        break;
      case Discard::kNewest:
        victim = s.queue.end();  // drop the arriving event
        break;
      case Discard::kPriority:
        victim = std::min_element(s.queue.begin(), s.queue.end(), [](const auto& a, const auto& b) {
          return a->priority < b->priority;
        });
        if (victim != s.queue.end() && (*victim)->priority >= e->priority) victim = s.queue.end();
        break;
      case Discard::kDeadline: {
        auto deadline = [](const EventPtr& x) {
          return x->expires_ms ? x->expires_ms : std::numeric_limits<std::int64_t>::max();
        };
        victim = std::min_element(
            s.queue.begin(), s.queue.end(),
            [&](const auto& a, const auto& b) { return deadline(a) < deadline(b); });
        if (victim != s.queue.end() && deadline(*victim) > deadline(e)) victim = s.queue.end();
        break;
      }
    }
    if (victim != s.queue.end()) {
      Unqueue(s, victim);
      if (s.queue_bytes + e->bytes() <= limits_.max_queue_bytes) Queue(s, e);
    }
  }
  // Past the broker-wide bound, the oldest queued event of this subscriber goes.
  while (queued_bytes_ > limits_.max_total_queued_bytes && !s.queue.empty()) {
    Unqueue(s, s.queue.begin());
    ++s.missed;
    ++dropped_;
  }
  if (s.credit) Pump(e->published_ms, s, s.credit, deliveries_);
}

void Broker::Pump(std::int64_t now_ms, Subscription& s, std::uint32_t budget,
                  std::vector<Delivery>& out, std::size_t max_bytes) {
  bool push = &out == &deliveries_;
  std::uint32_t sent = 0;
  std::size_t bytes = 0;
  auto room = [&] { return sent < budget && (sent == 0 || bytes < max_bytes); };
  if (s.durable.empty()) {
    while (room() && !s.queue.empty()) {
      EventPtr e = Unqueue(s, s.queue.begin());
      if (Expired(*e, now_ms)) continue;
      bytes += e->wire.size();
      out.push_back({s.owner, s.id, std::move(e), std::exchange(s.missed, 0)});
      ++sent;
    }
  } else {
    Channel& ch = *s.channel;
    tcl::Budget steps{kStepsPerOwnerEvent};
    bool stalled = false;  // out of steps, with log entries left to examine
    while (room() && s.next_seq < ch.next_seq) {
      std::uint64_t first = ch.log.empty() ? ch.next_seq : ch.log.front()->seq;
      if (s.next_seq < first) {  // retention removed events before they were acked
        s.missed += first - s.next_seq;
        s.next_seq = first;
        continue;
      }
      const EventPtr& e = ch.log[s.next_seq - first];
      Filter::Verdict v = Filter::Verdict::kNo;
      if (!Expired(*e, now_ms)) {
        bool owner_bound = steps.remaining < kStepsPerFilter;
        v = Decide(s, *e, steps);
        if (v == Filter::Verdict::kOverBudget && owner_bound) {
          stalled = true;  // this entry again, with fresh steps
          break;
        }
      }
      ++s.next_seq;
      if (v == Filter::Verdict::kOverBudget) ++s.missed;  // the filter alone is over its bound
      if (v != Filter::Verdict::kYes) continue;
      bytes += e->wire.size();
      out.push_back({s.owner, s.id, e, std::exchange(s.missed, 0)});
      ++sent;
    }
    if (push && stalled && sent < budget) {
      behind_.insert(&s);
    } else if (push) {
      behind_.erase(&s);
    }
  }
  if (push) s.credit -= sent;
}

void Broker::Index(Subscription& s, bool add) {
  Channel& ch = *s.channel;
  std::set<Subscription*>* bucket;
  if (!s.durable.empty()) {
    bucket = &ch.durable_subs;
  } else if (s.filter->domain() && s.filter->type()) {
    bucket = &ch.by_domain_type[{*s.filter->domain(), *s.filter->type()}];
  } else if (s.filter->domain()) {
    bucket = &ch.by_domain[*s.filter->domain()];
  } else if (s.filter->type()) {
    bucket = &ch.by_type[*s.filter->type()];
  } else {
    bucket = &ch.any;
  }
  std::string wanted = s.filter->domain().value_or("*") + "/" + s.filter->type().value_or("*");
  if (add) {
    bucket->insert(&s);
    if (++ch.wanted[wanted] == 1) TypesChanged(ch, TypeChange::kSubscribed, wanted);
  } else {
    bucket->erase(&s);
    if (--ch.wanted[wanted] == 0) {
      ch.wanted.erase(wanted);
      TypesChanged(ch, TypeChange::kUnsubscribed, wanted);
    }
  }
}

void Broker::Offered(Channel& ch, const Event& e) {
  // Publishers mostly repeat one type; only a new one needs the set.
  bool same =
      ch.last_offered && ch.last_offered->first == e.domain && ch.last_offered->second == e.type;
  if (same || ch.offered.size() >= limits_.max_offered_types) return;
  ch.last_offered.emplace(e.domain, e.type);
  std::string type = e.domain + "/" + e.type;
  if (ch.offered.insert(type).second) TypesChanged(ch, TypeChange::kOffered, type);
}

void Broker::TypesChanged(Channel& ch, TypeChange::Kind kind, const std::string& type) {
  for (std::uint64_t owner : ch.type_watchers)
    type_changes_.push_back({kind, owner, ch.name, type});
}

Result<Subscribed, rex::Error> Broker::Subscribe(std::int64_t now_ms, std::uint64_t owner,
                                                 const SubscribeRequest& r,
                                                 const std::string& identity) {
  if (!tcl::ValidName(r.channel)) {
    return rex::Fail(Code::kBadRequest, fmt::format("'{}' is not a valid channel name", r.channel));
  }
  auto filter = Filter::Compile(r.filter);
  if (!filter.ok()) {
    return rex::Fail(filter.status().kind() == ErrorKind::kLimitExceeded ? Code::kLimitExceeded
                                                                         : Code::kIllegalConstraint,
                     filter.status().message());
  }
  auto known = owners_.find(owner);
  std::size_t mine = known == owners_.end() ? 0 : known->second.subscriptions;
  if (mine >= limits_.max_subscriptions_per_owner) {
    return rex::Fail(Code::kLimitExceeded,
                     fmt::format("{} subscriptions are open on this connection", mine));
  }
  if (!channels_.count(r.channel) && channels_.size() >= limits_.max_channels) {
    return rex::Fail(Code::kLimitExceeded, fmt::format("over {} channels", limits_.max_channels));
  }
  Channel& ch = ChannelFor(r.channel);
  auto s = std::make_unique<Subscription>();
  s->id = next_sub_++;
  s->owner = owner;
  s->channel = &ch;
  s->filter = std::move(filter).value();
  s->durable = r.durable;
  s->credit = std::min(r.credit, limits_.max_credit);
  s->max_queue = std::clamp<std::uint32_t>(r.max_queue, 1, limits_.max_queue);
  s->discard = r.discard;
  Subscribed result{s->id, 0};
  if (!r.durable.empty()) {
    if (!ch.config.persistent) {
      return rex::Fail(Code::kBadRequest,
                       fmt::format("durable subscriptions need a persistent channel; create "
                                   "'{}' with --persistent first",
                                   r.channel));
    }
    if (ch.attached.count(r.durable)) {
      return rex::Fail(
          Code::kBadRequest,
          fmt::format("durable subscription '{}' is attached to another connection", r.durable));
    }
    auto cursor = ch.cursors.find(r.durable);
    if (cursor == ch.cursors.end()) {
      std::uint64_t first = ch.log.empty() ? ch.next_seq : ch.log.front()->seq;
      std::uint64_t start = r.from_first ? first - 1 : ch.next_seq - 1;
      cursor = ch.cursors.emplace(r.durable, start).first;
      if (!identity.empty()) ch.durable_owners[r.durable] = identity;
      mutations_.push_back(
          {Mutation::kPutCursor, r.channel, {}, nullptr, start, r.durable, identity});
    }
    result.resume_after = cursor->second;
    s->next_seq = cursor->second + 1;
    ch.attached[r.durable] = s->id;
  }
  Owner& o = owners_[owner];
  ++o.subscriptions;
  s->owner_state = &o;
  Subscription& ref = *s;
  subs_.emplace(s->id, std::move(s));
  Index(ref, true);
  if (ref.credit) Pump(now_ms, ref, ref.credit, deliveries_);
  return result;
}

namespace {

template <typename Map>
auto* FindOwned(Map& subs, std::uint64_t owner, std::uint64_t id) {
  auto it = subs.find(id);
  return it == subs.end() || it->second->owner != owner ? nullptr : it->second.get();
}

rex::Error NoSubscription(std::uint64_t id) {
  return rex::Fail(Code::kUnknownWatch, fmt::format("no subscription {} on this connection", id));
}

}  // namespace

rex::Ack Broker::AckUpTo(std::uint64_t owner, std::uint64_t subscription, std::uint64_t seq) {
  Subscription* s = FindOwned(subs_, owner, subscription);
  if (!s) return NoSubscription(subscription);
  if (s->durable.empty()) return rex::Ok();
  std::uint64_t& cursor = s->channel->cursors[s->durable];
  std::uint64_t acked = std::min(seq, s->next_seq - 1);  // cannot ack what was not delivered
  if (acked > cursor) {
    cursor = acked;
    auto owned = s->channel->durable_owners.find(s->durable);
    mutations_.push_back({Mutation::kPutCursor,
                          s->channel->name,
                          {},
                          nullptr,
                          acked,
                          s->durable,
                          owned == s->channel->durable_owners.end() ? "" : owned->second});
  }
  return rex::Ok();
}

rex::Ack Broker::GrantCredit(std::int64_t now_ms, std::uint64_t owner, std::uint64_t subscription,
                             std::uint32_t n) {
  Subscription* s = FindOwned(subs_, owner, subscription);
  if (!s) return NoSubscription(subscription);
  s->credit = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(std::uint64_t{s->credit} + n, limits_.max_credit));
  Pump(now_ms, *s, s->credit, deliveries_);
  return rex::Ok();
}

Result<std::vector<Delivery>, rex::Error> Broker::Pull(std::int64_t now_ms, std::uint64_t owner,
                                                       std::uint64_t subscription,
                                                       std::uint32_t max) {
  Subscription* s = FindOwned(subs_, owner, subscription);
  if (!s) return NoSubscription(subscription);
  std::vector<Delivery> out;
  Pump(now_ms, *s, std::min(max, limits_.max_credit), out, kMaxPullBytes);
  return out;
}

rex::Ack Broker::Unsubscribe(std::uint64_t owner, std::uint64_t subscription) {
  Subscription* s = FindOwned(subs_, owner, subscription);
  if (!s) return NoSubscription(subscription);
  Index(*s, false);
  queued_bytes_ -= s->queue_bytes;
  if (!s->durable.empty()) s->channel->attached.erase(s->durable);
  behind_.erase(s);
  if (--s->owner_state->subscriptions == 0) owners_.erase(owner);
  subs_.erase(subscription);
  return rex::Ok();
}

std::optional<std::string> Broker::DurableOwner(const std::string& channel,
                                                const std::string& durable) const {
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->cursors.count(durable)) return std::nullopt;
  auto owned = ch->second->durable_owners.find(durable);
  return owned == ch->second->durable_owners.end() ? "" : owned->second;
}

void Broker::Reauthorize(std::uint64_t owner, const HoldFilter& may_hold,
                         const ChannelFilter& may_watch_types) {
  std::vector<std::uint64_t> lost;
  for (const auto& [id, s] : subs_) {
    if (s->owner == owner && !may_hold(s->channel->name, s->durable)) lost.push_back(id);
  }
  for (std::uint64_t id : lost) (void)Unsubscribe(owner, id);  // each is found: it is ours
  for (auto& [name, ch] : channels_) {
    if (!may_watch_types(name)) ch->type_watchers.erase(owner);
  }
}

void Broker::DropOwner(std::uint64_t owner) {
  std::vector<std::uint64_t> mine;
  for (const auto& [id, s] : subs_) {
    if (s->owner == owner) mine.push_back(id);
  }
  for (auto id : mine) (void)Unsubscribe(owner, id);
  for (auto& [name, ch] : channels_) ch->type_watchers.erase(owner);
}

Result<TypeSets, rex::Error> Broker::Types(const std::string& channel) const {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    return rex::Fail(Code::kBadRequest, fmt::format("no channel '{}'", channel));
  }
  TypeSets t;
  t.offered.assign(it->second->offered.begin(), it->second->offered.end());
  for (const auto& [type, n] : it->second->wanted) t.subscribed.push_back(type);
  return t;
}

Result<TypeSets, rex::Error> Broker::WatchTypes(std::uint64_t owner, const std::string& channel) {
  if (!tcl::ValidName(channel)) {
    return rex::Fail(Code::kBadRequest, fmt::format("'{}' is not a valid channel name", channel));
  }
  ChannelFor(channel).type_watchers.insert(owner);
  return Types(channel);
}

void Broker::Trim(Channel& ch, std::int64_t now_ms) {
  std::uint64_t trimmed = 0;
  auto over = [&] {
    const EventPtr& front = ch.log.front();
    return ch.log.size() > ch.config.retain_count || ch.log_bytes > ch.config.retain_bytes ||
           (ch.config.retain_age_ms > 0 && front->published_ms + ch.config.retain_age_ms <= now_ms);
  };
  while (!ch.log.empty() && over()) {
    trimmed = ch.log.front()->seq;
    ch.log_bytes -= ch.log.front()->bytes();
    ch.log.pop_front();
  }
  if (trimmed && ch.config.persistent) {
    mutations_.push_back({Mutation::kTrim, ch.name, {}, nullptr, trimmed});
  }
}

void Broker::Tick(std::int64_t now_ms) {
  for (Channel* ch : aged_) Trim(*ch, now_ms);
  for (Subscription* s : std::exchange(behind_, {})) {
    if (s->credit) Pump(now_ms, *s, s->credit, deliveries_);
  }
}

std::int64_t Broker::NextDeadline() const {
  if (!behind_.empty()) return 0;  // catching up: work to do now
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const Channel* ch : aged_) {
    if (!ch->log.empty()) {
      next = std::min(next, ch->log.front()->published_ms + ch->config.retain_age_ms);
    }
  }
  return next;
}

std::vector<Mutation> Broker::TakeMutations() { return std::exchange(mutations_, {}); }
std::vector<Delivery> Broker::TakeDeliveries() { return std::exchange(deliveries_, {}); }
std::vector<TypeChange> Broker::TakeTypeChanges() { return std::exchange(type_changes_, {}); }

std::size_t Broker::queued_events() const {
  std::size_t n = 0;
  for (const auto& [id, s] : subs_) n += s->queue.size();
  return n;
}

void Broker::RestoreChannel(const std::string& name, const ChannelConfig& config,
                            std::uint64_t next_seq) {
  Channel& ch = ChannelFor(name);
  Declare(ch, config);
  ch.next_seq = std::max(ch.next_seq, next_seq);
}

std::uint64_t Broker::next_seq(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 1 : it->second->next_seq;
}

void Broker::RestoreEvent(const std::string& channel, EventPtr event) {
  Channel& ch = ChannelFor(channel);
  EventPtr e = Finish(std::make_shared<Event>(*event));
  ch.next_seq = std::max(ch.next_seq, e->seq + 1);
  ch.log_bytes += e->bytes();
  Offered(ch, *e);  // no watchers yet: nobody is told
  ch.log.push_back(std::move(e));
}

void Broker::RestoreCursor(const std::string& channel, const std::string& durable,
                           std::uint64_t acked, const std::string& owner) {
  Channel& ch = ChannelFor(channel);
  ch.cursors[durable] = acked;
  if (!owner.empty()) ch.durable_owners[durable] = owner;
  ch.next_seq = std::max(ch.next_seq, acked + 1);
}

}  // namespace ardus::notify
