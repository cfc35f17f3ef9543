// `ardus send`: scan and hash the sources, announce, wait for receivers,
// multicast, repair, and report one line (or one JSON object) per receiver.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <nlohmann/json.hpp>

#include "ardus/secure_sender.h"
#include "ardus/sender.h"
#include "common/utf8.h"
#include "io/driver.h"
#include "io/fs_source.h"
#include "io/system_random.h"
#include "programs/ardus/identity_options.h"
#include "programs/ardus/options.h"
#include "programs/ardus/progress.h"

namespace ardus::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct SendPlan {
  net::Interface iface;
  Endpoint control, data;
  std::uint16_t feedback_port = 0;
  RateSetting rate;
  Encryption encryption = Encryption::kAes256Gcm;
  std::optional<std::set<seal::Fingerprint>> allow;
};

Result<SendPlan> Plan(const SendOptions& o) {
  SendPlan plan;
  Result<net::Interface> iface = net::ResolveInterface(o.common.interface);
  if (!iface.ok()) return iface.status();
  plan.iface = iface.value();
  auto control =
      net::ParseIpv4(o.common.group.empty() ? wire::kDefaultControlGroup : o.common.group);
  auto data = net::ParseIpv4(o.data_group.empty() ? wire::kDefaultDataGroup : o.data_group);
  if (!control.ok()) return control.status();
  if (!data.ok()) return data.status();
  if ((control.value() >> 28) != 0xE || (data.value() >> 28) != 0xE) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--group/--data-group must be multicast (224.0.0.0/4)");
  }
  plan.control = {control.value(), o.common.port ? o.common.port : wire::kControlPort};
  plan.data = {data.value(), o.data_port ? o.data_port : wire::kDataPort};
  plan.feedback_port = o.feedback_port ? o.feedback_port : wire::kFeedbackPort;
  Result<RateSetting> rate = ParseRateSetting(o.rate);
  if (!rate.ok()) return rate.status();
  plan.rate = rate.value();
  plan.encryption = ParseEncryption(o.encrypt).value_or(Encryption::kAes256Gcm);  // CLI checked it
  auto allow = FingerprintsFrom(o.allow);
  if (!allow.ok())
    return Status::Error(allow.status().kind(), "--allow: " + allow.status().message());
  plan.allow = allow.value();
  if (plan.allow && plan.encryption == Encryption::kNone) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--allow needs authenticated receivers: not with --encrypt none");
  }
  return plan;
}

// The security part of the report.
nlohmann::json SecurityJson(const SecureSender* secure) {
  if (!secure) return nullptr;
  const SecurityStats& s = secure->stats();
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& f : secure->refused_receivers()) refused.push_back(seal::FingerprintText(f));
  return {{"tampered", s.tampered},       {"replayed", s.replayed},
          {"plaintext", s.plaintext},     {"unkeyed", s.unkeyed},
          {"malformed", s.malformed},     {"foreign", s.foreign},
          {"not_allowed", s.not_allowed}, {"conflicting", s.conflicting},
          {"over_limit", s.over_limit},   {"key_infos", s.key_infos},
          {"confirmed", s.confirmed},     {"refused_receivers", refused}};
}

std::string FingerprintOf(const SecureSender* secure, std::uint32_t receiver_id) {
  if (!secure) return "";
  auto f = secure->ReceiverFingerprint(receiver_id);
  return f ? seal::FingerprintText(*f) : "";
}

std::size_t Succeeded(const std::vector<ReceiverReport>& reports) {
  return static_cast<std::size_t>(std::count_if(reports.begin(), reports.end(), [](auto& r) {
    return r.outcome == ReceiverOutcome::kSucceeded;
  }));
}

// How long the session took: waiting for receivers, then the transfer
// itself (what the rate is measured over).
struct Timing {
  double wait = 0, transfer = 0;
  double total() const { return wait + transfer; }
};

// What the report prints, for the JSON and the table alike.
struct ReportFigures {
  std::vector<ReceiverReport> reports;
  std::uint64_t payload = 0;
  double wire_ratio = 0;
  std::size_t ok = 0;
};

// The wire ratio counts version 2's envelopes too.
ReportFigures FiguresOf(const Sender& sender, const SecureSender* secure) {
  ReportFigures f;
  f.reports = sender.Reports();
  f.payload = sender.manifest().total_bytes();
  const double overhead = secure ? double(secure->stats().overhead_bytes) : 0;
  f.wire_ratio =
      f.payload ? (double(sender.stats().link_bytes()) + overhead) / double(f.payload) : 0;
  f.ok = Succeeded(f.reports);
  return f;
}

double Goodput(std::uint64_t payload, const Timing& timing) {
  return timing.transfer > 0 ? 8.0 * double(payload) / timing.transfer : 0;
}

