#include "services/trader_service.h"

#include <fmt/core.h>

#include "rex/body.h"
#include "trader/trader_wire.h"

namespace ardus::rexd {

using rex::BodyReader;
using rex::BodyWriter;
using rex::Code;
using trader::Method;

namespace {

using Reply = Result<std::vector<std::uint8_t>, rex::Error>;

std::vector<std::uint8_t> Bytes(const BodyWriter& w) {
  auto b = w.bytes();
  return {b.begin(), b.end()};
}

std::vector<std::uint8_t> Empty() {
  BodyWriter w;
  w.Map(0);
  return Bytes(w);
}

void EncodeOffers(BodyWriter& w, const std::vector<trader::Offer>& offers) {
  w.Array(static_cast<std::uint32_t>(offers.size()));
  for (const auto& o : offers) trader::EncodeOffer(w, o);
}

std::vector<std::uint8_t> EncodePage(const trader::Page& p) {
  BodyWriter w;
  w.Map(5);
  w.Key("offers");
  EncodeOffers(w, p.offers);
  w.Key("iterator").Uint(p.iterator);
  w.Key("remaining").Uint(p.remaining);
  w.Key("considered").Uint(p.considered);
  w.Key("limited_by").Array(static_cast<std::uint32_t>(p.limited_by.size()));
  for (const auto& l : p.limited_by) w.Str(l);
  return Bytes(w);
}

// The reply to a request that returns nothing but success or an error.
Reply Acknowledge(const rex::Ack& a) {
  if (!a.ok()) return a.error();
  return Empty();
}

std::uint32_t Clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
}

}  // namespace

Reply TraderService::Handle(std::int64_t now_ms, std::uint64_t owner, const rex::Frame& req) {
  auto parsed = BodyReader::Parse(req.body);
  if (!parsed.ok()) return parsed.error();
  const BodyReader& b = parsed.value();
  switch (static_cast<Method>(req.method)) {
    case Method::kAddType: {
      auto t = trader::DecodeServiceType(b);
      if (!t.ok()) return t.error();
      return Acknowledge(trader_.AddType(std::move(t).value()));
    }
    case Method::kDescribeType: {
      auto name = b.String("name");
      if (!name.ok()) return name.error();
      auto t = trader_.DescribeType(name.value());
      if (!t.ok()) return t.error();
      auto all = trader_.TypeProperties(name.value());
      BodyWriter w;
      w.Map(2);
      w.Key("type");
      trader::EncodeServiceType(w, t.value());
      w.Key("all_properties").Array(static_cast<std::uint32_t>(all.value().size()));
      for (const auto& p : all.value()) {
        w.Map(4);
        w.Key("name").Str(p.name);
        w.Key("type").Str(tcl::TypeName(p.type));
        w.Key("mandatory").Bool(p.mandatory);
        w.Key("readonly").Bool(p.readonly);
      }
      return Bytes(w);
    }
    case Method::kListTypes: {
      auto names = trader_.ListTypes();
      BodyWriter w;
      w.Map(1);
      w.Key("types").Array(static_cast<std::uint32_t>(names.size()));
      for (const auto& n : names) w.Str(n);
      return Bytes(w);
    }
    case Method::kRemoveType: {
      auto name = b.String("name");
      if (!name.ok()) return name.error();
      return Acknowledge(trader_.RemoveType(name.value()));
    }
    case Method::kExport: {
      auto type = b.String("type");
      if (!type.ok()) return type.error();
      auto props = tcl::DecodeProperties(b.Find("props"));
      if (!props.ok()) return props.error();
      auto id = trader_.Export(now_ms, std::move(type).value(), std::move(props).value(),
                               Clamp32(b.UintOr("lease", 0)));
      if (!id.ok()) return id.error();
      BodyWriter w;
      w.Map(1);
      w.Key("id").Uint(id.value());
      return Bytes(w);
    }
    case Method::kWithdraw: {
      auto id = b.Uint("id");
      if (!id.ok()) return id.error();
      return Acknowledge(trader_.Withdraw(id.value()));
    }
    case Method::kModify: {
      auto id = b.Uint("id");
      if (!id.ok()) return id.error();
      auto set = tcl::DecodeProperties(b.Find("set"));
      if (!set.ok()) return set.error();
      auto remove = b.Strings("remove");
      if (!remove.ok()) return remove.error();
      return Acknowledge(trader_.Modify(id.value(), set.value(), remove.value()));
    }
    case Method::kDescribe: {
      auto id = b.Uint("id");
      if (!id.ok()) return id.error();
      auto o = trader_.Describe(id.value());
      if (!o.ok()) return o.error();
      BodyWriter w;
      trader::EncodeOffer(w, o.value());
      return Bytes(w);
    }
    case Method::kRenew: {
      auto id = b.Uint("id");
      if (!id.ok()) return id.error();
      auto deadline = trader_.Renew(now_ms, id.value());
      if (!deadline.ok()) return deadline.error();
      BodyWriter w;
      w.Map(1);
      w.Key("deadline_ms").Uint(static_cast<std::uint64_t>(deadline.value()));
      return Bytes(w);
    }
    case Method::kQuery: {
      trader::QueryRequest q;
      auto type = b.String("type");
      if (!type.ok()) return type.error();
      q.type = std::move(type).value();
      q.constraint = b.StringOr("constraint", "");
      q.preference = b.StringOr("preference", "");
      q.page_size = Clamp32(b.UintOr("page_size", 100));
      q.policies.search_card = Clamp32(b.UintOr("search_card", 0));
      q.policies.match_card = Clamp32(b.UintOr("match_card", 0));
      q.policies.return_card = Clamp32(b.UintOr("return_card", 0));
      q.policies.exact_type_match = b.BoolOr("exact_type_match", false);
      auto page = trader_.Query(now_ms, owner, q);
      if (!page.ok()) return page.error();
      return EncodePage(page.value());
    }
    case Method::kNextPage: {
      auto it = b.Uint("iterator");
      if (!it.ok()) return it.error();
      auto page = trader_.NextPage(now_ms, owner, it.value(), Clamp32(b.UintOr("count", 100)));
      if (!page.ok()) return page.error();
      return EncodePage(page.value());
    }
    case Method::kCloseIterator: {
      auto it = b.Uint("iterator");
      if (!it.ok()) return it.error();
      return Acknowledge(trader_.CloseIterator(owner, it.value()));
    }
    case Method::kWatch: {
      auto type = b.String("type");
      if (!type.ok()) return type.error();
      auto start = trader_.Watch(owner, type.value(), b.StringOr("constraint", ""));
      if (!start.ok()) return start.error();
      BodyWriter w;
      w.Map(2);
      w.Key("watch").Uint(start.value().watch);
      w.Key("matching");
      EncodeOffers(w, start.value().matching);
      return Bytes(w);
    }
    case Method::kUnwatch: {
      auto id = b.Uint("watch");
      if (!id.ok()) return id.error();
      return Acknowledge(trader_.Unwatch(owner, id.value()));
    }
    default:
      return rex::Fail(Code::kUnknownMethod,
                       fmt::format("method {} is not a Trader method", req.method));
  }
}

std::vector<std::uint8_t> TraderService::EncodeEvent(const trader::WatchEvent& e) {
  static constexpr const char* kKinds[] = {"enter", "leave", "update"};
  BodyWriter w;
  w.Map(4);
  w.Key("watch").Uint(e.watch);
  w.Key("event").Str(kKinds[e.kind]);
  w.Key("reason").Str(e.reason);
  w.Key("offer");
  trader::EncodeOffer(w, e.offer);
  return Bytes(w);
}

}  // namespace ardus::rexd
