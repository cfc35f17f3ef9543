#include "io/rex_connect.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "io/key_file.h"

namespace ardus::rex {

namespace {

Result<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("{} {}: cannot read: {}", flag, path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<ConnectOptions> TlsConnectOptions(const TlsFiles& f) {
  ConnectOptions options;
  if (!f.cert_file.empty() || !f.key_file.empty()) {
    if (f.cert_file.empty() || f.key_file.empty()) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "--tls-cert and --tls-key go together (a client certificate and its "
                           "key)");
    }
    if (!f.on()) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "--tls-cert needs --tls-ca or --tls-pin to verify the server");
    }
  }
  if (!f.on()) return options;
  tls::ClientConfig config;
  if (!f.ca_file.empty()) {
    auto ca = ReadFile("--tls-ca", f.ca_file);
    if (!ca.ok()) return ca.status();
    config.ca_pem = std::move(ca).value();
  }
  if (!f.pin.empty()) {
    auto pin = tls::ParsePin(f.pin);
    if (!pin.ok()) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           fmt::format("--tls-pin {}: {}", f.pin, pin.error().message));
    }
  }
  config.pin = f.pin;
  if (!f.cert_file.empty()) {
    auto cert = ReadFile("--tls-cert", f.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile("--tls-key", f.key_file);
    if (!key.ok()) return key.status();
    config.cert_pem = std::move(cert).value();
    config.key_pem = std::move(key).value();
  }
  options.tls = std::move(config);
  return options;
}

Result<std::unique_ptr<Client>> ConnectWith(const ConnectSettings& s) {
  std::optional<seal::Identity> identity;
  if (!s.identity_file.empty()) {
    auto loaded = net::LoadIdentity(s.identity_file);
    if (!loaded.ok()) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           fmt::format("--identity: {}", loaded.status().message()));
    }
    identity.emplace(std::move(loaded).value());
  }
  auto options = TlsConnectOptions(s.tls);
  if (!options.ok()) return options.status();
  options.value().credentials = {identity ? &*identity : nullptr, s.service};
  return Client::Connect(s.address, s.timeout_ms, s.agent, options.value());
}

}  // namespace ardus::rex
