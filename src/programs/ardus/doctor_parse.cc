#include "programs/ardus/doctor_parse.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace ardus::doctor {
namespace {

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::optional<std::uint64_t> Hex(const std::string& text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | unsigned(d);
  }
  return v;
}

// /proc prints IPv4 addresses as the in-memory (network order) u32 in hex,
// which on little-endian machines reads byte-reversed.
std::uint32_t ProcAddress(std::uint64_t raw) { return __builtin_bswap32(std::uint32_t(raw)); }

std::optional<std::uint32_t> Dotted(const std::string& text) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return std::nullopt;
  if (a > 255 || b > 255 || c > 255 || d > 255) return std::nullopt;
  return a << 24 | b << 16 | c << 8 | d;
}

std::uint32_t MaskOf(int len) { return len <= 0 ? 0 : len >= 32 ? ~0u : ~0u << (32 - len); }

// Two prefixes overlap when the shorter one contains the other.
bool Overlaps(std::uint32_t a, int a_len, std::uint32_t b, int b_len) {
  const std::uint32_t mask = MaskOf(std::min(a_len, b_len));
  return (a & mask) == (b & mask);
}

std::string FormatDotted(std::uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string(ip >> 16 & 255) + "." +
         std::to_string(ip >> 8 & 255) + "." + std::to_string(ip & 255);
}

// What of `traffic` an address or prefix hits: "224.0.0.0/4" style text, or "".
std::string AddressHits(std::uint32_t addr, int len, const Traffic& traffic) {
  // A narrow match names the group it hits; a wide one the prefix.
  if (len >= 24) {
    for (std::uint32_t g : traffic.groups) {
      if (Overlaps(addr, len, g, 32)) return "group " + FormatDotted(g);
    }
  }
  if (Overlaps(addr, len, 0xE0000000u, 4)) {
    if (len < 4) return FormatDotted(addr) + "/" + std::to_string(len) + " (all, incl. multicast)";
    for (std::uint32_t g : traffic.groups) {
      if (Overlaps(addr, len, g, 32))
        return FormatDotted(addr) + "/" + std::to_string(len) + " (multicast)";
    }
  }
  return "";
}

std::string PortHits(std::uint32_t low, std::uint32_t high, const Traffic& traffic) {
  std::string hits;
  for (std::uint16_t p : traffic.ports) {
    if (p >= low && p <= high) hits += (hits.empty() ? "" : ",") + std::to_string(p);
  }
  return hits;
}

// --- nft JSON

// Ports of `traffic` a match's right-hand side names: a number, a range, a
// set of those. "" when none.
std::string NftPortHits(const nlohmann::json& right, const Traffic& traffic) {
  if (right.is_number_unsigned()) {
    const auto p = right.get<std::uint64_t>();
    return PortHits(std::uint32_t(std::min<std::uint64_t>(p, 1u << 20)),
                    std::uint32_t(std::min<std::uint64_t>(p, 1u << 20)), traffic);
  }
  if (right.is_object() && right.contains("range") && right["range"].is_array() &&
      right["range"].size() == 2 && right["range"][0].is_number_unsigned() &&
      right["range"][1].is_number_unsigned()) {
    return PortHits(right["range"][0].get<std::uint32_t>(), right["range"][1].get<std::uint32_t>(),
                    traffic);
  }
  if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    std::string hits;
    for (const auto& element : right["set"]) {
      std::string h = NftPortHits(element, traffic);
      if (!h.empty()) hits += (hits.empty() ? "" : ",") + h;
    }
    return hits;
  }
  return "";
}

std::string NftAddressHits(const nlohmann::json& right, const Traffic& traffic) {
  if (right.is_string()) {
    if (auto a = Dotted(right.get<std::string>())) return AddressHits(*a, 32, traffic);
    return "";
  }
  if (right.is_object() && right.contains("prefix") && right["prefix"].is_object()) {
    const auto& p = right["prefix"];
    if (!p.contains("addr") || !p["addr"].is_string() || !p.contains("len") ||
        !p["len"].is_number_unsigned())
      return "";
    auto a = Dotted(p["addr"].get<std::string>());
    return a ? AddressHits(*a, std::min(32, p["len"].get<int>()), traffic) : "";
  }
  if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    for (const auto& element : right["set"]) {
      std::string h = NftAddressHits(element, traffic);
      if (!h.empty()) return h;
    }
  }
  return "";
}

