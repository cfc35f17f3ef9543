#include "programs/rex/trader_commands.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "programs/rex/rex_session.h"
#include "trader/trader_requests.h"

namespace ardus::rex_cli {

namespace {

using json = nlohmann::json;
using trader::Method;

constexpr std::uint16_t M(Method m) { return static_cast<std::uint16_t>(m); }

json OfferJson(const trader::Offer& o) {
  json props = json::object();
  for (const auto& [k, v] : o.props) props[k] = ToJson(v);
  json j{{"id", o.id}, {"type", o.type}, {"props", props}};
  if (o.lease_seconds) {
    j["lease"] = o.lease_seconds;
    j["deadline_ms"] = o.deadline_ms;
  }
  if (!o.owner.empty()) j["owner"] = o.owner;
  return j;
}

std::string OfferLine(const trader::Offer& o) {
  std::string line = fmt::format("{:<8} {:<14}", o.id, o.type);
  for (const auto& [k, v] : o.props) {
    std::string text = tcl::FormatValue(v);
    bool quote = text.find(' ') != std::string::npos;
    line += fmt::format(" {}={}", k, quote ? "'" + text + "'" : text);
  }
  return line;
}

// A request body from its typed form (trader/trader_requests.h).
template <class T>
rex::BodyWriter Body(const T& request) {
  rex::BodyWriter w;
  trader::Encode(w, request);
  return w;
}

rex::BodyWriter NameBody(const std::string& name) { return Body(trader::TypeNameRequest{name}); }
rex::BodyWriter IdBody(std::uint64_t id) { return Body(trader::OfferIdRequest{id}); }

// Parses NAME=VALUE arguments using the type's declared property types. What
// is wrong with them is a usage error (exit 2): the request is not sent.
std::optional<tcl::Properties> Assignments(Session& s, const std::string& type,
                                           const std::vector<std::string>& args) {
  auto description =
      s.Decode(s.Call(M(Method::kDescribeType), NameBody(type)), trader::DecodeTypeDescription);
  if (!description) return std::nullopt;
  std::map<std::string, tcl::PropertyType> types;
  for (const auto& p : description->all_properties) types[p.name] = p.type;
  tcl::Properties props;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      s.Report("usage", fmt::format("'{}' is not NAME=VALUE", a));
      s.set_exit(exit_code::kUsage);
      return std::nullopt;
    }
    std::string name = a.substr(0, eq), text = a.substr(eq + 1);
    auto it = types.find(name);
    if (it == types.end()) {
      s.Report("usage", fmt::format("type '{}' has no property '{}'", type, name));
      s.set_exit(exit_code::kUsage);
      return std::nullopt;
    }
    auto v = tcl::ParseValueText(text, it->second);
    if (!v) {
      s.Report("usage", fmt::format("{}={}: '{}' is not a valid {} (property {} of type {})", name,
                                    text, text, tcl::TypeName(it->second), name, type));
      s.set_exit(exit_code::kUsage);
      return std::nullopt;
    }
    props[name] = std::move(*v);
  }
  return props;
}

}  // namespace

