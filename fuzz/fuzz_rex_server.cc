// Fuzzes everything a REX client can send to rexd short of the disk: the
// frame parser, the handshake, MessagePack bodies and every Trader method.
// The input is split into TCP segments at arbitrary points.
#include <cstddef>
#include <cstdint>

#include "rex/body.h"
#include "rex/server_connection.h"
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
  rex::ServerConnection conn("fuzz", {"trader"}, rex::ConnectionLimits{4096, 1 << 16});
  // A valid HELLO first so that most inputs reach the methods.
  std::vector<std::uint8_t> hello;
  rex::BodyWriter w;
  w.Map(1).Key("version").Uint(1);
  rex::AppendFrame(rex::Kind::kHello, 0, 0, w.bytes(), hello);
  std::vector<rex::Frame> requests;
  conn.OnBytes(hello, requests);
  rexd::TraderService service(*t);
  std::size_t pos = 0;
  std::int64_t now = 0;
  while (pos < size) {
    std::size_t n = std::min<std::size_t>(size - pos, 1 + data[pos] % 97);
    conn.OnBytes({data + pos, n}, requests);
    pos += n;
    for (const auto& r : requests) {
      auto reply = service.Handle(now, 1, r);
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
  t->TakeWatchEvents();
  t->DropOwner(1);
  return 0;
}
