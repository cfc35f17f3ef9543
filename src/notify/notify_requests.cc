#include "notify/notify_requests.h"

#include <algorithm>

namespace ardus::notify {

namespace {

rex::Error Bad(std::string what) { return rex::Fail(rex::Code::kBadRequest, std::move(what)); }

constexpr const char* kDiscardNames[] = {"oldest", "newest", "priority", "deadline"};
constexpr const char* kChangeNames[] = {"offered", "subscribed", "unsubscribed"};

void EncodeStrings(rex::BodyWriter& w, const std::vector<std::string>& list) {
  w.Array(static_cast<std::uint32_t>(list.size()));
  for (const auto& s : list) w.Str(s);
}

// The event's own keys, after whatever the caller wrote first.
void EncodeEventFields(rex::BodyWriter& w, const PublishedEvent& p) {
  const Event& e = *p.event;
  w.Key("domain").Str(e.domain);
  w.Key("type").Str(e.type);
  w.Key("name").Str(e.name);
  w.Key("fields");
  EncodeFields(w, e.fields, e.unions);
  w.Key("body").Bin({reinterpret_cast<const std::uint8_t*>(e.body.data()), e.body.size()});
  w.Key("priority").Int(e.priority);
  w.Key("timeout_ms").Uint(p.timeout_ms);
}
constexpr std::uint32_t kEventKeys = 7;

// One pass over an event map; keys it does not know (such as "channel") are
// skipped.
rex::Ack DecodePublished(const msgpack::object& map, PublishedEvent& p) {
  if (map.type != msgpack::type::MAP) return Bad("an event is a map");
  Event& e = *p.event;
  const msgpack::object* fields = nullptr;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object& k = map.via.map.ptr[i].key;
    const msgpack::object& v = map.via.map.ptr[i].val;
    if (k.type != msgpack::type::STR) continue;
    std::string_view key(k.via.str.ptr, k.via.str.size);
    if (key == "domain") {
      rex::AsString(v, &e.domain);
    } else if (key == "type") {
      rex::AsString(v, &e.type);
    } else if (key == "name") {
      rex::AsString(v, &e.name);
    } else if (key == "fields") {
      fields = &v;
    } else if (key == "body") {
      if (v.type == msgpack::type::BIN) {
        e.body.assign(v.via.bin.ptr, v.via.bin.size);
      } else if (!rex::AsString(v, &e.body)) {
        return Bad("'body' must be bytes or a string");
      }
    } else if (key == "priority") {
      if (v.type == msgpack::type::POSITIVE_INTEGER && v.via.u64 <= 32767) {
        e.priority = static_cast<std::int32_t>(v.via.u64);
      } else if (v.type == msgpack::type::NEGATIVE_INTEGER && v.via.i64 >= -32767) {
        e.priority = static_cast<std::int32_t>(v.via.i64);
      } else {
        return Bad("'priority' must be an integer from -32767 to 32767");
      }
    } else if (key == "timeout_ms" && v.type == msgpack::type::POSITIVE_INTEGER) {
      p.timeout_ms = v.via.u64;
    }
  }
  return DecodeFields(fields, e.fields, e.unions);
}

}  // namespace

const char* ChangeName(TypeChange::Kind kind) { return kChangeNames[kind]; }

ChannelConfig CreateChannelRequest::config() const {
  ChannelConfig c;
  c.persistent = persistent;
  c.retain_count = retain_count;
  c.retain_age_ms =
      static_cast<std::int64_t>(std::min<std::uint64_t>(retain_age_s, 1ull << 32) * 1000);
  c.retain_bytes = retain_bytes;
  return c;
}

// --- requests

void Encode(rex::BodyWriter& w, const ChannelRequest& r) { w.Map(1).Key("channel").Str(r.channel); }

void Encode(rex::BodyWriter& w, const CreateChannelRequest& r) {
  w.Map(5);
  w.Key("channel").Str(r.channel);
  w.Key("persistent").Bool(r.persistent);
  w.Key("retain_count").Uint(r.retain_count);
  w.Key("retain_age_s").Uint(r.retain_age_s);
  w.Key("retain_bytes").Uint(r.retain_bytes);
}

void Encode(rex::BodyWriter& w, const PublishRequest& r) {
  w.Map(1 + kEventKeys);
  w.Key("channel").Str(r.channel);
  EncodeEventFields(w, r.event);
}

void Encode(rex::BodyWriter& w, const PublishBatchRequest& r) {
  w.Map(2).Key("channel").Str(r.channel);
  w.Key("events").Array(static_cast<std::uint32_t>(r.events.size()));
  for (const auto& e : r.events) {
    w.Map(kEventKeys);
    EncodeEventFields(w, e);
  }
}

