// `ardus receive`: join the control group, take the first session announced,
// receive it into --dir, report, and (without --once) wait for the next.
// Nothing a peer sends ends a serving receiver: a session that cannot be
// received (a data group it cannot join, a hostile manifest) fails alone.
// SIGTERM and SIGHUP (a closed terminal, a service manager's reload) stop it
// with exit 0 after removing its temporaries, as a service manager expects;
// SIGINT with 130.
#include <fmt/core.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "ardus/receiver.h"
#include "ardus/secure_receiver.h"
#include "common/utf8.h"
#include "io/driver.h"
#include "io/fs_store.h"
#include "io/system_random.h"
#include "programs/ardus/identity_options.h"
#include "programs/ardus/options.h"
#include "programs/ardus/progress.h"

namespace ardus::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
void OnSignal(int signal) {
  g_signal = signal;
  g_stop = true;
}

// Sessions already received, so that their repeated ANNOUNCEs are not taken
// as new ones; only the latest are remembered (a peer may announce many).
class FinishedSessions {
 public:
  void Add(std::uint32_t session) {
    if (set_.insert(session).second) order_.push_back(session);
    if (order_.size() > kKept) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }
  const std::set<std::uint32_t>& set() const { return set_; }

 private:
  static constexpr std::size_t kKept = 1024;
  std::set<std::uint32_t> set_;
  std::deque<std::uint32_t> order_;
};

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
  Result<net::UdpSocket> control = net::UdpSocket::Bind(group, port, true, "--port");
  if (!control.ok()) return control.status();
  s->control = std::move(control).value();
  if (Status st = s->control.JoinGroup(group, s->iface); !st.ok()) return st;
  s->control.SetBuffers(4 << 20);
  Result<net::UdpSocket> unicast = net::UdpSocket::Bind(0, 0, false, "");
  if (!unicast.ok()) return unicast.status();
  s->unicast = std::move(unicast).value();
  s->unicast.SetBuffers(4 << 20);
  return Status::Ok();
}

// The data group is known only once a session is announced. A receiver
// serving session after session keeps the socket while the group stays.
Status OpenDataSocket(const Endpoint& data, Sockets* s) {
  if (s->data && s->data_bound == data) return Status::Ok();
  Result<net::UdpSocket> sock =
      net::UdpSocket::Bind(data.ip, data.port, true, "the sender's --data-port");
  if (!sock.ok()) return sock.status();
  if (Status st = sock.value().JoinGroup(data.ip, s->iface); !st.ok()) return st;
  sock.value().SetBuffers(kSocketBuffer);
  sock.value().EnableReceiveCoalescing();  // without it datagrams arrive singly, as before
  s->data = std::move(sock).value();
  s->data_bound = data;
  return Status::Ok();
}

// Who this receiver is and whom it takes sessions from (made once per run).
struct Security {
  seal::Identity identity;
  std::optional<std::set<seal::Fingerprint>> trust;
  net::SystemRandom random;
  std::set<seal::Fingerprint> untrusted_logged;  // each untrusted sender is logged once
};

nlohmann::json SecurityJson(const SecureReceiver& s) {
  const SecurityStats& st = s.stats();
  nlohmann::json untrusted = nlohmann::json::array();
  for (const auto& f : s.untrusted_senders()) untrusted.push_back(seal::FingerprintText(f));
  return {{"tampered", st.tampered},   {"replayed", st.replayed},       {"plaintext", st.plaintext},
          {"unkeyed", st.unkeyed},     {"malformed", st.malformed},     {"foreign", st.foreign},
          {"untrusted", st.untrusted}, {"untrusted_senders", untrusted}};
}

// Logs, once per run, each untrusted sender whose ANNOUNCE was ignored.
void LogUntrusted(const SecureReceiver& secure, Security& security) {
  for (const auto& f : secure.untrusted_senders()) {
    if (!security.untrusted_logged.insert(f).second) continue;
    fmt::print(stderr, "ardus receive: ignoring sessions of untrusted sender {} (not in --trust)\n",
               seal::FingerprintText(f));
  }
}

