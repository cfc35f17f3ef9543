// The typed request and reply codecs of both services: round trips, bad
// input, and the worked examples of docs/rex-protocol.md ("Request and reply
// fields"), read from the document itself.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "notify/notify_requests.h"
#include "trader/trader_requests.h"

namespace ardus {
namespace {

template <class T>
rex::BodyReader Reader(const T& x) {
  auto bytes = rex::EncodeBody(x);
  return rex::BodyReader::Parse(bytes).value();
}

std::string Hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (auto b : bytes) out += fmt::format("{}{:02x}", out.empty() ? "" : " ", b);
  return out;
}

std::string ProtocolDoc() {
  std::ifstream in(ARDUS_SOURCE_DIR "/docs/rex-protocol.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RexRequests, WorkedExamplesMatchTheProtocolDocument) {
  const std::string doc = ProtocolDoc();
  ASSERT_FALSE(doc.empty());
  for (const std::string& hex :
       {Hex(rex::EncodeBody(trader::OfferIdRequest{5})),
        Hex(rex::EncodeBody(notify::AckRequest{3, 9})), Hex(rex::EncodeBody(notify::GapPush{4}))}) {
    EXPECT_NE(doc.find("\n    " + hex + "\n"), std::string::npos) << hex << " is not in the doc";
  }
  EXPECT_EQ(Hex(rex::EncodeBody(trader::OfferIdRequest{5})), "81 a2 69 64 05");
  // describe's reply: offer 5 of type "p", no properties, no lease, owned by bob.
  rex::BodyWriter offer;
  trader::EncodeOffer(offer, trader::Offer{5, "p", {}, 0, 0, "bob"});
  std::string described = Hex(offer.bytes());
  EXPECT_NE(doc.find("\n    " + described + "\n"), std::string::npos) << described;
  auto back = trader::DecodeOffer(rex::BodyReader::Parse(offer.bytes()).value().AsObject());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().owner, "bob");
}

TEST(RexRequests, TraderRequestsRoundTrip) {
  trader::QueryRequest q{"printer", "ppm > 1", "max ppm", {1, 2, 3, true}, 7};
  auto back = trader::DecodeQueryRequest(Reader(q)).value();
  EXPECT_EQ(back.type, "printer");
  EXPECT_EQ(back.constraint, "ppm > 1");
  EXPECT_EQ(back.preference, "max ppm");
  EXPECT_EQ(back.page_size, 7u);
  EXPECT_EQ(back.policies.search_card, 1u);
  EXPECT_EQ(back.policies.match_card, 2u);
  EXPECT_EQ(back.policies.return_card, 3u);
  EXPECT_TRUE(back.policies.exact_type_match);

  trader::ModifyRequest m{9, {{"ppm", std::int64_t{3}}}, {"a", "b"}};
  auto mb = trader::DecodeModifyRequest(Reader(m)).value();
  EXPECT_EQ(mb.id, 9u);
  EXPECT_EQ(mb.set, m.set);
  EXPECT_EQ(mb.remove, m.remove);

  trader::ExportRequest e{"printer", {{"s", std::string("x")}}, 30};
  auto eb = trader::DecodeExportRequest(Reader(e)).value();
  EXPECT_EQ(eb.type, "printer");
  EXPECT_EQ(eb.props, e.props);
  EXPECT_EQ(eb.lease, 30u);

  auto nb = trader::DecodeNextPageRequest(Reader(trader::NextPageRequest{4, 8})).value();
  EXPECT_EQ(nb.iterator, 4u);
  EXPECT_EQ(nb.count, 8u);
  auto wb = trader::DecodeWatchRequest(Reader(trader::WatchRequest{"t", "c"})).value();
  EXPECT_EQ(wb.constraint, "c");
  EXPECT_EQ(trader::DecodeUnwatchRequest(Reader(trader::UnwatchRequest{6})).value().watch, 6u);
}

TEST(RexRequests, TraderRepliesRoundTrip) {
  trader::Page p;
  p.offers.push_back({1, "printer", {{"ppm", std::int64_t{2}}}, 0, 0});
  p.iterator = 5;
  p.remaining = 6;
  p.considered = 7;
  p.limited_by = {"search_card"};
  auto pb = trader::DecodePage(Reader(p)).value();
  ASSERT_EQ(pb.offers.size(), 1u);
  EXPECT_EQ(pb.offers[0].props, p.offers[0].props);
  EXPECT_EQ(pb.iterator, 5u);
  EXPECT_EQ(pb.remaining, 6u);
  EXPECT_EQ(pb.considered, 7u);
  EXPECT_EQ(pb.limited_by, p.limited_by);

  trader::TypeDescription d{
      {"printer", {"device"}, {{"ppm", {tcl::BaseType::kInt, false}, true}}},
      {{"name", {tcl::BaseType::kString, false}}, {"ppm", {tcl::BaseType::kInt, false}, true}}};
  auto db = trader::DecodeTypeDescription(Reader(d)).value();
  EXPECT_EQ(db.type.supers, d.type.supers);
  ASSERT_EQ(db.all_properties.size(), 2u);
  EXPECT_TRUE(db.all_properties[1].mandatory);

  trader::WatchEvent ev{trader::WatchEvent::kLeave, 99, 4, {3, "printer", {}, 0, 0}, "expired"};
  auto evb = trader::DecodeWatchEvent(Reader(ev)).value();
  EXPECT_EQ(evb.kind, trader::WatchEvent::kLeave);
  EXPECT_EQ(evb.owner, 0u);  // the owner does not travel
  EXPECT_EQ(evb.watch, 4u);
  EXPECT_EQ(evb.offer.id, 3u);
  EXPECT_EQ(evb.reason, "expired");
}

TEST(RexRequests, TraderDecodersRefuseBadFields) {
  auto body = [](auto write) {
    rex::BodyWriter w;
    write(w);
    auto bytes = w.Take();
    return rex::BodyReader::Parse(bytes).value();
  };
  auto id_str = body([](rex::BodyWriter& w) { w.Map(1).Key("id").Str("1"); });
  EXPECT_EQ(trader::DecodeOfferIdRequest(id_str).error().code, rex::Code::kBadRequest);
  auto no_type = body([](rex::BodyWriter& w) { w.Map(0); });
  EXPECT_EQ(trader::DecodeQueryRequest(no_type).error().message, "'type' must be a string");
  auto bad_remove =
      body([](rex::BodyWriter& w) { w.Map(2).Key("id").Uint(1).Key("remove").Uint(3); });
  EXPECT_EQ(trader::DecodeModifyRequest(bad_remove).error().code, rex::Code::kBadRequest);
  // Counts saturate at 32 bits instead of wrapping.
  auto huge = body([](rex::BodyWriter& w) {
    w.Map(2).Key("type").Str("t").Key("page_size").Uint(std::uint64_t{1} << 40);
  });
  EXPECT_EQ(trader::DecodeQueryRequest(huge).value().page_size, UINT32_MAX);
  auto bad_event =
      body([](rex::BodyWriter& w) { w.Map(2).Key("event").Str("appear").Key("offer").Map(0); });
  EXPECT_EQ(trader::DecodeWatchEvent(bad_event).error().code, rex::Code::kBadRequest);
}

TEST(RexRequests, NotifyRequestsRoundTrip) {
  notify::CreateChannelRequest c{"ch", true, 5, 7, 9};
  auto cb = notify::DecodeCreateChannelRequest(Reader(c)).value();
  EXPECT_EQ(cb.config(), (notify::ChannelConfig{true, 5, 7000, 9}));

  notify::PublishRequest p{"ch", {}};
  auto& e = *p.event.event;
  e.domain = "d";
  e.type = "t";
  e.name = "n";
  e.fields = {{"x", 1.5}};
  e.unions["u"] = {std::int64_t{2}, std::string("v"), false};
  e.body = std::string("\0bin", 4);
  e.priority = -3;
  p.event.timeout_ms = 250;
  auto pb = notify::DecodePublishRequest(Reader(p)).value();
  EXPECT_EQ(pb.channel, "ch");
  const auto& back = *pb.event.event;
  EXPECT_EQ(back.domain, "d");
  EXPECT_EQ(back.type, "t");
  EXPECT_EQ(back.name, "n");
  EXPECT_EQ(back.fields, e.fields);
  EXPECT_EQ(back.unions.at("u").value, tcl::Value(std::string("v")));
  EXPECT_EQ(back.body, e.body);
  EXPECT_EQ(back.priority, -3);
  EXPECT_EQ(pb.event.timeout_ms, 250u);

  notify::SubscribeRequest s{"ch", "$.x > 1", "dur", false, 7, 8, notify::Discard::kDeadline};
  auto sb = notify::DecodeSubscribeRequest(Reader(s)).value();
  EXPECT_EQ(sb.filter, s.filter);
  EXPECT_EQ(sb.durable, "dur");
  EXPECT_FALSE(sb.from_first);
  EXPECT_EQ(sb.credit, 7u);
  EXPECT_EQ(sb.max_queue, 8u);
  EXPECT_EQ(sb.discard, notify::Discard::kDeadline);

  auto ab = notify::DecodeAckRequest(Reader(notify::AckRequest{3, 9})).value();
  EXPECT_EQ(ab.seq, 9u);
  EXPECT_EQ(notify::DecodeCreditRequest(Reader(notify::CreditRequest{3, 4})).value().n, 4u);
  EXPECT_EQ(notify::DecodePullRequest(Reader(notify::PullRequest{3, 5})).value().max, 5u);

  notify::TypeChange tc{notify::TypeChange::kUnsubscribed, 7, "ch", "d/t"};
  auto tb = notify::DecodeTypeChange(Reader(tc)).value();
  EXPECT_EQ(tb.kind, notify::TypeChange::kUnsubscribed);
  EXPECT_EQ(tb.channel, "ch");
  EXPECT_EQ(tb.type, "d/t");
  EXPECT_EQ(tb.owner, 0u);
}

TEST(RexRequests, NotifyDecodersApplyDefaultsAndRefuseBadFields) {
  auto body = [](auto write) {
    rex::BodyWriter w;
    write(w);
    auto bytes = w.Take();
    return rex::BodyReader::Parse(bytes).value();
  };
  auto minimal = body([](rex::BodyWriter& w) { w.Map(1).Key("channel").Str("c"); });
  auto s = notify::DecodeSubscribeRequest(minimal).value();
  EXPECT_TRUE(s.from_first);
  EXPECT_EQ(s.credit, 1000u);
  EXPECT_EQ(s.max_queue, 1000u);
  EXPECT_EQ(s.discard, notify::Discard::kOldest);
  auto c = notify::DecodeCreateChannelRequest(minimal).value().config();
  EXPECT_EQ(c, notify::ChannelConfig{});

  auto priority = body(
      [](rex::BodyWriter& w) { w.Map(2).Key("channel").Str("c").Key("priority").Int(-40000); });
  EXPECT_EQ(notify::DecodePublishRequest(priority).error().message,
            "'priority' must be an integer from -32767 to 32767");
  auto batch = body([](rex::BodyWriter& w) {
    w.Map(2).Key("channel").Str("c").Key("events").Array(2).Map(0).Str("not an event");
  });
  EXPECT_EQ(notify::DecodePublishBatchRequest(batch).error().message, "an event is a map");
  auto no_sub = body([](rex::BodyWriter& w) { w.Map(1).Key("seq").Uint(1); });
  EXPECT_EQ(notify::DecodeAckRequest(no_sub).error().message,
            "'subscription' must be a non-negative integer");
  auto change = body([](rex::BodyWriter& w) { w.Map(1).Key("change").Str("renamed"); });
  EXPECT_EQ(notify::DecodeTypeChange(change).error().code, rex::Code::kBadRequest);
}

}  // namespace
}  // namespace ardus
