// Notify: filter compilation and routing, queues, credit, durable cursors.
#include <gtest/gtest.h>

#include <functional>

#include "notify/broker.h"
#include "notify/filter.h"
#include "notify/notify_wire.h"

namespace ardus::notify {
namespace {

using rex::Code;

std::vector<std::uint8_t> NoWire(const Event&) { return {}; }

Event Make(std::string domain, std::string type, tcl::Properties fields = {},
           std::int32_t priority = 0) {
  Event e;
  e.domain = std::move(domain);
  e.type = std::move(type);
  e.name = "n";
  e.fields = std::move(fields);
  e.priority = priority;
  return e;
}

bool Match(const std::string& filter, Event e) {
  auto f = Filter::Compile(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status().message();
  e.domain_value = e.domain;
  e.type_value = e.type;
  e.name_value = e.name;
  e.priority_value = std::int64_t{e.priority};
  tcl::Budget b{100000};
  return f.ok() && f.value()->Matches(e, b);
}

TEST(NotifyFilter, HeaderAndFieldsWithInferredTypes) {
  Event e = Make(
      "ardus", "transfer",
      {{"bytes", std::int64_t{5000}}, {"host", std::string("h1")}, {"ok", true}, {"ratio", 1.04}});
  EXPECT_TRUE(Match("$domain_name == 'ardus' and $type_name == 'transfer'", e));
  EXPECT_TRUE(Match("$.bytes > 4999.5 and 'h' ~ $.host", e));
  EXPECT_TRUE(Match("$bytes / 1000 == 5 and $.ok", e));  // $x is $.x unless a header name
  EXPECT_TRUE(Match("$.ratio < 1.1 and $priority == 0", e));
  EXPECT_TRUE(Match("exist $.host and not exist $.missing", e));
  EXPECT_FALSE(Match("$.host == 5", e));  // a string field read as a number: undefined
  EXPECT_FALSE(Match("$.missing == 'x'", e));
  EXPECT_TRUE(Match("", e));
}

TEST(NotifyFilter, ErrorsAndRoutingKeys) {
  auto untyped = Filter::Compile("$.a == $.b");
  EXPECT_EQ(untyped.status().message(),
            "column 1: cannot tell the type of '$.a'; compare it with a literal");
  EXPECT_FALSE(Filter::Compile("$.x > 'a' and $.x < 3").ok());  // one field, two types
  EXPECT_FALSE(Filter::Compile("$ == 1").ok());
  EXPECT_TRUE(Filter::Compile("ppm > 1").ok());       // a bare name is a field, as $.ppm
  EXPECT_TRUE(Filter::Compile("default == 1").ok());  // still a field's name
  EXPECT_EQ(Filter::Compile("default $domain_name").status().message(),
            "column 9: 'default' takes a field, as in 'default $.u'");
  // An empty filter matches every event without evaluation.
  auto all = Filter::Compile(" ");
  ASSERT_TRUE(all.ok());
  tcl::Budget budget{1};
  EXPECT_TRUE(all.value()->Matches(Event{}, budget));
  auto f = Filter::Compile("$.x > 1 and 'ardus' == $domain_name and $type_name == 'transfer'");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value()->domain(), "ardus");
  EXPECT_EQ(f.value()->type(), "transfer");
  auto any = Filter::Compile("$domain_name == 'a' or $type_name == 'b'");
  EXPECT_FALSE(any.value()->domain());
}

Event WithUnion(std::int64_t discriminator, bool is_default, std::int64_t value) {
  Event e;
  e.unions["u"] = {tcl::Value(discriminator), tcl::Value(value), is_default};
  e.fields["n"] = std::int64_t{3};
  return e;
}

TEST(NotifyFilter, UnionFieldsAndDefault) {
  Event in_default = WithUnion(7, true, 40), in_case = WithUnion(2, false, 5), plain = Event{};
  plain.fields["u"] = std::int64_t{1};
  EXPECT_TRUE(Match("default $.u", in_default));
  EXPECT_FALSE(Match("default $.u", in_case));
  EXPECT_FALSE(Match("default $.u", plain));  // not a union: never its default branch
  EXPECT_TRUE(Match("not default $.u", in_case));
  EXPECT_TRUE(Match("$.u._d == 2 and $.u < 10", in_case));  // discriminator, active value
  EXPECT_FALSE(Match("$.u._d == 2", in_default));
  EXPECT_TRUE(Match("exist $.u and $.n == 3 and default $.u", in_default));
  EXPECT_FALSE(Match("$.u._d == 2", plain));
}

TEST(NotifyWire, UnionFieldsRoundTrip) {
  Event e = WithUnion(7, true, 40);
  e.unions["s"] = {tcl::Value(std::string("circle")), tcl::Value(2.5), false};
  auto bytes = EncodeEvent(e);
  msgpack::object_handle h =
      msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto back = DecodeEvent(h.get());
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back.value().unions.size(), 2u);
  EXPECT_EQ(back.value().unions.at("u").discriminator, tcl::Value(std::int64_t{7}));
  EXPECT_EQ(back.value().unions.at("u").value, tcl::Value(std::int64_t{40}));
  EXPECT_TRUE(back.value().unions.at("u").is_default);
  EXPECT_EQ(back.value().unions.at("s").discriminator, tcl::Value(std::string("circle")));
  EXPECT_EQ(back.value().fields.at("n"), tcl::Value(std::int64_t{3}));
}

TEST(NotifyWire, UnionFieldBytesAsDocumented) {  // docs/rex-protocol.md, "Notify methods"
  UnionFields unions;
  unions["shape"] = {tcl::Value(std::int64_t{9}), tcl::Value(std::string("unknown")), true};
  rex::BodyWriter w;
  EncodeFields(w, {}, unions);
  const std::vector<std::uint8_t> want = {
      0x81, 0xa5, 's', 'h', 'a', 'p', 'e',  0x83, 0xa2, '_', 'd', 0x09, 0xa2, '_', 'v', 0xa7, 'u',
      'n',  'k',  'n', 'o', 'w', 'n', 0xa8, '_',  'd',  'e', 'f', 'a',  'u',  'l', 't', 0xc3};
  EXPECT_EQ(std::vector<std::uint8_t>(w.bytes().begin(), w.bytes().end()), want);
}

TEST(NotifyWire, MalformedUnionsAreRefusedNamingTheField) {
  auto decode = [](const std::function<void(rex::BodyWriter&)>& write) {
    rex::BodyWriter w;
    write(w);
    auto bytes = w.Take();
    msgpack::object_handle h =
        msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    tcl::Properties fields;
    UnionFields unions;
    return DecodeFields(&h.get(), fields, unions);
  };
  auto no_value = decode([](rex::BodyWriter& w) { w.Map(1).Key("u").Map(1).Key("_d").Uint(1); });
  EXPECT_EQ(no_value.error().message, "field 'u': a union needs \"_d\" and \"_v\"");
  auto float_d = decode(
      [](rex::BodyWriter& w) { w.Map(1).Key("u").Map(2).Key("_d").Double(1.5).Key("_v").Uint(1); });
  EXPECT_EQ(float_d.error().message,
            "field 'u': a union's discriminator is an integer, a bool or a string");
  auto extra = decode([](rex::BodyWriter& w) {
    w.Map(1).Key("u").Map(3).Key("_d").Uint(1).Key("_v").Uint(1).Key("x").Uint(1);
  });
  EXPECT_FALSE(extra.ok());
}

class BrokerTest : public ::testing::Test {
 protected:
  SubscribeRequest Sub(std::string filter, std::uint32_t credit = 100) {
    SubscribeRequest r;
    r.channel = "c";
    r.filter = std::move(filter);
    r.credit = credit;
    return r;
  }
  std::vector<std::uint64_t> Seqs() {
    std::vector<std::uint64_t> out;
    for (const auto& d : b.TakeDeliveries()) out.push_back(d.event->seq);
    return out;
  }
  Broker b{NoWire};
  std::int64_t now = 1000;
};

TEST_F(BrokerTest, RoutesByFilterAndDomainTypeIndex) {
  auto t = b.Subscribe(now, 1, Sub("$type_name == 't1'")).value().subscription;
  auto d = b.Subscribe(now, 2, Sub("$domain_name == 'd2' and $.n > 1")).value().subscription;
  auto all = b.Subscribe(now, 3, Sub("")).value().subscription;
  ASSERT_TRUE(b.Publish(now, "c", Make("d1", "t1")).ok());
  ASSERT_TRUE(b.Publish(now, "c", Make("d2", "t2", {{"n", std::int64_t{2}}})).ok());
  ASSERT_TRUE(b.Publish(now, "c", Make("d2", "t1", {{"n", std::int64_t{0}}})).ok());
  std::map<std::uint64_t, std::vector<std::uint64_t>> got;
  for (const auto& x : b.TakeDeliveries()) got[x.subscription].push_back(x.event->seq);
  EXPECT_EQ(got[t], (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(got[d], (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(got[all], (std::vector<std::uint64_t>{1, 2, 3}));
  auto types = std::move(b.Types("c")).value();
  EXPECT_EQ(types.offered, (std::vector<std::string>{"d1/t1", "d2/t1", "d2/t2"}));
  EXPECT_EQ(types.subscribed, (std::vector<std::string>{"*/*", "*/t1", "d2/*"}));
}

TEST_F(BrokerTest, TypeWatchersHearOfferAndSubscriptionChanges) {
  auto first = b.WatchTypes(9, "c");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first.value().offered.empty());
  auto s1 = b.Subscribe(now, 1, Sub("$domain_name == 'ardus'")).value().subscription;
  auto s2 = b.Subscribe(now, 2, Sub("$domain_name == 'ardus' and $.x > 1")).value().subscription;
  (void)b.Publish(now, "c", Make("ardus", "done"));
  (void)b.Publish(now, "c", Make("ardus", "done"));  // already offered: no change
  ASSERT_TRUE(b.Unsubscribe(1, s1).ok());
  ASSERT_TRUE(b.Unsubscribe(2, s2).ok());  // the last one asking for ardus/*
  std::vector<std::string> seen;
  for (const auto& c : b.TakeTypeChanges()) {
    EXPECT_EQ(c.owner, 9u);
    seen.push_back(std::to_string(int(c.kind)) + " " + c.type);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1 ardus/*", "0 ardus/done", "2 ardus/*"}));
  b.DropOwner(9);
  (void)b.Publish(now, "c", Make("other", "t"));
  EXPECT_TRUE(b.TakeTypeChanges().empty());
}

TEST_F(BrokerTest, CreditBoundsPushesAndTheQueueBoundsMemory) {
  auto r = Sub("", 2);
  r.max_queue = 3;
  auto s = b.Subscribe(now, 1, r).value().subscription;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Publish(now, "c", Make("d", "t")).ok());
  EXPECT_EQ(Seqs(), (std::vector<std::uint64_t>{1, 2}));  // credit 2
  EXPECT_EQ(b.queued_events(), 3u);                       // the newest 3 wait
  EXPECT_EQ(b.dropped(), 5u);
  ASSERT_TRUE(b.GrantCredit(now, 1, s, 10).ok());
  auto d = b.TakeDeliveries();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].event->seq, 8u);
  EXPECT_EQ(d[0].missed, 5u);  // the gap is reported with the next delivery
  EXPECT_EQ(d[1].missed, 0u);
}

TEST_F(BrokerTest, QueuesAreBoundedInBytesPerSubscriberAndInTotal) {
  BrokerLimits limits;
  limits.max_queue_bytes = 100'000;
  limits.max_total_queued_bytes = 150'000;
  Broker small(NoWire, limits);
  auto r = Sub("", 0);
  r.max_queue = 100'000;  // the byte bound, not the count, must stop it
  auto a = small.Subscribe(now, 1, r).value().subscription;
  auto b2 = small.Subscribe(now, 2, r).value().subscription;
  Event big = Make("d", "t");
  big.body.assign(10'000, 'x');
  for (int i = 0; i < 100; ++i) (void)small.Publish(now, "c", big);
  std::size_t per_event = 10'000 + 64;
  EXPECT_LE(small.queued_events() * per_event, 150'000u);
  EXPECT_GT(small.dropped(), 150u);
  // Both subscribers still get the newest events.
  for (auto s : {a, b2}) {
    auto pulled = std::move(small.Pull(now, s == a ? 1 : 2, s, 1000)).value();
    ASSERT_FALSE(pulled.empty());
    EXPECT_EQ(pulled.back().event->seq, 100u);
    EXPECT_GT(pulled.front().missed, 0u);
  }
}

TEST_F(BrokerTest, DiscardPolicies) {
  auto run = [&](Discard policy) {
    Broker broker(NoWire);
    SubscribeRequest r = Sub("", 0);
    r.max_queue = 2;
    r.discard = policy;
    auto s = broker.Subscribe(now, 1, r).value().subscription;
    Event a = Make("d", "t", {}, 5), bb = Make("d", "t", {}, 1), c = Make("d", "t", {}, 3);
    a.expires_ms = now + 10'000;
    bb.expires_ms = now + 20'000;
    c.expires_ms = now + 5'000;
    (void)broker.Publish(now, "c", a);
    (void)broker.Publish(now, "c", bb);
    (void)broker.Publish(now, "c", c);
    std::vector<std::uint64_t> seqs;
    auto pulled = broker.Pull(now, 1, s, 10);
    for (const auto& d : pulled.value()) seqs.push_back(d.event->seq);
    return seqs;
  };
  EXPECT_EQ(run(Discard::kOldest), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(run(Discard::kNewest), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(run(Discard::kPriority), (std::vector<std::uint64_t>{1, 3}));  // drops priority 1
  EXPECT_EQ(run(Discard::kDeadline), (std::vector<std::uint64_t>{1, 2}));  // drops soonest expiry
}

TEST_F(BrokerTest, ExpiredEventsAreNotDelivered) {
  auto s = b.Subscribe(now, 1, Sub("", 0)).value().subscription;
  Event e = Make("d", "t");
  e.expires_ms = now + 100;
  (void)b.Publish(now, "c", e);
  (void)b.Publish(now, "c", Make("d", "t"));
  auto pulled = std::move(b.Pull(now + 100, 1, s, 10)).value();
  ASSERT_EQ(pulled.size(), 1u);
  EXPECT_EQ(pulled[0].event->seq, 2u);
}

TEST_F(BrokerTest, DurableSubscriptionsResumeAfterTheirLastAck) {
  EXPECT_EQ(b.Subscribe(now, 1,
                        [&] {
                          auto r = Sub("");
                          r.durable = "x";
                          return r;
                        }())
                .error()
                .code,
            Code::kBadRequest);  // best-effort channel
  ChannelConfig persistent;
  persistent.persistent = true;
  persistent.retain_count = 5;
  ASSERT_TRUE(b.CreateChannel("c", persistent).ok());
  for (int i = 0; i < 3; ++i) (void)b.Publish(now, "c", Make("d", "t"));
  auto r = Sub("", 2);
  r.durable = "worker";
  auto s = b.Subscribe(now, 7, r).value();
  EXPECT_EQ(s.resume_after, 0u);
  EXPECT_EQ(Seqs(), (std::vector<std::uint64_t>{1, 2}));
  ASSERT_TRUE(b.AckUpTo(7, s.subscription, 99).ok());  // clamped to what was delivered
  EXPECT_EQ(b.Subscribe(now, 8, r).error().code, Code::kBadRequest);  // attached elsewhere
  b.DropOwner(7);
  // Persisted: the channel, 3 events, the cursor at 0 (new) then at 2.
  auto m = b.TakeMutations();
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m.back().kind, Mutation::kPutCursor);
  EXPECT_EQ(m.back().seq, 2u);

  // A restarted broker fed the journal resumes at 3.
  Broker again(NoWire);
  again.RestoreChannel("c", persistent, 4);
  for (const auto& x : m) {
    if (x.kind == Mutation::kAppend) again.RestoreEvent("c", x.event);
  }
  again.RestoreCursor("c", "worker", 2);
  auto resumed = again.Subscribe(now, 9, r).value();
  EXPECT_EQ(resumed.resume_after, 2u);
  auto d = again.TakeDeliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].event->seq, 3u);
  EXPECT_EQ(again.Publish(now, "c", Make("d", "t")).value(), 4u);
}

TEST_F(BrokerTest, RetentionTrimsAndDurableSubscribersSeeTheGap) {
  ChannelConfig c;
  c.persistent = true;
  c.retain_count = 3;
  ASSERT_TRUE(b.CreateChannel("c", c).ok());
  auto r = Sub("", 0);
  r.durable = "slow";
  auto s = b.Subscribe(now, 1, r).value().subscription;
  for (int i = 0; i < 8; ++i) (void)b.Publish(now, "c", Make("d", "t"));
  auto pulled = std::move(b.Pull(now, 1, s, 10)).value();
  ASSERT_EQ(pulled.size(), 3u);
  EXPECT_EQ(pulled[0].event->seq, 6u);
  EXPECT_EQ(pulled[0].missed, 5u);
  bool trimmed = false;
  for (const auto& m : b.TakeMutations()) trimmed |= m.kind == Mutation::kTrim;
  EXPECT_TRUE(trimmed);
}

TEST_F(BrokerTest, AgeRetentionRunsOnTick) {
  ChannelConfig c;
  c.persistent = true;
  c.retain_age_ms = 1000;
  ASSERT_TRUE(b.CreateChannel("c", c).ok());
  (void)b.Publish(now, "c", Make("d", "t"));
  EXPECT_EQ(b.NextDeadline(), now + 1000);
  b.Tick(now + 1000);
  EXPECT_EQ(b.NextDeadline(), INT64_MAX);
  EXPECT_EQ(b.TakeMutations().back().kind, Mutation::kTrim);
  EXPECT_FALSE(b.CreateChannel("c", ChannelConfig{}).ok());  // a different configuration
}

// A filter that costs about 69,000 steps on an event with a 64,000-byte field:
// `~` charges both strings.
std::string CostlyFilter() { return "'" + std::string(5000, 'a') + "b' ~ $.s or $.n == 1"; }
Event Costly() { return Make("d", "t", {{"s", std::string(64'000, 'a')}, {"n", std::int64_t{0}}}); }
Event Cheap() { return Make("d", "t", {{"s", std::string("x")}, {"n", std::int64_t{1}}}); }

TEST_F(BrokerTest, OneOwnersFiltersShareABoundedNumberOfStepsPerEvent) {
  std::vector<std::uint64_t> costly;
  for (int i = 0; i < 200; ++i) {
    costly.push_back(b.Subscribe(now, 1, Sub(CostlyFilter())).value().subscription);
  }
  auto other = b.Subscribe(now, 2, Sub(CostlyFilter())).value().subscription;
  std::uint64_t before = b.work();
  ASSERT_TRUE(b.Publish(now, "c", Costly()).ok());
  // Owner 1 spent its steps and no more; owner 2 had its own.
  EXPECT_LE(b.work() - before, kStepsPerOwnerEvent + kStepsPerFilter);
  std::uint64_t undecided = b.dropped();
  EXPECT_GT(undecided, 50u);
  EXPECT_LT(undecided, 200u);
  EXPECT_TRUE(b.TakeDeliveries().empty());  // no filter matched the costly event
  // The next event reaches every subscription; those that could not decide
  // the costly one hear of it as a gap.
  ASSERT_TRUE(b.Publish(now, "c", Cheap()).ok());
  std::uint64_t gaps = 0, delivered = 0;
  for (const auto& d : b.TakeDeliveries()) {
    ++delivered;
    gaps += d.missed;
    if (d.subscription == other) {
      EXPECT_EQ(d.missed, 0u);
    }
  }
  EXPECT_EQ(delivered, 201u);
  EXPECT_EQ(gaps, undecided);
  (void)costly;
}

TEST_F(BrokerTest, ADurableCatchUpIsBoundedPerCallAndCarriesOnInTick) {
  ChannelConfig c;
  c.persistent = true;
  ASSERT_TRUE(b.CreateChannel("c", c).ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(b.Publish(now, "c", Costly()).ok());
  auto r = Sub("'" + std::string(5000, 'a') + "b' ~ $.s or $.n == 0", 1000);
  r.durable = "late";
  ASSERT_TRUE(b.Subscribe(now, 1, r).ok());
  std::size_t first = b.TakeDeliveries().size();
  EXPECT_GT(first, 0u);
  EXPECT_LT(first, 300u);          // about kStepsPerOwnerEvent / 69,000 events examined
  EXPECT_EQ(b.NextDeadline(), 0);  // more to do now
  std::size_t total = first;
  for (int tick = 0; tick < 100 && b.NextDeadline() == 0; ++tick) {
    b.Tick(now);
    total += b.TakeDeliveries().size();
  }
  EXPECT_EQ(total, 300u);
  EXPECT_EQ(b.NextDeadline(), INT64_MAX);
}

TEST_F(BrokerTest, APullStopsAtItsByteBound) {
  Broker wired(EncodeEvent);
  auto s = wired.Subscribe(now, 1, Sub("", 0)).value().subscription;
  Event big = Make("d", "t");
  big.body.assign(1'000'000, 'x');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(wired.Publish(now, "c", big).ok());
  auto first = std::move(wired.Pull(now, 1, s, 100)).value();
  EXPECT_EQ(first.size(), 5u);  // 4 MiB: the fifth passes it
  auto rest = std::move(wired.Pull(now, 1, s, 100)).value();
  EXPECT_EQ(rest.size(), 5u);
  EXPECT_EQ(rest.back().event->seq, 10u);
}

}  // namespace
}  // namespace ardus::notify
