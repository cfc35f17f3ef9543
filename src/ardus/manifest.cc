#include "ardus/manifest.h"

#include <openssl/evp.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "common/bytes.h"
#include "common/utf8.h"

namespace ardus {
namespace {

constexpr std::uint32_t kManifestMagic = 0x41524D32;  // "ARM2"

Status Corrupt(const char* what) {
  return Status::Error(ErrorKind::kPeerProtocol, std::string("malformed manifest: ") + what);
}

// A path for a message, escaped, and cut if long, so that what is said
// about it survives the 512-byte DONE reason.
std::string Shown(std::string_view path) {
  if (path.size() <= 200) return Printable(path);
  return Printable(path.substr(0, 160)) + "... (" + std::to_string(path.size()) + " bytes)";
}

}  // namespace

const char* DigestName(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::kSha256 ? "sha256" : "xxh128";
}

std::optional<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name) {
  if (name == "sha256") return DigestAlgorithm::kSha256;
  if (name == "xxh128") return DigestAlgorithm::kXxh128;
  return std::nullopt;
}

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& e : entries) {
    if (__builtin_add_overflow(total, e.size, &total)) return UINT64_MAX;
  }
  return total;
}

Status ValidateRelativePath(const std::string& path) {
  const std::string shown = Shown(path);
  auto unsafe = [&](const char* why) {
    return Status::Error(ErrorKind::kUnsafePath, "refusing path '" + shown + "': " + why);
  };
  if (path.empty()) return unsafe("empty");
  if (path.size() > kMaxPathBytes) return unsafe("too long");
  if (path.front() == '/') return unsafe("absolute");
  for (std::size_t pos = 0; pos < path.size();) {
    const std::optional<char32_t> c = NextCodePoint(path, &pos);
    if (!c) return unsafe("not UTF-8");
    if (IsControlCharacter(*c)) return unsafe("contains a control character");
  }
  std::string_view rest(path);
  for (std::size_t components = 1;; ++components) {
    if (components > kMaxPathComponents) return unsafe("more than 255 components");
    std::size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty()) return unsafe("empty component");
    if (part == "." || part == "..") return unsafe("'.' or '..' component");
    if (part.size() > kMaxComponentBytes) return unsafe("component longer than 255 bytes");
    if (part.starts_with(kReservedPrefix)) {
      return unsafe("names starting with '.ardus-' are reserved for receivers' temporary files");
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return Status::Ok();
}

bool PathComponentLess(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  // Long shared prefixes are the common case (and a peer's choice): skip
  // them a word at a time.
  while (i + 8 <= n && std::memcmp(a.data() + i, b.data() + i, 8) == 0) i += 8;
  while (i < n && a[i] == b[i]) ++i;
  if (i == n) return a.size() < b.size();
  if (a[i] == '/' || b[i] == '/') return a[i] == '/';
  return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
}

// In component order a path is followed by any path under it, so comparing
// neighbours finds every collision.
std::optional<std::string> FindPathCollision(const std::vector<ManifestEntry>& entries) {
  std::vector<std::uint32_t> order(entries.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return PathComponentLess(entries[a].path, entries[b].path);
  });
  for (std::size_t i = 1; i < order.size(); ++i) {
    const ManifestEntry& before = entries[order[i - 1]];
    const std::string& path = entries[order[i]].path;
    if (before.path == path) return "'" + Shown(path) + "' is named twice";
    if (before.type == EntryType::kFile && path.size() > before.path.size() &&
        path[before.path.size()] == '/' && path.starts_with(before.path)) {
      return "'" + Shown(before.path) + "' is a file, but '" + Shown(path) + "' goes through it";
    }
  }
  return std::nullopt;
}

std::vector<std::uint8_t> EncodeManifest(const Manifest& manifest) {
  std::size_t size = 9;
  for (const auto& e : manifest.entries) size += 1 + 4 + 8 + 8 + 32 + 2 + e.path.size();
  std::vector<std::uint8_t> out(size);
  ByteWriter w(out);
  w.u32(kManifestMagic);
  w.u8(static_cast<std::uint8_t>(manifest.digest));
  w.u32(manifest.entries.size());
  for (const auto& e : manifest.entries) {
    w.u8(static_cast<std::uint8_t>(e.type));
    w.u32(e.mode);
    w.u64(static_cast<std::uint64_t>(e.mtime_ns));
    w.u64(e.size);
    w.bytes(e.digest);
    w.u16(e.path.size());
    w.bytes(e.path);
  }
  return out;
}

