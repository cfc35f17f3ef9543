// NotifyService through the one service interface: requests in as frames,
// replies and pushes (events, gaps, type changes) out, as rexd drives it.
#include "services/notify_service.h"

#include <gtest/gtest.h>

#include <limits>

#include "notify/notify_requests.h"
#include "support/service_harness.h"

namespace ardus::notify {
namespace {

using rex::Code;
using testing::ReplyBody;

constexpr Code kAccepted = static_cast<Code>(0);  // ErrorOf a request that succeeded

constexpr std::uint16_t M(Method m) { return static_cast<std::uint16_t>(m); }

class NotifyServiceTest : public ::testing::Test {
 protected:
  Code ErrorOf(const services::Handled& r) {
    return r.reply.ok() ? kAccepted : r.reply.error().code;
  }
  PublishRequest Event(const std::string& channel, std::int64_t n, std::string body = "") {
    PublishRequest r{channel, {}};
    auto& e = *r.event.event;
    e.domain = "shop";
    e.type = "order";
    e.name = "o" + std::to_string(n);
    e.fields = {{"n", n}};
    e.body = std::move(body);
    return r;
  }
  std::uint64_t Publish(const PublishRequest& r) {
    auto body = ReplyBody(h.Call(1, Method::kPublish, r));
    EXPECT_TRUE(body.ok()) << body.error().message;
    return body.ok() ? DecodePublishReply(body.value()).value().seq : 0;
  }
  Subscribed Subscribe(std::uint64_t owner, SubscribeRequest r) {
    auto body = ReplyBody(h.Call(owner, Method::kSubscribe, r));
    EXPECT_TRUE(body.ok()) << body.error().message;
    return body.ok() ? DecodeSubscribed(body.value()).value() : Subscribed{};
  }
  // The events pushed to `owner` this turn, by sequence number.
  std::vector<std::uint64_t> EventsPushed(const std::vector<testing::Pushed>& pushes,
                                          std::uint64_t owner) {
    std::vector<std::uint64_t> seqs;
    for (const auto& p : pushes) {
      if (p.owner != owner || p.method != M(Method::kEvent)) continue;
      auto e = DecodeEvent(rex::BodyReader::Parse(p.body).value().AsObject());
      EXPECT_TRUE(e.ok());
      if (e.ok()) seqs.push_back(e.value().seq);
    }
    return seqs;
  }