void Encode(rex::BodyWriter& w, const SubscribeRequest& r) {
  w.Map(7);
  w.Key("channel").Str(r.channel);
  w.Key("filter").Str(r.filter);
  w.Key("durable").Str(r.durable);
  w.Key("from").Str(r.from_first ? "first" : "new");
  w.Key("credit").Uint(r.credit);
  w.Key("max_queue").Uint(r.max_queue);
  w.Key("discard").Str(kDiscardNames[static_cast<int>(r.discard)]);
}

void Encode(rex::BodyWriter& w, const AckRequest& r) {
  w.Map(2).Key("subscription").Uint(r.subscription).Key("seq").Uint(r.seq);
}

void Encode(rex::BodyWriter& w, const CreditRequest& r) {
  w.Map(2).Key("subscription").Uint(r.subscription).Key("n").Uint(r.n);
}

void Encode(rex::BodyWriter& w, const PullRequest& r) {
  w.Map(2).Key("subscription").Uint(r.subscription).Key("max").Uint(r.max);
}

void Encode(rex::BodyWriter& w, const UnsubscribeRequest& r) {
  w.Map(1).Key("subscription").Uint(r.subscription);
}

Decoded<ChannelRequest> DecodeChannelRequest(const rex::BodyReader& b) {
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  return ChannelRequest{std::move(channel).value()};
}

Decoded<CreateChannelRequest> DecodeCreateChannelRequest(const rex::BodyReader& b) {
  CreateChannelRequest r;
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  r.channel = std::move(channel).value();
  r.persistent = b.BoolOr("persistent", false);
  r.retain_count = b.UintOr("retain_count", r.retain_count);
  r.retain_age_s = b.UintOr("retain_age_s", 0);
  r.retain_bytes = b.UintOr("retain_bytes", r.retain_bytes);
  return r;
}

// Runs once per publish: the result is built in the return statement, as a
// named local would be moved twice on its way into the Result.
Decoded<PublishRequest> DecodePublishRequest(const rex::BodyReader& b) {
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  PublishedEvent event;
  if (auto ok = DecodePublished(b.AsObject(), event); !ok.ok()) return ok.error();
  return PublishRequest{std::move(channel).value(), std::move(event)};
}

Decoded<PublishBatchRequest> DecodePublishBatchRequest(const rex::BodyReader& b) {
  PublishBatchRequest r;
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  r.channel = std::move(channel).value();
  const msgpack::object* list = b.Find("events");
  if (!list || list->type != msgpack::type::ARRAY) {
    return Bad("'events' must be an array of event maps");
  }
  r.events.resize(list->via.array.size);
  for (std::uint32_t i = 0; i < list->via.array.size; ++i) {
    if (auto ok = DecodePublished(list->via.array.ptr[i], r.events[i]); !ok.ok()) {
      return ok.error();
    }
  }
  return r;
}

Decoded<SubscribeRequest> DecodeSubscribeRequest(const rex::BodyReader& b) {
  SubscribeRequest r;
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  r.channel = std::move(channel).value();
  r.filter = b.StringOr("filter", "");
  r.durable = b.StringOr("durable", "");
  std::string from = b.StringOr("from", "first");
  if (from != "first" && from != "new") return Bad("'from' must be \"first\" or \"new\"");
  r.from_first = from == "first";
  r.credit = b.Uint32Or("credit", 1000);
  r.max_queue = b.Uint32Or("max_queue", 1000);
  auto discard = ParseDiscard(b.StringOr("discard", "oldest"));
  if (!discard) return Bad("'discard' must be oldest, newest, priority or deadline");
  r.discard = *discard;
  return r;
}

Decoded<AckRequest> DecodeAckRequest(const rex::BodyReader& b) {
  auto id = b.Uint("subscription");
  auto seq = b.Uint("seq");
  if (!id.ok()) return id.error();
  if (!seq.ok()) return seq.error();
  return AckRequest{id.value(), seq.value()};
}

Decoded<CreditRequest> DecodeCreditRequest(const rex::BodyReader& b) {
  auto id = b.Uint("subscription");
  if (!id.ok()) return id.error();
  return CreditRequest{id.value(), b.Uint32Or("n", 0)};
}

Decoded<PullRequest> DecodePullRequest(const rex::BodyReader& b) {
  auto id = b.Uint("subscription");
  if (!id.ok()) return id.error();
  return PullRequest{id.value(), b.Uint32Or("max", 100)};
}

Decoded<UnsubscribeRequest> DecodeUnsubscribeRequest(const rex::BodyReader& b) {
  auto id = b.Uint("subscription");
  if (!id.ok()) return id.error();
  return UnsubscribeRequest{id.value()};
}

// --- replies and pushes

