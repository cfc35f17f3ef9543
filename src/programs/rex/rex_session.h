// What every `rex` subcommand shares: the server it talks to, one REX
// connection with uniform error reporting, and the exit codes' help text (the
// values are common/exit_code.h's).
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/exit_code.h"
#include "io/rex_client.h"
#include "io/rex_connect.h"
#include "rex/body.h"
#include "tcl/value.h"

namespace ardus::rex_cli {

inline constexpr const char* kRexExitCodes =
    "Exit codes: 0 done (also when SIGTERM stops watch, subscribe, types --watch or export "
    "--keepalive); 1 the server refused the request (the error name is printed, e.g. "
    "unknown_type); 2 bad usage (the request was not sent); 3 cannot reach the server; 4 the "
    "server broke the protocol or closed the connection; 130 interrupted by SIGINT (Ctrl-C).";

// TLS from the command line (files and a pin, read when connecting).
using TlsFlags = rex::TlsFiles;

struct RexTarget {
  std::string address;  // HOST:PORT
  std::string service;  // what it serves: "trader", "notify" (signed into AUTH)
  bool json = false;
  int timeout_ms = 5000;
  // --identity / $REX_IDENTITY: the key file to authenticate with (empty:
  // anonymous).
  std::string identity_file;
  TlsFlags tls;
};

// The signal (SIGINT or SIGTERM) that arrived once CatchInterrupts() ran; 0
// before.
extern volatile std::sig_atomic_t g_interrupted;
void CatchInterrupts();
// The exit code of a command stopped by g_interrupted: 0 for SIGTERM (a
// service manager stopping it), 130 for SIGINT.
int InterruptedExit();

// One connection plus uniform error reporting: a failed step prints the
// error (JSON with --json), records its exit code (exit()), returns nullopt.
// With an identity file, the connection authenticates: an unusable file
// (unreadable, loose permissions, not a key) is bad usage (2), naming the
// path; a refused AUTH is a protocol failure (4) with the server's reason.
class Session {
 public:
  explicit Session(const RexTarget& t);
  bool ok() const { return client_ != nullptr; }

  // Calls and parses the reply body.
  std::optional<rex::BodyReader> Call(std::uint16_t method, const rex::BodyWriter& body);
  // Decodes a reply from Call with its typed codec (e.g.
  // trader::DecodePage); a reply that does not decode is reported as a
  // protocol error (exit 4). nullopt if `reply` is.
  template <class Decoder>
  auto Decode(const std::optional<rex::BodyReader>& reply, Decoder decode)
      -> std::optional<std::decay_t<decltype(decode(*reply).value())>> {
    if (!reply) return std::nullopt;
    auto r = decode(*reply);
    if (!r.ok()) {
      Report("protocol", "the reply does not decode: " + r.error().message);
      exit_ = exit_code::kProtocol;
      return std::nullopt;
    }
    return std::move(r).value();
  }
  rex::Client& client() { return *client_; }
  void Report(const std::string& name, const std::string& message);
  // Hands every PUSH to `on_push` until it returns true (then 0), SIGINT
  // (130) or SIGTERM (0), an ERROR from the server (1, printed) or a broken
  // connection (4, printed). Replies to requests sent with Client::Send are
  // skipped.
  int ForEachPush(const std::function<bool(const rex::Frame&, const rex::BodyReader&)>& on_push);
  // Prints success: `human` as text, or `j` plus "ok": true with --json.
  int PrintOk(const std::string& human, nlohmann::json j = nlohmann::json::object());

  // The exit code of the step that failed (0 while none has).
  int exit() const { return exit_; }
  // Records a failure found outside the session (a bad argument, say).
  void set_exit(int code) { exit_ = code; }

 private:
  int exit_ = 0;
  const RexTarget& target_;
  std::unique_ptr<rex::Client> client_;
  std::vector<std::uint8_t> raw_;
};

nlohmann::json ToJson(const tcl::Value& v);

}  // namespace ardus::rex_cli
