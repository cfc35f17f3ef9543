// ardus: reliable multicast file transfer (ARDUS, IANA ports 1117/1834/1835).
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <optional>

#include "ardus/manifest.h"
#include "common/utf8.h"
#include "programs/ardus/options.h"

namespace {

constexpr const char* kExitCodes =
    "Exit codes: 0 every receiver verified every file (receive: the session succeeded); "
    "1 a receiver or the session failed; 2 bad usage; 3 no receiver joined (receive: no "
    "session within --timeout); 4 local error (source, destination, socket); 130 interrupted "
    "(send: SIGINT, SIGTERM or "
    "SIGHUP; receive: SIGINT, while SIGTERM and SIGHUP stop it with 0).";

void AddCommon(CLI::App* cmd, ardus::cli::CommonOptions& c) {
  cmd->add_option("--interface", c.interface,
                  "Interface for multicast, by name or IPv4 address (e.g. lo, eth0, 10.0.0.5)");
  cmd->add_option("--group", c.group, "Announce/control multicast group (default 239.255.18.35)");
  cmd->add_option("--port", c.port, "Announce/control port (default 1835, ardusmul)");
  cmd->add_flag("--json", c.json, "Print the report as JSON for scripts");
  cmd->add_flag_callback(
      "--no-progress", [&c] { c.progress = false; },
      "Never draw the progress line (it is drawn only on a TTY)");
}

// The first word that is not an option names the command (the top level
// takes only --help and --version). CLI11 would say "A subcommand is
// required" for a typo; name it and suggest the nearest instead.
std::optional<int> RefuseUnknownCommand(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.starts_with("-")) continue;
    if (std::find(names.begin(), names.end(), word) != names.end()) return std::nullopt;
    std::optional<std::string> nearest = ardus::cli::NearestName(word, names);
    fmt::print(
        stderr, "ardus: unknown command '{}'{}; the commands are {}\n", ardus::Printable(word),
        nearest ? fmt::format(" (did you mean '{}'?)", *nearest) : "", fmt::join(names, ", "));
    return ardus::exit_code::kUsage;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ardus: send files and directory trees once to many receivers over multicast"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.set_version_flag("--version", "ardus 0.1.0 (protocol versions 1 and 2)");

  ardus::cli::SendOptions send;
  CLI::App* s = app.add_subcommand("send", "Multicast files and directories to receivers");
  s->footer(kExitCodes);
  s->add_option("paths", send.paths, "Files and directories to send")->required();
  s->add_option("--receivers", send.receivers,
                "Start as soon as this many receivers joined; exit 0 only if they all verify");
  s->add_option("--wait", send.wait_seconds, "Longest wait for receivers, seconds (default 10)");
  s->add_option("--rate", send.rate,
                "Fixed rate in bits/s (e.g. 500M, 2G), or auto[:min=R,max=R] to adapt to loss "
                "(default auto)");
  s->add_option("--digest", send.digest,
                "File digest receivers verify: xxh128 (default; catches corruption at a tenth "
                "of the CPU) or sha256 (cryptographic, comparable with sha256sum)")
      ->check(CLI::IsMember({ardus::DigestName(ardus::DigestAlgorithm::kXxh128),
                             ardus::DigestName(ardus::DigestAlgorithm::kSha256)}));
  s->add_option("--data-group", send.data_group,
                "Multicast group for data (default 239.255.11.17)");
  s->add_option("--data-port", send.data_port, "Data port (default 1117, ardus-mtrns)");
  s->add_option("--feedback-port", send.feedback_port,
                "Unicast feedback port (default 1834, ardusuni)");
  s->add_option("--ttl", send.ttl, "Multicast TTL (default 1: this link only)")
      ->check(CLI::Range(1, 255));
  s->add_flag("--multicast-loop", send.multicast_loop,
              "Also deliver to receivers on this host (always on for the loopback interface "
              "or when no --interface is given)");
  s->add_option("--progress-timeout", send.progress_timeout,
                "Seconds without newly verified bytes after which a receiver is declared failed "
                "(default 60)");
  s->add_option("--receiver-timeout", send.receiver_timeout,
                "Seconds of silence after which a receiver is declared failed (default 15)");
  s->add_option("--key", send.key,
                "Identity key file (from ardus keygen); default: a fresh key for this session, "
                "its fingerprint printed");
  s->add_option("--allow", send.allow,
                "Only these receivers may join: a key fingerprint, or @FILE of fingerprints or a "
                "FILE.pub (repeatable)");
  s->add_option("--encrypt", send.encrypt,
                "aes256-gcm (default: every datagram encrypted and authenticated), auth "
                "(authenticated, not encrypted) or none (version 1 plaintext, for trusted labs)")
      ->check(CLI::IsMember({"aes256-gcm", "auth", "none"}));
  AddCommon(s, send.common);