void Report(const ReceiveOptions& o, const Receiver& r, const SecureReceiver& secure,
            const Endpoint& sender, double seconds) {
  const Status& result = r.result();
  std::uint64_t bytes = r.bytes_done();
  const std::string encryption = EncryptionName(secure.encryption().value_or(Encryption::kNone));
  const std::string key =
      secure.sender_fingerprint() ? seal::FingerprintText(*secure.sender_fingerprint()) : "";
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
                        {"foreign", r.foreign()},
                        {"encryption", encryption},
                        {"sender_fingerprint", key},
                        {"security", SecurityJson(secure)}};
    if (!result.ok()) j["reason"] = Printable(result.ToString());
    fmt::print("{}\n", j.dump());
  } else if (result.ok()) {
    fmt::print("session {:08x} from {}: ok, {} entries, {} verified in {:.2f}s ({}); {}{}\n",
               r.session_id(), sender.ToString(), r.manifest().entries.size(), FormatBytes(bytes),
               seconds, FormatRate(seconds > 0 ? 8.0 * double(bytes) / seconds : 0), encryption,
               key.empty() ? "" : ", sender key " + key);
  } else {
    fmt::print("session {:08x} from {}: FAILED after {}: {}\n", r.session_id(), sender.ToString(),
               FormatBytes(bytes), Printable(result.ToString()));
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

// --timeout: how long a receiver may wait, idle, for a session.
Status IdleLimit(const ReceiveOptions& o, Duration idle) {
  if (o.timeout_seconds > 0 && idle > Duration(std::int64_t(o.timeout_seconds * 1e9))) {
    return Status::Error(ErrorKind::kTimeout, "no session announced within --timeout");
  }
  return Status::Ok();
}

// The exit code for a loop that ended before its session did: by a signal,
// --timeout or a socket error.
// A sender whose session this receiver saw but never got a key for has most
// likely left it out of its --allow.
void HintUnanswered(const SecureReceiver& secure, const Security& security) {
  if (auto f = secure.unanswered_sender()) {
    fmt::print(stderr,
               "ardus receive: sender {} announced a session but sent no key: this receiver "
               "({}) is probably not in its --allow\n",
               seal::FingerprintText(*f), seal::FingerprintText(security.identity.fingerprint()));
  }
}

int StoppedExitCode(const ReceiveOptions& o, const Status& run, const Receiver& receiver) {
  if (run.kind() == ErrorKind::kCancelled) {
    if (receiver.state() != Receiver::State::kIdle && !o.common.json) {
      fmt::print(stderr, "ardus receive: stopped; session {:08x} abandoned\n",
                 receiver.session_id());
    }
    return g_signal == SIGINT ? exit_code::kInterrupted : exit_code::kOk;
  }
  fmt::print(stderr, "ardus receive: {}\n", run.message());
  return ExitCodeFor(run);
}

// Receives one session into `store`. Returns the exit code to end with, or
// nullopt to serve the next session.
std::optional<int> ServeOne(const ReceiveOptions& o, Sockets& sockets, FsStore& store,
                            FinishedSessions& finished, Security& security) {
  ReceiverConfig config;
  config.receiver_id = RandomId();
  config.seed = config.receiver_id;
  config.ignore_sessions = finished.set();
  Receiver receiver(config, store);
  SecureReceiver secure(receiver, config.receiver_id, security.identity, security.random,
                        SecureReceiverConfig{security.trust, o.accept_plaintext});

  Progress progress(o.common.progress && !o.common.json, "receiving");
  const Time idle_since = net::MonotonicNow();
  Time started{0};
  net::LoopHooks hooks;
  hooks.stop = &g_stop;
  hooks.rx_fds = [&] {
    std::vector<int> fds{sockets.control.fd(), sockets.unicast.fd()};
    if (sockets.data) fds.push_back(sockets.data->fd());
    return fds;
  };
  // The receiver asks once it accepted an ANNOUNCE. A group it cannot join
  // fails that session alone; its sender learns why in DONE.
  hooks.join_group = [&](const Endpoint& group) { return OpenDataSocket(group, &sockets); };
  hooks.on_turn = [&](Time now) {
    if (receiver.state() == Receiver::State::kIdle) return IdleLimit(o, now - idle_since);
    if (started == Time(0)) started = now;
    progress.Update(now, receiver.bytes_done(), receiver.announce().total_bytes, "");
    return Status::Ok();
  };
  hooks.on_turn = [&, turn = std::move(hooks.on_turn)](Time now) {
    LogUntrusted(secure, security);
    return turn(now);
  };
  // Every send goes to the session's sender, at the address its ANNOUNCE
  // came from: one that cannot be reached (a spoofed source) fails that
  // session, not the receiver.
  hooks.on_send_error = [&](const Status& error, const Endpoint&) {
    receiver.Abandon(
        net::MonotonicNow(),
        Status::Error(ErrorKind::kLocalIo, "cannot reach the sender: " + error.message()));
    return true;
  };
  Status run = net::Drive(secure, {}, sockets.unicast.fd(), hooks);
  progress.Clear();
  if (!run.ok()) {
    int code = StoppedExitCode(o, run, receiver);
    if (run.kind() == ErrorKind::kTimeout) HintUnanswered(secure, security);
    return code;
  }
  double seconds = double((net::MonotonicNow() - started).count()) / 1e9;
  Report(o, receiver, secure, receiver.sender(), seconds);
  finished.Add(receiver.session_id());
  if (o.once) return receiver.result().ok() ? exit_code::kOk : exit_code::kFailed;
  return std::nullopt;
}

}  // namespace