nlohmann::json ReceiverJson(const ReceiverReport& r, const SecureSender* secure) {
  return {{"address", r.address.ToString()},
          {"id", fmt::format("{:08x}", r.receiver_id)},
          {"status", ReceiverOutcomeName(r.outcome)},
          {"bytes", r.bytes},
          {"seconds", double(r.elapsed.count()) / 1e9},
          {"loss", r.loss ? nlohmann::json(*r.loss) : nlohmann::json()},
          {"fingerprint", FingerprintOf(secure, r.receiver_id)},
          {"reason", Printable(r.reason)}};
}

void PrintJsonReport(const SendOptions& o, const Sender& sender, const SecureSender* secure,
                     const SendPlan& plan, std::uint32_t session, const Timing& timing,
                     int exit_code) {
  const ReportFigures f = FiguresOf(sender, secure);
  const SenderStats& st = sender.stats();
  nlohmann::json j;
  j["session"] = fmt::format("{:08x}", session);
  if (secure) j["sender_fingerprint"] = seal::FingerprintText(secure->identity().fingerprint());
  j["files"] = sender.manifest().entries.size();
  j["bytes"] = f.payload;
  j["digest"] = DigestName(sender.manifest().digest);
  j["seconds"] = timing.total();
  j["wait_seconds"] = timing.wait;
  j["transfer_seconds"] = timing.transfer;
  j["goodput_bps"] = Goodput(f.payload, timing);
  j["expected_receivers"] = o.receivers;
  j["receivers_ok"] = f.ok;
  j["rate"] = plan.rate.adaptive ? "auto" : "fixed";
  j["final_rate_bps"] = sender.rate_bps();
  j["rate_decreases"] = st.rate_decreases;
  j["wire_ratio"] = f.wire_ratio;
  j["encryption"] = EncryptionName(plan.encryption);
  j["security"] = SecurityJson(secure);
  j["stats"] = {{"source_symbols", st.source_symbols},
                {"repair_symbols", st.repair_symbols},
                {"control_packets", st.control_packets},
                {"naks", st.naks},
                {"late_naks", st.late_naks},
                {"sweep_repair_symbols", st.sweep_repair_symbols},
                {"polls", st.polls},
                {"malformed", st.malformed},
                {"foreign", st.foreign}};
  j["receivers"] = nlohmann::json::array();
  for (const auto& r : f.reports) j["receivers"].push_back(ReceiverJson(r, secure));
  j["exit_code"] = exit_code;
  if (!sender.status().ok()) j["error"] = Printable(sender.status().ToString());
  fmt::print("{}\n", j.dump());
}

void PrintRefusedDatagrams(const SecureSender* secure) {
  if (!secure || secure->stats().refused() == 0) return;
  const SecurityStats& s = secure->stats();
  fmt::print(
      "refused datagrams: {} tampered, {} replayed, {} plaintext, {} without a key, "
      "{} malformed, {} foreign, {} not allowed, {} conflicting\n",
      s.tampered, s.replayed, s.plaintext, s.unkeyed, s.malformed, s.foreign, s.not_allowed,
      s.conflicting);
}

void PrintTableReport(const SendOptions& o, const Sender& sender, const SecureSender* secure,
                      const SendPlan& plan, const Timing& timing) {
  const ReportFigures f = FiguresOf(sender, secure);
  const SenderStats& st = sender.stats();
  fmt::print("{:<22} {:<10} {:>14} {:>9} {:>7}  {:<16}  {}\n", "RECEIVER", "STATUS", "BYTES",
             "TIME", "LOSS", "KEY", "REASON");
  for (const auto& r : f.reports) {
    // A receiver's reason is peer text: printed escaped, never raw.
    const std::string key = FingerprintOf(secure, r.receiver_id);
    fmt::print("{:<22} {:<10} {:>14} {:>8.2f}s {:>7}  {:<16}  {}\n", r.address.ToString(),
               ReceiverOutcomeName(r.outcome), r.bytes, double(r.elapsed.count()) / 1e9,
               r.loss ? fmt::format("{:.2f}%", 100 * *r.loss) : "-",
               key.empty() ? "-" : key.substr(0, 16), Printable(r.reason));
  }
  PrintRefusedDatagrams(secure);
  fmt::print(
      "{}/{} receivers verified {} ({} files) in {:.2f}s, {}, after {:.2f}s waiting for "
      "receivers; wire {:.3f}x payload ({} source, {} repair symbols, {} NAKs); encryption {}\n",
      f.ok, std::max<std::size_t>(f.reports.size(), o.receivers), FormatBytes(f.payload),
      sender.manifest().entries.size(), timing.transfer, FormatRate(Goodput(f.payload, timing)),
      timing.wait, f.wire_ratio, st.source_symbols, st.repair_symbols, st.naks,
      EncryptionName(plan.encryption));
}

