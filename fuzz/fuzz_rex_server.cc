// Fuzzes everything a REX client can send to rexd short of the disk: the
// frame parser, the handshake, MessagePack bodies and every Trader and Notify
// method (the first byte picks the service). The input is split into TCP
// segments at arbitrary points.
#include <cstddef>
#include <cstdint>

#include "notify/notify_wire.h"
#include "rex/body.h"
#include "rex/server_connection.h"
#include "rexd/notify_service.h"
#include "rexd/trader_service.h"

using namespace ardus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static trader::Trader* t = [] {
    auto* tr = new trader::Trader(1);
    (void)tr->AddType({"device", {}, {{"name", {trader::BaseType::kString, false}}}});
    (void)tr->AddType({"printer",
                       {"device"},
                       {{"ppm", {trader::BaseType::kInt, false}, true},
                        {"langs", {trader::BaseType::kString, true}}}});
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
  rex::ServerConnection conn("fuzz", {"trader"}, rex::ConnectionLimits{4096, 1 << 16});
  // A valid HELLO first so that most inputs reach the methods.
  std::vector<std::uint8_t> hello;
  rex::BodyWriter w;
  w.Map(1).Key("version").Uint(1);
  rex::AppendFrame(rex::Kind::kHello, 0, 0, w.bytes(), hello);
  std::vector<rex::Frame> requests;
  conn.OnBytes(hello, requests);
  rexd::TraderService service(*t);
  rexd::NotifyService notify_service(*broker);
  std::size_t pos = 0;
  std::int64_t now = 0;
  while (pos < size) {
    std::size_t n = std::min<std::size_t>(size - pos, 1 + data[pos] % 97);
    conn.OnBytes({data + pos, n}, requests);
    pos += n;
    for (const auto& r : requests) {
      auto reply = notify_side ? notify_service.Handle(now, 1, r) : service.Handle(now, 1, r);
      if (reply.ok()) {
        conn.Reply(r, reply.value());
      } else {
        conn.ReplyError(r, reply.error());
      }
    }
    requests.clear();
    now += 1000;
    t->Tick(now);
    conn.Consumed(conn.pending().size());
  }
  t->TakeMutations();
  broker->TakeMutations();
  broker->TakeDeliveries();
  broker->DropOwner(1);
  t->TakeWatchEvents();
  t->DropOwner(1);
  return 0;
}
