// `ardus receive`: join the control group, take the first session announced,
// receive it into --dir, report, and (without --once) wait for the next.
#include <fmt/core.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "ardus/fs_store.h"
#include "ardus/receiver.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "net/driver.h"

namespace ardus::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

constexpr int kSocketBuffer = 64 << 20;

struct Sockets {
  net::Interface iface;
  net::UdpSocket control, unicast;
  std::optional<net::UdpSocket> data;
  Endpoint data_bound;
};

Status OpenSockets(const ReceiveOptions& o, std::uint32_t group, std::uint16_t port, Sockets* s) {
  Result<net::Interface> iface = net::ResolveInterface(o.common.interface);
  if (!iface.ok()) return iface.status();
  s->iface = iface.value();
  Result<net::UdpSocket> control = net::UdpSocket::Bind(group, port, true);
  if (!control.ok()) return control.status();
  s->control = std::move(control).value();
  if (Status st = s->control.JoinGroup(group, s->iface); !st.ok()) return st;
  s->control.SetBuffers(4 << 20);
  Result<net::UdpSocket> unicast = net::UdpSocket::Bind(0, 0, false);
  if (!unicast.ok()) return unicast.status();
  s->unicast = std::move(unicast).value();
  s->unicast.SetBuffers(4 << 20);
  return Status::Ok();
}

// The data group is known only once a session is announced.
Status OpenDataSocket(const Endpoint& data, Sockets* s) {
  if (s->data && s->data_bound == data) return Status::Ok();
  Result<net::UdpSocket> sock = net::UdpSocket::Bind(data.ip, data.port, true);
  if (!sock.ok()) return sock.status();
  if (Status st = sock.value().JoinGroup(data.ip, s->iface); !st.ok()) return st;
  sock.value().SetBuffers(kSocketBuffer);
  sock.value().EnableReceiveCoalescing();  // without it datagrams arrive singly, as before
  s->data = std::move(sock).value();
  s->data_bound = data;
  return Status::Ok();
}

void Report(const ReceiveOptions& o, const Receiver& r, const Endpoint& sender, double seconds) {
  const Status& result = r.result();
  std::uint64_t bytes = r.bytes_done();
  if (o.common.json) {
    nlohmann::json j = {{"session", fmt::format("{:08x}", r.session_id())},
                        {"sender", sender.ToString()},
                        {"status", result.ok() ? "ok" : "failed"},
                        {"files", r.manifest().entries.size()},
                        {"bytes", bytes},
                        {"seconds", seconds},
                        {"data_packets", r.data_received()},
                        {"duplicates", r.duplicates()},
                        {"malformed", r.malformed()},
                        {"foreign", r.foreign()}};
    if (!result.ok()) j["reason"] = result.ToString();
    fmt::print("{}\n", j.dump());
  } else if (result.ok()) {
    fmt::print("session {:08x} from {}: ok, {} entries, {} verified in {:.2f}s ({})\n",
               r.session_id(), sender.ToString(), r.manifest().entries.size(), FormatBytes(bytes),
               seconds, FormatRate(seconds > 0 ? 8.0 * double(bytes) / seconds : 0));
  } else {
    fmt::print("session {:08x} from {}: FAILED after {}: {}\n", r.session_id(), sender.ToString(),
               FormatBytes(bytes), result.ToString());
  }
  std::fflush(stdout);
}

// A tree of many small files keeps one temporary file open per incomplete
// file; take every descriptor the hard limit allows.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int RunReceive(const ReceiveOptions& o) {
  RaiseFileLimit();
  auto group = net::ParseIpv4(o.common.group.empty() ? wire::kDefaultControlGroup : o.common.group);
  if (!group.ok()) {
    fmt::print(stderr, "ardus receive: --group: {}\n", group.status().message());
    return kExitUsage;
  }
  const std::uint16_t port = o.common.port ? o.common.port : wire::kControlPort;
  Sockets sockets;
  if (Status s = OpenSockets(o, group.value(), port, &sockets); !s.ok()) {
    fmt::print(stderr, "ardus receive: {}\n", s.message());
    return ExitCodeFor(s);
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (!o.common.json) {
    fmt::print(stderr, "ardus receive: listening on {} for sessions into {}\n",
               Endpoint{group.value(), port}.ToString(), o.dir);
  }

  std::set<std::uint32_t> finished_sessions;
  const std::uint32_t nonce = RandomId();
  while (true) {
    Result<std::unique_ptr<FsStore>> store = FsStore::Open(o.dir, nonce);
    if (!store.ok()) {
      fmt::print(stderr, "ardus receive: {}\n", store.status().message());
      return kExitLocalError;
    }
    ReceiverConfig config;
    config.receiver_id = RandomId();
    config.seed = config.receiver_id;
    config.ignore_sessions = finished_sessions;
    Receiver receiver(config, *store.value());

    Progress progress(o.common.progress && !o.common.json, "receiving");
    Time idle_since = net::MonotonicNow(), started{0};
    Status setup;
    net::LoopHooks hooks;
    hooks.stop = &g_stop;
    hooks.rx_fds = [&] {
      std::vector<int> fds{sockets.control.fd(), sockets.unicast.fd()};
      if (sockets.data) fds.push_back(sockets.data->fd());
      return fds;
    };
    hooks.on_turn = [&](Time now) {
      if (receiver.state() == Receiver::State::kIdle) {
        if (o.timeout_seconds > 0 &&
            now - idle_since > Duration(std::int64_t(o.timeout_seconds * 1e9))) {
          setup = Status::Error(ErrorKind::kTimeout, "no session announced within --timeout");
          g_stop = true;
        }
        return;
      }
      if (started == Time(0)) {
        started = now;
        const wire::Announce& a = receiver.announce();
        setup = OpenDataSocket({a.data_group, a.data_port}, &sockets);
        if (!setup.ok()) g_stop = true;
      }
      progress.Update(now, receiver.bytes_done(), receiver.announce().total_bytes, "");
    };
    Status run = net::Drive(receiver, {}, sockets.unicast.fd(), hooks);
    progress.Clear();
    if (!setup.ok()) {
      fmt::print(stderr, "ardus receive: {}\n", setup.message());
      return ExitCodeFor(setup);
    }
    if (!run.ok()) {
      if (run.kind() != ErrorKind::kCancelled)
        fmt::print(stderr, "ardus receive: {}\n", run.message());
      return ExitCodeFor(run);
    }
    double seconds = double((net::MonotonicNow() - started).count()) / 1e9;
    Report(o, receiver, receiver.sender(), seconds);
    finished_sessions.insert(receiver.session_id());
    if (o.once) return receiver.result().ok() ? kExitOk : kExitFailed;
  }
}

}  // namespace ardus::cli
