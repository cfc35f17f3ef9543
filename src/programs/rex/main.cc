// rex: the command-line client of rexd's ANSA REX services, the Trader and
// Notify. This file parses the command line; the subcommands live in
// trader_commands.cc and notify_commands.cc, the exit codes in
// common/exit_code.h.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>

#include "io/key_file.h"
#include "io/system_random.h"
#include "programs/rex/notify_commands.h"
#include "programs/rex/trader_commands.h"

namespace {

// HOST:PORT with a numeric port, checked before anything is dialled.
const CLI::Validator kHostPort(
    [](const std::string& address) -> std::string {
      auto colon = address.rfind(':');
      if (colon == std::string::npos || colon == 0) {
        return "'" + address + "' is not HOST:PORT (e.g. 127.0.0.1:124)";
      }
      std::string port = address.substr(colon + 1);
      unsigned value = 0;
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
        return "'" + address + "': the port must be a number from 1 to 65535";
      }
      return "";
    },
    "HOST:PORT");

// `rex keygen FILE`: a new Ed25519 identity for --identity. The fingerprint
// (what the auth file's `key` line names) is the first line of stdout.
int Keygen(const std::string& path) {
  ardus::net::SystemRandom random;
  const ardus::seal::Identity identity = ardus::seal::Identity::Generate(random);
  if (ardus::Status s = ardus::net::WriteIdentity(path, identity); !s.ok()) {
    fmt::print(stderr, "rex keygen: {}\n", s.message());
    return ardus::exit_code::kUsage;  // FILE exists or cannot be written: nothing was done
  }
  fmt::print("{}\n", ardus::seal::FingerprintText(identity.fingerprint()));
  fmt::print(
      "wrote {} (private key, mode 0600) and {}.pub; name it in rexd's auth file as: key {}\n",
      path, path, ardus::seal::FingerprintText(identity.fingerprint()));
  return ardus::exit_code::kOk;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ardus::rex_cli;
  CLI::App app{"rex: talk to an ANSA REX Trader (rexd): service types, offers, queries, watches"};
  app.footer(kRexExitCodes);
  app.require_subcommand(1);
  app.set_version_flag("--version", "rex 0.1.0 (REX version 1)");
  app.description(
      "rex: talk to ANSA REX services on rexd: the Trader (service types, offers, queries, "
      "watches) and Notify (channels, publish, filtered durable subscriptions)");

  // The connection flags work at every level (`rex --trader A trader ...`,
  // `rex trader --trader A ...`, `rex trader ... --trader A`), as nats -s and
  // etcdctl --endpoints do.
  RexTarget target, notify_target;
  const char* env = std::getenv("REX_TRADER");
  target.address = env && *env ? env : "127.0.0.1:124";
  const char* notify_env = std::getenv("REX_NOTIFY");
  notify_target.address = notify_env && *notify_env ? notify_env : "127.0.0.1:116";
  target.service = "trader";
  notify_target.service = "notify";
  const char* identity_env = std::getenv("REX_IDENTITY");
  std::string identity_file = identity_env ? identity_env : "";
  bool json = false;
  int timeout_ms = 5000;
  TlsFlags tls;
  const char* ca_env = std::getenv("REX_TLS_CA");
  tls.ca_file = ca_env ? ca_env : "";
  const char* pin_env = std::getenv("REX_TLS_PIN");
  tls.pin = pin_env ? pin_env : "";
  auto connection = [&](CLI::App* cmd, bool trader_address, bool notify_address) {
    if (trader_address) {
      cmd->add_option("--trader", target.address,
                      "Trader address HOST:PORT (default $REX_TRADER, else 127.0.0.1:124)")
          ->check(kHostPort);
    }
    if (notify_address) {
      cmd->add_option("--notify", notify_target.address,
                      "Notify address HOST:PORT (default $REX_NOTIFY, else 127.0.0.1:116)")
          ->check(kHostPort);
    }
    cmd->add_flag("--json", json, "Print results as JSON for scripts");
    cmd->add_option("--identity", identity_file,
                    "Authenticate with this key file (from rex keygen; default $REX_IDENTITY, "
                    "else anonymous)");
    cmd->add_option("--timeout", timeout_ms, "Connect timeout, ms")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--tls-ca", tls.ca_file,
                    "TLS: trust the server certificate this CA (PEM) signed, for the host name "
                    "in the address (default $REX_TLS_CA)");
    cmd->add_option("--tls-pin", tls.pin,
                    "TLS: trust the server whose public key has this SHA-256 (64 hex digits, as "
                    "rexd prints at start; or sha256//BASE64) (default $REX_TLS_PIN)");
    cmd->add_option("--tls-cert", tls.cert_file,
                    "TLS: a client certificate (PEM) for servers that ask for one (mutual TLS)");
    cmd->add_option("--tls-key", tls.key_file, "TLS: the private key of --tls-cert (PEM)");
    return cmd;
  };
  connection(&app, true, true);
  CLI::App* trader =
      connection(app.add_subcommand("trader", "Service types, offers and queries"), true, false);
  trader->require_subcommand(1);
  auto common = [&](CLI::App* cmd) {
    connection(cmd, true, false)->footer(kRexExitCodes);
    return cmd;
  };

  std::string keygen_path;
  CLI::App* keygen = app.add_subcommand(
      "keygen",
      "Write an Ed25519 identity to FILE (0600) and FILE.pub; print its fingerprint first");
  keygen->add_option("file", keygen_path, "Private key file to create (never overwritten)")
      ->required();

  std::string name;
  std::vector<std::string> supers, props, remove;
  auto* add_type = common(trader->add_subcommand(
      "add-type",
      "Define a service type: NAME PROP:TYPE[:mandatory][:readonly]... "
      "(TYPE is int, float, bool, string, or one of them with [] for a sequence)"));
  add_type->add_option("name", name, "Type name")->required();
  add_type->add_option("properties", props, "Property definitions, e.g. ppm:int:mandatory");
  add_type->add_option("--super", supers, "Super-type (repeatable)")->allow_extra_args(false);

  auto* describe_type = common(trader->add_subcommand("describe-type", "Show a service type"));
  describe_type->add_option("name", name, "Type name")->required();
  auto* list_types = common(trader->add_subcommand("list-types", "List service types"));
  auto* remove_type = common(trader->add_subcommand(
      "remove-type", "Remove a service type (refused while offers or subtypes exist)"));
  remove_type->add_option("name", name, "Type name")->required();

  ExportArgs ex;
  auto* export_cmd = common(trader->add_subcommand("export", "Export an offer; prints its id"));
  export_cmd->add_option("type", ex.type, "Service type")->required();
  export_cmd->add_option("properties", ex.assignments, "NAME=VALUE (sequences: a,b,c)");
  export_cmd->add_option("--lease", ex.lease,
                         "Lease in seconds: the offer vanishes unless renewed");
  export_cmd->add_flag("--keepalive", ex.keepalive,
                       "Stay running, renew the lease, withdraw the offer on Ctrl-C/SIGTERM");

  std::uint64_t id = 0;
  auto* withdraw = common(trader->add_subcommand("withdraw", "Withdraw an offer"));
  withdraw->add_option("id", id, "Offer id")->required();
  auto* modify = common(trader->add_subcommand("modify", "Change an offer's properties"));
  modify->add_option("id", id, "Offer id")->required();
  modify->add_option("properties", props, "NAME=VALUE to set");
  modify->add_option("--delete", remove, "Property to remove (repeatable)")
      ->allow_extra_args(false);
  auto* describe = common(trader->add_subcommand("describe", "Show an offer"));
  describe->add_option("id", id, "Offer id")->required();
  auto* renew = common(trader->add_subcommand("renew", "Renew an offer's lease"));
  renew->add_option("id", id, "Offer id")->required();

  QueryArgs q;
  auto* query = common(trader->add_subcommand(
      "query", "Find offers of a type (and its subtypes) matching a constraint"));
  query->add_option("type", q.type, "Service type")->required();
  query->add_option("constraint", q.constraint, "e.g. \"ppm > 20 and 'Cambridge' ~ location\"");
  query->add_option("--pref", q.preference, "Order: 'min e', 'max e', 'with e', random, first");
  query->add_option("--limit", q.limit, "Print at most N offers");
  query->add_option("--search-card", q.search_card, "Evaluate at most N offers");
  query->add_option("--match-card", q.match_card, "Gather at most N matches");
  query->add_option("--return-card", q.return_card, "Return at most N offers");
  query->add_flag("--exact", q.exact, "Only offers of this exact type, not its subtypes");

  std::string constraint;
  std::uint64_t count = 0;
  auto* watch = common(trader->add_subcommand(
      "watch", "Print offers as they start (+) or stop (-) matching, until interrupted"));
  watch->add_option("type", name, "Service type")->required();
  watch->add_option("constraint", constraint, "Constraint (default: every offer)");
  watch->add_option("--count", count, "Exit after N events (the initial matches count)");

  CLI::App* notify = connection(
      app.add_subcommand("notify", "Event channels: publish and subscribe"), false, true);
  notify->require_subcommand(1);
  auto ncommon = [&](CLI::App* cmd) {
    connection(cmd, false, true)->footer(kRexExitCodes);
    return cmd;
  };
  ChannelArgs ch;
  CLI::App* channel = ncommon(notify->add_subcommand("channel", "Manage channels"));
  channel->require_subcommand(1);
  auto* create = ncommon(channel->add_subcommand("create", "Create a channel"));
  create->add_option("channel", ch.channel, "Channel name")->required();
  create->add_flag("--persistent", ch.persistent,
                   "Store events before acknowledging publishes; allows durable subscriptions");
  create->add_option("--retain-count", ch.retain_count,
                     "Persistent channels keep at most N events (100000)");
  create->add_option("--retain-age", ch.retain_age_s, "Keep events at most SECS (0: no limit)");
  create->add_option("--retain-bytes", ch.retain_bytes, "Keep at most this many bytes (256 MiB)");

  PublishArgs pub;
  auto* publish = ncommon(notify->add_subcommand("publish", "Publish one structured event"));
  publish->add_option("channel", pub.channel, "Channel (best-effort if never created)")->required();
  publish->add_option("--event", pub.event, "DOMAIN/TYPE/NAME")->required();
  publish->add_option("fields", pub.assignments,
                      "FIELD=VALUE filterable fields (int, float, true/false, else string)");
  publish
      ->add_option("--union", pub.unions,
                   "A union field NAME=DISC:VALUE, with ':default' when DISC selects the "
                   "default branch (filters: $.NAME._d, $.NAME, default $.NAME)")
      ->allow_extra_args(false);  // one per --union, so field=value may follow
  publish->add_option("--body", pub.body, "Opaque body: TEXT, or @FILE (at most 1 MiB)");
  publish->add_option("--priority", pub.priority, "Priority, -32767..32767 (0)");
  publish->add_option("--timeout-ms", pub.timeout_ms, "Drop the event if undelivered this long");

  SubscribeArgs sa;
  auto* subscribe = ncommon(notify->add_subcommand(
      "subscribe", "Print events as they arrive, one per line, acking each once printed"));
  subscribe->add_option("channel", sa.channel, "Channel")->required();
  subscribe->add_option("filter", sa.filter,
                        "e.g. \"$type_name == 'transfer' and $.bytes > 1000000\"");
  subscribe->add_option("--durable", sa.durable,
                        "Durable subscription NAME: resumes after its last acked event");
  subscribe->add_option("--from", sa.from, "A new durable subscription starts at: first|new")
      ->check(CLI::IsMember({"first", "new"}));
  subscribe->add_option("--count", sa.count, "Exit after N events");
  subscribe->add_option("--max-queue", sa.max_queue, "Events queued for this subscriber (1000)");
  subscribe
      ->add_option("--discard", sa.discard,
                   "When the queue is full drop: oldest|newest|priority|deadline")
      ->check(CLI::IsMember({"oldest", "newest", "priority", "deadline"}));
  std::string types_channel;
  auto* types = ncommon(notify->add_subcommand(
      "types", "Event types offered on a channel and the types its subscribers filter for"));
  types->add_option("channel", types_channel, "Channel")->required();
  bool types_watch = false;
  std::uint64_t types_count = 0;
  types->add_flag("--watch", types_watch,
                  "Then print each change: +offered, +subscribed, -subscribed DOMAIN/TYPE");
  types->add_option("--count", types_count, "With --watch, exit after N changes");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ardus::exit_code::kOk
                            : ardus::exit_code::kUsage;  // --help, --version: 0
  }
  if (keygen->parsed()) return Keygen(keygen_path);
  for (RexTarget* t : {&target, &notify_target}) {
    t->json = json;
    t->timeout_ms = timeout_ms;
    t->identity_file = identity_file;
    t->tls = tls;
  }
  if (add_type->parsed()) return AddType(target, name, supers, props);
  if (describe_type->parsed()) return DescribeType(target, name);
  if (list_types->parsed()) return ListTypes(target);
  if (remove_type->parsed()) return RemoveType(target, name);
  if (export_cmd->parsed()) return Export(target, ex);
  if (withdraw->parsed()) return Withdraw(target, id);
  if (modify->parsed()) return Modify(target, id, props, remove);
  if (describe->parsed()) return Describe(target, id);
  if (renew->parsed()) return Renew(target, id);
  if (query->parsed()) return Query(target, q);
  if (watch->parsed()) return Watch(target, name, constraint, count);
  if (create->parsed()) return CreateChannel(notify_target, ch);
  if (publish->parsed()) return Publish(notify_target, pub);
  if (subscribe->parsed()) return Subscribe(notify_target, sa);
  if (types->parsed()) return Types(notify_target, types_channel, types_watch, types_count);
  return ardus::exit_code::kUsage;
}
