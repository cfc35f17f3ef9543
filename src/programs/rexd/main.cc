// rexd: the ANSA REX daemon. Hosts the Trader (TCP 124) and Notify (TCP 116)
// with their state in SQLite under --data.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstring>
#include <limits>
#include <random>

#include "common/exit_code.h"
#include "notify/notify_wire.h"
#include "programs/rexd/tls_options.h"
#include "rexd/clock.h"
#include "rexd/journaled_services.h"
#include "rexd/notify_journal.h"
#include "rexd/server.h"
#include "rexd/trader_journal.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
// SIGHUP reloads --auth (the server's loop does it and logs the outcome).
// Without --auth it must still not kill a daemon that a service manager or a
// closed terminal sends it to. write(2) is async-signal-safe.
volatile std::sig_atomic_t g_reload = 0;
void OnReload(int) { g_reload = 1; }
void OnHangup(int) {
  constexpr char kMessage[] = "rexd: SIGHUP: nothing to reload (no --auth)\n";
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

// 127.0.0.0/8, ::1 and "localhost": reachable from this host only.
bool IsLoopback(const std::string& address) {
  if (address == "localhost" || address == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, address.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

constexpr const char* kExitCodes =
    "Exit codes: 0 stopped by SIGINT/SIGTERM (SIGHUP reloads --auth, else is logged and "
    "ignored); 2 bad usage (also an --auth file that does not parse, an unusable TLS "
    "certificate, key or CA, or a non-loopback --listen without TLS and --auth); 4 cannot "
    "listen, read --auth or a TLS file, or open or lock --data (another rexd uses it); "
    "5 the store failed while serving (state on disk is intact; restart rexd).";

// Every connection is a descriptor: take all that the hard limit allows.
void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &r);
  }
}

