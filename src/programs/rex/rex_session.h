// What every `rex` subcommand shares: the server it talks to, one REX
// connection with uniform error reporting, and the exit codes.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "io/rex_client.h"
#include "rex/body.h"
#include "tcl/value.h"

namespace ardus::rex_cli {

inline constexpr const char* kRexExitCodes =
    "Exit codes: 0 done (also when SIGTERM stops watch, subscribe, types --watch or export "
    "--keepalive); 1 the server refused the request (the error name is printed, e.g. "
    "unknown_type); 2 bad usage (the request was not sent); 3 cannot reach the server; 4 the "
    "server broke the protocol or closed the connection; 130 interrupted by SIGINT (Ctrl-C).";
inline constexpr int kExitRefused = 1, kExitUsage = 2, kExitUnreachable = 3, kExitProtocol = 4,
                     kExitInterrupted = 130;

struct RexTarget {
  std::string address;  // HOST:PORT
  bool json = false;
  int timeout_ms = 5000;
};

// The signal (SIGINT or SIGTERM) that arrived once CatchInterrupts() ran; 0
// before.
extern volatile std::sig_atomic_t g_interrupted;
void CatchInterrupts();
// The exit code of a command stopped by g_interrupted: 0 for SIGTERM (a
// service manager stopping it), 130 for SIGINT.
int InterruptedExit();

// One connection plus uniform error reporting: a failed step prints the
// error (JSON with --json), records the exit code in `exit`, returns nullopt.
class Session {
 public:
  explicit Session(const RexTarget& t);
  bool ok() const { return client_ != nullptr; }

  // Calls and parses the reply body.
  std::optional<rex::BodyReader> Call(std::uint16_t method, const rex::BodyWriter& body);
  rex::Client& client() { return *client_; }
  void Report(const std::string& name, const std::string& message);
  // Hands every PUSH to `on_push` until it returns true (then 0), SIGINT
  // (130) or SIGTERM (0), an ERROR from the server (1, printed) or a broken
  // connection (4, printed). Replies to requests sent with Client::Send are
  // skipped.
  int ForEachPush(const std::function<bool(const rex::Frame&, const rex::BodyReader&)>& on_push);
  // Prints success: `human` as text, or `j` plus "ok": true with --json.
  int PrintOk(const std::string& human, nlohmann::json j = nlohmann::json::object());

  int exit = 0;

 private:
  const RexTarget& target_;
  std::unique_ptr<rex::Client> client_;
  std::vector<std::uint8_t> raw_;
};

nlohmann::json ToJson(const tcl::Value& v);

}  // namespace ardus::rex_cli