std::string Compact(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One nft rule: blocking when its verdict is drop/reject, it has at least
// one port or destination match and every such match hits our traffic.
std::optional<BlockingRule> NftRule(const nlohmann::json& rule, const Traffic& traffic) {
  if (!rule.contains("expr") || !rule["expr"].is_array()) return std::nullopt;
  bool verdict = false, relevant = false, all_hit = true;
  std::string hits, text;
  for (const auto& e : rule["expr"]) {
    if (!e.is_object() || e.empty()) continue;
    const std::string key = e.begin().key();
    if (key == "drop" || key == "reject") {
      verdict = true;
      text += (text.empty() ? "" : " ") + key;
      continue;
    }
    if (key != "match" || !e["match"].is_object()) {
      if (key != "counter") text += (text.empty() ? "" : " ") + Compact(e);
      continue;
    }
    const auto& m = e["match"];
    const auto left = m.value("left", nlohmann::json());
    const auto right = m.value("right", nlohmann::json());
    const std::string op = m.value("op", std::string("=="));
    std::string protocol, field;
    if (left.is_object() && left.contains("payload") && left["payload"].is_object()) {
      protocol = left["payload"].value("protocol", "");
      field = left["payload"].value("field", "");
    }
    const std::string shown =
        protocol.empty()
            ? Compact(m)
            : protocol + " " + field + (op == "==" ? "" : " " + op) + " " + Compact(right);
    text += (text.empty() ? "" : " ") + shown;
    const bool port =
        (protocol == "udp" || protocol == "tcp" || protocol == "th") && field == "dport";
    const bool address = protocol == "ip" && field == "daddr";
    if (!port && !address) continue;
    relevant = true;
    std::string h = op != "==" && op != "in" ? ""
                    : port                   ? NftPortHits(right, traffic)
                                             : NftAddressHits(right, traffic);
    if (h.empty()) {
      all_hit = false;
    } else {
      hits +=
          (hits.empty() ? "" : ", ") + (port ? protocol + " dport " : std::string("daddr ")) + h;
    }
  }
  if (!verdict || !relevant || !all_hit) return std::nullopt;
  BlockingRule b;
  b.tool = "nft";
  b.where = rule.value("family", "") + " " + rule.value("table", "") + " " +
            rule.value("chain", "") + " handle " +
            (rule.contains("handle") ? Compact(rule["handle"]) : "?");
  b.rule = text;
  b.hits = hits;
  return b;
}

// --- iptables-save

std::vector<std::pair<std::uint32_t, std::uint32_t>> IptablesPorts(const std::string& list) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const std::size_t colon = item.find(':');
    try {
      const unsigned long low = std::stoul(item.substr(0, colon));
      const unsigned long high =
          colon == std::string::npos ? low : std::stoul(item.substr(colon + 1));
      if (low <= 65535 && high <= 65535) out.push_back({std::uint32_t(low), std::uint32_t(high)});
    } catch (...) {
    }
  }
  return out;
}

}  // namespace

std::vector<SocketEntry> ParseProcNetSockets(const std::string& text) {
  std::vector<SocketEntry> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto w = Words(line);
    if (w.size() < 10 || w[0].back() != ':') continue;  // the header has "sl", not "N:"
    const std::size_t colon = w[1].find(':');
    if (colon == std::string::npos) continue;
    auto addr = Hex(w[1].substr(0, colon)), port = Hex(w[1].substr(colon + 1)), st = Hex(w[3]);
    if (!addr || !port || !st || *port > 65535) continue;
    std::uint64_t inode;
    try {
      inode = std::stoull(w[9]);
    } catch (...) {
      continue;
    }
    out.push_back({ProcAddress(*addr), std::uint16_t(*port), int(*st), inode});
  }
  return out;
}

std::vector<IgmpInterface> ParseProcNetIgmp(const std::string& text) {
  std::vector<IgmpInterface> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto w = Words(line);
    if (w.empty()) continue;
    // "1	lo        :     3      V3" opens an interface; a group line is
    // "1100FFEF     1 0:00000000		0" under it.
    if (w.size() >= 5 && w[2] == ":" && w[4].size() == 2 && w[4][0] == 'V') {
      out.push_back({w[1], w[4][1] - '0', {}});
    } else if (w.size() >= 2 && w[0].size() == 8 && !out.empty()) {
      if (auto g = Hex(w[0])) out.back().groups.push_back(ProcAddress(*g));
    }
  }
  return out;
}