  ardus::cli::ReceiveOptions recv;
  CLI::App* r = app.add_subcommand("receive", "Receive sessions into a directory");
  r->footer(kExitCodes);
  r->add_option("--dir", recv.dir, "Destination directory (must exist)")->required();
  r->add_flag("--once", recv.once, "Exit after one session");
  r->add_option("--timeout", recv.timeout_seconds,
                "Give up if no session is announced within this many seconds (default: wait)");
  r->add_flag("--keep-special-bits", recv.keep_special_bits,
              "Apply setuid, setgid and sticky bits from the sender's manifest (default: strip "
              "them)");
  r->add_option("--key", recv.key,
                "Identity key file (from ardus keygen); default: a fresh key for this run, its "
                "fingerprint printed");
  r->add_option("--trust", recv.trust,
                "Take sessions only from these senders: a key fingerprint, or @FILE of "
                "fingerprints or a FILE.pub (repeatable); default: any sender, still encrypted");
  r->add_flag("--accept-plaintext", recv.accept_plaintext,
              "Also take version 1 sessions (a sender's --encrypt none): anyone on the link can "
              "forge those; refused with --trust");
  AddCommon(r, recv.common);

  ardus::cli::KeygenOptions keygen;
  CLI::App* k = app.add_subcommand(
      "keygen", "Write an Ed25519 identity to FILE (0600) and FILE.pub; print its fingerprint");
  k->footer(kExitCodes);
  k->add_option("file", keygen.path, "Private key file to create (never overwritten)")->required();

  ardus::cli::DoctorOptions doctor;
  CLI::App* d = app.add_subcommand(
      "doctor",
      "Diagnose what breaks multicast here (ports, route, firewall, buffers), each "
      "finding with its fix; --probe tests the link with other hosts");
  d->footer(
      "Exit codes: 0 no check failed (warnings may be printed); 1 at least one check failed; "
      "2 bad usage; 4 local error (--probe: socket). Run as root to see every process and the "
      "firewall. --probe: start it on two or more hosts within a second or two of each other.");
  d->add_option("--data-group", doctor.data_group, "Data group to check (default 239.255.11.17)");
  d->add_option("--data-port", doctor.data_port, "Data port to check (default 1117)");
  d->add_option("--feedback-port", doctor.feedback_port, "Feedback port to check (default 1834)");
  d->add_option("--trader", doctor.trader, "Check that the Trader at HOST:PORT answers REX");
  d->add_option("--notify", doctor.notify, "Check that Notify at HOST:PORT answers REX");
  d->add_option("--tls-ca", doctor.tls_ca,
                "Speak TLS to --trader/--notify, trusting the certificate this CA (PEM) signed");
  d->add_option("--tls-pin", doctor.tls_pin,
                "Speak TLS to --trader/--notify, trusting the server key with this SHA-256");
  d->add_flag("--probe", doctor.probe,
              "Exchange probe datagrams on --group/--port with other hosts running --probe; "
              "report loss each way and which side fails");
  d->add_option("--probe-seconds", doctor.probe_seconds,
                "How long to send probes, 10 a second (default 5)")
      ->check(CLI::Range(1.0, 60.0));
  AddCommon(d, doctor.common);

  if (std::optional<int> code = RefuseUnknownCommand(app, argc, argv)) return *code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return ardus::exit_code::kUsage;
  }
  if (k->parsed()) return ardus::cli::RunKeygen(keygen);
  if (d->parsed()) return ardus::cli::RunDoctor(doctor);
  return s->parsed() ? ardus::cli::RunSend(send) : ardus::cli::RunReceive(recv);
}
