#include "services/trader_service.h"

#include <fmt/core.h>

#include <iterator>

#include "rex/body.h"
#include "services/method_handler.h"
#include "trader/trader_requests.h"

namespace ardus::services {

using trader::Method;

namespace {

// What a method handler sees of one request.
struct Call {
  trader::Trader& trader;
  std::int64_t now_ms;
  std::uint64_t owner;
  const rex::BodyReader& body;
};

Reply AddType(const Call& c) {
  return With(c, trader::DecodeServiceType,
              [&](trader::ServiceType& t) { return Acknowledge(c.trader.AddType(std::move(t))); });
}

Reply DescribeType(const Call& c) {
  return With(c, trader::DecodeTypeNameRequest, [&](const trader::TypeNameRequest& r) -> Reply {
    auto t = c.trader.DescribeType(r.name);
    if (!t.ok()) return t.error();
    auto all = c.trader.TypeProperties(r.name);
    return rex::EncodeBody(trader::TypeDescription{t.value(), all.value()});
  });
}

Reply ListTypes(const Call& c) { return rex::EncodeBody(trader::TypeList{c.trader.ListTypes()}); }

Reply RemoveType(const Call& c) {
  return With(c, trader::DecodeTypeNameRequest, [&](const trader::TypeNameRequest& r) {
    return Acknowledge(c.trader.RemoveType(r.name));
  });
}

Reply Export(const Call& c) {
  return With(c, trader::DecodeExportRequest, [&](trader::ExportRequest& r) -> Reply {
    auto id = c.trader.Export(c.now_ms, std::move(r.type), std::move(r.props), r.lease);
    if (!id.ok()) return id.error();
    return rex::EncodeBody(trader::ExportReply{id.value()});
  });
}

Reply Withdraw(const Call& c) {
  return With(c, trader::DecodeOfferIdRequest, [&](const trader::OfferIdRequest& r) {
    return Acknowledge(c.trader.Withdraw(r.id));
  });
}

Reply Modify(const Call& c) {
  return With(c, trader::DecodeModifyRequest, [&](const trader::ModifyRequest& r) {
    return Acknowledge(c.trader.Modify(r.id, r.set, r.remove));
  });
}

Reply Describe(const Call& c) {
  return With(c, trader::DecodeOfferIdRequest, [&](const trader::OfferIdRequest& r) -> Reply {
    auto o = c.trader.Describe(r.id);
    if (!o.ok()) return o.error();
    rex::BodyWriter w;
    trader::EncodeOffer(w, o.value());
    return w.Copy();
  });
}

Reply Renew(const Call& c) {
  return With(c, trader::DecodeOfferIdRequest, [&](const trader::OfferIdRequest& r) -> Reply {
    auto deadline = c.trader.Renew(c.now_ms, r.id);
    if (!deadline.ok()) return deadline.error();
    return rex::EncodeBody(trader::RenewReply{deadline.value()});
  });
}

Reply Query(const Call& c) {
  return With(c, trader::DecodeQueryRequest, [&](const trader::QueryRequest& q) {
    return Answer(c.trader.Query(c.now_ms, c.owner, q));
  });
}

Reply NextPage(const Call& c) {
  return With(c, trader::DecodeNextPageRequest, [&](const trader::NextPageRequest& r) {
    return Answer(c.trader.NextPage(c.now_ms, c.owner, r.iterator, r.count));
  });
}

Reply CloseIterator(const Call& c) {
  return With(c, trader::DecodeCloseIteratorRequest, [&](const trader::CloseIteratorRequest& r) {
    return Acknowledge(c.trader.CloseIterator(c.owner, r.iterator));
  });
}

Reply Watch(const Call& c) {
  return With(c, trader::DecodeWatchRequest, [&](const trader::WatchRequest& r) {
    return Answer(c.trader.Watch(c.owner, r.type, r.constraint));
  });
}

Reply Unwatch(const Call& c) {
  return With(c, trader::DecodeUnwatchRequest, [&](const trader::UnwatchRequest& r) {
    return Acknowledge(c.trader.Unwatch(c.owner, r.watch));
  });
}

struct MethodEntry {
  Method method;
  Reply (*serve)(const Call&);
};

constexpr MethodEntry kMethods[] = {
    {Method::kAddType, AddType},     {Method::kDescribeType, DescribeType},
    {Method::kListTypes, ListTypes}, {Method::kRemoveType, RemoveType},
    {Method::kExport, Export},       {Method::kWithdraw, Withdraw},
    {Method::kModify, Modify},       {Method::kDescribe, Describe},
    {Method::kRenew, Renew},         {Method::kQuery, Query},
    {Method::kNextPage, NextPage},   {Method::kCloseIterator, CloseIterator},
    {Method::kWatch, Watch},         {Method::kUnwatch, Unwatch},
};

Reply Dispatch(std::uint16_t method, const Call& c) {
  for (const auto& m : kMethods) {
    if (static_cast<std::uint16_t>(m.method) == method) return m.serve(c);
  }
  return rex::Fail(rex::Code::kUnknownMethod,
                   fmt::format("method {} is not a Trader method", method));
}

}  // namespace

Handled TraderService::Handle(std::int64_t now_ms, const Caller& caller, const rex::Frame& req) {
  std::uint64_t before = trader_.work();
  auto parsed = rex::BodyReader::Parse(req.body);
  // One named result, built in place: the reply is not moved on its way out.
  Handled out{parsed.ok()
                  ? Dispatch(req.method, Call{trader_, now_ms, caller.owner, parsed.value()})
                  : Reply(parsed.error())};
  out.work = trader_.work() - before;
  return out;
}

Status TraderService::Commit() {
  (void)trader_.TakeMutations();
  return Status::Ok();
}

void TraderService::TakePushes(PushSink& sink) {
  for (const auto& ev : trader_.TakeWatchEvents()) {
    rex::BodyWriter w;
    trader::Encode(w, ev);
    sink.Push(ev.owner, static_cast<std::uint16_t>(Method::kWatchEvent),
              static_cast<std::uint32_t>(ev.watch), w.bytes());
  }
}

}  // namespace ardus::services
