#include "trader/trader_requests.h"

#include <fmt/core.h>

#include "tcl/value_codec.h"

namespace ardus::trader {

namespace {

rex::Error Bad(std::string what) { return rex::Fail(rex::Code::kBadRequest, std::move(what)); }

void EncodeOffers(rex::BodyWriter& w, const std::vector<Offer>& offers) {
  w.Array(static_cast<std::uint32_t>(offers.size()));
  for (const auto& o : offers) EncodeOffer(w, o);
}

// An absent or nil list is empty.
Decoded<std::vector<Offer>> DecodeOffers(const rex::BodyReader& b, std::string_view key) {
  std::vector<Offer> out;
  const msgpack::object* list = b.Find(key);
  if (!list || list->type == msgpack::type::NIL) return out;
  if (list->type != msgpack::type::ARRAY) {
    return Bad(fmt::format("'{}' must be an array of offers", key));
  }
  out.reserve(list->via.array.size);
  for (std::uint32_t i = 0; i < list->via.array.size; ++i) {
    auto o = DecodeOffer(list->via.array.ptr[i]);
    if (!o.ok()) return o.error();
    out.push_back(std::move(o).value());
  }
  return out;
}

constexpr const char* kEventKinds[] = {"enter", "leave", "update"};

}  // namespace

const char* EventKindName(WatchEvent::Kind kind) { return kEventKinds[kind]; }

// --- requests

void Encode(rex::BodyWriter& w, const TypeNameRequest& r) { w.Map(1).Key("name").Str(r.name); }

void Encode(rex::BodyWriter& w, const ListTypesRequest&) { w.Map(0); }

void Encode(rex::BodyWriter& w, const ExportRequest& r) {
  w.Map(3);
  w.Key("type").Str(r.type);
  w.Key("props");
  tcl::EncodeProperties(w, r.props);
  w.Key("lease").Uint(r.lease);
}

void Encode(rex::BodyWriter& w, const OfferIdRequest& r) { w.Map(1).Key("id").Uint(r.id); }

void Encode(rex::BodyWriter& w, const ModifyRequest& r) {
  w.Map(3);
  w.Key("id").Uint(r.id);
  w.Key("set");
  tcl::EncodeProperties(w, r.set);
  w.Key("remove").Array(static_cast<std::uint32_t>(r.remove.size()));
  for (const auto& name : r.remove) w.Str(name);
}

void Encode(rex::BodyWriter& w, const QueryRequest& r) {
  w.Map(8);
  w.Key("type").Str(r.type);
  w.Key("constraint").Str(r.constraint);
  w.Key("preference").Str(r.preference);
  w.Key("page_size").Uint(r.page_size);
  w.Key("search_card").Uint(r.policies.search_card);
  w.Key("match_card").Uint(r.policies.match_card);
  w.Key("return_card").Uint(r.policies.return_card);
  w.Key("exact_type_match").Bool(r.policies.exact_type_match);
}

void Encode(rex::BodyWriter& w, const NextPageRequest& r) {
  w.Map(2).Key("iterator").Uint(r.iterator).Key("count").Uint(r.count);
}

void Encode(rex::BodyWriter& w, const CloseIteratorRequest& r) {
  w.Map(1).Key("iterator").Uint(r.iterator);
}

void Encode(rex::BodyWriter& w, const WatchRequest& r) {
  w.Map(2).Key("type").Str(r.type).Key("constraint").Str(r.constraint);
}

void Encode(rex::BodyWriter& w, const UnwatchRequest& r) { w.Map(1).Key("watch").Uint(r.watch); }

Decoded<TypeNameRequest> DecodeTypeNameRequest(const rex::BodyReader& b) {
  auto name = b.String("name");
  if (!name.ok()) return name.error();
  return TypeNameRequest{std::move(name).value()};
}

// The hot decoders build their result in the return statement: a named
// local would be moved twice on its way into the Result.
Decoded<ExportRequest> DecodeExportRequest(const rex::BodyReader& b) {
  auto type = b.String("type");
  if (!type.ok()) return type.error();
  auto props = tcl::DecodeProperties(b.Find("props"));
  if (!props.ok()) return props.error();
  return ExportRequest{std::move(type).value(), std::move(props).value(), b.Uint32Or("lease", 0)};
}

Decoded<OfferIdRequest> DecodeOfferIdRequest(const rex::BodyReader& b) {
  auto id = b.Uint("id");
  if (!id.ok()) return id.error();
  return OfferIdRequest{id.value()};
}

Decoded<ModifyRequest> DecodeModifyRequest(const rex::BodyReader& b) {
  ModifyRequest r;
  auto id = b.Uint("id");
  if (!id.ok()) return id.error();
  r.id = id.value();
  auto set = tcl::DecodeProperties(b.Find("set"));
  if (!set.ok()) return set.error();
  r.set = std::move(set).value();
  auto remove = b.Strings("remove");
  if (!remove.ok()) return remove.error();
  r.remove = std::move(remove).value();
  return r;
}

Decoded<QueryRequest> DecodeQueryRequest(const rex::BodyReader& b) {
  QueryRequest q;
  auto type = b.String("type");
  if (!type.ok()) return type.error();
  q.type = std::move(type).value();
  q.constraint = b.StringOr("constraint", "");
  q.preference = b.StringOr("preference", "");
  q.page_size = b.Uint32Or("page_size", 100);
  q.policies.search_card = b.Uint32Or("search_card", 0);
  q.policies.match_card = b.Uint32Or("match_card", 0);
  q.policies.return_card = b.Uint32Or("return_card", 0);
  q.policies.exact_type_match = b.BoolOr("exact_type_match", false);
  return q;
}

Decoded<NextPageRequest> DecodeNextPageRequest(const rex::BodyReader& b) {
  auto it = b.Uint("iterator");
  if (!it.ok()) return it.error();
  return NextPageRequest{it.value(), b.Uint32Or("count", 100)};
}

Decoded<CloseIteratorRequest> DecodeCloseIteratorRequest(const rex::BodyReader& b) {
  auto it = b.Uint("iterator");
  if (!it.ok()) return it.error();
  return CloseIteratorRequest{it.value()};
}

Decoded<WatchRequest> DecodeWatchRequest(const rex::BodyReader& b) {
  auto type = b.String("type");
  if (!type.ok()) return type.error();
  return WatchRequest{std::move(type).value(), b.StringOr("constraint", "")};
}

Decoded<UnwatchRequest> DecodeUnwatchRequest(const rex::BodyReader& b) {
  auto id = b.Uint("watch");
  if (!id.ok()) return id.error();
  return UnwatchRequest{id.value()};
}

// --- replies

void Encode(rex::BodyWriter& w, const TypeDescription& r) {
  w.Map(2);
  w.Key("type");
  EncodeServiceType(w, r.type);
  w.Key("all_properties");
  EncodePropertyDefs(w, r.all_properties);
}

void Encode(rex::BodyWriter& w, const TypeList& r) {
  w.Map(1);
  w.Key("types").Array(static_cast<std::uint32_t>(r.types.size()));
  for (const auto& n : r.types) w.Str(n);
}

void Encode(rex::BodyWriter& w, const ExportReply& r) { w.Map(1).Key("id").Uint(r.id); }

void Encode(rex::BodyWriter& w, const RenewReply& r) {
  w.Map(1).Key("deadline_ms").Uint(static_cast<std::uint64_t>(r.deadline_ms));
}

void Encode(rex::BodyWriter& w, const Page& p) {
  w.Map(5);
  w.Key("offers");
  EncodeOffers(w, p.offers);
  w.Key("iterator").Uint(p.iterator);
  w.Key("remaining").Uint(p.remaining);
  w.Key("considered").Uint(p.considered);
  w.Key("limited_by").Array(static_cast<std::uint32_t>(p.limited_by.size()));
  for (const auto& l : p.limited_by) w.Str(l);
}

void Encode(rex::BodyWriter& w, const Trader::WatchStart& r) {
  w.Map(2);
  w.Key("watch").Uint(r.watch);
  w.Key("matching");
  EncodeOffers(w, r.matching);
}

void Encode(rex::BodyWriter& w, const WatchEvent& e) {
  w.Map(4);
  w.Key("watch").Uint(e.watch);
  w.Key("event").Str(kEventKinds[e.kind]);
  w.Key("reason").Str(e.reason);
  w.Key("offer");
  EncodeOffer(w, e.offer);
}

Decoded<TypeDescription> DecodeTypeDescription(const rex::BodyReader& b) {
  TypeDescription d;
  const msgpack::object* type = b.Find("type");
  if (!type) return Bad("'type' must be a service type map");
  auto view = rex::BodyReader::View(*type);
  if (!view.ok()) return Bad("'type' must be a service type map");
  auto t = DecodeServiceType(view.value());
  if (!t.ok()) return t.error();
  d.type = std::move(t).value();
  auto all = DecodePropertyDefs(b.Find("all_properties"), "all_properties");
  if (!all.ok()) return all.error();
  d.all_properties = std::move(all).value();
  return d;
}

Decoded<TypeList> DecodeTypeList(const rex::BodyReader& b) {
  auto types = b.Strings("types");
  if (!types.ok()) return types.error();
  return TypeList{std::move(types).value()};
}

Decoded<ExportReply> DecodeExportReply(const rex::BodyReader& b) {
  auto id = b.Uint("id");
  if (!id.ok()) return id.error();
  return ExportReply{id.value()};
}

Decoded<RenewReply> DecodeRenewReply(const rex::BodyReader& b) {
  auto deadline = b.Uint("deadline_ms");
  if (!deadline.ok()) return deadline.error();
  return RenewReply{static_cast<std::int64_t>(deadline.value())};
}

Decoded<Page> DecodePage(const rex::BodyReader& b) {
  Page p;
  auto offers = DecodeOffers(b, "offers");
  if (!offers.ok()) return offers.error();
  p.offers = std::move(offers).value();
  p.iterator = b.UintOr("iterator", 0);
  p.remaining = b.UintOr("remaining", 0);
  p.considered = b.UintOr("considered", 0);
  auto limited = b.Strings("limited_by");
  if (!limited.ok()) return limited.error();
  p.limited_by = std::move(limited).value();
  return p;
}

Decoded<Trader::WatchStart> DecodeWatchStart(const rex::BodyReader& b) {
  Trader::WatchStart s;
  auto watch = b.Uint("watch");
  if (!watch.ok()) return watch.error();
  s.watch = watch.value();
  auto matching = DecodeOffers(b, "matching");
  if (!matching.ok()) return matching.error();
  s.matching = std::move(matching).value();
  return s;
}

Decoded<WatchEvent> DecodeWatchEvent(const rex::BodyReader& b) {
  WatchEvent e{};
  e.watch = b.UintOr("watch", 0);
  std::string kind = b.StringOr("event", "");
  bool known = false;
  for (std::uint8_t k = 0; k < 3; ++k) {
    if (kind == kEventKinds[k]) {
      e.kind = static_cast<WatchEvent::Kind>(k);
      known = true;
    }
  }
  if (!known) return Bad("'event' must be enter, leave or update");
  e.reason = b.StringOr("reason", "");
  const msgpack::object* offer = b.Find("offer");
  if (!offer) return Bad("'offer' must be an offer map");
  auto o = DecodeOffer(*offer);
  if (!o.ok()) return o.error();
  e.offer = std::move(o).value();
  return e;
}

}  // namespace ardus::trader
