#include "programs/rex/trader_commands.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "programs/rex/rex_session.h"
#include "trader/trader_wire.h"

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

std::vector<trader::Offer> Offers(const rex::BodyReader& b, const char* key) {
  std::vector<trader::Offer> out;
  const msgpack::object* arr = b.Find(key);
  if (!arr || arr->type != msgpack::type::ARRAY) return out;
  for (std::uint32_t i = 0; i < arr->via.array.size; ++i) {
    auto o = trader::DecodeOffer(arr->via.array.ptr[i]);
    if (o.ok()) out.push_back(std::move(o).value());
  }
  return out;
}

rex::BodyWriter NameBody(const std::string& name) {
  rex::BodyWriter w;
  w.Map(1);
  w.Key("name").Str(name);
  return w;
}

rex::BodyWriter IdBody(std::uint64_t id) {
  rex::BodyWriter w;
  w.Map(1);
  w.Key("id").Uint(id);
  return w;
}

// Parses NAME=VALUE arguments using the type's declared property types. What
// is wrong with them is a usage error (exit 2): the request is not sent.
std::optional<tcl::Properties> Assignments(Session& s, const std::string& type,
                                           const std::vector<std::string>& args) {
  auto reply = s.Call(M(Method::kDescribeType), NameBody(type));
  if (!reply) return std::nullopt;
  std::map<std::string, tcl::PropertyType> types;
  if (const msgpack::object* all = reply->Find("all_properties");
      all && all->type == msgpack::type::ARRAY) {
    for (std::uint32_t i = 0; i < all->via.array.size; ++i) {
      const auto& p = all->via.array.ptr[i];
      std::string name, tname;
      for (std::uint32_t f = 0; p.type == msgpack::type::MAP && f < p.via.map.size; ++f) {
        std::string key;
        rex::AsString(p.via.map.ptr[f].key, &key);
        if (key == "name") rex::AsString(p.via.map.ptr[f].val, &name);
        if (key == "type") rex::AsString(p.via.map.ptr[f].val, &tname);
      }
      if (auto pt = tcl::ParseTypeName(tname)) types[name] = *pt;
    }
  }
  tcl::Properties props;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      s.Report("usage", fmt::format("'{}' is not NAME=VALUE", a));
      s.exit = kExitUsage;
      return std::nullopt;
    }
    std::string name = a.substr(0, eq), text = a.substr(eq + 1);
    auto it = types.find(name);
    if (it == types.end()) {
      s.Report("usage", fmt::format("type '{}' has no property '{}'", type, name));
      s.exit = kExitUsage;
      return std::nullopt;
    }
    auto v = tcl::ParseValueText(text, it->second);
    if (!v) {
      s.Report("usage", fmt::format("{}={}: '{}' is not a valid {} (property {} of type {})", name,
                                    text, text, tcl::TypeName(it->second), name, type));
      s.exit = kExitUsage;
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
      return kExitUsage;
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
        return kExitUsage;
      }
    }
    type.properties.push_back(std::move(def));
  }
  Session s(t);
  if (!s.ok()) return s.exit;
  rex::BodyWriter w;
  trader::EncodeServiceType(w, type);
  if (!s.Call(M(Method::kAddType), w)) return s.exit;
  return s.PrintOk(fmt::format("added type {}", name), {{"type", name}});
}

