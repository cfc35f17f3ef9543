// Issue 18's permissions and ownership, through the services as rexd drives
// them: each connection acts as an identity of an auth file, and every
// request it lacks the grant for is refused `forbidden`, naming what is
// missing, with nothing changed.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/auth_file.h"
#include "notify/notify_requests.h"
#include "services/notify_service.h"
#include "services/trader_service.h"
#include "support/service_harness.h"
#include "trader/trader_requests.h"
#include "trader/trader_wire.h"

namespace ardus {
namespace {

using rex::Code;
using testing::ReplyBody;

constexpr Code kAccepted = static_cast<Code>(0);

Code ErrorOf(const services::Handled& r) { return r.reply.ok() ? kAccepted : r.reply.error().code; }
std::string MessageOf(const services::Handled& r) {
  return r.reply.ok() ? "" : r.reply.error().message;
}

// Keys are placeholders: these tests hand identities to connections
// directly, as rexd does once a credential is verified.
std::string Key(char c) { return std::string(64, c); }

std::shared_ptr<const auth::AuthPolicy> Policy(const std::string& text) {
  auto p = auth::ParseAuthFile(text);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? p.value() : auth::AuthPolicy::Open();
}

// ---------------------------------------------------------------- Trader

constexpr std::uint64_t kAdmin = 1, kAlice = 2, kBob = 3, kCarol = 4, kNobody = 5;

class TraderPermissions : public ::testing::Test {
 protected:
  TraderPermissions() {
    policy_ = Policy("identity root\n  key " + Key('a') + "\n  allow admin\n" +
                     "identity alice\n  key " + Key('b') +
                     "\n  allow trader.export printer*\n  allow trader.modify printer*\n"
                     "  allow trader.withdraw printer*\n  allow trader.renew printer*\n"
                     "  allow trader.query printer*\n  allow trader.watch printer*\n" +
                     "identity bob\n  key " + Key('c') +
                     "\n  allow trader.export printer*\n  allow trader.modify printer*\n"
                     "  allow trader.withdraw printer*\n  allow trader.renew printer*\n"
                     "  allow trader.query printer*\n" +
                     "identity carol\n  key " + Key('d') + "\n  allow trader.query printer\n");
    As(kAdmin, "root");
    As(kAlice, "alice");
    As(kBob, "bob");
    As(kCarol, "carol");
    h.SetIdentity(kNobody, &policy_->anonymous());  // no anonymous entry: no grants
    EXPECT_EQ(ErrorOf(h.Call(kAdmin, trader::Method::kAddType, Type("printer", ""))), kAccepted);
    EXPECT_EQ(ErrorOf(h.Call(kAdmin, trader::Method::kAddType, Type("printer_secret", "printer"))),
              kAccepted);
  }
  void As(std::uint64_t owner, const char* name) {
    const auth::Identity* id = policy_->FindByName(name);
    ASSERT_NE(id, nullptr) << name;
    h.SetIdentity(owner, id);
  }
  static rex::BodyWriter Type(const std::string& name, const std::string& super) {
    trader::ServiceType t{name, {}, {{"ppm", {tcl::BaseType::kInt, false}, false}}};
    if (!super.empty()) t.supers = {super};
    rex::BodyWriter w;
    trader::EncodeServiceType(w, t);
    return w;
  }
  services::Handled Export(std::uint64_t owner, const std::string& type, std::uint32_t lease = 0) {
    return h.Call(owner, trader::Method::kExport, trader::ExportRequest{type, {{"ppm", 7}}, lease});
  }
  trader::OfferId ExportOk(std::uint64_t owner, const std::string& type, std::uint32_t lease = 0) {
    auto body = ReplyBody(Export(owner, type, lease));
    EXPECT_TRUE(body.ok()) << (body.ok() ? "" : body.error().message);
    return body.ok() ? trader::DecodeExportReply(body.value()).value().id : 0;
  }
  std::size_t Matches(std::uint64_t owner, const std::string& type) {
    auto body = ReplyBody(h.Call(owner, trader::Method::kQuery, trader::QueryRequest{type, ""}));
    EXPECT_TRUE(body.ok()) << (body.ok() ? "" : body.error().message);
    return body.ok() ? trader::DecodePage(body.value()).value().offers.size() : 0;
  }

