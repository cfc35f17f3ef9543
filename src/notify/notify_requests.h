// Notify's requests, replies and control pushes, typed: one codec per body,
// used by the service (src/services/notify_service.cc), the `rex` CLI, the
// tests, the fuzzer and the benchmark clients alike. docs/rex-protocol.md,
// "Notify methods", has the tables; tests/unit/notify_requests_test.cc
// checks its worked examples. Events themselves are notify_wire.h's.
//
// Encoders write every field, in the order the tables give. Decoders take a
// parsed body (rex::BodyReader: bounded by its parse limits), read an absent
// optional field as its default, and fail with kBadRequest naming the field
// when a required field is absent or a field is out of range; counts are
// saturated at 32 bits. Nothing is checked against any state here (the
// Broker does that).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "notify/broker.h"
#include "notify/notify_wire.h"
#include "rex/body.h"

namespace ardus::notify {

template <class T>
using Decoded = Result<T, rex::Error>;

// --- requests

// describe_channel, types, watch_types: {channel}.
struct ChannelRequest {
  std::string channel;
};
// create_channel: {channel, persistent, retain_count, retain_age_s,
// retain_bytes}.
struct CreateChannelRequest {
  std::string channel;
  bool persistent = false;
  std::uint64_t retain_count = ChannelConfig{}.retain_count;
  std::uint64_t retain_age_s = 0;  // 0: no age limit
  std::uint64_t retain_bytes = ChannelConfig{}.retain_bytes;
  // The channel's configuration (ages past 2^32 s are cut to that).
  ChannelConfig config() const;
};
// One event as its publisher describes it: {domain, type, name, fields, body,
// priority, timeout_ms}. Decoded straight into the Event the broker will own
// (seq, published_ms and expires_ms are the broker's to set).
struct PublishedEvent {
  std::shared_ptr<Event> event = std::make_shared<Event>();
  std::uint64_t timeout_ms = 0;  // drop it if undelivered this long (0: never)
};
// publish: {channel} plus the event's fields, in one map.
struct PublishRequest {
  std::string channel;
  PublishedEvent event;
};
// publish_batch: {channel, events: [event maps]}.
struct PublishBatchRequest {
  std::string channel;
  std::vector<PublishedEvent> events;
};
// subscribe: {channel, filter, durable, from: first|new, credit, max_queue,
// discard: oldest|newest|priority|deadline}: notify::SubscribeRequest.
// ack: {subscription, seq}.
struct AckRequest {
  std::uint64_t subscription = 0;
  std::uint64_t seq = 0;
};
// credit: {subscription, n}.
struct CreditRequest {
  std::uint64_t subscription = 0;
  std::uint32_t n = 0;
};
// pull: {subscription, max}.
struct PullRequest {
  std::uint64_t subscription = 0;
  std::uint32_t max = 100;
};
// unsubscribe: {subscription}.
struct UnsubscribeRequest {
  std::uint64_t subscription = 0;
};

// --- replies (create_channel, ack, credit, unsubscribe: an empty map)

// describe_channel: {persistent, retain_count, retain_age_s, retain_bytes,
// next_seq}.
struct ChannelDescription {
  ChannelConfig config;
  std::uint64_t next_seq = 0;
};
// publish: {seq}.
struct PublishReply {
  std::uint64_t seq = 0;
};
// publish_batch: {first_seq, count}.
struct PublishBatchReply {
  std::uint64_t first_seq = 0;
  std::uint64_t count = 0;
};
// subscribe: {subscription, resume_after}: notify::Subscribed.
// pull: {events: [event maps], missed}. Encoded from the deliveries (their
// events' wire bytes as they are), decoded into events.
struct PullReply {
  std::vector<Event> events;
  std::uint64_t missed = 0;
};
// types, watch_types: {offered, subscribed}: notify::TypeSets.

// --- pushes besides kEvent (whose body is the event's wire bytes)

// kGap: {missed}, before the event that follows the gap.
struct GapPush {
  std::uint64_t missed = 0;
};
// kTypeChange (id 0): {channel, change: offered|subscribed|unsubscribed,
// type}: notify::TypeChange (its owner does not travel).

// "offered", "subscribed", "unsubscribed": a type change's name on the wire.
const char* ChangeName(TypeChange::Kind kind);

void Encode(rex::BodyWriter& w, const ChannelRequest& r);
void Encode(rex::BodyWriter& w, const CreateChannelRequest& r);
void Encode(rex::BodyWriter& w, const PublishRequest& r);
void Encode(rex::BodyWriter& w, const PublishBatchRequest& r);
void Encode(rex::BodyWriter& w, const SubscribeRequest& r);
void Encode(rex::BodyWriter& w, const AckRequest& r);
void Encode(rex::BodyWriter& w, const CreditRequest& r);
void Encode(rex::BodyWriter& w, const PullRequest& r);
void Encode(rex::BodyWriter& w, const UnsubscribeRequest& r);
void Encode(rex::BodyWriter& w, const ChannelDescription& r);
void Encode(rex::BodyWriter& w, const PublishReply& r);
void Encode(rex::BodyWriter& w, const PublishBatchReply& r);
void Encode(rex::BodyWriter& w, const Subscribed& r);
void EncodePullReply(rex::BodyWriter& w, std::span<const Delivery> deliveries);
void Encode(rex::BodyWriter& w, const TypeSets& r);
void Encode(rex::BodyWriter& w, const GapPush& r);
void Encode(rex::BodyWriter& w, const TypeChange& r);

Decoded<ChannelRequest> DecodeChannelRequest(const rex::BodyReader& b);
Decoded<CreateChannelRequest> DecodeCreateChannelRequest(const rex::BodyReader& b);
// Runs once per published event: one pass over the map. Header strings that
// are absent or not strings read as empty; errors: a body that is neither
// bytes nor a string, a priority outside -32767..32767, bad fields
// (DecodeFields).
Decoded<PublishRequest> DecodePublishRequest(const rex::BodyReader& b);
// Every event is decoded before any is published: a bad one fails them all.
Decoded<PublishBatchRequest> DecodePublishBatchRequest(const rex::BodyReader& b);
Decoded<SubscribeRequest> DecodeSubscribeRequest(const rex::BodyReader& b);
Decoded<AckRequest> DecodeAckRequest(const rex::BodyReader& b);
Decoded<CreditRequest> DecodeCreditRequest(const rex::BodyReader& b);
Decoded<PullRequest> DecodePullRequest(const rex::BodyReader& b);
Decoded<UnsubscribeRequest> DecodeUnsubscribeRequest(const rex::BodyReader& b);
Decoded<ChannelDescription> DecodeChannelDescription(const rex::BodyReader& b);
Decoded<PublishReply> DecodePublishReply(const rex::BodyReader& b);
Decoded<PublishBatchReply> DecodePublishBatchReply(const rex::BodyReader& b);
Decoded<Subscribed> DecodeSubscribed(const rex::BodyReader& b);
Decoded<PullReply> DecodePullReply(const rex::BodyReader& b);
Decoded<TypeSets> DecodeTypeSets(const rex::BodyReader& b);
Decoded<GapPush> DecodeGapPush(const rex::BodyReader& b);
// The change is one of offered, subscribed, unsubscribed; the owner reads 0.
Decoded<TypeChange> DecodeTypeChange(const rex::BodyReader& b);

}  // namespace ardus::notify