int AddType(const RexTarget& t, const std::string& name, const std::vector<std::string>& supers,
            const std::vector<std::string>& props) {
  trader::ServiceType type{name, supers, {}};
  for (const auto& spec : props) {
    // NAME:TYPE[:mandatory][:readonly]
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      auto colon = spec.find(':', start);
      parts.push_back(spec.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    trader::PropertyDef def{parts[0]};
    auto pt = parts.size() > 1 ? tcl::ParseTypeName(parts[1]) : std::nullopt;
    if (!pt) {
      fmt::print(stderr,
                 "rex: usage: '{}' is not NAME:TYPE[:mandatory][:readonly] with TYPE one "
                 "of int, float, bool, string (append [] for a sequence)\n",
                 spec);
      return exit_code::kUsage;
    }
    def.type = *pt;
    for (std::size_t i = 2; i < parts.size(); ++i) {
      if (parts[i] == "mandatory") {
        def.mandatory = true;
      } else if (parts[i] == "readonly") {
        def.readonly = true;
      } else {
        fmt::print(stderr, "rex: usage: unknown property mode '{}' (mandatory, readonly)\n",
                   parts[i]);
        return exit_code::kUsage;
      }
    }
    type.properties.push_back(std::move(def));
  }
  Session s(t);
  if (!s.ok()) return s.exit();
  rex::BodyWriter w;
  trader::EncodeServiceType(w, type);
  if (!s.Call(M(Method::kAddType), w)) return s.exit();
  return s.PrintOk(fmt::format("added type {}", name), {{"type", name}});
}

int DescribeType(const RexTarget& t, const std::string& name) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto d =
      s.Decode(s.Call(M(Method::kDescribeType), NameBody(name)), trader::DecodeTypeDescription);
  if (!d) return s.exit();
  json j{{"name", name}, {"supers", d->type.supers}, {"properties", json::array()}};
  std::string human = fmt::format("type {}", name);
  if (!d->type.supers.empty()) human += " : " + j["supers"].dump();
  for (const auto& p : d->all_properties) {
    std::string type_name = tcl::TypeName(p.type);
    human += fmt::format("\n  {:<16} {:<9}{}{}", p.name, type_name, p.mandatory ? " mandatory" : "",
                         p.readonly ? " readonly" : "");
    j["properties"].push_back({{"name", p.name},
                               {"type", type_name},
                               {"mandatory", p.mandatory},
                               {"readonly", p.readonly}});
  }
  return s.PrintOk(human, j);
}

int ListTypes(const RexTarget& t) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto reply = s.Decode(s.Call(M(Method::kListTypes), Body(trader::ListTypesRequest{})),
                        trader::DecodeTypeList);
  if (!reply) return s.exit();
  const std::vector<std::string>& list = reply->types;
  std::string human;
  for (const auto& n : list) human += (human.empty() ? "" : "\n") + n;
  return s.PrintOk(human, {{"types", list}});
}

int RemoveType(const RexTarget& t, const std::string& name) {
  Session s(t);
  if (!s.ok()) return s.exit();
  if (!s.Call(M(Method::kRemoveType), NameBody(name))) return s.exit();
  return s.PrintOk(fmt::format("removed type {}", name));
}

int Export(const RexTarget& t, const ExportArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto props = Assignments(s, a.type, a.assignments);
  if (!props) return s.exit();
  if (a.keepalive && a.lease == 0) {
    s.Report("usage", "--keepalive needs --lease SECONDS");
    return exit_code::kUsage;
  }
  auto reply =
      s.Decode(s.Call(M(Method::kExport), Body(trader::ExportRequest{a.type, *props, a.lease})),
               trader::DecodeExportReply);
  if (!reply) return s.exit();
  std::uint64_t id = reply->id;
  s.PrintOk(std::to_string(id), {{"id", id}});
  if (!a.keepalive) return 0;
  std::fflush(stdout);
  CatchInterrupts();
  // Renew at a third of the lease so two renewals may be lost before expiry.
  auto period = std::chrono::milliseconds(std::max<std::uint32_t>(a.lease * 1000 / 3, 100));
  auto next = std::chrono::steady_clock::now() + period;
  while (!g_interrupted) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() < next) continue;
    next += period;
    if (!s.Call(M(Method::kRenew), IdBody(id))) return s.exit();
  }
  if (!s.Call(M(Method::kWithdraw), IdBody(id))) return s.exit();
  return InterruptedExit();
}

int Withdraw(const RexTarget& t, std::uint64_t id) {
  Session s(t);
  if (!s.ok()) return s.exit();
  if (!s.Call(M(Method::kWithdraw), IdBody(id))) return s.exit();
  return s.PrintOk(fmt::format("withdrew {}", id), {{"id", id}});
}

int Modify(const RexTarget& t, std::uint64_t id, const std::vector<std::string>& assignments,
           const std::vector<std::string>& remove) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto current = s.Call(M(Method::kDescribe), IdBody(id));
  if (!current) return s.exit();
  auto offer = trader::DecodeOffer(current->AsObject());
  std::string type = offer.ok() ? offer.value().type : "";
  auto props = Assignments(s, type, assignments);
  if (!props) return s.exit();
  if (!s.Call(M(Method::kModify), Body(trader::ModifyRequest{id, *props, remove}))) {
    return s.exit();
  }
  return s.PrintOk(fmt::format("modified {}", id), {{"id", id}});
}

