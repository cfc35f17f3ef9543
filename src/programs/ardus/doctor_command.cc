// ardus doctor: runs the checks (doctor_checks.h) or, with --probe, the
// probe exchange (doctor_probe.h), and prints the findings.
#include <fmt/core.h>
#include <poll.h>

#include <chrono>

#include "ardus/wire.h"
#include "io/udp.h"
#include "programs/ardus/doctor_checks.h"
#include "programs/ardus/doctor_probe.h"
#include "programs/ardus/options.h"

namespace ardus::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProbeInterval = std::chrono::milliseconds(100);

std::uint32_t GroupOr(const std::string& text, const char* fallback) {
  auto ip = net::ParseIpv4(text.empty() ? fallback : text);
  return ip.ok() ? ip.value() : 0;
}

// Sends a probe every 100 ms for `seconds`, counting the others'.
Result<std::vector<doctor::Finding>> RunProbe(const DoctorOptions& o, std::uint32_t group,
                                              std::uint16_t port) {
  auto iface = net::ResolveInterface(o.common.interface);
  if (!iface.ok()) return iface.status();
  auto sock = net::UdpSocket::Bind(group, port, /*shared=*/true, "--port");
  if (!sock.ok()) return sock.status();
  if (Status s = sock.value().JoinGroup(group, iface.value()); !s.ok()) return s;
  if (Status s = sock.value().SetMulticastOutput(iface.value(), 1, false); !s.ok()) return s;
  doctor::ProbeBook book(RandomId());
  std::map<std::uint32_t, std::string> names;
  const Endpoint to{group, port};
  std::uint32_t sent = 0;
  const auto end = Clock::now() + std::chrono::milliseconds(long(o.probe_seconds * 1000));
  auto next = Clock::now();
  net::BatchSender sender;
  while (true) {
    const auto now = Clock::now();
    if (now >= next && now < end) {
      const auto bytes = doctor::EncodeProbe(book.Next(++sent));
      std::copy(bytes.begin(), bytes.end(), sender.Next().begin());
      if (Status s = sender.Add(bytes.size(), to, sock.value().fd()); !s.ok()) return s;
      if (Status s = sender.Flush(sock.value().fd()); !s.ok()) return s;
      next += kProbeInterval;
    }
    // Listen one interval past the last send for the peers' final tallies.
    if (now >= end + kProbeInterval * 10) break;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min(next, end + kProbeInterval * 10) - now);
    pollfd p{sock.value().fd(), POLLIN, 0};
    poll(&p, 1, int(std::max<long>(1, wait.count())));
    Status drained = net::DrainSocket(
        sock.value().fd(), [&](const Endpoint& from, std::span<const std::uint8_t> bytes) {
          auto probe = doctor::DecodeProbe(bytes);
          if (!probe) return;
          book.Add(*probe);
          if (names.size() < doctor::kMaxProbePeers || names.contains(probe->sender))
            names[probe->sender] = net::FormatIpv4(from.ip);
        });
    if (!drained.ok()) return drained;
  }
  std::vector<doctor::Finding> out = book.Report(sent, names);
  if (sender.dropped()) {
    out.push_back({"probe-send", doctor::Status::kFail,
                   std::to_string(sender.dropped()) + " of " + std::to_string(sent) +
                       " probes refused by this host (output firewall or buffer)",
                   "check the output chain of the local firewall"});
  }
  return out;
}

}  // namespace

int RunDoctor(const DoctorOptions& o) {
  const std::uint16_t port = o.common.port ? o.common.port : wire::kControlPort;
  const std::uint32_t group = GroupOr(o.common.group, wire::kDefaultControlGroup);
  const std::uint32_t data_group = GroupOr(o.data_group, wire::kDefaultDataGroup);
  if (group == 0 || data_group == 0 || (group >> 28) != 0xE || (data_group >> 28) != 0xE) {
    fmt::print(stderr, "ardus doctor: --group and --data-group must be IPv4 multicast groups\n");
    return exit_code::kUsage;
  }
  std::vector<doctor::Finding> findings;
  if (o.probe) {
    auto probed = RunProbe(o, group, port);
    if (!probed.ok()) {
      fmt::print(stderr, "ardus doctor: {}\n", probed.status().message());
      return ExitCodeFor(probed.status());
    }
    findings = probed.value();
  } else {
    doctor::CheckSettings s;
    s.interface = o.common.interface;
    s.control_group = group;
    s.data_group = data_group;
    s.ports = {o.data_port ? o.data_port : wire::kDataPort,
               o.feedback_port ? o.feedback_port : wire::kFeedbackPort, port, 116, 124};
    s.trader = o.trader;
    s.notify = o.notify;
    s.tls.ca_file = o.tls_ca;
    s.tls.pin = o.tls_pin;
    findings = doctor::RunChecks(s);
  }
  fmt::print("{}", o.common.json ? doctor::FormatJson(findings) : doctor::FormatHuman(findings));
  return doctor::AnyFailure(findings) ? exit_code::kFindings : exit_code::kOk;
}

}  // namespace ardus::cli
