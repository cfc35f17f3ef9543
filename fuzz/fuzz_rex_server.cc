// Fuzzes everything a REX client can send to rexd short of the disk: the
// frame parser, the handshake, MessagePack bodies and every Trader and Notify
// method, through the services' one interface (services/service.h), with
// their pushes (watch events, deliveries, gaps, type changes) sent back as
// rexd does. The input's first byte picks the
// service (odd: Notify); the rest is what the client sends after its HELLO,
// split into TCP segments at points its own bytes choose; time moves on between them (so timeouts
// fire), and the client reads its output only after some of them (so the output bounds and the
// overloaded path are reached).
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "auth/permissions.h"
#include "notify/notify_wire.h"
#include "rex/body.h"
#include "rex/server_connection.h"
#include "services/notify_service.h"
#include "services/trader_service.h"

namespace {

// rexd without --auth: every connection is an anonymous admin.
const ardus::auth::Identity& AnonymousAdmin() {
  static const auto policy = ardus::auth::AuthPolicy::Open();
  return policy->anonymous();
}

// Every push goes to the one connection (owner 1).
class ToConnection final : public ardus::services::PushSink {
 public:
  explicit ToConnection(ardus::rex::ServerConnection& conn) : conn_(conn) {}
  void Push(std::uint64_t, std::uint16_t method, std::uint32_t id,
            std::span<const std::uint8_t> body) override {
    conn_.Push(method, id, body);
  }

 private:
  ardus::rex::ServerConnection& conn_;
};

}  // namespace

using namespace ardus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static trader::Trader* t = [] {
    auto* tr = new trader::Trader(1);
    (void)tr->AddType({"device", {}, {{"name", {tcl::BaseType::kString, false}}}});
    (void)tr->AddType(
        {"printer",
         {"device"},
         {{"ppm", {tcl::BaseType::kInt, false}, true}, {"langs", {tcl::BaseType::kString, true}}}});
    (void)tr->Export(0, "printer", {{"ppm", std::int64_t{3}}}, 5);
    return tr;
  }();
  static notify::Broker* broker = [] {
    auto* b = new notify::Broker(notify::EncodeEvent);
    notify::ChannelConfig persistent;
    persistent.persistent = true;
    persistent.retain_count = 50;
    (void)b->CreateChannel("p", persistent);
    return b;
  }();
  if (size == 0) return 0;
  bool notify_side = data[0] & 1;
  rex::ConnectionLimits limits{.max_body = 4096, .max_pending = 1 << 16};
  limits.max_push_pending = 1 << 17;
  limits.max_unserved = 1 << 13;
  std::int64_t now = 0;  // ms, for the connection and the engines alike
  rex::ServerConnection conn("fuzz", {"trader"}, limits, now);
  // A valid HELLO first so that most inputs reach the methods.
  std::vector<std::uint8_t> hello;
  rex::BodyWriter w;
  w.Map(1).Key("version").Uint(1);
  rex::AppendFrame(rex::Kind::kHello, 0, 0, w.bytes(), hello);
  conn.OnBytes(now, hello);
  services::TraderService trader_service(*t);
  services::NotifyService notify_service(*broker);
  services::Service& service =
      notify_side ? static_cast<services::Service&>(notify_service) : trader_service;
  ToConnection sink(conn);
  std::size_t pos = 1;  // data[0] chose the service
  while (pos < size) {
    std::uint8_t control = data[pos];
    std::size_t n = std::min<std::size_t>(size - pos, 1 + control % 97);
    conn.OnBytes(now, {data + pos, n});
    pos += n;
    // Serve as rexd does: requests while the output has room, then replies,
    // then pushes.
    std::vector<std::pair<rex::Frame, Result<std::vector<std::uint8_t>, rex::Error>>> held;
    std::size_t held_bytes = 0;
    rex::Frame r;
    while (conn.NextRequest(&r, held_bytes)) {
      auto reply = service.Handle(now, {1, &AnonymousAdmin()}, r).reply;
      held_bytes += reply.ok() ? reply.value().size() : 64;
      held.emplace_back(std::move(r), std::move(reply));
    }
    for (const auto& [request, reply] : held) {
      if (reply.ok()) {
        conn.Reply(request, reply.value());
      } else {
        conn.ReplyError(request, reply.error());
      }
    }
    (void)service.Commit();  // drops the turn's mutations: no store here
    service.TakePushes(sink);
    now += 250;
    service.Tick(now);
    conn.Tick(now);
    if (control & 0x80) conn.Consumed(conn.pending().size() / (1 + (control & 3)), now);
    if (conn.finished()) break;
  }
  // The engines outlive the input: leave them as a new connection finds them.
  for (services::Service* s : {static_cast<services::Service*>(&trader_service),
                               static_cast<services::Service*>(&notify_service)}) {
    (void)s->Commit();
    s->TakePushes(sink);
    s->DropOwner(1);
  }
  return 0;
}
