#include "services/notify_service.h"

#include <fmt/core.h>

#include "notify/notify_requests.h"
#include "rex/body.h"
#include "services/method_handler.h"

namespace ardus::services {

using auth::Permission;
using notify::Method;

namespace {

// What a method handler sees of one request.
struct Call {
  notify::Broker& broker;
  std::int64_t now_ms;
  const Caller& caller;
  const rex::BodyReader& body;
  std::uint64_t owner() const { return caller.owner; }
};

// Reading a channel's configuration and types is for its subscribers and
// its publishers (OMG's subscription_change is for suppliers).
bool MayRead(const auth::Identity& who, const std::string& channel) {
  return who.Check(Permission::kSubscribe, channel).ok() ||
         who.Check(Permission::kPublish, channel).ok();
}

std::optional<rex::Error> RefuseReader(const Call& c, const std::string& channel) {
  if (MayRead(*c.caller.identity, channel)) return std::nullopt;
  return Refuse(c.caller, Permission::kSubscribe, channel);
}

// A subscription needs notify.subscribe on its channel; a durable one also
// notify.durable on its name, and, if it exists, to belong to the caller.
std::optional<rex::Error> RefuseSubscribe(const Call& c, const notify::SubscribeRequest& r) {
  if (auto no = Refuse(c.caller, Permission::kSubscribe, r.channel)) return no;
  if (r.durable.empty()) return std::nullopt;
  if (auto no = Refuse(c.caller, Permission::kDurable, r.durable)) return no;
  auto owner = c.broker.DurableOwner(r.channel, r.durable);
  if (!owner) return std::nullopt;
  return RefuseUnlessOwner(
      c.caller, *owner,
      fmt::format("durable subscription '{}' on channel '{}'", r.durable, r.channel));
}

// An event's relative timeout as the broker's absolute deadline.
void SetExpiry(std::int64_t now_ms, notify::PublishedEvent& p) {
  if (p.timeout_ms) {
    p.event->expires_ms =
        now_ms + static_cast<std::int64_t>(std::min<std::uint64_t>(p.timeout_ms, 1ull << 40));
  }
}

Reply CreateChannel(const Call& c) {
  return With(c, notify::DecodeCreateChannelRequest,
              [&](const notify::CreateChannelRequest& r) -> Reply {
                if (auto no = Refuse(c.caller, Permission::kCreateChannel, r.channel)) return *no;
                return Acknowledge(c.broker.CreateChannel(r.channel, r.config()));
              });
}

Reply DescribeChannel(const Call& c) {
  return With(c, notify::DecodeChannelRequest, [&](const notify::ChannelRequest& r) -> Reply {
    if (auto no = RefuseReader(c, r.channel)) return *no;
    auto config = c.broker.DescribeChannel(r.channel);
    if (!config.ok()) return config.error();
    return rex::EncodeBody(
        notify::ChannelDescription{config.value(), c.broker.next_seq(r.channel)});
  });
}

Reply Publish(const Call& c) {
  return With(c, notify::DecodePublishRequest, [&](notify::PublishRequest& r) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kPublish, r.channel)) return *no;
    SetExpiry(c.now_ms, r.event);
    auto seq = c.broker.Publish(c.now_ms, r.channel, std::move(r.event.event));
    if (!seq.ok()) return seq.error();
    return rex::EncodeBody(notify::PublishReply{seq.value()});
  });
}

// Many events in one request, all decoded before any is published.
Reply PublishBatch(const Call& c) {
  return With(c, notify::DecodePublishBatchRequest, [&](notify::PublishBatchRequest& r) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kPublish, r.channel)) return *no;
    std::uint64_t first = 0;
    for (auto& e : r.events) {
      SetExpiry(c.now_ms, e);
      auto seq = c.broker.Publish(c.now_ms, r.channel, std::move(e.event));
      if (!seq.ok()) return seq.error();
      if (!first) first = seq.value();
    }
    return rex::EncodeBody(notify::PublishBatchReply{first, r.events.size()});
  });
}

Reply Subscribe(const Call& c) {
  return With(c, notify::DecodeSubscribeRequest, [&](const notify::SubscribeRequest& r) -> Reply {
    if (auto no = RefuseSubscribe(c, r)) return *no;
    return Answer(c.broker.Subscribe(c.now_ms, c.owner(), r, c.caller.identity->name()));
  });
}

Reply Ack(const Call& c) {
  return With(c, notify::DecodeAckRequest, [&](const notify::AckRequest& r) {
    return Acknowledge(c.broker.AckUpTo(c.owner(), r.subscription, r.seq));
  });
}