void Encode(rex::BodyWriter& w, const ChannelDescription& r) {
  w.Map(5);
  w.Key("persistent").Bool(r.config.persistent);
  w.Key("retain_count").Uint(r.config.retain_count);
  w.Key("retain_age_s").Uint(static_cast<std::uint64_t>(r.config.retain_age_ms / 1000));
  w.Key("retain_bytes").Uint(r.config.retain_bytes);
  w.Key("next_seq").Uint(r.next_seq);
}

void Encode(rex::BodyWriter& w, const PublishReply& r) { w.Map(1).Key("seq").Uint(r.seq); }

void Encode(rex::BodyWriter& w, const PublishBatchReply& r) {
  w.Map(2).Key("first_seq").Uint(r.first_seq).Key("count").Uint(r.count);
}

void Encode(rex::BodyWriter& w, const Subscribed& r) {
  w.Map(2);
  w.Key("subscription").Uint(r.subscription);
  w.Key("resume_after").Uint(r.resume_after);
}

void EncodePullReply(rex::BodyWriter& w, std::span<const Delivery> deliveries) {
  std::uint64_t missed = 0;
  w.Map(2).Key("events").Array(static_cast<std::uint32_t>(deliveries.size()));
  for (const auto& d : deliveries) {
    missed += d.missed;
    w.Raw(d.event->wire);
  }
  w.Key("missed").Uint(missed);
}

void Encode(rex::BodyWriter& w, const TypeSets& r) {
  w.Map(2);
  w.Key("offered");
  EncodeStrings(w, r.offered);
  w.Key("subscribed");
  EncodeStrings(w, r.subscribed);
}

void Encode(rex::BodyWriter& w, const GapPush& r) { w.Map(1).Key("missed").Uint(r.missed); }

void Encode(rex::BodyWriter& w, const TypeChange& c) {
  w.Map(3).Key("channel").Str(c.channel).Key("change").Str(kChangeNames[c.kind]);
  w.Key("type").Str(c.type);
}

Decoded<ChannelDescription> DecodeChannelDescription(const rex::BodyReader& b) {
  ChannelDescription d;
  d.config.persistent = b.BoolOr("persistent", false);
  d.config.retain_count = b.UintOr("retain_count", 0);
  d.config.retain_age_ms = static_cast<std::int64_t>(
      std::min<std::uint64_t>(b.UintOr("retain_age_s", 0), 1ull << 32) * 1000);
  d.config.retain_bytes = b.UintOr("retain_bytes", 0);
  d.next_seq = b.UintOr("next_seq", 0);
  return d;
}

Decoded<PublishReply> DecodePublishReply(const rex::BodyReader& b) {
  auto seq = b.Uint("seq");
  if (!seq.ok()) return seq.error();
  return PublishReply{seq.value()};
}

Decoded<PublishBatchReply> DecodePublishBatchReply(const rex::BodyReader& b) {
  auto first = b.Uint("first_seq");
  if (!first.ok()) return first.error();
  return PublishBatchReply{first.value(), b.UintOr("count", 0)};
}

Decoded<Subscribed> DecodeSubscribed(const rex::BodyReader& b) {
  auto id = b.Uint("subscription");
  if (!id.ok()) return id.error();
  return Subscribed{id.value(), b.UintOr("resume_after", 0)};
}

Decoded<PullReply> DecodePullReply(const rex::BodyReader& b) {
  PullReply r;
  const msgpack::object* list = b.Find("events");
  if (!list || list->type != msgpack::type::ARRAY) {
    return Bad("'events' must be an array of events");
  }
  for (std::uint32_t i = 0; i < list->via.array.size; ++i) {
    auto e = DecodeEvent(list->via.array.ptr[i]);
    if (!e.ok()) return e.error();
    r.events.push_back(std::move(e).value());
  }
  r.missed = b.UintOr("missed", 0);
  return r;
}

Decoded<TypeSets> DecodeTypeSets(const rex::BodyReader& b) {
  TypeSets t;
  auto offered = b.Strings("offered");
  if (!offered.ok()) return offered.error();
  auto subscribed = b.Strings("subscribed");
  if (!subscribed.ok()) return subscribed.error();
  t.offered = std::move(offered).value();
  t.subscribed = std::move(subscribed).value();
  return t;
}

Decoded<GapPush> DecodeGapPush(const rex::BodyReader& b) { return GapPush{b.UintOr("missed", 0)}; }

Decoded<TypeChange> DecodeTypeChange(const rex::BodyReader& b) {
  TypeChange c{};
  std::string change = b.StringOr("change", "");
  auto at = std::find(std::begin(kChangeNames), std::end(kChangeNames), change);
  if (at == std::end(kChangeNames)) {
    return Bad("'change' must be offered, subscribed or unsubscribed");
  }
  c.kind = static_cast<TypeChange::Kind>(at - std::begin(kChangeNames));
  c.channel = b.StringOr("channel", "");
  c.type = b.StringOr("type", "");
  return c;
}

}  // namespace ardus::notify
