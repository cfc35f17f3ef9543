#include "programs/rexd/tls_options.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ardus::rexd_cli {
namespace {

constexpr std::size_t kMaxPemBytes = 1 << 20;

Result<std::string> ReadPem(const std::string& flag, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("{} {}: cannot read: {}", flag, path, std::strerror(errno)));
  }
  std::string text;
  char buf[8192];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxPemBytes) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  const int err = errno;
  close(fd);
  if (n < 0) {
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("{} {}: cannot read: {}", flag, path, std::strerror(err)));
  }
  if (text.size() > kMaxPemBytes) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("{} {}: over 1 MiB, not a PEM file", flag, path));
  }
  return text;
}

// Writes `text` to a new file with `mode`, whole or not at all.
Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  const int err = errno;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  return Status::Ok();
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// --tls-self-signed DIR: DIR/rexd-cert.pem and DIR/rexd-key.pem, made on the
// first run (the key 0600, the directory 0700), reused after.
Result<bool> EnsureSelfSigned(const std::string& dir, const std::string& cert,
                              const std::string& key, std::int64_t now_unix) {
  const bool have_cert = Exists(cert), have_key = Exists(key);
  if (have_cert && have_key) return false;
  if (have_cert || have_key) {
    return Status::Error(
        ErrorKind::kInvalidArgument,
        fmt::format("--tls-self-signed {}: {} exists without {}; remove it to make a new pair", dir,
                    have_cert ? cert : key, have_cert ? key : cert));
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Error(ErrorKind::kLocalIo, fmt::format("--tls-self-signed {}: cannot create: {}",
                                                          dir, std::strerror(errno)));
  }
  tls::SelfSignedOptions options;
  options.now_unix = now_unix;
  if (char host[256] = {};
      gethostname(host, sizeof host - 1) == 0 && *host && std::string(host) != "localhost") {
    options.dns_names.push_back(host);
  }
  auto made = tls::MakeSelfSigned(options);
  if (!made.ok()) return made.error().ToStatus();
  if (auto s = WriteNew(key, made.value().key_pem, 0600); !s.ok()) return s;
  if (auto s = WriteNew(cert, made.value().cert_pem, 0644); !s.ok()) {
    unlink(key.c_str());
    return s;
  }
  return true;
}

// The flag a TlsContext::Server error is about.
std::string Blame(const std::string& message, const TlsOptions& o, const std::string& cert,
                  const std::string& key) {
  const std::string cert_flag = o.self_signed_dir.empty() ? "--tls-cert " + cert : cert;
  const std::string key_flag = o.self_signed_dir.empty() ? "--tls-key " + key : key;
  if (message.find("does not match") != std::string::npos) {
    return fmt::format("{} does not match {}: use the key the certificate was made for", key_flag,
                       cert_flag);
  }
  if (message.rfind("server key", 0) == 0) return fmt::format("{}: {}", key_flag, message);
  if (message.rfind("client CA", 0) == 0) {
    return fmt::format("--tls-client-ca {}: {}", o.client_ca_file, message);
  }
  return fmt::format("{}: {}", cert_flag, message);
}

}  // namespace

Result<TlsSetup> SetUpTls(const TlsOptions& o, std::int64_t now_unix) {
  if (!o.self_signed_dir.empty() && (!o.cert_file.empty() || !o.key_file.empty())) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--tls-self-signed makes its own certificate: give it, or "
                         "--tls-cert and --tls-key, not both");
  }
  if (o.self_signed_dir.empty() && o.cert_file.empty() != o.key_file.empty()) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         o.cert_file.empty() ? "--tls-key needs --tls-cert (the certificate for "
                                               "that key), or drop it to run without TLS"
                                             : "--tls-cert needs --tls-key (the certificate's "
                                               "private key), or drop it to run without TLS");
  }
  if (o.self_signed_dir.empty() && o.cert_file.empty()) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--tls-client-ca needs TLS: add --tls-cert and --tls-key, or "
                         "--tls-self-signed DIR");
  }
  std::string cert = o.cert_file, key = o.key_file;
  bool created = false;
  if (!o.self_signed_dir.empty()) {
    cert = o.self_signed_dir + "/rexd-cert.pem";
    key = o.self_signed_dir + "/rexd-key.pem";
    auto made = EnsureSelfSigned(o.self_signed_dir, cert, key, now_unix);
    if (!made.ok()) return made.status();
    created = made.value();
  }
  const std::string cert_flag = o.self_signed_dir.empty() ? "--tls-cert" : "--tls-self-signed";
  const std::string key_flag = o.self_signed_dir.empty() ? "--tls-key" : "--tls-self-signed";
  auto cert_pem = ReadPem(cert_flag, cert);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadPem(key_flag, key);
  if (!key_pem.ok()) return key_pem.status();
  struct stat st {};
  // Group-readable is the Debian ssl-cert convention; others is a leak.
  if (stat(key.c_str(), &st) == 0 && (st.st_mode & 007) != 0) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("{} {}: the private key is open to others "
                                     "(mode {:04o}); run chmod 600 {}",
                                     key_flag, key, st.st_mode & 07777, key));
  }
  auto info = tls::InspectCertificate(cert_pem.value(), now_unix);
  if (!info.ok()) {
    return Status::Error(
        ErrorKind::kInvalidArgument,
        fmt::format("{} {}: {}{}", cert_flag, cert, info.error().message,
                    o.self_signed_dir.empty()
                        ? ""
                        : fmt::format("; remove {} and {} to make a new pair (clients then need "
                                      "the new pin)",
                                      cert, key)));
  }
  tls::ServerConfig config{cert_pem.value(), key_pem.value(), ""};
  if (!o.client_ca_file.empty()) {
    auto ca = ReadPem("--tls-client-ca", o.client_ca_file);
    if (!ca.ok()) return ca.status();
    config.client_ca_pem = ca.value();
  }
  auto context = tls::TlsContext::Server(config);
  if (!context.ok()) {
    return Status::Error(ErrorKind::kInvalidArgument, Blame(context.error().message, o, cert, key));
  }
  return TlsSetup{std::move(context).value(), std::move(info).value(), cert, created};
}

}  // namespace ardus::rexd_cli
