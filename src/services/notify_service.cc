#include "services/notify_service.h"

#include <fmt/core.h>

#include "notify/notify_wire.h"
#include "rex/body.h"

namespace ardus::rexd {

using notify::Method;
using rex::BodyReader;
using rex::BodyWriter;
using rex::Code;

namespace {

using Reply = Result<std::vector<std::uint8_t>, rex::Error>;

std::vector<std::uint8_t> Bytes(const BodyWriter& w) {
  auto b = w.bytes();
  return {b.begin(), b.end()};
}

Reply Acknowledge(const rex::Ack& a) {
  if (!a.ok()) return a.error();
  BodyWriter w;
  w.Map(0);
  return Bytes(w);
}

std::uint32_t Clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
}

// Decodes one event as a publisher describes it (the fields of a publish
// request) into `e`, in one pass over the map: this runs once per event.
// Header strings that are absent or not strings read as empty.
rex::Ack DecodePublished(std::int64_t now_ms, const msgpack::object& map, notify::Event& e) {
  if (map.type != msgpack::type::MAP) return rex::Fail(Code::kBadRequest, "an event is a map");
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
        return rex::Fail(Code::kBadRequest, "'body' must be bytes or a string");
      }
    } else if (key == "priority") {
      if (v.type == msgpack::type::POSITIVE_INTEGER && v.via.u64 <= 32767) {
        e.priority = static_cast<std::int32_t>(v.via.u64);
      } else if (v.type == msgpack::type::NEGATIVE_INTEGER && v.via.i64 >= -32767) {
        e.priority = static_cast<std::int32_t>(v.via.i64);
      } else {
        return rex::Fail(Code::kBadRequest, "'priority' must be an integer from -32767 to 32767");
      }
    } else if (key == "timeout_ms" && v.type == msgpack::type::POSITIVE_INTEGER && v.via.u64) {
      e.expires_ms =
          now_ms + static_cast<std::int64_t>(std::min<std::uint64_t>(v.via.u64, 1ull << 40));
    }
  }
  return notify::DecodeFields(fields, e.fields, e.unions);
}

Reply Publish(notify::Broker& broker, std::int64_t now_ms, const BodyReader& b) {
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  auto e = std::make_shared<notify::Event>();
  if (auto ok = DecodePublished(now_ms, b.AsObject(), *e); !ok.ok()) return ok.error();
  auto seq = broker.Publish(now_ms, channel.value(), std::move(e));
  if (!seq.ok()) return seq.error();
  BodyWriter w;
  w.Map(1).Key("seq").Uint(seq.value());
  return Bytes(w);
}

// Many events in one request: decoded first, so a bad one publishes none.
Reply PublishBatch(notify::Broker& broker, std::int64_t now_ms, const BodyReader& b) {
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  const msgpack::object* list = b.Find("events");
  if (!list || list->type != msgpack::type::ARRAY) {
    return rex::Fail(Code::kBadRequest, "'events' must be an array of event maps");
  }
  std::vector<std::shared_ptr<notify::Event>> events;
  events.reserve(list->via.array.size);
  for (std::uint32_t i = 0; i < list->via.array.size; ++i) {
    events.push_back(std::make_shared<notify::Event>());
    if (auto ok = DecodePublished(now_ms, list->via.array.ptr[i], *events.back()); !ok.ok()) {
      return ok.error();
    }
  }
  std::uint64_t first = 0;
  for (auto& e : events) {
    auto seq = broker.Publish(now_ms, channel.value(), std::move(e));
    if (!seq.ok()) return seq.error();
    if (!first) first = seq.value();
  }
  BodyWriter w;
  w.Map(2).Key("first_seq").Uint(first).Key("count").Uint(events.size());
  return Bytes(w);
}

Reply Subscribe(notify::Broker& broker, std::int64_t now_ms, std::uint64_t owner,
                const BodyReader& b) {
  notify::SubscribeRequest r;
  auto channel = b.String("channel");
  if (!channel.ok()) return channel.error();
  r.channel = std::move(channel).value();
  r.filter = b.StringOr("filter", "");
  r.durable = b.StringOr("durable", "");
  std::string from = b.StringOr("from", "first");
  if (from != "first" && from != "new") {
    return rex::Fail(Code::kBadRequest, "'from' must be \"first\" or \"new\"");
  }
  r.from_first = from == "first";
  r.credit = Clamp32(b.UintOr("credit", 1000));
  r.max_queue = Clamp32(b.UintOr("max_queue", 1000));
  auto discard = notify::ParseDiscard(b.StringOr("discard", "oldest"));
  if (!discard) {
    return rex::Fail(Code::kBadRequest, "'discard' must be oldest, newest, priority or deadline");
  }
  r.discard = *discard;
  auto s = broker.Subscribe(now_ms, owner, r);
  if (!s.ok()) return s.error();
  BodyWriter w;
  w.Map(2);
  w.Key("subscription").Uint(s.value().subscription);
  w.Key("resume_after").Uint(s.value().resume_after);
  return Bytes(w);
}

}  // namespace