std::vector<RouteEntry> ParseProcNetRoute(const std::string& text) {
  std::vector<RouteEntry> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto w = Words(line);
    if (w.size() < 8 || w[0] == "Iface") continue;
    auto dest = Hex(w[1]), flags = Hex(w[3]), mask = Hex(w[7]);
    if (!dest || !flags || !mask || !(*flags & 1)) continue;  // RTF_UP
    out.push_back({w[0], ProcAddress(*dest), ProcAddress(*mask)});
  }
  return out;
}

std::optional<RouteEntry> RouteFor(const std::vector<RouteEntry>& routes, std::uint32_t address) {
  std::optional<RouteEntry> best;
  for (const RouteEntry& r : routes) {
    if ((address & r.mask) != r.destination) continue;
    if (!best || __builtin_popcount(r.mask) > __builtin_popcount(best->mask)) best = r;
  }
  return best;
}

std::optional<std::vector<BlockingRule>> ParseNftRuleset(const std::string& json,
                                                         const Traffic& traffic) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  std::vector<BlockingRule> out;
  if (!doc.contains("nftables") || !doc["nftables"].is_array()) return out;
  for (const auto& item : doc["nftables"]) {
    if (!item.is_object()) continue;
    if (item.contains("rule") && item["rule"].is_object()) {
      if (auto b = NftRule(item["rule"], traffic)) out.push_back(*b);
    } else if (item.contains("chain") && item["chain"].is_object()) {
      const auto& c = item["chain"];
      const std::string hook = c.value("hook", ""), policy = c.value("policy", "");
      if ((hook == "input" || hook == "output" || hook == "prerouting") && policy == "drop") {
        out.push_back(
            {"nft", c.value("family", "") + " " + c.value("table", "") + " " + c.value("name", ""),
             "policy drop (hook " + hook + ")", "everything no earlier rule accepts"});
      }
    }
  }
  return out;
}

std::vector<BlockingRule> ParseIptablesSave(const std::string& text, const Traffic& traffic) {
  std::vector<BlockingRule> out;
  std::istringstream in(text);
  std::string table;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("*")) table = line.substr(1);
    const auto w = Words(line);
    if (w.size() < 2) continue;
    if ((w[0] == ":INPUT" || w[0] == ":OUTPUT") && w[1] == "DROP") {
      out.push_back({"iptables", table + " " + w[0].substr(1), "policy DROP",
                     "everything no earlier rule accepts"});
      continue;
    }
    if (w[0] != "-A") continue;
    bool verdict = false, relevant = false, all_hit = true;
    std::string hits, protocol = "ip";
    for (std::size_t i = 1; i + 1 < w.size(); ++i) {
      if (w[i] == "-j" && (w[i + 1] == "DROP" || w[i + 1] == "REJECT")) verdict = true;
      if (w[i] == "-p") protocol = w[i + 1];
      if (w[i] == "--dport" || w[i] == "--dports" || w[i] == "--destination-port") {
        relevant = true;
        std::string h;
        for (auto [low, high] : IptablesPorts(w[i + 1])) {
          std::string ph = PortHits(low, high, traffic);
          if (!ph.empty()) h += (h.empty() ? "" : ",") + ph;
        }
        if (h.empty())
          all_hit = false;
        else
          hits += (hits.empty() ? "" : ", ") + protocol + " dport " + h;
      }
      if (w[i] == "-d" || w[i] == "--destination") {
        relevant = true;
        const std::string& v = w[i + 1];
        const std::size_t slash = v.find('/');
        auto a = Dotted(v.substr(0, slash));
        int len = 32;
        try {
          if (slash != std::string::npos) len = std::stoi(v.substr(slash + 1));
        } catch (...) {
          a.reset();
        }
        std::string h = a ? AddressHits(*a, std::clamp(len, 0, 32), traffic) : "";
        if (h.empty())
          all_hit = false;
        else
          hits += (hits.empty() ? "" : ", ") + std::string("daddr ") + h;
      }
    }
    if (verdict && relevant && all_hit) {
      out.push_back({"iptables", table + " " + w[1], line, hits});
    }
  }
  return out;
}

std::optional<bool> ParseEthtoolGro(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto w = Words(line);
    if (w.size() >= 2 && w[0] == "generic-receive-offload:") return w[1] == "on";
  }
  return std::nullopt;
}

}  // namespace ardus::doctor
