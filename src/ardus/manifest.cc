#include "ardus/manifest.h"

#include <openssl/evp.h>

#include <string_view>

#include "common/bytes.h"

namespace ardus {
namespace {

constexpr std::uint32_t kManifestMagic = 0x41524D31;  // "ARM1"

Status Corrupt(const char* what) {
  return Status::Error(ErrorKind::kPeerProtocol, std::string("malformed manifest: ") + what);
}

}  // namespace

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& e : entries) total += e.size;
  return total;
}

Status ValidateRelativePath(const std::string& path) {
  auto unsafe = [&](const char* why) {
    return Status::Error(ErrorKind::kUnsafePath, "refusing path '" + path + "': " + why);
  };
  if (path.empty()) return unsafe("empty");
  if (path.size() > kMaxPathBytes) return unsafe("too long");
  if (path.find('\0') != std::string::npos) return unsafe("contains NUL");
  if (path.front() == '/') return unsafe("absolute");
  std::string_view rest(path);
  while (true) {
    std::size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty()) return unsafe("empty component");
    if (part == "." || part == "..") return unsafe("'.' or '..' component");
    if (part.size() > 255) return unsafe("component longer than 255 bytes");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return Status::Ok();
}

std::vector<std::uint8_t> EncodeManifest(const Manifest& manifest) {
  std::size_t size = 8;
  for (const auto& e : manifest.entries) size += 1 + 4 + 8 + 8 + 32 + 2 + e.path.size();
  std::vector<std::uint8_t> out(size);
  ByteWriter w(out);
  w.u32(kManifestMagic);
  w.u32(manifest.entries.size());
  for (const auto& e : manifest.entries) {
    w.u8(static_cast<std::uint8_t>(e.type));
    w.u32(e.mode);
    w.u64(static_cast<std::uint64_t>(e.mtime_ns));
    w.u64(e.size);
    w.bytes(e.sha256);
    w.u16(e.path.size());
    w.bytes(e.path);
  }
  return out;
}

Result<Manifest> DecodeManifest(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxManifestBytes) return Corrupt("too large");
  ByteReader r(bytes);
  std::uint32_t magic, count;
  if (!r.u32(&magic) || !r.u32(&count)) return Corrupt("short header");
  if (magic != kManifestMagic) return Corrupt("bad magic");
  // An entry takes at least 56 bytes (55 fixed + a 1-byte path): bound the
  // count by the input size before reserving memory for it.
  constexpr std::size_t kMinEntryBytes = 1 + 4 + 8 + 8 + 32 + 2 + 1;
  if (count > r.remaining() / kMinEntryBytes) return Corrupt("entry count exceeds size");
  Manifest m;
  m.entries.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    ManifestEntry e;
    std::uint8_t type;
    std::uint16_t path_len;
    std::span<const std::uint8_t> path;
    if (!(r.u8(&type) && r.u32(&e.mode) && r.i64(&e.mtime_ns) && r.u64(&e.size) &&
          r.copy(e.sha256.data(), 32) && r.u16(&path_len) && r.bytes(path_len, &path)))
      return Corrupt("truncated entry");
    if (type > 1) return Corrupt("unknown entry type");
    e.type = static_cast<EntryType>(type);
    if (e.type == EntryType::kDirectory && e.size != 0) return Corrupt("directory with size");
    if (e.mode > 07777) return Corrupt("mode out of range");
    e.path.assign(path.begin(), path.end());
    if (Status s = ValidateRelativePath(e.path); !s.ok()) return s;
    m.entries.push_back(std::move(e));
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes");
  return m;
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256Hasher::Update(std::span<const std::uint8_t> bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}
Sha256 Sha256Hasher::Finish() {
  Sha256 out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  return out;
}

Sha256 ComputeSha256(std::span<const std::uint8_t> bytes) {
  Sha256Hasher h;
  h.Update(bytes);
  return h.Finish();
}

std::string HexDigest(const Sha256& digest) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : digest) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

}  // namespace ardus