int Describe(const RexTarget& t, std::uint64_t id) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto reply = s.Call(M(Method::kDescribe), IdBody(id));
  if (!reply) return s.exit();
  auto offer = trader::DecodeOffer(reply->AsObject());
  if (!offer.ok()) {
    s.Report("protocol", offer.error().message);
    return exit_code::kProtocol;
  }
  const trader::Offer& o = offer.value();
  std::string line = OfferLine(o) + (o.owner.empty() ? "" : "  (owner " + o.owner + ")");
  return s.PrintOk(line, {{"offer", OfferJson(o)}});
}

int Renew(const RexTarget& t, std::uint64_t id) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto reply = s.Decode(s.Call(M(Method::kRenew), IdBody(id)), trader::DecodeRenewReply);
  if (!reply) return s.exit();
  auto deadline = static_cast<std::uint64_t>(reply->deadline_ms);
  return s.PrintOk(fmt::format("renewed {}", id), {{"id", id}, {"deadline_ms", deadline}});
}

int Query(const RexTarget& t, const QueryArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit();
  constexpr std::uint32_t kPage = 500;
  std::uint32_t first_page = a.limit ? std::min(a.limit, kPage) : kPage;
  trader::QueryRequest request{a.type,
                               a.constraint,
                               a.preference,
                               {a.search_card, a.match_card, a.return_card, a.exact},
                               first_page};
  auto reply = s.Decode(s.Call(M(Method::kQuery), Body(request)), trader::DecodePage);
  if (!reply) return s.exit();
  std::vector<trader::Offer> offers = std::move(reply->offers);
  std::uint64_t considered = reply->considered;
  const std::vector<std::string>& limited = reply->limited_by;
  std::uint64_t iterator = reply->iterator;
  while (iterator != 0 && (a.limit == 0 || offers.size() < a.limit)) {
    std::uint32_t want = a.limit ? std::min<std::uint32_t>(kPage, a.limit - offers.size()) : kPage;
    auto page =
        s.Decode(s.Call(M(Method::kNextPage), Body(trader::NextPageRequest{iterator, want})),
                 trader::DecodePage);
    if (!page) return s.exit();
    offers.insert(offers.end(), page->offers.begin(), page->offers.end());
    iterator = page->iterator;
  }
  if (iterator != 0)
    s.Call(M(Method::kCloseIterator), Body(trader::CloseIteratorRequest{iterator}));
  if (t.json) {
    json list = json::array();
    for (const auto& o : offers) list.push_back(OfferJson(o));
    return s.PrintOk("", {{"offers", list},
                          {"count", offers.size()},
                          {"considered", considered},
                          {"limited_by", limited}});
  }
  for (const auto& o : offers) fmt::print("{}\n", OfferLine(o));
  if (!limited.empty()) {
    fmt::print(stderr, "rex: results limited by {}\n", fmt::join(limited, ", "));
  }
  return 0;
}

int Watch(const RexTarget& t, const std::string& type, const std::string& constraint,
          std::uint64_t count) {
  Session s(t);
  if (!s.ok()) return s.exit();
  auto reply = s.Decode(s.Call(M(Method::kWatch), Body(trader::WatchRequest{type, constraint})),
                        trader::DecodeWatchStart);
  if (!reply) return s.exit();
  std::uint64_t seen = 0;
  auto emit = [&](const char* event, const trader::Offer& o, const std::string& reason) {
    if (t.json) {
      json j{{"event", event}, {"offer", OfferJson(o)}};
      if (!reason.empty()) j["reason"] = reason;
      fmt::print("{}\n", j.dump());
    } else {
      const char* mark = std::string_view(event) == "leave"
                             ? "-"
                             : (std::string_view(event) == "update" ? "~" : "+");
      fmt::print("{} {}{}\n", mark, OfferLine(o), reason.empty() ? "" : "  (" + reason + ")");
    }
    std::fflush(stdout);
    return count != 0 && ++seen >= count;
  };
  for (const auto& o : reply->matching) {
    if (emit("enter", o, "")) return 0;
  }
  return s.ForEachPush([&](const rex::Frame&, const rex::BodyReader& body) {
    auto e = trader::DecodeWatchEvent(body);
    if (!e.ok()) return false;
    return emit(trader::EventKindName(e.value().kind), e.value().offer, e.value().reason);
  });
}

}  // namespace ardus::rex_cli