void PrintReport(const SendOptions& o, const Sender& sender, const SecureSender* secure,
                 const SendPlan& plan, std::uint32_t session, const Timing& timing, int exit_code) {
  if (o.common.json) {
    PrintJsonReport(o, sender, secure, plan, session, timing, exit_code);
  } else {
    PrintTableReport(o, sender, secure, plan, timing);
  }
}

// Scans and hashes the sources, with a progress line while hashing; names
// what it skipped. Errors: ScanSources'.
Result<SourceTree> ScanWithProgress(const SendOptions& o) {
  Progress hashing(o.common.progress && !o.common.json, "hashing");
  const DigestAlgorithm digest =
      ParseDigestAlgorithm(o.digest).value_or(DigestAlgorithm::kXxh128);  // CLI checked it
  Result<SourceTree> tree =
      ScanSources(o.paths, digest, [&](std::uint64_t hashed, std::uint64_t total) {
        hashing.Update(net::MonotonicNow(), hashed, total, "");
      });
  hashing.Clear();
  if (tree.ok()) {
    for (const auto& s : tree.value().skipped) fmt::print(stderr, "ardus send: skipped {}\n", s);
  }
  return tree;
}

// The one socket a sender needs: it multicasts from it and takes feedback on
// it. Errors: kLocalIo.
Result<net::UdpSocket> OpenSendSocket(const SendOptions& o, const SendPlan& plan) {
  Result<net::UdpSocket> sock =
      net::UdpSocket::Bind(0, plan.feedback_port, false, "--feedback-port");
  if (!sock.ok()) return sock.status();
  // Receivers on this host need the kernel to loop multicast back; on a
  // chosen LAN interface that is opt-in, since it costs a receive-path trip
  // per datagram (12% of the time of a 256 MiB uncapped transfer on the testbed).
  bool loop = o.multicast_loop || !plan.iface.specified() || plan.iface.loopback();
  if (Status s = sock.value().SetMulticastOutput(plan.iface, o.ttl, loop); !s.ok()) return s;
  sock.value().SetBuffers(32 << 20);
  return sock;
}

// The options give durations in seconds.
Duration Seconds(double s) { return Duration(static_cast<std::int64_t>(s * 1e9)); }

SenderConfig SenderConfigFrom(const SendOptions& o, const SendPlan& plan,
                              std::uint32_t session_id) {
  SenderConfig config;
  config.session_id = session_id;
  config.data_group = plan.data.ip;
  config.data_port = plan.data.port;
  config.feedback_port = plan.feedback_port;
  config.rate_bps = plan.rate.start_bps;
  config.rate_adaptive = plan.rate.adaptive;
  config.rate_min_bps = plan.rate.min_bps;
  config.rate_max_bps = plan.rate.max_bps;
  config.expected_receivers = o.receivers;
  config.join_wait = Seconds(o.wait_seconds);
  config.receiver_timeout = Seconds(o.receiver_timeout);
  config.progress_timeout = Seconds(o.progress_timeout);
  config.seed = session_id;
  if (plan.encryption != Encryption::kNone) config.symbol_size = wire::kSealedSymbolSize;
  return config;
}

void PrintAnnouncing(const SendOptions& o, const SendPlan& plan, const Sender& sender,
                     const seal::Identity& identity, std::uint32_t session) {
  if (o.common.json) return;
  if (plan.encryption == Encryption::kNone) {
    fmt::print(stderr, "ardus send: --encrypt none: version 1 plaintext, unauthenticated\n");
  } else {
    fmt::print(stderr, "ardus send: identity {}{}; encryption {}; {}\n",
               seal::FingerprintText(identity.fingerprint()),
               o.key.empty() ? " (fresh for this session; --key FILE keeps one)" : "",
               EncryptionName(plan.encryption),
               plan.allow ? fmt::format("{} receiver(s) allowed", plan.allow->size())
                          : std::string("any receiver may join"));
  }
  fmt::print(stderr,
             "ardus send: session {:08x}: {} in {} entries; announcing on {}, data on {}, "
             "feedback on port {}; waiting {}receivers\n",
             session, FormatBytes(sender.manifest().total_bytes()),
             sender.manifest().entries.size(), plan.control.ToString(), plan.data.ToString(),
             plan.feedback_port,
             o.receivers ? fmt::format("up to {:.0f}s for {} ", o.wait_seconds, o.receivers)
                         : fmt::format("{:.0f}s for any ", o.wait_seconds));
}

