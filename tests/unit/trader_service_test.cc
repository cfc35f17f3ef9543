// TraderService through the one service interface: requests in as frames,
// replies and watch pushes out, as rexd drives it.
#include "services/trader_service.h"

#include <gtest/gtest.h>

#include "support/service_harness.h"
#include "trader/trader_requests.h"

namespace ardus::trader {
namespace {

using rex::Code;
using tcl::BaseType;
using testing::ReplyBody;

constexpr Code kAccepted = static_cast<Code>(0);  // ErrorOf a request that succeeded

class TraderServiceTest : public ::testing::Test {
 protected:
  TraderServiceTest() {
    ServiceType printer{
        "printer",
        {},
        {{"ppm", {BaseType::kInt, false}, true}, {"location", {BaseType::kString, false}}}};
    auto added = h.Call(1, Method::kAddType, Body(printer));
    EXPECT_TRUE(added.reply.ok());
  }
  // A service type has its own encoder (trader_wire.h), not an Encode overload.
  static rex::BodyWriter Body(const ServiceType& t) {
    rex::BodyWriter w;
    EncodeServiceType(w, t);
    return w;
  }
  OfferId Export(std::int64_t ppm, std::string location, std::uint32_t lease = 0) {
    auto r = h.Call(1, Method::kExport,
                    ExportRequest{"printer", {{"ppm", ppm}, {"location", location}}, lease});
    auto body = ReplyBody(r);
    EXPECT_TRUE(body.ok()) << body.error().message;
    return body.ok() ? DecodeExportReply(body.value()).value().id : 0;
  }
  Page Query(const std::string& constraint) {
    QueryRequest q{"printer", constraint};
    auto body = ReplyBody(h.Call(1, Method::kQuery, q));
    EXPECT_TRUE(body.ok());
    return DecodePage(body.value()).value();
  }
  Code ErrorOf(const services::Handled& r) {
    return r.reply.ok() ? kAccepted : r.reply.error().code;
  }

  Trader trader{7};
  services::TraderService service{trader};
  testing::ServiceHarness h{service};
};

TEST_F(TraderServiceTest, ExportDescribeModifyWithdraw) {
  OfferId id = Export(20, "Cambridge");
  ASSERT_NE(id, 0u);
  auto described = ReplyBody(h.Call(1, Method::kDescribe, OfferIdRequest{id}));
  ASSERT_TRUE(described.ok());
  auto offer = DecodeOffer(described.value().AsObject());
  ASSERT_TRUE(offer.ok());
  EXPECT_EQ(offer.value().props.at("ppm"), tcl::Value(std::int64_t{20}));

  ModifyRequest m{id, {{"ppm", std::int64_t{30}}}, {"location"}};
  EXPECT_EQ(ErrorOf(h.Call(1, Method::kModify, m)), kAccepted);
  auto page = Query("ppm == 30");
  ASSERT_EQ(page.offers.size(), 1u);
  EXPECT_EQ(page.offers[0].props.count("location"), 0u);

  EXPECT_EQ(ErrorOf(h.Call(1, Method::kWithdraw, OfferIdRequest{id})), kAccepted);
  EXPECT_EQ(ErrorOf(h.Call(1, Method::kWithdraw, OfferIdRequest{id})), Code::kUnknownOffer);
  EXPECT_TRUE(Query("ppm > 0").offers.empty());
}

TEST_F(TraderServiceTest, QueryPagesThroughAnIteratorAndReportsItsWork) {
  for (int i = 0; i < 5; ++i) Export(i, "room");
  QueryRequest q{"printer", "ppm >= 1", "max ppm"};
  q.page_size = 2;
  auto first = h.Call(1, Method::kQuery, q);
  EXPECT_GT(first.work, 0u);  // evaluation steps, for rexd's fair queueing
  auto page = DecodePage(ReplyBody(first).value()).value();
  ASSERT_EQ(page.offers.size(), 2u);
  EXPECT_EQ(page.offers[0].props.at("ppm"), tcl::Value(std::int64_t{4}));
  EXPECT_EQ(page.remaining, 2u);
  ASSERT_NE(page.iterator, 0u);
  // Iterators belong to their connection.
  EXPECT_EQ(ErrorOf(h.Call(2, Method::kNextPage, NextPageRequest{page.iterator, 10})),
            Code::kUnknownIterator);
  auto rest = DecodePage(
      ReplyBody(h.Call(1, Method::kNextPage, NextPageRequest{page.iterator, 10})).value());
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest.value().offers.size(), 2u);
  EXPECT_EQ(rest.value().iterator, 0u);
}

TEST_F(TraderServiceTest, WatchPushesOnlyAfterCommitAndStopsWhenTheOwnerGoes) {
  auto started = ReplyBody(h.Call(3, Method::kWatch, WatchRequest{"printer", "ppm > 10"}));
  ASSERT_TRUE(started.ok());
  auto watch = DecodeWatchStart(started.value()).value();
  EXPECT_TRUE(watch.matching.empty());
  OfferId id = Export(50, "Leeds");
  EXPECT_TRUE(h.TakePushes().empty());
  ASSERT_TRUE(h.EndTurn().ok());
  auto pushes = h.TakePushes();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].owner, 3u);
  EXPECT_EQ(pushes[0].method, static_cast<std::uint16_t>(Method::kWatchEvent));
  EXPECT_EQ(pushes[0].id, watch.watch);
  auto event = DecodeWatchEvent(rex::BodyReader::Parse(pushes[0].body).value());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event.value().kind, WatchEvent::kEnter);
  EXPECT_EQ(event.value().offer.id, id);

  h.Call(1, Method::kWithdraw, OfferIdRequest{id});
  ASSERT_TRUE(h.EndTurn().ok());
  pushes = h.TakePushes();
  ASSERT_EQ(pushes.size(), 1u);
  event = DecodeWatchEvent(rex::BodyReader::Parse(pushes[0].body).value());
  EXPECT_EQ(event.value().kind, WatchEvent::kLeave);
  EXPECT_EQ(event.value().reason, "withdrawn");

  service.DropOwner(3);
  Export(60, "York");
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_TRUE(h.TakePushes().empty());
}

