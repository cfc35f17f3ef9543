// Pure parsers for what `ardus doctor` reads from the kernel and the
// firewall tools: /proc/net/{tcp,udp,igmp,route}, `nft -j list ruleset`,
// `iptables-save` and `ethtool -k`. They take the text and return values,
// so tests feed them captured samples (tests/unit/doctor_test.cc); the
// gathering is in doctor_checks.cc. Malformed lines are skipped, never
// fatal: a kernel with another column layout yields fewer entries, not a
// crash. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ardus::doctor {

// One socket from /proc/net/tcp or /proc/net/udp.
struct SocketEntry {
  std::uint32_t local_address = 0;  // host order
  std::uint16_t local_port = 0;
  int state = 0;  // 0x0A is TCP LISTEN; 0x07 an unconnected UDP socket
  std::uint64_t inode = 0;
};
std::vector<SocketEntry> ParseProcNetSockets(const std::string& text);

// The IGMP version the kernel speaks on each interface (/proc/net/igmp).
struct IgmpInterface {
  std::string device;
  int version = 0;                    // 1, 2 or 3
  std::vector<std::uint32_t> groups;  // joined groups, host order
};
std::vector<IgmpInterface> ParseProcNetIgmp(const std::string& text);

// A route from /proc/net/route (IPv4).
struct RouteEntry {
  std::string device;
  std::uint32_t destination = 0, mask = 0;  // host order
};
std::vector<RouteEntry> ParseProcNetRoute(const std::string& text);
// The route the kernel would take for `address` (longest prefix), if any.
std::optional<RouteEntry> RouteFor(const std::vector<RouteEntry>& routes, std::uint32_t address);

// What a firewall rule must match to hurt ardus.
struct Traffic {
  std::vector<std::uint16_t> ports;   // ardus's TCP/UDP ports
  std::vector<std::uint32_t> groups;  // its multicast groups (host order)
};
// A rule that drops or rejects some of that traffic.
struct BlockingRule {
  std::string tool;   // "nft" or "iptables"
  std::string where;  // "inet f input handle 2" or "filter INPUT"
  std::string rule;   // the rule, as text the operator recognises
  std::string hits;   // what it hits: "udp dport 1835", "daddr 224.0.0.0/4"
};
// `nft -j list ruleset`. A rule counts when its verdict is drop or reject
// and each of its matches is one we understand: a dport (number, set or
// range) or an ip daddr (address or prefix) hitting `traffic`; rules with
// other matches (iifname, ct state, saddr, ...) count too, their text says
// what else they require. Errors: nullopt when the text is not JSON.
std::optional<std::vector<BlockingRule>> ParseNftRuleset(const std::string& json,
                                                         const Traffic& traffic);
// `iptables-save`: -A lines with -j DROP or -j REJECT and --dport / -d.
std::vector<BlockingRule> ParseIptablesSave(const std::string& text, const Traffic& traffic);

// `ethtool -k IF`: whether generic-receive-offload is on; nullopt if absent.
std::optional<bool> ParseEthtoolGro(const std::string& text);

}  // namespace ardus::doctor