  std::shared_ptr<const auth::AuthPolicy> policy_;
  trader::Trader trader{7};
  services::TraderService service{trader};
  testing::ServiceHarness h{service};
};

TEST_F(TraderPermissions, EachRequestNeedsItsGrantAndNamesTheMissingOne) {
  using trader::Method;
  auto add = h.Call(kAlice, Method::kAddType, Type("scanner", ""));
  EXPECT_EQ(ErrorOf(add), Code::kForbidden);
  EXPECT_NE(MessageOf(add).find("trader.add_type"), std::string::npos) << MessageOf(add);
  auto remove = h.Call(kAlice, Method::kRemoveType, trader::TypeNameRequest{"printer_secret"});
  EXPECT_EQ(ErrorOf(remove), Code::kForbidden);
  EXPECT_NE(MessageOf(remove).find("trader.remove_type"), std::string::npos);
  auto exported = Export(kCarol, "printer");
  EXPECT_EQ(ErrorOf(exported), Code::kForbidden);
  EXPECT_NE(MessageOf(exported).find("trader.export"), std::string::npos);
  EXPECT_NE(MessageOf(exported).find("carol"), std::string::npos);
  EXPECT_EQ(trader.OfferCount(), 0u);

  trader::OfferId id = ExportOk(kAlice, "printer", 60);
  auto watch = h.Call(kBob, Method::kWatch, trader::WatchRequest{"printer", ""});
  EXPECT_EQ(ErrorOf(watch), Code::kForbidden);
  EXPECT_NE(MessageOf(watch).find("trader.watch"), std::string::npos);
  EXPECT_EQ(ErrorOf(h.Call(kNobody, Method::kQuery, trader::QueryRequest{"printer", ""})),
            Code::kForbidden);
  EXPECT_EQ(ErrorOf(h.Call(kNobody, Method::kDescribe, trader::OfferIdRequest{id})),
            Code::kForbidden);
  EXPECT_EQ(ErrorOf(h.Call(kCarol, Method::kWithdraw, trader::OfferIdRequest{id})),
            Code::kForbidden);
  EXPECT_EQ(trader.OfferCount(), 1u);
  // With the grants, the same requests go through.
  EXPECT_EQ(ErrorOf(h.Call(kAdmin, Method::kAddType, Type("scanner", ""))), kAccepted);
  EXPECT_EQ(Matches(kCarol, "printer"), 1u);
  EXPECT_EQ(ErrorOf(h.Call(kAlice, Method::kWatch, trader::WatchRequest{"printer", ""})),
            kAccepted);
}

TEST_F(TraderPermissions, OnlyTheOwnerOrAnAdminChangesAnOffer) {
  using trader::Method;
  trader::OfferId id = ExportOk(kAlice, "printer", 60);
  trader::ModifyRequest m{id, {{"ppm", 99}}, {}};
  // Bob holds every grant on printers, but the offer is Alice's.
  for (auto [method, what] :
       {std::pair{Method::kWithdraw, "withdraw"}, std::pair{Method::kRenew, "renew"}}) {
    auto r = h.Call(kBob, method, trader::OfferIdRequest{id});
    EXPECT_EQ(ErrorOf(r), Code::kForbidden) << what;
    EXPECT_NE(MessageOf(r).find("belongs to another identity"), std::string::npos) << what;
    EXPECT_EQ(MessageOf(r).find("alice"), std::string::npos) << "the owner is not revealed";
  }
  EXPECT_EQ(ErrorOf(h.Call(kBob, Method::kModify, m)), Code::kForbidden);
  // A stranger with no grant at all is refused by ownership too, and does
  // not learn the offer's type.
  auth::Identity eve("eve");
  h.SetIdentity(9, &eve);
  auto probe = h.Call(9, Method::kWithdraw, trader::OfferIdRequest{id});
  EXPECT_EQ(ErrorOf(probe), Code::kForbidden);
  EXPECT_NE(MessageOf(probe).find("belongs to another identity"), std::string::npos);
  EXPECT_EQ(MessageOf(probe).find("printer"), std::string::npos) << MessageOf(probe);
  auto described = ReplyBody(h.Call(kBob, Method::kDescribe, trader::OfferIdRequest{id}));
  ASSERT_TRUE(described.ok());
  trader::Offer offer = trader::DecodeOffer(described.value().AsObject()).value();
  EXPECT_EQ(offer.owner, "alice");  // describe shows the owner
  EXPECT_EQ(std::get<std::int64_t>(offer.props.at("ppm")), 7);
  // The owner may; so may an admin.
  EXPECT_EQ(ErrorOf(h.Call(kAlice, Method::kModify, m)), kAccepted);
  EXPECT_EQ(ErrorOf(h.Call(kAlice, Method::kRenew, trader::OfferIdRequest{id})), kAccepted);
  EXPECT_EQ(ErrorOf(h.Call(kAdmin, Method::kWithdraw, trader::OfferIdRequest{id})), kAccepted);
  EXPECT_EQ(trader.OfferCount(), 0u);
}

TEST_F(TraderPermissions, QueriesLeaveOutSubtypesTheIdentityMayNotQuery) {
  ExportOk(kAdmin, "printer");
  ExportOk(kAdmin, "printer_secret");
  EXPECT_EQ(Matches(kAlice, "printer"), 2u);  // printer* covers both
  EXPECT_EQ(Matches(kCarol, "printer"), 1u);  // only "printer" itself
  EXPECT_EQ(Matches(kAdmin, "printer"), 2u);
}

TEST_F(TraderPermissions, AReloadThatRemovesTheWatchGrantEndsTheWatch) {
  auto started =
      ReplyBody(h.Call(kAlice, trader::Method::kWatch, trader::WatchRequest{"printer", ""}));
  ASSERT_TRUE(started.ok());
  ExportOk(kAdmin, "printer");
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_EQ(h.TakePushes().size(), 1u);
  // The same name, reloaded without trader.watch.
  auto reloaded = Policy("identity alice\n  key " + Key('b') + "\n  allow trader.query *\n");
  const auth::Identity* alice = reloaded->FindByName("alice");
  h.SetIdentity(kAlice, alice);
  service.Reauthorize({kAlice, alice});
  ExportOk(kAdmin, "printer");
  ASSERT_TRUE(h.EndTurn().ok());
  EXPECT_TRUE(h.TakePushes().empty());
}

// ---------------------------------------------------------------- Notify

class NotifyPermissions : public ::testing::Test {
 protected:
  NotifyPermissions() {
    policy_ =
        Policy("identity root\n  key " + Key('a') + "\n  allow admin\n" + "identity alice\n  key " +
               Key('b') + "\n  allow notify.subscribe orders\n  allow notify.durable alice.*\n" +
               "identity bob\n  key " + Key('c') +
               "\n  allow notify.subscribe orders\n  allow notify.durable *\n"
               "  allow notify.publish orders\n");
    h.SetIdentity(kAdmin, policy_->FindByName("root"));
    h.SetIdentity(kAlice, policy_->FindByName("alice"));
    h.SetIdentity(kBob, policy_->FindByName("bob"));
    h.SetIdentity(kNobody, &policy_->anonymous());
    EXPECT_EQ(ErrorOf(h.Call(kAdmin, notify::Method::kCreateChannel,
                             notify::CreateChannelRequest{"orders", true})),
              kAccepted);
  }
  notify::PublishRequest Event(std::int64_t n) {
    notify::PublishRequest r{"orders", {}};
    r.event.event->domain = "shop";
    r.event.event->type = "order";
    r.event.event->fields = {{"n", n}};
    return r;
  }
  void Publish(std::int64_t n) {
    EXPECT_EQ(ErrorOf(h.Call(kBob, notify::Method::kPublish, Event(n))), kAccepted);
  }
  std::vector<std::uint64_t> Delivered(std::uint64_t owner) {
    EXPECT_TRUE(h.EndTurn().ok());
    std::vector<std::uint64_t> seqs;
    for (const auto& p : h.TakePushes()) {
      if (p.owner != owner || p.method != static_cast<std::uint16_t>(notify::Method::kEvent)) {
        continue;
      }
      seqs.push_back(
          notify::DecodeEvent(rex::BodyReader::Parse(p.body).value().AsObject()).value().seq);
    }
    return seqs;
  }

