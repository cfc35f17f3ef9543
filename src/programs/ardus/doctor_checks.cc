#include "programs/ardus/doctor_checks.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "io/rex_connect.h"
#include "io/udp.h"
#include "programs/ardus/doctor_parse.h"

namespace ardus::doctor {
namespace {

// What ardus asks of the kernel (receive_command.cc kSocketBuffer for the
// data socket, send_command.cc SetBuffers(32 << 20)); keep in step.
constexpr long kReceiveBuffer = 64 << 20, kSendBuffer = 32 << 20;
constexpr unsigned kIffUp = 0x1, kIffMulticast = 0x1000;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<long> ReadNumber(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return std::nullopt;
  try {
    return std::stol(*text, nullptr, 0);
  } catch (...) {
    return std::nullopt;
  }
}

bool HaveTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/", "/usr/local/sbin/"}) {
    if (access((std::string(dir) + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs a fixed command line (no user input reaches the shell) and returns
// its standard output when it exits 0.
std::optional<std::string> RunTool(const std::string& command) {
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  return pclose(pipe) == 0 ? std::optional(out) : std::nullopt;
}

// Socket inode -> "name (pid N)", scanning /proc/*/fd for just `wanted`.
std::map<std::uint64_t, std::string> SocketOwners(const std::set<std::uint64_t>& wanted) {
  std::map<std::uint64_t, std::string> owners;
  if (wanted.empty()) return owners;
  DIR* proc = opendir("/proc");
  if (!proc) return owners;
  while (dirent* e = readdir(proc)) {
    const std::string pid = e->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    DIR* fds = opendir(("/proc/" + pid + "/fd").c_str());
    if (!fds) continue;
    while (dirent* f = readdir(fds)) {
      char link[64];
      const std::string path = "/proc/" + pid + "/fd/" + f->d_name;
      const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
      if (n <= 0) continue;
      link[n] = 0;
      unsigned long long inode;
      if (std::sscanf(link, "socket:[%llu]", &inode) != 1 || !wanted.contains(inode)) continue;
      std::string name = ReadFile("/proc/" + pid + "/comm").value_or("?");
      while (!name.empty() && name.back() == '\n') name.pop_back();
      owners[inode] = name + " (pid " + pid + ")";
    }
    closedir(fds);
  }
  closedir(proc);
  return owners;
}

void CheckPorts(const CheckSettings& s, std::vector<Finding>& out) {
  struct Table {
    const char* proto;
    std::vector<SocketEntry> entries;
  };
  std::vector<Table> tables = {
      {"tcp", ParseProcNetSockets(ReadFile("/proc/net/tcp").value_or(""))},
      {"udp", ParseProcNetSockets(ReadFile("/proc/net/udp").value_or(""))}};
  std::set<std::uint64_t> wanted;
  for (const Table& t : tables) {
    for (const SocketEntry& e : t.entries) {
      for (std::uint16_t p : s.ports) {
        if (e.local_port == p && (std::string(t.proto) == "udp" || e.state == 0x0A))
          wanted.insert(e.inode);
      }
    }
  }
  const auto owners = SocketOwners(wanted);
  // One finding per port, covering TCP and UDP.
  for (std::uint16_t p : s.ports) {
    Finding f{"port-" + std::to_string(p), Status::kOk, "", ""};
    for (const Table& t : tables) {
      for (const SocketEntry& e : t.entries) {
        if (!wanted.contains(e.inode) || e.local_port != p) continue;
        auto it = owners.find(e.inode);
        const std::string who = it == owners.end()
                                    ? "an unknown process (inode " + std::to_string(e.inode) + ")"
                                    : it->second;
        // ardus's own sockets (a receiver serving, a sender) are expected.
        if (!who.starts_with("ardus ")) f.status = Status::kWarn;
        f.detail += std::string(f.detail.empty() ? "held by " : ", ") + t.proto + " " + who +
                    " on " + net::FormatIpv4(e.local_address);
      }
    }
    if (f.detail.empty()) f.detail = "tcp and udp free";
    if (f.status != Status::kOk) {
      f.fix =
          "stop that program, or give ardus another port (--port, --data-port, "
          "--feedback-port)";
    }
    out.push_back(f);
  }
}

// The interface to check: the one given, else the multicast route's device.
std::string InterfaceName(const CheckSettings& s, const std::vector<RouteEntry>& routes) {
  if (!s.interface.empty()) {
    auto resolved = net::ResolveInterface(s.interface);
    char name[IF_NAMESIZE] = {};
    if (resolved.ok() && resolved.value().index != 0 &&
        if_indextoname(resolved.value().index, name))
      return name;
    return s.interface;
  }
  auto route = RouteFor(routes, s.control_group);
  return route ? route->device : "";
}

void CheckInterface(const std::string& iface, std::vector<Finding>& out) {
  Finding f{"interface", Status::kOk, "", ""};
  auto flags = ReadNumber("/sys/class/net/" + iface + "/flags");
  if (iface.empty()) {
    f = {"interface", Status::kFail, "no interface given and no route names one",
         "give --interface IF, or add a multicast route (see the route check)"};
  } else if (!flags) {
    f = {"interface", Status::kFail, "no interface '" + iface + "'", "check `ip link`"};
  } else if (!(*flags & kIffMulticast)) {
    f = {"interface", Status::kFail, iface + " has no MULTICAST flag",
         "ip link set " + iface + " multicast on"};
  } else if (!(*flags & kIffUp)) {
    f = {"interface", Status::kFail, iface + " is down", "ip link set " + iface + " up"};
  } else {
    f.detail = iface + " is up with MULTICAST";
  }
  out.push_back(f);
}

void CheckRoute(const CheckSettings& s, const std::string& iface,
                const std::vector<RouteEntry>& routes, std::vector<Finding>& out) {
  const std::string fix = "ip route add 224.0.0.0/4 dev " + (iface.empty() ? "IF" : iface) +
                          " (or always give --interface)";
  auto route = RouteFor(routes, s.control_group);
  const std::string group = net::FormatIpv4(s.control_group);
  if (!route) {
    out.push_back({"route", Status::kFail,
                   "no route for " + group +
                       " (224.0.0.0/4 missing, no default route): "
                       "without --interface, joining and sending fail with 'network unreachable'",
                   fix});
  } else if (route->mask == 0) {
    out.push_back({"route", Status::kWarn,
                   "no 224.0.0.0/4 route: multicast follows the default route via " + route->device,
                   fix});
  } else if (!iface.empty() && route->device != iface) {
    out.push_back({"route", Status::kWarn,
                   "multicast route points to " + route->device + ", not " + iface +
                       ": programs without --interface use " + route->device,
                   "ip route replace 224.0.0.0/4 dev " + iface});
  } else {
    out.push_back({"route", Status::kOk,
                   group + " routes via " + route->device + " (" +
                       net::FormatIpv4(route->destination) + "/" +
                       std::to_string(__builtin_popcount(route->mask)) + ")",
                   ""});
  }
}

void CheckRpFilter(const std::string& iface, std::vector<Finding>& out) {
  if (iface.empty()) return;  // the interface check already failed
  auto all = ReadNumber("/proc/sys/net/ipv4/conf/all/rp_filter");
  auto own =
      iface.empty() ? std::nullopt : ReadNumber("/proc/sys/net/ipv4/conf/" + iface + "/rp_filter");
  if (!all && !own) {
    out.push_back({"rp_filter", Status::kWarn, "cannot read rp_filter", ""});
    return;
  }
  const long effective = std::max(all.value_or(0), own.value_or(0));  // the kernel takes the max
  if (effective == 1) {
    out.push_back({"rp_filter", Status::kWarn,
                   "strict reverse-path filter (rp_filter=1): multicast from a sender whose "
                   "address does not route back via " +
                       iface + " is dropped silently",
                   "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf." + iface +
                       ".rp_filter=2 (loose)"});
  } else {
    out.push_back({"rp_filter", Status::kOk, "rp_filter=" + std::to_string(effective), ""});
  }
}

void CheckIgmp(const std::string& iface, std::vector<Finding>& out) {
  if (iface.empty()) return;  // the interface check already failed
  const long forced =
      ReadNumber("/proc/sys/net/ipv4/conf/" + iface + "/force_igmp_version").value_or(0);
  int version = 0;
  for (const IgmpInterface& i : ParseProcNetIgmp(ReadFile("/proc/net/igmp").value_or(""))) {
    if (i.device == iface) version = i.version;
  }
  std::string detail =
      version ? "IGMPv" + std::to_string(version) + " on " + iface : "no IGMP state for " + iface;
  if (forced != 0) detail += " (forced to v" + std::to_string(forced) + ")";
  if (version == 1) {
    out.push_back({"igmp", Status::kWarn, detail + ": v1 has no leave, groups linger on switches",
                   "sysctl -w net.ipv4.conf." + iface + ".force_igmp_version=0"});
  } else {
    out.push_back({"igmp", Status::kOk, detail, ""});
  }
}

void CheckTtl(std::vector<Finding>& out) {
  out.push_back({"ttl", Status::kOk,
                 "ardus send uses TTL 1 unless --ttl: datagrams stay on this link; routed "
                 "receivers need --ttl N and multicast routing",
                 ""});
}

void CheckBuffer(const char* name, long wanted, std::vector<Finding>& out) {
  auto value = ReadNumber(std::string("/proc/sys/net/core/") + name);
  if (!value) {
    out.push_back({name, Status::kWarn, std::string("cannot read net.core.") + name, ""});
  } else if (*value < wanted) {
    out.push_back({name, Status::kWarn,
                   std::string(name) + "=" + std::to_string(*value) + ", ardus asks for " +
                       std::to_string(wanted) +
                       ": without root the buffer is capped, and bursts are lost",
                   "sysctl -w net.core." + std::string(name) + "=" + std::to_string(wanted)});
  } else {
    out.push_back({name, Status::kOk,
                   std::string(name) + "=" + std::to_string(*value) + " (ardus asks for " +
                       std::to_string(wanted) + ")",
                   ""});
  }
}

void CheckGro(const std::string& iface, std::vector<Finding>& out) {
  if (iface.empty()) return;
  if (!HaveTool("ethtool")) {
    out.push_back({"gro", Status::kWarn, "ethtool not installed: GRO not checked",
                   "apt-get install ethtool"});
    return;
  }
  auto gro = ParseEthtoolGro(RunTool("ethtool -k " + iface).value_or(""));
  if (!gro) {
    out.push_back({"gro", Status::kWarn, "ethtool -k " + iface + " shows no GRO setting", ""});
  } else if (!*gro) {
    out.push_back({"gro", Status::kWarn,
                   "GRO is off on " + iface + ": every datagram costs a trip through the stack",
                   "ethtool -K " + iface + " gro on"});
  } else {
    out.push_back({"gro", Status::kOk, "GRO on " + iface, ""});
  }
}

void CheckFirewall(const CheckSettings& s, std::vector<Finding>& out) {
  Traffic traffic{s.ports, {s.control_group, s.data_group}};
  bool any_tool = false;
  std::vector<BlockingRule> rules;
  if (HaveTool("nft")) {
    any_tool = true;
    auto text = RunTool("nft -j list ruleset");
    auto parsed = text ? ParseNftRuleset(*text, traffic) : std::nullopt;
    if (!parsed) {
      out.push_back({"firewall", Status::kWarn, "nft -j list ruleset failed (not root?)",
                     "run ardus doctor as root"});
    } else {
      rules.insert(rules.end(), parsed->begin(), parsed->end());
    }
  }
  if (HaveTool("iptables-save")) {
    any_tool = true;
    if (auto text = RunTool("iptables-save")) {
      auto parsed = ParseIptablesSave(*text, traffic);
      rules.insert(rules.end(), parsed.begin(), parsed.end());
    }
  }
  if (!any_tool) {
    out.push_back({"firewall", Status::kWarn,
                   "neither nft nor iptables-save is installed: "
                   "firewall rules not checked",
                   "apt-get install nftables"});
    return;
  }
  for (const BlockingRule& r : rules) {
    std::string fix;
    if (r.tool == "nft" && r.where.find(" handle ") != std::string::npos) {
      fix = "nft delete rule " + r.where + " (or accept ardus's ports and groups before it)";
    } else if (r.tool == "iptables" && r.rule.starts_with("-A ")) {
      fix = "iptables -t " + r.where.substr(0, r.where.find(' ')) + " -D " + r.rule.substr(3);
    } else {
      fix = "accept ardus's ports and groups in " + r.where;
    }
    out.push_back({"firewall", Status::kFail,
                   r.tool + " " + r.where + ": '" + r.rule + "' drops " + r.hits, fix});
  }
  if (rules.empty()) {
    out.push_back({"firewall", Status::kOk, "no rule drops ardus's ports or groups", ""});
  }
}

// A REX HELLO within 2 s (with TLS when a CA or pin is given): a port that
// merely accepts TCP connections is not a Trader.
void CheckService(const std::string& name, const std::string& where, const rex::TlsFiles& tls,
                  std::vector<Finding>& out) {
  if (where.empty()) return;
  rex::ConnectSettings settings{where, name, "ardus-doctor", 2000, "", tls};
  auto client = rex::ConnectWith(settings);
  if (client.ok()) {
    out.push_back(
        {name, Status::kOk, where + " answers REX" + std::string(tls.on() ? " over TLS" : ""), ""});
    return;
  }
  const ErrorKind kind = client.status().kind();
  std::string fix = "start rexd there, or check the address and the firewall between";
  if (kind == ErrorKind::kInvalidArgument) fix = "correct --" + name + " or the TLS flags";
  if (kind == ErrorKind::kPeerProtocol) {
    fix = tls.on() ? "check --tls-ca/--tls-pin against the certificate rexd printed at start"
                   : "something else holds that port, or rexd there uses TLS (add --tls-ca or "
                     "--tls-pin)";
  }
  const std::string why = client.status().message();
  const bool names_it = why.find(where) != std::string::npos;
  out.push_back({name, Status::kFail, names_it ? why : where + ": " + why, fix});
}

}  // namespace

std::vector<Finding> RunChecks(const CheckSettings& settings) {
  std::vector<Finding> out;
  const auto routes = ParseProcNetRoute(ReadFile("/proc/net/route").value_or(""));
  const std::string iface = InterfaceName(settings, routes);
  CheckPorts(settings, out);
  CheckInterface(iface, out);
  CheckRoute(settings, iface, routes, out);
  CheckRpFilter(iface, out);
  CheckFirewall(settings, out);
  CheckIgmp(iface, out);
  CheckTtl(out);
  CheckBuffer("rmem_max", kReceiveBuffer, out);
  CheckBuffer("wmem_max", kSendBuffer, out);
  CheckGro(iface, out);
  CheckService("trader", settings.trader, settings.tls, out);
  CheckService("notify", settings.notify, settings.tls, out);
  return out;
}

}  // namespace ardus::doctor
