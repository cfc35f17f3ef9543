// The Trader's requests and replies, typed: one codec per body, used by the
// service (src/services/trader_service.cc), the `rex` CLI, the tests, the
// fuzzer and the benchmark clients alike. docs/rex-protocol.md, "Trader
// methods", has the tables; tests/unit/trader_requests_test.cc checks its
// worked examples.
//
// Encoders write every field, in the order the tables give. Decoders take a
// parsed body (rex::BodyReader: bounded by its parse limits), read an absent
// optional field as its default, and fail with kBadRequest naming the field
// when a required field is absent or a field has the wrong type; counts are
// saturated at 32 bits. A decoded value is not yet checked against any state
// (the Trader does that).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rex/body.h"
#include "trader/trader.h"
#include "trader/trader_wire.h"

namespace ardus::trader {

template <class T>
using Decoded = Result<T, rex::Error>;

// --- requests

// describe_type, remove_type: {name}.
struct TypeNameRequest {
  std::string name;
};
// list_types: {} (any body; nothing is read).
struct ListTypesRequest {};
// export: {type, props, lease}.
struct ExportRequest {
  std::string type;
  tcl::Properties props;
  std::uint32_t lease = 0;  // seconds; 0: no lease
};
// withdraw, describe, renew: {id}.
struct OfferIdRequest {
  OfferId id = 0;
};
// modify: {id, set, remove}.
struct ModifyRequest {
  OfferId id = 0;
  tcl::Properties set;
  std::vector<std::string> remove;
};
// query: {type, constraint, preference, page_size, search_card, match_card,
// return_card, exact_type_match}: trader::QueryRequest.
// next_page: {iterator, count}.
struct NextPageRequest {
  std::uint64_t iterator = 0;
  std::uint32_t count = 100;
};
// close_iterator: {iterator}.
struct CloseIteratorRequest {
  std::uint64_t iterator = 0;
};
// watch: {type, constraint}.
struct WatchRequest {
  std::string type;
  std::string constraint;
};
// unwatch: {watch}.
struct UnwatchRequest {
  std::uint64_t watch = 0;
};

// --- replies (add_type, remove_type, withdraw, modify, close_iterator and
// unwatch reply with an empty map; describe with the offer, EncodeOffer).

// describe_type: {type: the declared type, all_properties: [property
// definitions, inherited ones included]}.
struct TypeDescription {
  ServiceType type;
  std::vector<PropertyDef> all_properties;
};
// list_types: {types}.
struct TypeList {
  std::vector<std::string> types;
};
// export: {id}.
struct ExportReply {
  OfferId id = 0;
};
// renew: {deadline_ms}.
struct RenewReply {
  std::int64_t deadline_ms = 0;
};
// query and next_page: {offers, iterator, remaining, considered,
// limited_by}: trader::Page. watch: {watch, matching}: Trader::WatchStart.
// The kWatchEvent push: {watch, event: enter|leave|update, reason, offer}:
// trader::WatchEvent (its owner does not travel).

// "enter", "leave", "update": a watch event's kind on the wire.
const char* EventKindName(WatchEvent::Kind kind);

void Encode(rex::BodyWriter& w, const TypeNameRequest& r);
void Encode(rex::BodyWriter& w, const ListTypesRequest& r);
void Encode(rex::BodyWriter& w, const ExportRequest& r);
void Encode(rex::BodyWriter& w, const OfferIdRequest& r);
void Encode(rex::BodyWriter& w, const ModifyRequest& r);
void Encode(rex::BodyWriter& w, const QueryRequest& r);
void Encode(rex::BodyWriter& w, const NextPageRequest& r);
void Encode(rex::BodyWriter& w, const CloseIteratorRequest& r);
void Encode(rex::BodyWriter& w, const WatchRequest& r);
void Encode(rex::BodyWriter& w, const UnwatchRequest& r);
void Encode(rex::BodyWriter& w, const TypeDescription& r);
void Encode(rex::BodyWriter& w, const TypeList& r);
void Encode(rex::BodyWriter& w, const ExportReply& r);
void Encode(rex::BodyWriter& w, const RenewReply& r);
void Encode(rex::BodyWriter& w, const Page& r);
void Encode(rex::BodyWriter& w, const Trader::WatchStart& r);
void Encode(rex::BodyWriter& w, const WatchEvent& r);

Decoded<TypeNameRequest> DecodeTypeNameRequest(const rex::BodyReader& b);
Decoded<ExportRequest> DecodeExportRequest(const rex::BodyReader& b);
Decoded<OfferIdRequest> DecodeOfferIdRequest(const rex::BodyReader& b);
Decoded<ModifyRequest> DecodeModifyRequest(const rex::BodyReader& b);
Decoded<QueryRequest> DecodeQueryRequest(const rex::BodyReader& b);
Decoded<NextPageRequest> DecodeNextPageRequest(const rex::BodyReader& b);
Decoded<CloseIteratorRequest> DecodeCloseIteratorRequest(const rex::BodyReader& b);
Decoded<WatchRequest> DecodeWatchRequest(const rex::BodyReader& b);
Decoded<UnwatchRequest> DecodeUnwatchRequest(const rex::BodyReader& b);
Decoded<TypeDescription> DecodeTypeDescription(const rex::BodyReader& b);
Decoded<TypeList> DecodeTypeList(const rex::BodyReader& b);
Decoded<ExportReply> DecodeExportReply(const rex::BodyReader& b);
Decoded<RenewReply> DecodeRenewReply(const rex::BodyReader& b);
// Offers that do not decode are errors, as in every decoder here.
Decoded<Page> DecodePage(const rex::BodyReader& b);
Decoded<Trader::WatchStart> DecodeWatchStart(const rex::BodyReader& b);
// The event kind is one of enter, leave, update; the owner reads as 0.
Decoded<WatchEvent> DecodeWatchEvent(const rex::BodyReader& b);

}  // namespace ardus::trader