// Runs the session to its end (or a signal's) with a progress line, and
// measures it. Errors: net::Drive's.
Status DriveSession(const SendOptions& o, const SendPlan& plan, Sender& sender,
                    SecureSender* secure, int fd, Timing* timing) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnSignal);  // a closed terminal: stop as on SIGINT
  Progress progress(o.common.progress && !o.common.json, "sending");
  Time start = net::MonotonicNow();
  net::LoopHooks hooks;
  hooks.rx_fds = [fd] { return std::vector<int>{fd}; };
  hooks.stop = &g_stop;
  hooks.on_turn = [&](Time now) {
    progress.Update(
        now, sender.bytes_sent_first_pass(), sender.manifest().total_bytes(),
        fmt::format("{} joined, {} done", sender.receivers_joined(), sender.receivers_finished()));
    return Status::Ok();
  };
  // A reply (DONE_ACK) goes where a DONE came from, which anyone may forge:
  // an unreachable one is that peer's loss. The groups must be reachable.
  hooks.on_send_error = [&](const Status&, const Endpoint& to) {
    return to != plan.control && to != plan.data;
  };
  Status run = secure ? net::Drive(*secure, {plan.control, plan.data}, fd, hooks)
                      : net::Drive(sender, {plan.control, plan.data}, fd, hooks);
  progress.Clear();
  const Time end = net::MonotonicNow();
  const Time transfer_start = sender.transfer_start().value_or(end);
  const auto secs = [](Duration d) { return double(d.count()) / 1e9; };
  *timing = Timing{secs(transfer_start - start), secs(end - transfer_start)};
  if (secure) {  // a log line, in --json mode too
    for (const auto& f : secure->refused_receivers()) {
      fmt::print(stderr, "ardus send: receiver not allowed (not in --allow): {}\n",
                 seal::FingerprintText(f));
    }
  }
  return run;
}

// The exit code for how the session ended, saying on stderr what went wrong.
int SessionExitCode(const SendOptions& o, const Status& run, const Sender& sender) {
  if (!run.ok()) {
    fmt::print(stderr, "ardus send: {}\n", run.message());
    return ExitCodeFor(run);
  }
  if (!sender.status().ok()) {
    fmt::print(stderr, "ardus send: {}\n", sender.status().message());
    return ExitCodeFor(sender.status());
  }
  int code = exit_code::kOk;
  const std::size_t ok = Succeeded(sender.Reports());
  if (ok < sender.receivers_joined() || ok < o.receivers) code = exit_code::kFailed;
  if (ok < o.receivers && !o.common.json) {
    fmt::print(stderr, "ardus send: expected {} receivers, {} verified\n", o.receivers, ok);
  }
  return code;
}

}  // namespace

int RunSend(const SendOptions& o) {
  Result<SendPlan> planned = Plan(o);
  if (!planned.ok()) {
    fmt::print(stderr, "ardus send: {}\n", planned.status().message());
    return ExitCodeFor(planned.status());
  }
  const SendPlan& plan = planned.value();
  net::SystemRandom random;
  Result<seal::Identity> identity = IdentityFrom(o.key, random);
  if (!identity.ok()) {
    fmt::print(stderr, "ardus send: --key: {}\n", identity.status().message());
    return ExitCodeFor(identity.status());
  }
  Result<SourceTree> tree = ScanWithProgress(o);
  if (!tree.ok()) {
    fmt::print(stderr, "ardus send: {}\n", tree.status().message());
    return ExitCodeFor(tree.status());
  }
  Result<net::UdpSocket> sock = OpenSendSocket(o, plan);
  if (!sock.ok()) {
    fmt::print(stderr, "ardus send: {}\n", sock.status().message());
    return exit_code::kLocalError;
  }

  const SenderConfig config = SenderConfigFrom(o, plan, RandomId());
  std::vector<std::uint64_t> sizes;
  for (const auto& e : tree.value().manifest.entries) sizes.push_back(e.size);
  FsSource source(tree.value().files, sizes);
  Sender sender(config, tree.value().manifest, source);
  std::optional<SecureSender> secure;
  if (plan.encryption != Encryption::kNone) {
    secure.emplace(sender, config.session_id, identity.value(), random,
                   SecureSenderConfig{plan.encryption, plan.allow});
  }
  SecureSender* sealed = secure ? &*secure : nullptr;
  PrintAnnouncing(o, plan, sender, identity.value(), config.session_id);

  Timing timing;
  const Status run = DriveSession(o, plan, sender, sealed, sock.value().fd(), &timing);
  const int code = SessionExitCode(o, run, sender);
  if (sender.receivers_joined() > 0 || o.common.json) {
    PrintReport(o, sender, sealed, plan, config.session_id, timing, code);
  }
  return code;
}

}  // namespace ardus::cli
