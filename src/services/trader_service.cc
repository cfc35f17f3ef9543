#include "services/trader_service.h"

#include <fmt/core.h>

#include <iterator>

#include "rex/body.h"
#include "services/method_handler.h"
#include "trader/trader_requests.h"

namespace ardus::services {

using auth::Permission;
using trader::Method;

namespace {

// What a method handler sees of one request.
struct Call {
  trader::Trader& trader;
  std::int64_t now_ms;
  const Caller& caller;
  const rex::BodyReader& body;
  std::uint64_t owner() const { return caller.owner; }
};

// The types an identity may see with `permission` (query or watch), as the
// engine's filter; empty for an admin, who sees every type. The filter
// keeps its own copy of the identity: watches outlive the request.
trader::TypeFilter MaySee(const auth::Identity& who, Permission permission) {
  if (who.admin()) return {};
  return [who, permission](const std::string& type) { return who.Check(permission, type).ok(); };
}

// Ownership, and permission on the type of offer `id`: what modify,
// withdraw and renew need. nullopt when both hold (or the offer is unknown:
// the engine then says so). Ownership first, so that a stranger's refusal
// does not tell it the offer's type. An admin passes at once: renew is
// frequent, and the check neither copies the offer nor formats anything
// unless it refuses.
std::optional<rex::Error> RefuseOfferChange(const Call& c, Permission permission,
                                            trader::OfferId id) {
  if (c.caller.identity->admin()) return std::nullopt;
  const trader::Offer* offer = c.trader.Find(id);
  if (!offer) return std::nullopt;
  const std::string& name = c.caller.identity->name();
  if (offer->owner.empty() || offer->owner != name) {
    return RefuseUnlessOwner(c.caller, offer->owner, fmt::format("offer {}", id));
  }
  return Refuse(c.caller, permission, offer->type);
}

Reply AddType(const Call& c) {
  return With(c, trader::DecodeServiceType, [&](trader::ServiceType& t) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kAddType, t.name)) return *no;
    return Acknowledge(c.trader.AddType(std::move(t)));
  });
}

// Describing and listing types is reading: it needs trader.query on them.
Reply DescribeType(const Call& c) {
  return With(c, trader::DecodeTypeNameRequest, [&](const trader::TypeNameRequest& r) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kQuery, r.name)) return *no;
    auto t = c.trader.DescribeType(r.name);
    if (!t.ok()) return t.error();
    auto all = c.trader.TypeProperties(r.name);
    return rex::EncodeBody(trader::TypeDescription{t.value(), all.value()});
  });
}

Reply ListTypes(const Call& c) {
  std::vector<std::string> types = c.trader.ListTypes();
  if (!c.caller.identity->admin()) {
    std::erase_if(types, [&](const std::string& t) {
      return !c.caller.identity->Check(Permission::kQuery, t).ok();
    });
  }
  return rex::EncodeBody(trader::TypeList{std::move(types)});
}

Reply RemoveType(const Call& c) {
  return With(c, trader::DecodeTypeNameRequest, [&](const trader::TypeNameRequest& r) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kRemoveType, r.name)) return *no;
    return Acknowledge(c.trader.RemoveType(r.name));
  });
}

Reply Export(const Call& c) {
  return With(c, trader::DecodeExportRequest, [&](trader::ExportRequest& r) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kExport, r.type)) return *no;
    auto id = c.trader.Export(c.now_ms, std::move(r.type), std::move(r.props), r.lease,
                              c.caller.identity->name());
    if (!id.ok()) return id.error();
    return rex::EncodeBody(trader::ExportReply{id.value()});
  });
}

Reply Withdraw(const Call& c) {
  return With(c, trader::DecodeOfferIdRequest, [&](const trader::OfferIdRequest& r) -> Reply {
    if (auto no = RefuseOfferChange(c, Permission::kWithdraw, r.id)) return *no;
    return Acknowledge(c.trader.Withdraw(r.id));
  });
}

Reply Modify(const Call& c) {
  return With(c, trader::DecodeModifyRequest, [&](const trader::ModifyRequest& r) -> Reply {
    if (auto no = RefuseOfferChange(c, Permission::kModify, r.id)) return *no;
    return Acknowledge(c.trader.Modify(r.id, r.set, r.remove));
  });
}

Reply Describe(const Call& c) {
  return With(c, trader::DecodeOfferIdRequest, [&](const trader::OfferIdRequest& r) -> Reply {
    auto o = c.trader.Describe(r.id);
    if (!o.ok()) return o.error();
    if (auto no = Refuse(c.caller, Permission::kQuery, o.value().type)) return *no;
    rex::BodyWriter w;
    trader::EncodeOffer(w, o.value());
    return w.Copy();
  });
}

Reply Renew(const Call& c) {
  return With(c, trader::DecodeOfferIdRequest, [&](const trader::OfferIdRequest& r) -> Reply {
    if (auto no = RefuseOfferChange(c, Permission::kRenew, r.id)) return *no;
    auto deadline = c.trader.Renew(c.now_ms, r.id);
    if (!deadline.ok()) return deadline.error();
    return rex::EncodeBody(trader::RenewReply{deadline.value()});
  });
}

Reply Query(const Call& c) {
  return With(c, trader::DecodeQueryRequest, [&](const trader::QueryRequest& q) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kQuery, q.type)) return *no;
    // Subtypes it may not query are left out of the search, not refused.
    return Answer(
        c.trader.Query(c.now_ms, c.owner(), q, MaySee(*c.caller.identity, Permission::kQuery)));
  });
}

Reply NextPage(const Call& c) {
  return With(c, trader::DecodeNextPageRequest, [&](const trader::NextPageRequest& r) {
    return Answer(c.trader.NextPage(c.now_ms, c.owner(), r.iterator, r.count));
  });
}

Reply CloseIterator(const Call& c) {
  return With(c, trader::DecodeCloseIteratorRequest, [&](const trader::CloseIteratorRequest& r) {
    return Acknowledge(c.trader.CloseIterator(c.owner(), r.iterator));
  });
}

Reply Watch(const Call& c) {
  return With(c, trader::DecodeWatchRequest, [&](const trader::WatchRequest& r) -> Reply {
    if (auto no = Refuse(c.caller, Permission::kWatch, r.type)) return *no;
    return Answer(c.trader.Watch(c.owner(), r.type, r.constraint,
                                 MaySee(*c.caller.identity, Permission::kWatch)));
  });
}

Reply Unwatch(const Call& c) {
  return With(c, trader::DecodeUnwatchRequest, [&](const trader::UnwatchRequest& r) {
    return Acknowledge(c.trader.Unwatch(c.owner(), r.watch));
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
  Handled out{parsed.ok() ? Dispatch(req.method, Call{trader_, now_ms, caller, parsed.value()})
                          : Reply(parsed.error())};
  out.work = trader_.work() - before;
  return out;
}

void TraderService::Reauthorize(const Caller& caller) {
  trader_.Reauthorize(caller.owner, MaySee(*caller.identity, Permission::kWatch));
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
