#include "programs/rex/notify_commands.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "notify/notify_requests.h"

namespace ardus::rex_cli {

namespace {

using json = nlohmann::json;
using notify::Method;

constexpr std::uint16_t M(Method m) { return static_cast<std::uint16_t>(m); }

// A request body from its typed form (notify/notify_requests.h).
template <class T>
rex::BodyWriter Body(const T& request) {
  rex::BodyWriter w;
  notify::Encode(w, request);
  return w;
}
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
  if (!s.ok()) return s.exit();
  notify::CreateChannelRequest request{a.channel, a.persistent, a.retain_count, a.retain_age_s,
                                       a.retain_bytes};
  if (!s.Call(M(Method::kCreateChannel), Body(request))) return s.exit();
  return s.PrintOk(
      fmt::format("channel {} ({})", a.channel, a.persistent ? "persistent" : "best-effort"),
      {{"channel", a.channel}, {"persistent", a.persistent}});
}

int Publish(const RexTarget& t, const PublishArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit();
  notify::PublishRequest request{a.channel, {}};
  notify::Event& event = *request.event.event;
  std::string &domain = event.domain, &type = event.type, &name = event.name;
  {
    auto first = a.event.find('/');
    auto second = first == std::string::npos ? first : a.event.find('/', first + 1);
    if (second == std::string::npos) {
      s.Report("usage", fmt::format("--event '{}' is not DOMAIN/TYPE/NAME", a.event));
      return exit_code::kUsage;
    }
    domain = a.event.substr(0, first);
    type = a.event.substr(first + 1, second - first - 1);
    name = a.event.substr(second + 1);
  }
  tcl::Properties& fields = event.fields;
  for (const auto& f : a.assignments) {
    auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      s.Report("usage", fmt::format("'{}' is not FIELD=VALUE", f));
      return exit_code::kUsage;
    }
    fields[f.substr(0, eq)] = FieldValue(f.substr(eq + 1));
  }
  notify::UnionFields& unions = event.unions;
  for (std::string f : a.unions) {
    auto eq = f.find('='), colon = f.find(':', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || eq == 0 || colon == std::string::npos) {
      s.Report("usage", fmt::format("--union '{}' is not NAME=DISC:VALUE[:default]", f));
      return exit_code::kUsage;
    }
    bool is_default = f.size() > 8 && f.compare(f.size() - 8, 8, ":default") == 0;
    if (is_default) f.resize(f.size() - 8);
    unions[f.substr(0, eq)] = {FieldValue(f.substr(eq + 1, colon - eq - 1)),
                               FieldValue(f.substr(colon + 1)), is_default};
  }
  std::string& body = event.body;
  body = a.body;
  if (!body.empty() && body[0] == '@') {
    std::ifstream in(body.substr(1), std::ios::binary);
    if (!in) {
      s.Report("usage", fmt::format("cannot read the body file {}", body.substr(1)));
      return exit_code::kUsage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  event.priority = a.priority;
  request.event.timeout_ms = a.timeout_ms;
  auto reply = s.Decode(s.Call(M(Method::kPublish), Body(request)), notify::DecodePublishReply);
  if (!reply) return s.exit();
  std::uint64_t seq = reply->seq;
  return s.PrintOk(std::to_string(seq), {{"seq", seq}});
}

int Subscribe(const RexTarget& t, const SubscribeArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto discard = notify::ParseDiscard(a.discard);  // main.cc checked the name
  notify::SubscribeRequest request{a.channel,
                                   a.filter,
                                   a.durable,
                                   a.from == "first",
                                   kCredit,
                                   a.max_queue,
                                   discard.value_or(notify::Discard::kOldest)};
  auto reply = s.Decode(s.Call(M(Method::kSubscribe), Body(request)), notify::DecodeSubscribed);
  if (!reply) return s.exit();
  std::uint64_t sub = reply->subscription;
  std::uint64_t printed = 0, since_credit = 0;
  int code = s.ForEachPush([&](const rex::Frame& frame, const rex::BodyReader& body) {
    if (frame.id != sub) return false;
    if (frame.method == M(Method::kGap)) {
      std::uint64_t missed = notify::DecodeGapPush(body).value().missed;
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
    rex::BodyWriter ack = Body(notify::AckRequest{sub, e.value().seq});
    if (a.count != 0 && ++printed >= a.count) {
      // Wait for the last ack: a resumed subscription starts right after it.
      s.Call(M(Method::kAck), ack);
      return true;
    }
    if (!s.client().Send(M(Method::kAck), ack.bytes()).ok()) {
      s.set_exit(exit_code::kProtocol);
      return true;
    }
    if (++since_credit == kCredit / 2) {
      since_credit = 0;
      (void)s.client().Send(M(Method::kCredit),
                            Body(notify::CreditRequest{sub, kCredit / 2}).bytes());
    }
    return false;
  });
  return code != 0 ? code : s.exit();
}

int Types(const RexTarget& t, const std::string& channel, bool watch, std::uint64_t count) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto reply = s.Decode(s.Call(M(watch ? Method::kWatchTypes : Method::kTypes),
                               Body(notify::ChannelRequest{channel})),
                        notify::DecodeTypeSets);
  if (!reply) return s.exit();
  const std::vector<std::string>& o = reply->offered;
  const std::vector<std::string>& sub = reply->subscribed;
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
    auto c = notify::DecodeTypeChange(body);
    if (!c.ok()) return false;
    std::string change = notify::ChangeName(c.value().kind);
    const std::string& type = c.value().type;
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