TEST_F(TraderServiceTest, LeasesExpireOnTick) {
  OfferId id = Export(5, "Ely", 10);
  h.Advance(5'000);
  auto renewed = ReplyBody(h.Call(1, Method::kRenew, OfferIdRequest{id}));
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(DecodeRenewReply(renewed.value()).value().deadline_ms, h.now() + 10'000);
  EXPECT_EQ(service.NextDeadline(), h.now() + 10'000);
  h.Advance(10'001);
  EXPECT_EQ(ErrorOf(h.Call(1, Method::kDescribe, OfferIdRequest{id})), Code::kUnknownOffer);
}

TEST_F(TraderServiceTest, BadRequestsAreRefusedAndChangeNothing) {
  EXPECT_EQ(ErrorOf(h.Raw(1, static_cast<std::uint16_t>(Method::kExport), {0xc1})),
            Code::kBadRequest);  // not MessagePack
  EXPECT_EQ(ErrorOf(h.Raw(1, static_cast<std::uint16_t>(Method::kExport), {0x93, 1, 2, 3})),
            Code::kBadRequest);  // an array, not a map
  EXPECT_EQ(ErrorOf(h.Call(1, Method::kQuery, rex::BodyWriter().Map(0))), Code::kBadRequest);
  rex::BodyWriter wrong;
  wrong.Map(1).Key("id").Str("seven");
  auto refused = h.Call(1, Method::kWithdraw, wrong);
  ASSERT_FALSE(refused.reply.ok());
  EXPECT_EQ(refused.reply.error().code, Code::kBadRequest);
  EXPECT_EQ(refused.reply.error().message, "'id' must be a non-negative integer");
  rex::BodyWriter props;
  props.Map(2).Key("type").Str("printer").Key("props").Array(0);
  EXPECT_EQ(ErrorOf(h.Call(1, Method::kExport, props)), Code::kBadRequest);
  EXPECT_EQ(ErrorOf(h.Raw(1, 999, {0x80})), Code::kUnknownMethod);
  // Pushes are Notify-style server-to-client frames, not requests.
  EXPECT_EQ(ErrorOf(h.Raw(1, static_cast<std::uint16_t>(Method::kWatchEvent), {0x80})),
            Code::kUnknownMethod);
  EXPECT_EQ(trader.OfferCount(), 0u);
}

TEST_F(TraderServiceTest, CommitWithoutAStoreDropsTheMutations) {
  Export(1, "x");
  ASSERT_TRUE(service.Commit().ok());
  EXPECT_TRUE(trader.TakeMutations().empty());
}

}  // namespace
}  // namespace ardus::trader