  Broker broker{EncodeEvent};
  services::NotifyService service{broker};
  testing::ServiceHarness h{service};
};

TEST_F(NotifyServiceTest, CreateAndDescribeAChannel) {
  CreateChannelRequest c{"orders", true, 50, 60, 1 << 20};
  EXPECT_EQ(ErrorOf(h.Call(1, Method::kCreateChannel, c)), kAccepted);
  // Only an identical re-creation is accepted.
  c.retain_count = 51;
  EXPECT_NE(ErrorOf(h.Call(1, Method::kCreateChannel, c)), kAccepted);
  auto described = ReplyBody(h.Call(1, Method::kDescribeChannel, ChannelRequest{"orders"}));
  ASSERT_TRUE(described.ok());
  auto d = DecodeChannelDescription(described.value()).value();
  EXPECT_TRUE(d.config.persistent);
  EXPECT_EQ(d.config.retain_count, 50u);
  EXPECT_EQ(d.config.retain_age_ms, 60'000);
  EXPECT_EQ(d.next_seq, 1u);
}

TEST_F(NotifyServiceTest, SubscribersGetPublishedEventsAfterCommit) {
  SubscribeRequest all{"orders"};
  all.credit = 10;
  SubscribeRequest big{"orders", "$.n > 1"};
  big.credit = 10;
  Subscribed s1 = Subscribe(2, all), s2 = Subscribe(3, big);
  EXPECT_EQ(Publish(Event("orders", 1)), 1u);
  EXPECT_EQ(Publish(Event("orders", 2, "payload")), 2u);
  ASSERT_TRUE(h.EndTurn().ok());
  auto pushes = h.TakePushes();
  EXPECT_EQ(EventsPushed(pushes, 2), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(EventsPushed(pushes, 3), (std::vector<std::uint64_t>{2}));
  for (const auto& p : pushes) {
    EXPECT_EQ(p.id, p.owner == 2 ? s1.subscription : s2.subscription);
  }
  // An unsubscribed subscriber gets no more.
  EXPECT_EQ(ErrorOf(h.Call(2, Method::kUnsubscribe, UnsubscribeRequest{s1.subscription})),
            kAccepted);
  Publish(Event("orders", 3));
  ASSERT_TRUE(h.EndTurn().ok());
  pushes = h.TakePushes();
  EXPECT_TRUE(EventsPushed(pushes, 2).empty());
  EXPECT_EQ(EventsPushed(pushes, 3), (std::vector<std::uint64_t>{3}));
}

TEST_F(NotifyServiceTest, CreditLimitsPushesAndPullReadsTheRest) {
  SubscribeRequest one{"c"};
  one.credit = 1;
  Subscribed s = Subscribe(2, one);
  for (int i = 1; i <= 3; ++i) Publish(Event("c", i));
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_EQ(EventsPushed(h.TakePushes(), 2), (std::vector<std::uint64_t>{1}));
  auto pulled = ReplyBody(h.Call(2, Method::kPull, PullRequest{s.subscription, 1}));
  ASSERT_TRUE(pulled.ok());
  auto reply = DecodePullReply(pulled.value()).value();
  ASSERT_EQ(reply.events.size(), 1u);
  EXPECT_EQ(reply.events[0].seq, 2u);
  EXPECT_EQ(ErrorOf(h.Call(2, Method::kCredit, CreditRequest{s.subscription, 5})), kAccepted);
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_EQ(EventsPushed(h.TakePushes(), 2), (std::vector<std::uint64_t>{3}));
  // Another connection cannot touch this subscription.
  EXPECT_NE(ErrorOf(h.Call(9, Method::kCredit, CreditRequest{s.subscription, 5})), kAccepted);
}

TEST_F(NotifyServiceTest, ADurableSubscriptionResumesAfterItsLastAck) {
  ASSERT_EQ(ErrorOf(h.Call(1, Method::kCreateChannel, CreateChannelRequest{"p", true})), kAccepted);
  for (int i = 1; i <= 4; ++i) Publish(Event("p", i));
  SubscribeRequest d{"p", "", "audit"};
  d.credit = 2;
  Subscribed first = Subscribe(2, d);
  EXPECT_EQ(first.resume_after, 0u);
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_EQ(EventsPushed(h.TakePushes(), 2), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(ErrorOf(h.Call(2, Method::kAck, AckRequest{first.subscription, 2})), kAccepted);
  service.DropOwner(2);  // the connection closed
  Subscribed again = Subscribe(5, d);
  EXPECT_EQ(again.resume_after, 2u);
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_EQ(EventsPushed(h.TakePushes(), 5), (std::vector<std::uint64_t>{3, 4}));
  // Durable on a best-effort channel is refused.
  SubscribeRequest wrong{"best-effort", "", "audit2"};
  EXPECT_EQ(ErrorOf(h.Call(2, Method::kSubscribe, wrong)), Code::kBadRequest);
}

TEST_F(NotifyServiceTest, AGapPushPrecedesTheEventAfterDroppedOnes) {
  SubscribeRequest small{"g"};
  small.credit = 0;
  small.max_queue = 2;
  Subscribed s = Subscribe(2, small);
  for (int i = 1; i <= 5; ++i) Publish(Event("g", i));  // the oldest three are dropped
  EXPECT_EQ(ErrorOf(h.Call(2, Method::kCredit, CreditRequest{s.subscription, 10})), kAccepted);
  ASSERT_TRUE(h.EndTurn().ok());
  auto pushes = h.TakePushes();
  ASSERT_GE(pushes.size(), 2u);
  EXPECT_EQ(pushes[0].method, M(Method::kGap));
  auto gap = DecodeGapPush(rex::BodyReader::Parse(pushes[0].body).value()).value();
  EXPECT_EQ(gap.missed, 3u);
  EXPECT_EQ(EventsPushed(pushes, 2), (std::vector<std::uint64_t>{4, 5}));
}

TEST_F(NotifyServiceTest, WatchTypesPushesTypeChanges) {
  auto started = ReplyBody(h.Call(4, Method::kWatchTypes, ChannelRequest{"t"}));
  ASSERT_TRUE(started.ok());
  EXPECT_TRUE(DecodeTypeSets(started.value()).value().offered.empty());
  Publish(Event("t", 1));
  ASSERT_TRUE(h.EndTurn().ok());
  auto pushes = h.TakePushes();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].owner, 4u);
  EXPECT_EQ(pushes[0].method, M(Method::kTypeChange));
  EXPECT_EQ(pushes[0].id, 0u);
  auto change = DecodeTypeChange(rex::BodyReader::Parse(pushes[0].body).value()).value();
  EXPECT_EQ(change.kind, TypeChange::kOffered);
  EXPECT_EQ(change.channel, "t");
  EXPECT_EQ(change.type, "shop/order");
}

TEST_F(NotifyServiceTest, PublishBatchIsAllOrNothing) {
  PublishBatchRequest batch{"b", std::vector<PublishedEvent>(3)};
  for (auto& e : batch.events) e.event->domain = "d";
  auto ok = ReplyBody(h.Call(1, Method::kPublishBatch, batch));
  ASSERT_TRUE(ok.ok());
  auto reply = DecodePublishBatchReply(ok.value()).value();
  EXPECT_EQ(reply.first_seq, 1u);
  EXPECT_EQ(reply.count, 3u);
  batch.events[1].event->priority = 40000;  // out of range: refused, none published
  auto refused = h.Call(1, Method::kPublishBatch, batch);
  ASSERT_FALSE(refused.reply.ok());
  EXPECT_EQ(refused.reply.error().code, Code::kBadRequest);
  EXPECT_EQ(broker.next_seq("b"), 4u);
}

TEST_F(NotifyServiceTest, BadRequestsGetBadRequest) {
  auto code = [&](Method m, const rex::BodyWriter& w) { return ErrorOf(h.Call(1, m, w)); };
  rex::BodyWriter no_channel;
  no_channel.Map(1).Key("domain").Str("d");
  EXPECT_EQ(code(Method::kPublish, no_channel), Code::kBadRequest);
  rex::BodyWriter from;
  from.Map(2).Key("channel").Str("c").Key("from").Str("middle");
  EXPECT_EQ(code(Method::kSubscribe, from), Code::kBadRequest);
  rex::BodyWriter discard;
  discard.Map(2).Key("channel").Str("c").Key("discard").Str("random");
  EXPECT_EQ(code(Method::kSubscribe, discard), Code::kBadRequest);
  rex::BodyWriter body;
  body.Map(2).Key("channel").Str("c").Key("body").Uint(7);
  EXPECT_EQ(code(Method::kPublish, body), Code::kBadRequest);
  rex::BodyWriter events;
  events.Map(2).Key("channel").Str("c").Key("events").Map(0);
  EXPECT_EQ(code(Method::kPublishBatch, events), Code::kBadRequest);
  rex::BodyWriter ack;
  ack.Map(1).Key("subscription").Uint(1);  // no seq
  auto refused = h.Call(1, Method::kAck, ack);
  ASSERT_FALSE(refused.reply.ok());
  EXPECT_EQ(refused.reply.error().message, "'seq' must be a non-negative integer");
  EXPECT_EQ(ErrorOf(h.Raw(1, M(Method::kPublish), {0xc1})), Code::kBadRequest);
  EXPECT_EQ(ErrorOf(h.Raw(1, M(Method::kEvent), {0x80})), Code::kUnknownMethod);
  EXPECT_EQ(broker.next_seq("c"), 1u);
}

TEST_F(NotifyServiceTest, UndeliveredEventsExpire) {
  SubscribeRequest pull{"x"};
  pull.credit = 0;
  Subscribed s = Subscribe(2, pull);
  auto brief = Event("x", 1);
  brief.event.timeout_ms = 1000;
  Publish(brief);
  Publish(Event("x", 2));
  h.Advance(1001);
  auto pulled = ReplyBody(h.Call(2, Method::kPull, PullRequest{s.subscription}));
  ASSERT_TRUE(pulled.ok());
  auto reply = DecodePullReply(pulled.value()).value();
  ASSERT_EQ(reply.events.size(), 1u);
  EXPECT_EQ(reply.events[0].seq, 2u);
}

TEST_F(NotifyServiceTest, RetentionByAgeSetsTheNextDeadline) {
  EXPECT_EQ(service.NextDeadline(), std::numeric_limits<std::int64_t>::max());
  CreateChannelRequest aged{"a", true, 100, 2};
  ASSERT_EQ(ErrorOf(h.Call(1, Method::kCreateChannel, aged)), kAccepted);
  Publish(Event("a", 1));
  EXPECT_EQ(service.NextDeadline(), h.now() + 2000);
  h.Advance(2001);
  EXPECT_EQ(service.NextDeadline(), std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace ardus::notify