Reply Credit(const Call& c) {
  return With(c, notify::DecodeCreditRequest, [&](const notify::CreditRequest& r) {
    return Acknowledge(c.broker.GrantCredit(c.now_ms, c.owner(), r.subscription, r.n));
  });
}

Reply Pull(const Call& c) {
  return With(c, notify::DecodePullRequest, [&](const notify::PullRequest& r) -> Reply {
    auto deliveries = c.broker.Pull(c.now_ms, c.owner(), r.subscription, r.max);
    if (!deliveries.ok()) return deliveries.error();
    rex::BodyWriter w;
    notify::EncodePullReply(w, deliveries.value());
    return w.Copy();
  });
}

Reply Unsubscribe(const Call& c) {
  return With(c, notify::DecodeUnsubscribeRequest, [&](const notify::UnsubscribeRequest& r) {
    return Acknowledge(c.broker.Unsubscribe(c.owner(), r.subscription));
  });
}

Reply Types(const Call& c) {
  return With(c, notify::DecodeChannelRequest, [&](const notify::ChannelRequest& r) -> Reply {
    if (auto no = RefuseReader(c, r.channel)) return *no;
    return Answer(c.broker.Types(r.channel));
  });
}

Reply WatchTypes(const Call& c) {
  return With(c, notify::DecodeChannelRequest, [&](const notify::ChannelRequest& r) -> Reply {
    if (auto no = RefuseReader(c, r.channel)) return *no;
    return Answer(c.broker.WatchTypes(c.owner(), r.channel));
  });
}

struct MethodEntry {
  Method method;
  Reply (*serve)(const Call&);
};

constexpr MethodEntry kMethods[] = {
    {Method::kCreateChannel, CreateChannel},
    {Method::kDescribeChannel, DescribeChannel},
    {Method::kPublish, Publish},
    {Method::kPublishBatch, PublishBatch},
    {Method::kSubscribe, Subscribe},
    {Method::kAck, Ack},
    {Method::kCredit, Credit},
    {Method::kPull, Pull},
    {Method::kUnsubscribe, Unsubscribe},
    {Method::kTypes, Types},
    {Method::kWatchTypes, WatchTypes},
};

Reply Dispatch(std::uint16_t method, const Call& c) {
  for (const auto& m : kMethods) {
    if (static_cast<std::uint16_t>(m.method) == method) return m.serve(c);
  }
  return rex::Fail(rex::Code::kUnknownMethod,
                   fmt::format("method {} is not a Notify method", method));
}

}  // namespace

Handled NotifyService::Handle(std::int64_t now_ms, const Caller& caller, const rex::Frame& req) {
  std::uint64_t before = broker_.work();
  auto parsed = rex::BodyReader::ParseInPlace(req.body);  // req outlives every use
  // One named result, built in place: the reply is not moved on its way out.
  Handled out{parsed.ok() ? Dispatch(req.method, Call{broker_, now_ms, caller, parsed.value()})
                          : Reply(parsed.error())};
  out.work = broker_.work() - before;
  return out;
}

void NotifyService::Reauthorize(const Caller& caller) {
  if (caller.identity->admin()) return;
  const auth::Identity& who = *caller.identity;
  broker_.Reauthorize(
      caller.owner,
      [&](const std::string& channel, const std::string& durable) {
        return who.Check(Permission::kSubscribe, channel).ok() &&
               (durable.empty() || who.Check(Permission::kDurable, durable).ok());
      },
      [&](const std::string& channel) { return MayRead(who, channel); });
}

Status NotifyService::Commit() {
  (void)broker_.TakeMutations();
  return Status::Ok();
}

void NotifyService::TakePushes(PushSink& sink) {
  for (const auto& d : broker_.TakeDeliveries()) {
    auto id = static_cast<std::uint32_t>(d.subscription);
    if (d.missed) {
      rex::BodyWriter w;
      notify::Encode(w, notify::GapPush{d.missed});
      sink.Push(d.owner, static_cast<std::uint16_t>(Method::kGap), id, w.bytes());
    }
    sink.Push(d.owner, static_cast<std::uint16_t>(Method::kEvent), id, d.event->wire);
  }
  for (const auto& c : broker_.TakeTypeChanges()) {
    rex::BodyWriter w;
    notify::Encode(w, c);
    sink.Push(c.owner, static_cast<std::uint16_t>(Method::kTypeChange), 0, w.bytes());
  }
}

}  // namespace ardus::services