// One rexd per --data: two would interleave their journals. The lock lives
// as long as the process (the descriptor is never closed) and holds its pid.
bool LockData(const std::string& dir) {
  std::string path = dir + "/rexd.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    fmt::print(stderr, "rexd: cannot open {}: {}\n", path, std::strerror(errno));
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    fmt::print(stderr,
               "rexd: --data {} is in use by another rexd{}; stop it, or give this one "
               "another --data\n",
               dir, holder.empty() ? "" : " (pid " + holder + ")");
    return false;
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    fmt::print(stderr, "rexd: cannot write {}: {}\n", path, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rexd: ANSA REX daemon. It hosts the Trader (TCP 124: service types, offers, constraint "
      "queries, leases, watches) and Notify (TCP 116: event channels, filtered, durable "
      "subscriptions), with their state in SQLite under --data. Without --auth every client may "
      "do everything, so it listens on 127.0.0.1 unless told otherwise."};
  app.footer(kExitCodes);
  app.set_version_flag("--version", "rexd 0.1.0 (REX version 1)");
  ardus::rexd::ServerConfig config;
  std::uint16_t trader_port = 124, notify_port = 116;
  // Room for a 1 MiB event body plus its header and fields.
  config.limits.max_body = ardus::notify::kMaxBodyBytes + (64 << 10);
  std::string data_dir = "/var/lib/rexd";
  bool quiet = false;
  double handshake_s = 10, frame_s = 30, write_s = 10;
  app.add_option("--listen", config.listen,
                 "IPv4 address to listen on; 0.0.0.0 for every interface (anyone who can reach "
                 "it may change offers and events)")
      ->capture_default_str();
  app.add_option("--trader-port", trader_port, "Trader TCP port (ansatrader; 0 picks a free port)")
      ->capture_default_str();
  app.add_option("--notify-port", notify_port, "Notify TCP port (ansanotify; 0 picks a free port)")
      ->capture_default_str();
  app.add_option("--data", data_dir,
                 "Directory for the SQLite stores (created if missing; one rexd at a time)")
      ->capture_default_str();
  app.add_option("--max-frame", config.limits.max_body,
                 "Largest frame body accepted, bytes (K, M, G suffixes are binary)")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--max-connections", config.max_connections,
                 "Connections served at once, both ports together; more are refused with "
                 "overloaded")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-output", config.max_output,
                 "Bytes of output waiting for all clients together; past it, the clients "
                 "that have not read for longest are closed with overloaded")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Validator(
          [](const std::string& v) {
            return std::stoull(v) < (1u << 20) ? std::string("must be at least 1M") : "";
          },
          ">=1M"));
  app.add_option("--handshake-timeout", handshake_s,
                 "Seconds a client has from connecting to complete its HELLO")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--frame-timeout", frame_s, "Seconds a frame may take to arrive once it has begun")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--write-timeout", write_s,
                 "Seconds a client may leave over 16 MiB of output unread (or, once closing, "
                 "any output) before it is closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--auth", config.auth_file,
                 "Auth file: identities (Ed25519 keys, client certificates) and what each may do "
                 "(docs/rex-protocol.md, Permissions); SIGHUP reloads it");
  ardus::rexd_cli::TlsOptions tls;
  auto* tls_cert = app.add_option("--tls-cert", tls.cert_file,
                                  "TLS on both ports: the server certificate (PEM, then any "
                                  "intermediates); needs --tls-key");
  auto* tls_key = app.add_option("--tls-key", tls.key_file,
                                 "The private key of --tls-cert (PEM, not open to others)");
  app.add_option("--tls-self-signed", tls.self_signed_dir,
                 "TLS with a self-signed certificate kept in DIR (made on the first run, key mode "
                 "0600; reused after); rexd prints the pin clients pass as rex --tls-pin")
      ->excludes(tls_cert)
      ->excludes(tls_key);
  app.add_option("--tls-client-ca", tls.client_ca_file,
                 "Mutual TLS: clients must present a certificate this CA (PEM) signed");
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "Listen on a non-loopback --listen address without TLS and --auth (a trusted "
               "network, or measuring); refused otherwise");
  app.add_flag("--quiet", quiet, "Print nothing but errors");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ardus::exit_code::kOk
                            : ardus::exit_code::kUsage;  // --help, --version: 0
  }
  auto ms = [](double s) { return static_cast<std::int64_t>(s * 1000); };
  config.limits.handshake_timeout_ms = ms(handshake_s);
  config.limits.frame_timeout_ms = ms(frame_s);
  config.limits.write_timeout_ms = ms(write_s);
  config.quiet = quiet;
  if (!IsLoopback(config.listen) && !(tls.any() && !config.auth_file.empty()) && !insecure) {
    fmt::print(stderr,
               "rexd: refusing to listen on {} without TLS and --auth: anyone who reaches it "
               "could read and change every offer and event. Add --tls-cert FILE --tls-key FILE "
               "(or --tls-self-signed DIR) and --auth FILE, or, on a trusted network, "
               "--insecure\n",
               config.listen);
    return ardus::exit_code::kUsage;
  }
  RaiseFileLimit();
  std::optional<ardus::rexd_cli::TlsSetup> tls_setup;
  if (tls.any()) {
    auto setup = ardus::rexd_cli::SetUpTls(tls, ardus::rexd::WallMs() / 1000);
    if (!setup.ok()) {
      fmt::print(stderr, "rexd: {}\n", setup.status().message());
      return setup.status().kind() == ardus::ErrorKind::kLocalIo ? ardus::exit_code::kCannotStart
                                                                 : ardus::exit_code::kUsage;
    }
    tls_setup.emplace(std::move(setup).value());
    config.tls = tls_setup->context;
  }

  if (mkdir(data_dir.c_str(), 0750) != 0 && errno != EEXIST) {
    fmt::print(stderr, "rexd: cannot create --data {}: {}\n", data_dir, std::strerror(errno));
    return ardus::exit_code::kCannotStart;
  }
  if (!LockData(data_dir)) return ardus::exit_code::kCannotStart;
  auto journal = ardus::rexd::TraderJournal::Open(data_dir);
  if (!journal.ok()) {
    fmt::print(stderr, "rexd: {}\n", journal.status().message());
    return ardus::exit_code::kCannotStart;
  }
  ardus::trader::Trader trader(std::random_device{}());
  if (auto s = journal.value()->Load(trader, ardus::rexd::WallMs()); !s.ok()) {
    fmt::print(stderr, "rexd: loading {}: {}\n", data_dir, s.message());
    return ardus::exit_code::kCannotStart;
  }
  auto notify_journal = ardus::rexd::NotifyJournal::Open(data_dir);
  if (!notify_journal.ok()) {
    fmt::print(stderr, "rexd: {}\n", notify_journal.status().message());
    return ardus::exit_code::kCannotStart;
  }
  ardus::notify::Broker broker(ardus::notify::EncodeEvent);
  if (auto s = notify_journal.value()->Load(broker); !s.ok()) {
    fmt::print(stderr, "rexd: loading {}: {}\n", data_dir, s.message());
    return ardus::exit_code::kCannotStart;
  }
  ardus::rexd::JournaledTrader trader_service(trader, *journal.value());
  ardus::rexd::JournaledNotify notify_service(broker, *notify_journal.value());
  auto server = ardus::rexd::Server::Start(
      config, {{"trader", "--trader-port", trader_port, trader_service},
               {"notify", "--notify-port", notify_port, notify_service}});
  if (!server.ok()) {
    fmt::print(stderr, "rexd: {}\n", server.status().message());
    bool bad_auth_file =
        !config.auth_file.empty() && server.status().kind() != ardus::ErrorKind::kLocalIo;
    return bad_auth_file ? ardus::exit_code::kUsage : ardus::exit_code::kCannotStart;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGHUP, config.auth_file.empty() ? OnHangup : OnReload);
  if (!quiet) {
    fmt::print(stderr,
               "rexd: trader on {}:{}, notify on {}:{}, data in {} ({} offers, {} types "
               "loaded); {}\n",
               config.listen, server.value()->port(0), config.listen, server.value()->port(1),
               data_dir, trader.OfferCount(), trader.ListTypes().size(),
               config.auth_file.empty() ? "no --auth: every client may do everything"
                                        : "permissions from --auth " + config.auth_file);
  }
  if (tls_setup) {
    // Printed even with --quiet: a client cannot connect without knowing it.
    const auto& cert = tls_setup->certificate;
    fmt::print(stderr,
               "rexd: TLS on both ports{}: {} ({}, valid until {}{})\n"
               "rexd: TLS pin (rex --tls-pin, SHA-256 of the public key): {}\n",
               tls.client_ca_file.empty() ? "" : ", client certificates required",
               tls_setup->cert_file, cert.subject, cert.not_after,
               tls_setup->created ? ", made now" : "", cert.spki_sha256);
  }
  auto s = server.value()->Run(&g_stop, &g_reload);
  if (!s.ok()) {
    fmt::print(stderr, "rexd: the store failed, stopping: {}\n", s.message());
    return ardus::exit_code::kStoreFailed;
  }
  return ardus::exit_code::kOk;
}
