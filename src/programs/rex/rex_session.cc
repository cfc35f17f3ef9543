#include "programs/rex/rex_session.h"

#include <fmt/core.h>

#include <optional>

#include "io/key_file.h"
#include "io/rex_connect.h"

namespace ardus::rex_cli {

using json = nlohmann::json;

volatile std::sig_atomic_t g_interrupted = 0;

void CatchInterrupts() {
  auto on = [](int sig) { g_interrupted = sig; };
  std::signal(SIGINT, on);
  std::signal(SIGTERM, on);
}

int InterruptedExit() { return g_interrupted == SIGTERM ? 0 : exit_code::kInterrupted; }

Session::Session(const RexTarget& t) : target_(t) {
  std::optional<seal::Identity> identity;
  if (!t.identity_file.empty()) {
    auto loaded = net::LoadIdentity(t.identity_file);
    if (!loaded.ok()) {
      Report("identity", loaded.status().message());
      exit_ = exit_code::kUsage;
      return;
    }
    identity.emplace(std::move(loaded).value());
  }
  auto options = rex::TlsConnectOptions(t.tls);
  if (!options.ok()) {
    Report("usage", options.status().message());
    exit_ = exit_code::kUsage;
    return;
  }
  options.value().credentials = {identity ? &*identity : nullptr, t.service};
  auto c = rex::Client::Connect(t.address, t.timeout_ms, "rex-cli 0.1.0", options.value());
  if (!c.ok()) {
    if (c.status().kind() == ErrorKind::kInvalidArgument) {  // e.g. $REX_TRADER without a port
      Report("usage", c.status().message());
      exit_ = exit_code::kUsage;
      return;
    }
    bool unreachable = c.status().kind() != ErrorKind::kPeerProtocol;
    Report("cannot_connect", c.status().message());
    exit_ = unreachable ? exit_code::kUnreachable : exit_code::kProtocol;
    return;
  }
  client_ = std::move(c).value();
}

std::optional<rex::BodyReader> Session::Call(std::uint16_t method, const rex::BodyWriter& body) {
  auto r = client_->Call(method, body.bytes());
  if (!r.ok()) {
    Report("protocol", r.status().message());
    exit_ = exit_code::kProtocol;
    return std::nullopt;
  }
  if (!r.value().ok()) {
    const rex::Error& e = r.value().error();
    Report(rex::CodeName(e.code), e.message);
    exit_ = exit_code::kRefused;
    return std::nullopt;
  }
  raw_ = std::move(r.value()).value();
  auto parsed = rex::BodyReader::Parse(raw_);
  if (!parsed.ok()) {
    Report("protocol", "the reply body does not decode: " + parsed.error().message);
    exit_ = exit_code::kProtocol;
    return std::nullopt;
  }
  return std::move(parsed).value();
}

void Session::Report(const std::string& name, const std::string& message) {
  if (target_.json) {
    fmt::print("{}\n", json{{"ok", false}, {"error", name}, {"message", message}}.dump());
  } else {
    fmt::print(stderr, "rex: {}: {}\n", name, message);
  }
}

int Session::ForEachPush(
    const std::function<bool(const rex::Frame&, const rex::BodyReader&)>& on_push) {
  CatchInterrupts();
  while (!g_interrupted) {
    auto f = client_->NextFrame(200);
    if (!f.ok()) {
      if (f.status().kind() == ErrorKind::kTimeout) continue;
      if (f.status().kind() == ErrorKind::kCancelled) break;
      Report("protocol", f.status().message());
      return exit_code::kProtocol;
    }
    const rex::Frame& frame = f.value();
    if (frame.kind == rex::Kind::kError) {
      rex::Error e = rex::ParseErrorBody(frame.body);
      Report(rex::CodeName(e.code), e.message);
      return exit_code::kRefused;
    }
    if (frame.kind != rex::Kind::kPush) continue;
    auto body = rex::BodyReader::Parse(frame.body);
    if (body.ok() && on_push(frame, body.value())) return 0;
  }
  return InterruptedExit();
}

int Session::PrintOk(const std::string& human, json j) {
  if (target_.json) {
    j["ok"] = true;
    fmt::print("{}\n", j.dump());
  } else if (!human.empty()) {
    fmt::print("{}\n", human);
  }
  return 0;
}

json ToJson(const tcl::Value& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

}  // namespace ardus::rex_cli