  std::shared_ptr<const auth::AuthPolicy> policy_;
  notify::Broker broker{notify::EncodeEvent};
  services::NotifyService service{broker};
  testing::ServiceHarness h{service};
};

TEST_F(NotifyPermissions, EachRequestNeedsItsGrant) {
  using notify::Method;
  auto create = h.Call(kAlice, Method::kCreateChannel, notify::CreateChannelRequest{"mine", true});
  EXPECT_EQ(ErrorOf(create), Code::kForbidden);
  EXPECT_NE(MessageOf(create).find("notify.create_channel"), std::string::npos);
  auto publish = h.Call(kAlice, Method::kPublish, Event(1));
  EXPECT_EQ(ErrorOf(publish), Code::kForbidden);
  EXPECT_NE(MessageOf(publish).find("notify.publish"), std::string::npos);
  notify::PublishBatchRequest batch{"orders", {}};
  batch.events.push_back(Event(1).event);
  EXPECT_EQ(ErrorOf(h.Call(kAlice, Method::kPublishBatch, batch)), Code::kForbidden);
  EXPECT_EQ(broker.next_seq("orders"), 1u);  // nothing was published
  auto subscribe = h.Call(kNobody, Method::kSubscribe, notify::SubscribeRequest{"orders"});
  EXPECT_EQ(ErrorOf(subscribe), Code::kForbidden);
  EXPECT_NE(MessageOf(subscribe).find("notify.subscribe"), std::string::npos);
  auto durable =
      h.Call(kAlice, Method::kSubscribe, notify::SubscribeRequest{"orders", "", "audit"});
  EXPECT_EQ(ErrorOf(durable), Code::kForbidden);
  EXPECT_NE(MessageOf(durable).find("notify.durable"), std::string::npos);
  EXPECT_EQ(ErrorOf(h.Call(kNobody, Method::kDescribeChannel, notify::ChannelRequest{"orders"})),
            Code::kForbidden);
  // With the grants they go through.
  EXPECT_EQ(ErrorOf(h.Call(kAlice, Method::kSubscribe,
                           notify::SubscribeRequest{"orders", "", "alice.audit"})),
            kAccepted);
  EXPECT_EQ(ErrorOf(h.Call(kBob, Method::kPublish, Event(1))), kAccepted);
}

TEST_F(NotifyPermissions, AStrangerCannotHijackADurableSubscription) {
  using notify::Method;
  notify::SubscribeRequest audit{"orders", "", "alice.audit"};
  audit.credit = 10;
  auto first = ReplyBody(h.Call(kAlice, Method::kSubscribe, audit));
  ASSERT_TRUE(first.ok());
  auto sub = notify::DecodeSubscribed(first.value()).value();
  Publish(1);
  Publish(2);
  EXPECT_EQ(Delivered(kAlice), (std::vector<std::uint64_t>{1, 2}));
  ASSERT_EQ(ErrorOf(h.Call(kAlice, Method::kAck, notify::AckRequest{sub.subscription, 2})),
            kAccepted);
  service.DropOwner(kAlice);  // Alice's connection goes away
  Publish(3);
  Publish(4);
  // Bob may subscribe to the channel and to any durable name, but this one
  // is Alice's: he can neither attach to it nor, so, ack its events away.
  auto hijack = h.Call(kBob, Method::kSubscribe, audit);
  EXPECT_EQ(ErrorOf(hijack), Code::kForbidden);
  EXPECT_NE(MessageOf(hijack).find("belongs to another identity"), std::string::npos);
  EXPECT_EQ(ErrorOf(h.Call(kBob, Method::kAck, notify::AckRequest{sub.subscription, 4})),
            Code::kUnknownWatch);
  EXPECT_TRUE(Delivered(kBob).empty());
  // Alice comes back and resumes after her last ack: nothing lost.
  auto again = ReplyBody(h.Call(kAlice, Method::kSubscribe, audit));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(notify::DecodeSubscribed(again.value()).value().resume_after, 2u);
  EXPECT_EQ(Delivered(kAlice), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(broker.DurableOwner("orders", "alice.audit"), std::optional<std::string>("alice"));
}

TEST_F(NotifyPermissions, AReloadEndsSubscriptionsTheIdentityMayNoLongerHold) {
  using notify::Method;
  notify::SubscribeRequest plain{"orders"};
  plain.credit = 10;
  notify::SubscribeRequest audit{"orders", "", "alice.audit"};
  audit.credit = 10;
  ASSERT_EQ(ErrorOf(h.Call(kAlice, Method::kSubscribe, plain)), kAccepted);
  ASSERT_EQ(ErrorOf(h.Call(kAlice, Method::kSubscribe, audit)), kAccepted);
  Publish(1);
  EXPECT_EQ(Delivered(kAlice), (std::vector<std::uint64_t>{1, 1}));
  // Reloaded: Alice keeps the channel but loses durable names.
  auto reloaded =
      Policy("identity alice\n  key " + Key('b') + "\n  allow notify.subscribe orders\n");
  const auth::Identity* alice = reloaded->FindByName("alice");
  h.SetIdentity(kAlice, alice);
  service.Reauthorize({kAlice, alice});
  Publish(2);
  EXPECT_EQ(Delivered(kAlice), (std::vector<std::uint64_t>{2}));  // the plain one only
  // The durable subscription itself is kept, with its cursor.
  EXPECT_EQ(broker.DurableOwner("orders", "alice.audit"), std::optional<std::string>("alice"));
}

}  // namespace
}  // namespace ardus