Reply NotifyService::Handle(std::int64_t now_ms, std::uint64_t owner, const rex::Frame& req) {
  auto parsed = BodyReader::ParseInPlace(req.body);  // req outlives every use
  if (!parsed.ok()) return parsed.error();
  const BodyReader& b = parsed.value();
  auto sub = [&] { return b.Uint("subscription"); };
  switch (static_cast<Method>(req.method)) {
    case Method::kCreateChannel: {
      auto name = b.String("channel");
      if (!name.ok()) return name.error();
      notify::ChannelConfig c;
      c.persistent = b.BoolOr("persistent", false);
      c.retain_count = b.UintOr("retain_count", c.retain_count);
      c.retain_age_ms = static_cast<std::int64_t>(
          std::min<std::uint64_t>(b.UintOr("retain_age_s", 0), 1ull << 32) * 1000);
      c.retain_bytes = b.UintOr("retain_bytes", c.retain_bytes);
      return Acknowledge(broker_.CreateChannel(name.value(), c));
    }
    case Method::kDescribeChannel: {
      auto name = b.String("channel");
      if (!name.ok()) return name.error();
      auto c = broker_.DescribeChannel(name.value());
      if (!c.ok()) return c.error();
      BodyWriter w;
      w.Map(5);
      w.Key("persistent").Bool(c.value().persistent);
      w.Key("retain_count").Uint(c.value().retain_count);
      w.Key("retain_age_s").Uint(static_cast<std::uint64_t>(c.value().retain_age_ms / 1000));
      w.Key("retain_bytes").Uint(c.value().retain_bytes);
      w.Key("next_seq").Uint(broker_.next_seq(name.value()));
      return Bytes(w);
    }
    case Method::kPublish:
      return Publish(broker_, now_ms, b);
    case Method::kPublishBatch:
      return PublishBatch(broker_, now_ms, b);
    case Method::kSubscribe:
      return Subscribe(broker_, now_ms, owner, b);
    case Method::kAck: {
      auto id = sub();
      auto seq = b.Uint("seq");
      if (!id.ok()) return id.error();
      if (!seq.ok()) return seq.error();
      return Acknowledge(broker_.AckUpTo(owner, id.value(), seq.value()));
    }
    case Method::kCredit: {
      auto id = sub();
      if (!id.ok()) return id.error();
      return Acknowledge(broker_.GrantCredit(now_ms, owner, id.value(), Clamp32(b.UintOr("n", 0))));
    }
    case Method::kPull: {
      auto id = sub();
      if (!id.ok()) return id.error();
      auto events = broker_.Pull(now_ms, owner, id.value(), Clamp32(b.UintOr("max", 100)));
      if (!events.ok()) return events.error();
      std::uint64_t missed = 0;
      BodyWriter w;
      w.Map(2).Key("events").Array(static_cast<std::uint32_t>(events.value().size()));
      for (const auto& d : events.value()) {
        missed += d.missed;
        w.Raw(d.event->wire);
      }
      w.Key("missed").Uint(missed);
      return Bytes(w);
    }
    case Method::kUnsubscribe: {
      auto id = sub();
      if (!id.ok()) return id.error();
      return Acknowledge(broker_.Unsubscribe(owner, id.value()));
    }
    case Method::kTypes:
    case Method::kWatchTypes: {
      auto name = b.String("channel");
      if (!name.ok()) return name.error();
      auto t = static_cast<Method>(req.method) == Method::kTypes
                   ? broker_.Types(name.value())
                   : broker_.WatchTypes(owner, name.value());
      if (!t.ok()) return t.error();
      BodyWriter w;
      w.Map(2);
      w.Key("offered").Array(static_cast<std::uint32_t>(t.value().offered.size()));
      for (const auto& s : t.value().offered) w.Str(s);
      w.Key("subscribed").Array(static_cast<std::uint32_t>(t.value().subscribed.size()));
      for (const auto& s : t.value().subscribed) w.Str(s);
      return Bytes(w);
    }
    default:
      return rex::Fail(Code::kUnknownMethod,
                       fmt::format("method {} is not a Notify method", req.method));
  }
}

}  // namespace ardus::rexd
