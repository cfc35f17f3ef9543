#include "io/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace ardus::net {
namespace {

constexpr std::size_t kMaxKeyFile = 64 << 10;

Status IoError(const std::string& path, const std::string& what) {
  return Status::Error(ErrorKind::kLocalIo, path + ": " + what);
}

Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return IoError(path, errno == EEXIST ? "exists; not overwritten" : std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = IoError(path, std::strerror(errno));
      close(fd);
      unlink(path.c_str());
      return s;
    }
    done += static_cast<std::size_t>(n);
  }
  // The mode asked for, whatever the umask left of it.
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0 || close(fd) != 0) {
    Status s = IoError(path, std::strerror(errno));
    unlink(path.c_str());
    return s;
  }
  return Status::Ok();
}

// Reads a small file; with `private_key`, refuses one others may read.
Result<std::string> ReadSmall(const std::string& path, bool private_key) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return IoError(path, std::strerror(errno));
  }
  if (private_key && (st.st_mode & 077) != 0) {
    close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return Status::Error(ErrorKind::kInvalidArgument,
                         path + ": key file is readable by group or others (mode " + mode +
                             "); run chmod 600 " + path);
  }
  if (!S_ISREG(st.st_mode) || std::size_t(st.st_size) > kMaxKeyFile) {
    close(fd);
    return Status::Error(ErrorKind::kInvalidArgument,
                         path + ": not a regular file of at most 64 KiB");
  }
  std::string text(std::size_t(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = IoError(path, std::string("cannot read: ") + std::strerror(errno));
      close(fd);
      return s;
    }
    if (n == 0) break;
    done += std::size_t(n);
  }
  close(fd);
  text.resize(done);
  return text;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

Status WriteIdentity(const std::string& path, const seal::Identity& identity) {
  if (Status s = WriteNew(path, identity.PrivatePem(), 0600); !s.ok()) return s;
  if (Status s = WriteNew(path + ".pub", identity.PublicPem(), 0644); !s.ok()) {
    unlink(path.c_str());
    return s;
  }
  return Status::Ok();
}

Result<seal::Identity> LoadIdentity(const std::string& path) {
  Result<std::string> text = ReadSmall(path, true);
  if (!text.ok()) return text.status();
  Result<seal::Identity> identity = seal::Identity::FromPem(text.value());
  if (!identity.ok()) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         path + ": bad key: " + identity.status().message() +
                             " (expected an Ed25519 private key in PEM form, from ardus keygen)");
  }
  return identity;
}

Result<std::set<seal::Fingerprint>> LoadFingerprints(const std::string& spec) {
  std::set<seal::Fingerprint> out;
  if (!spec.starts_with("@")) {
    Result<seal::Fingerprint> f = seal::ParseFingerprint(spec);
    if (!f.ok()) {
      return Status::Error(ErrorKind::kInvalidArgument, "'" + spec + "': " + f.status().message());
    }
    out.insert(f.value());
    return out;
  }
  const std::string path = spec.substr(1);
  Result<std::string> text = ReadSmall(path, false);
  if (!text.ok()) return text.status();
  if (text.value().find("-----BEGIN PUBLIC KEY-----") != std::string::npos) {
    Result<seal::PublicKey> key = seal::PublicKeyFromPem(text.value());
    if (!key.ok())
      return Status::Error(ErrorKind::kInvalidArgument, path + ": " + key.status().message());
    out.insert(seal::FingerprintOf(key.value()));
    return out;
  }
  std::istringstream lines(text.value());
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    line = line.substr(0, line.find_first_of(" \t"));  // a name may follow the fingerprint
    Result<seal::Fingerprint> f = seal::ParseFingerprint(line);
    if (!f.ok()) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           path + ":" + std::to_string(number) + ": " + f.status().message());
    }
    out.insert(f.value());
  }
  if (out.empty()) {
    return Status::Error(ErrorKind::kInvalidArgument, path + ": no fingerprints in the file");
  }
  return out;
}

}  // namespace ardus::net