int RunReceive(const ReceiveOptions& o) {
  RaiseFileLimit();
  auto group = net::ParseIpv4(o.common.group.empty() ? wire::kDefaultControlGroup : o.common.group);
  if (!group.ok()) {
    fmt::print(stderr, "ardus receive: --group: {}\n", group.status().message());
    return exit_code::kUsage;
  }
  const std::uint16_t port = o.common.port ? o.common.port : wire::kControlPort;
  const FsStoreOptions store_options{o.keep_special_bits};
  // Each session gets a store (and a nonce) of its own. The destination is
  // checked, and cleared of dead receivers' temporaries, before anything
  // says it is listening.
  const auto open_store = [&]() -> std::unique_ptr<FsStore> {
    Result<std::unique_ptr<FsStore>> store = FsStore::Open(o.dir, RandomId(), store_options);
    if (!store.ok()) {
      fmt::print(stderr, "ardus receive: {}\n", store.status().message());
      return nullptr;
    }
    if (std::size_t n = store.value()->leftovers_removed(); n > 0 && !o.common.json) {
      fmt::print(stderr, "ardus receive: removed {} temporary file(s) of a receiver that died\n",
                 n);
    }
    return std::move(store).value();
  };
  net::SystemRandom random;
  Result<seal::Identity> identity = IdentityFrom(o.key, random);
  if (!identity.ok()) {
    fmt::print(stderr, "ardus receive: --key: {}\n", identity.status().message());
    return ExitCodeFor(identity.status());
  }
  auto trust = FingerprintsFrom(o.trust);
  if (!trust.ok()) {
    fmt::print(stderr, "ardus receive: --trust: {}\n", trust.status().message());
    return ExitCodeFor(trust.status());
  }
  Security security{std::move(identity).value(), trust.value(), {}, {}};
  std::unique_ptr<FsStore> store = open_store();
  if (!store) return exit_code::kLocalError;
  Sockets sockets;
  if (Status s = OpenSockets(o, group.value(), port, &sockets); !s.ok()) {
    fmt::print(stderr, "ardus receive: {}\n", s.message());
    return ExitCodeFor(s);
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnSignal);
  if (!o.common.json) {
    fmt::print(stderr, "ardus receive: listening on {} for sessions into {}\n",
               Endpoint{group.value(), port}.ToString(), o.dir);
    fmt::print(stderr, "ardus receive: identity {}{}\n",
               seal::FingerprintText(security.identity.fingerprint()),
               o.key.empty() ? " (fresh for this run; --key FILE keeps one)" : "");
    if (!security.trust) {
      fmt::print(stderr,
                 "ardus receive: no --trust: accepting sessions from any sender (still "
                 "encrypted and authenticated per session{})\n",
                 o.accept_plaintext ? "; --accept-plaintext also takes unprotected ones" : "");
    } else if (o.accept_plaintext) {
      fmt::print(stderr, "ardus receive: --accept-plaintext has no effect with --trust\n");
    }
  }
  FinishedSessions finished;
  while (true) {
    if (std::optional<int> code = ServeOne(o, sockets, *store, finished, security)) return *code;
    store = open_store();
    if (!store) return exit_code::kLocalError;
  }
}

}  // namespace ardus::cli