int DescribeType(const RexTarget& t, const std::string& name) {
  Session s(t);
  if (!s.ok()) return s.exit;
  auto reply = s.Call(M(Method::kDescribeType), NameBody(name));
  if (!reply) return s.exit;
  const msgpack::object* all = reply->Find("all_properties");
  const msgpack::object* declared = reply->Find("type");
  json j{{"name", name}, {"supers", json::array()}, {"properties", json::array()}};
  if (declared && declared->type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < declared->via.map.size; ++i) {
      std::string key;
      rex::AsString(declared->via.map.ptr[i].key, &key);
      const auto& v = declared->via.map.ptr[i].val;
      if (key == "supers" && v.type == msgpack::type::ARRAY) {
        for (std::uint32_t k = 0; k < v.via.array.size; ++k) {
          std::string super;
          rex::AsString(v.via.array.ptr[k], &super);
          j["supers"].push_back(super);
        }
      }
    }
  }
  std::string human = fmt::format("type {}", name);
  if (!j["supers"].empty()) human += " : " + j["supers"].dump();
  for (std::uint32_t i = 0; all && all->type == msgpack::type::ARRAY && i < all->via.array.size;
       ++i) {
    const auto& p = all->via.array.ptr[i];
    json prop;
    for (std::uint32_t f = 0; p.type == msgpack::type::MAP && f < p.via.map.size; ++f) {
      std::string key, str;
      rex::AsString(p.via.map.ptr[f].key, &key);
      const auto& v = p.via.map.ptr[f].val;
      if (rex::AsString(v, &str)) prop[key] = str;
      if (v.type == msgpack::type::BOOLEAN) prop[key] = v.via.boolean;
    }
    human += fmt::format("\n  {:<16} {:<9}{}{}", prop.value("name", ""), prop.value("type", ""),
                         prop.value("mandatory", false) ? " mandatory" : "",
                         prop.value("readonly", false) ? " readonly" : "");
    j["properties"].push_back(prop);
  }
  return s.PrintOk(human, j);
}

int ListTypes(const RexTarget& t) {
  Session s(t);
  if (!s.ok()) return s.exit;
  auto reply = s.Call(M(Method::kListTypes), rex::BodyWriter().Map(0));
  if (!reply) return s.exit;
  auto names = reply->Strings("types");
  std::vector<std::string> list = names.ok() ? names.value() : std::vector<std::string>{};
  std::string human;
  for (const auto& n : list) human += (human.empty() ? "" : "\n") + n;
  return s.PrintOk(human, {{"types", list}});
}

int RemoveType(const RexTarget& t, const std::string& name) {
  Session s(t);
  if (!s.ok()) return s.exit;
  if (!s.Call(M(Method::kRemoveType), NameBody(name))) return s.exit;
  return s.PrintOk(fmt::format("removed type {}", name));
}

int Export(const RexTarget& t, const ExportArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit;
  auto props = Assignments(s, a.type, a.assignments);
  if (!props) return s.exit;
  if (a.keepalive && a.lease == 0) {
    s.Report("usage", "--keepalive needs --lease SECONDS");
    return kExitUsage;
  }
  rex::BodyWriter w;
  w.Map(3);
  w.Key("type").Str(a.type);
  w.Key("props");
  tcl::EncodeProperties(w, *props);
  w.Key("lease").Uint(a.lease);
  auto reply = s.Call(M(Method::kExport), w);
  if (!reply) return s.exit;
  std::uint64_t id = reply->UintOr("id", 0);
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
    if (!s.Call(M(Method::kRenew), IdBody(id))) return s.exit;
  }
  if (!s.Call(M(Method::kWithdraw), IdBody(id))) return s.exit;
  return InterruptedExit();
}

int Withdraw(const RexTarget& t, std::uint64_t id) {
  Session s(t);
  if (!s.ok()) return s.exit;
  if (!s.Call(M(Method::kWithdraw), IdBody(id))) return s.exit;
  return s.PrintOk(fmt::format("withdrew {}", id), {{"id", id}});
}

int Modify(const RexTarget& t, std::uint64_t id, const std::vector<std::string>& assignments,
           const std::vector<std::string>& remove) {
  Session s(t);
  if (!s.ok()) return s.exit;
  auto current = s.Call(M(Method::kDescribe), IdBody(id));
  if (!current) return s.exit;
  std::string type = current->StringOr("type", "");
  auto props = Assignments(s, type, assignments);
  if (!props) return s.exit;
  rex::BodyWriter w;
  w.Map(3);
  w.Key("id").Uint(id);
  w.Key("set");
  tcl::EncodeProperties(w, *props);
  w.Key("remove").Array(static_cast<std::uint32_t>(remove.size()));
  for (const auto& r : remove) w.Str(r);
  if (!s.Call(M(Method::kModify), w)) return s.exit;
  return s.PrintOk(fmt::format("modified {}", id), {{"id", id}});
}