Result<Manifest> DecodeManifest(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxManifestBytes) {
    return Status::Error(ErrorKind::kLimitExceeded, "manifest larger than 256 MiB");
  }
  ByteReader r(bytes);
  std::uint32_t magic, count;
  std::uint8_t digest;
  if (!r.u32(&magic) || !r.u8(&digest) || !r.u32(&count)) return Corrupt("short header");
  if (magic != kManifestMagic) return Corrupt("bad magic");
  if (digest != static_cast<std::uint8_t>(DigestAlgorithm::kSha256) &&
      digest != static_cast<std::uint8_t>(DigestAlgorithm::kXxh128)) {
    return Corrupt("unknown digest algorithm");
  }
  // An entry takes at least 56 bytes (55 fixed + a 1-byte path): bound the
  // count by the input size before reserving memory for it.
  constexpr std::size_t kMinEntryBytes = 1 + 4 + 8 + 8 + 32 + 2 + 1;
  if (count > r.remaining() / kMinEntryBytes) return Corrupt("entry count exceeds size");
  if (count > kMaxManifestEntries) {
    return Status::Error(ErrorKind::kLimitExceeded,
                         "manifest of " + std::to_string(count) + " entries (at most 1000000)");
  }
  Manifest m;
  m.digest = static_cast<DigestAlgorithm>(digest);
  m.entries.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    ManifestEntry e;
    std::uint8_t type;
    std::uint16_t path_len;
    std::span<const std::uint8_t> path;
    if (!(r.u8(&type) && r.u32(&e.mode) && r.i64(&e.mtime_ns) && r.u64(&e.size) &&
          r.copy(e.digest.data(), 32) && r.u16(&path_len) && r.bytes(path_len, &path)))
      return Corrupt("truncated entry");
    if (type > 1) return Corrupt("unknown entry type");
    e.type = static_cast<EntryType>(type);
    if (e.type == EntryType::kDirectory && e.size != 0) return Corrupt("directory with size");
    if (e.mode > 07777) return Corrupt("mode out of range");
    if (m.digest == DigestAlgorithm::kXxh128 &&
        std::any_of(e.digest.begin() + 16, e.digest.end(), [](std::uint8_t b) { return b != 0; }))
      return Corrupt("xxh128 digest padding not zero");
    e.path.assign(path.begin(), path.end());
    if (Status s = ValidateRelativePath(e.path); !s.ok()) return s;
    m.entries.push_back(std::move(e));
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes");
  if (std::optional<std::string> why = FindPathCollision(m.entries)) {
    return Status::Error(ErrorKind::kPeerProtocol, "malformed manifest: " + *why);
  }
  return m;
}

ContentHasher::ContentHasher(DigestAlgorithm algorithm) : algorithm_(algorithm) {
  if (algorithm_ == DigestAlgorithm::kSha256) {
    ctx_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  } else {
    ctx_ = XXH3_createState();
    XXH3_128bits_reset(static_cast<XXH3_state_t*>(ctx_));
  }
}

ContentHasher::~ContentHasher() {
  if (algorithm_ == DigestAlgorithm::kSha256) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
  } else {
    XXH3_freeState(static_cast<XXH3_state_t*>(ctx_));
  }
}

void ContentHasher::Update(std::span<const std::uint8_t> bytes) {
  if (algorithm_ == DigestAlgorithm::kSha256) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
  } else {
    XXH3_128bits_update(static_cast<XXH3_state_t*>(ctx_), bytes.data(), bytes.size());
  }
}

Digest ContentHasher::Finish() {
  Digest out{};
  if (algorithm_ == DigestAlgorithm::kSha256) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  } else {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(static_cast<XXH3_state_t*>(ctx_)));
    std::copy_n(canonical.digest, sizeof canonical.digest, out.begin());
  }
  return out;
}

Digest ComputeDigest(DigestAlgorithm algorithm, std::span<const std::uint8_t> bytes) {
  ContentHasher h(algorithm);
  h.Update(bytes);
  return h.Finish();
}

Sha256 ComputeSha256(std::span<const std::uint8_t> bytes) {
  return ComputeDigest(DigestAlgorithm::kSha256, bytes);
}

std::string HexDigest(const Digest& digest) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : digest) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

}  // namespace ardus
