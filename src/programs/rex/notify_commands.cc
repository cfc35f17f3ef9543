#include "programs/rex/notify_commands.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "notify/notify_wire.h"
#include "trader/trader_wire.h"

namespace ardus::rex_cli {

namespace {

using json = nlohmann::json;
using notify::Method;

constexpr std::uint16_t M(Method m) { return static_cast<std::uint16_t>(m); }
// Pushes granted at a time; the subscriber grants more as it prints.
constexpr std::uint32_t kCredit = 256;

// A field value from the command line: an integer, a finite number,
// true/false, or else the text itself.
tcl::Value FieldValue(const std::string& text) {
  std::int64_t i;
  auto [ie, iec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (iec == std::errc() && ie == text.data() + text.size() && !text.empty()) return i;
  double d;
  auto [de, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec == std::errc() && de == text.data() + text.size() && std::isfinite(d)) return d;
  if (text == "true") return true;
  if (text == "false") return false;
  return text;
}

std::string EventLine(const notify::Event& e) {
  std::string line = fmt::format("{} {}/{}/{}", e.seq, e.domain, e.type, e.name);
  for (const auto& [k, v] : e.fields) line += fmt::format(" {}={}", k, tcl::FormatValue(v));
  for (const auto& [k, u] : e.unions) {
    line += fmt::format(" {}={}:{}{}", k, tcl::FormatValue(u.discriminator),
                        tcl::FormatValue(u.value), u.is_default ? ":default" : "");
  }
  if (!e.body.empty()) line += " " + e.body;
  return line;
}

json EventJson(const notify::Event& e) {
  json fields = json::object();
  for (const auto& [k, v] : e.fields) fields[k] = ToJson(v);
  for (const auto& [k, u] : e.unions) {
    fields[k] = {
        {"_d", ToJson(u.discriminator)}, {"_v", ToJson(u.value)}, {"_default", u.is_default}};
  }
  return {{"seq", e.seq},           {"domain", e.domain},
          {"type", e.type},         {"name", e.name},
          {"fields", fields},       {"body", e.body},
          {"priority", e.priority}, {"published_ms", e.published_ms}};
}

}  // namespace

int CreateChannel(const RexTarget& t, const ChannelArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit;
  rex::BodyWriter w;
  w.Map(5);
  w.Key("channel").Str(a.channel);
  w.Key("persistent").Bool(a.persistent);
  w.Key("retain_count").Uint(a.retain_count);
  w.Key("retain_age_s").Uint(a.retain_age_s);
  w.Key("retain_bytes").Uint(a.retain_bytes);
  if (!s.Call(M(Method::kCreateChannel), w)) return s.exit;
  return s.PrintOk(
      fmt::format("channel {} ({})", a.channel, a.persistent ? "persistent" : "best-effort"),
      {{"channel", a.channel}, {"persistent", a.persistent}});
}

int Publish(const RexTarget& t, const PublishArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit;
  std::string domain, type, name;
  {
    auto first = a.event.find('/');
    auto second = first == std::string::npos ? first : a.event.find('/', first + 1);
    if (second == std::string::npos) {
      s.Report("usage", fmt::format("--event '{}' is not DOMAIN/TYPE/NAME", a.event));
      return kExitUsage;
    }
    domain = a.event.substr(0, first);
    type = a.event.substr(first + 1, second - first - 1);
    name = a.event.substr(second + 1);
  }
  tcl::Properties fields;
  for (const auto& f : a.assignments) {
    auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      s.Report("usage", fmt::format("'{}' is not FIELD=VALUE", f));
      return kExitUsage;
    }
    fields[f.substr(0, eq)] = FieldValue(f.substr(eq + 1));
  }
  notify::UnionFields unions;
  for (std::string f : a.unions) {
    auto eq = f.find('='), colon = f.find(':', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || eq == 0 || colon == std::string::npos) {
      s.Report("usage", fmt::format("--union '{}' is not NAME=DISC:VALUE[:default]", f));
      return kExitUsage;
    }
    bool is_default = f.size() > 8 && f.compare(f.size() - 8, 8, ":default") == 0;
    if (is_default) f.resize(f.size() - 8);
    unions[f.substr(0, eq)] = {FieldValue(f.substr(eq + 1, colon - eq - 1)),
                               FieldValue(f.substr(colon + 1)), is_default};
  }
  std::string body = a.body;
  if (!body.empty() && body[0] == '@') {
    std::ifstream in(body.substr(1), std::ios::binary);
    if (!in) {
      s.Report("usage", fmt::format("cannot read the body file {}", body.substr(1)));
      return kExitUsage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  rex::BodyWriter w;
  w.Map(8);
  w.Key("channel").Str(a.channel);
  w.Key("domain").Str(domain);
  w.Key("type").Str(type);
  w.Key("name").Str(name);
  w.Key("fields");
  notify::EncodeFields(w, fields, unions);
  w.Key("body").Bin({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
  w.Key("priority").Int(a.priority);
  w.Key("timeout_ms").Uint(a.timeout_ms);
  auto reply = s.Call(M(Method::kPublish), w);
  if (!reply) return s.exit;
  std::uint64_t seq = reply->UintOr("seq", 0);
  return s.PrintOk(std::to_string(seq), {{"seq", seq}});
}

int Subscribe(const RexTarget& t, const SubscribeArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit;
  rex::BodyWriter w;
  w.Map(7);
  w.Key("channel").Str(a.channel);
  w.Key("filter").Str(a.filter);
  w.Key("durable").Str(a.durable);
  w.Key("from").Str(a.from);
  w.Key("credit").Uint(kCredit);
  w.Key("max_queue").Uint(a.max_queue);
  w.Key("discard").Str(a.discard);
  auto reply = s.Call(M(Method::kSubscribe), w);
  if (!reply) return s.exit;
  std::uint64_t sub = reply->UintOr("subscription", 0);
  std::uint64_t printed = 0, since_credit = 0;
  int code = s.ForEachPush([&](const rex::Frame& frame, const rex::BodyReader& body) {
    if (frame.id != sub) return false;
    if (frame.method == M(Method::kGap)) {
      std::uint64_t missed = body.UintOr("missed", 0);
      if (t.json) {
        fmt::print("{}\n", json{{"missed", missed}}.dump());
      } else {
        fmt::print(stderr, "rex: {} events were dropped or trimmed before the next one\n", missed);
      }
      return false;
    }
    auto e = notify::DecodeEvent(body.AsObject());
    if (!e.ok()) return false;
    fmt::print("{}\n", t.json ? EventJson(e.value()).dump() : EventLine(e.value()));
    std::fflush(stdout);
    rex::BodyWriter ack;
    ack.Map(2).Key("subscription").Uint(sub).Key("seq").Uint(e.value().seq);
    if (a.count != 0 && ++printed >= a.count) {
      // Wait for the last ack: a resumed subscription starts right after it.
      s.Call(M(Method::kAck), ack);
      return true;
    }
    if (!s.client().Send(M(Method::kAck), ack.bytes()).ok()) {
      s.exit = kExitProtocol;
      return true;
    }
    if (++since_credit == kCredit / 2) {
      since_credit = 0;
      rex::BodyWriter credit;
      credit.Map(2).Key("subscription").Uint(sub).Key("n").Uint(kCredit / 2);
      (void)s.client().Send(M(Method::kCredit), credit.bytes());
    }
    return false;
  });
  return code != 0 ? code : s.exit;
}

int Types(const RexTarget& t, const std::string& channel, bool watch, std::uint64_t count) {
  Session s(t);
  if (!s.ok()) return s.exit;
  rex::BodyWriter w;
  w.Map(1).Key("channel").Str(channel);
  auto reply = s.Call(M(watch ? Method::kWatchTypes : Method::kTypes), w);
  if (!reply) return s.exit;
  auto offered = reply->Strings("offered");
  auto subscribed = reply->Strings("subscribed");
  std::vector<std::string> o = offered.ok() ? offered.value() : std::vector<std::string>{};
  std::vector<std::string> sub = subscribed.ok() ? subscribed.value() : std::vector<std::string>{};
  std::string human = "offered:";
  for (const auto& x : o) human += " " + x;
  human += "\nsubscribed:";
  for (const auto& x : sub) human += " " + x;
  s.PrintOk(human, {{"offered", o}, {"subscribed", sub}});
  if (!watch) return 0;
  std::fflush(stdout);
  std::uint64_t seen = 0;
  return s.ForEachPush([&](const rex::Frame& frame, const rex::BodyReader& body) {
    if (frame.method != M(Method::kTypeChange)) return false;
    std::string change = body.StringOr("change", ""), type = body.StringOr("type", "");
    if (t.json) {
      fmt::print("{}\n", json{{"change", change}, {"type", type}}.dump());
    } else {
      fmt::print("{}{} {}\n", change == "unsubscribed" ? "-" : "+",
                 change == "offered" ? "offered" : "subscribed", type);
    }
    std::fflush(stdout);
    return count != 0 && ++seen >= count;
  });
}

}  // namespace ardus::rex_cli