int Describe(const RexTarget& t, std::uint64_t id) {
  Session s(t);
  if (!s.ok()) return s.exit;
  auto reply = s.Call(M(Method::kDescribe), IdBody(id));
  if (!reply) return s.exit;
  auto offer = trader::DecodeOffer(reply->AsObject());
  if (!offer.ok()) {
    s.Report("protocol", offer.error().message);
    return kExitProtocol;
  }
  return s.PrintOk(OfferLine(offer.value()), {{"offer", OfferJson(offer.value())}});
}

int Renew(const RexTarget& t, std::uint64_t id) {
  Session s(t);
  if (!s.ok()) return s.exit;
  auto reply = s.Call(M(Method::kRenew), IdBody(id));
  if (!reply) return s.exit;
  std::uint64_t deadline = reply->UintOr("deadline_ms", 0);
  return s.PrintOk(fmt::format("renewed {}", id), {{"id", id}, {"deadline_ms", deadline}});
}

int Query(const RexTarget& t, const QueryArgs& a) {
  Session s(t);
  if (!s.ok()) return s.exit;
  constexpr std::uint32_t kPage = 500;
  std::uint32_t first_page = a.limit ? std::min(a.limit, kPage) : kPage;
  rex::BodyWriter w;
  w.Map(8);
  w.Key("type").Str(a.type);
  w.Key("constraint").Str(a.constraint);
  w.Key("preference").Str(a.preference);
  w.Key("page_size").Uint(first_page);
  w.Key("search_card").Uint(a.search_card);
  w.Key("match_card").Uint(a.match_card);
  w.Key("return_card").Uint(a.return_card);
  w.Key("exact_type_match").Bool(a.exact);
  auto reply = s.Call(M(Method::kQuery), w);
  if (!reply) return s.exit;
  std::vector<trader::Offer> offers = Offers(*reply, "offers");
  std::uint64_t considered = reply->UintOr("considered", 0);
  auto limited = reply->Strings("limited_by");
  std::uint64_t iterator = reply->UintOr("iterator", 0);
  while (iterator != 0 && (a.limit == 0 || offers.size() < a.limit)) {
    std::uint32_t want = a.limit ? std::min<std::uint32_t>(kPage, a.limit - offers.size()) : kPage;
    rex::BodyWriter next;
    next.Map(2);
    next.Key("iterator").Uint(iterator);
    next.Key("count").Uint(want);
    auto page = s.Call(M(Method::kNextPage), next);
    if (!page) return s.exit;
    auto more = Offers(*page, "offers");
    offers.insert(offers.end(), more.begin(), more.end());
    iterator = page->UintOr("iterator", 0);
  }
  if (iterator != 0) {
    rex::BodyWriter close;
    close.Map(1);
    close.Key("iterator").Uint(iterator);
    s.Call(M(Method::kCloseIterator), close);
  }
  if (t.json) {
    json list = json::array();
    for (const auto& o : offers) list.push_back(OfferJson(o));
    return s.PrintOk("",
                     {{"offers", list},
                      {"count", offers.size()},
                      {"considered", considered},
                      {"limited_by", limited.ok() ? limited.value() : std::vector<std::string>{}}});
  }
  for (const auto& o : offers) fmt::print("{}\n", OfferLine(o));
  if (limited.ok() && !limited.value().empty()) {
    fmt::print(stderr, "rex: results limited by {}\n", fmt::join(limited.value(), ", "));
  }
  return 0;
}

int Watch(const RexTarget& t, const std::string& type, const std::string& constraint,
          std::uint64_t count) {
  Session s(t);
  if (!s.ok()) return s.exit;
  rex::BodyWriter w;
  w.Map(2);
  w.Key("type").Str(type);
  w.Key("constraint").Str(constraint);
  auto reply = s.Call(M(Method::kWatch), w);
  if (!reply) return s.exit;
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
  for (const auto& o : Offers(*reply, "matching")) {
    if (emit("enter", o, "")) return 0;
  }
  return s.ForEachPush([&](const rex::Frame&, const rex::BodyReader& body) {
    const msgpack::object* offer = body.Find("offer");
    if (!offer) return false;
    auto o = trader::DecodeOffer(*offer);
    if (!o.ok()) return false;
    return emit(body.StringOr("event", "update").c_str(), o.value(), body.StringOr("reason", ""));
  });
}

}  // namespace ardus::rex_cli
