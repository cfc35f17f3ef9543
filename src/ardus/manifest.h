// Manifest: the list of entries a session carries, sent in-band as object 0.
//
// Each entry is a file or a directory with a relative path ('/'-separated
// UTF-8 components), a POSIX mode, an mtime in nanoseconds and, for files, a
// size and SHA-256. Object i+1 of the session's Layout is entry i's content
// (directories and empty files have no blocks).
//
// Decode() rejects any path a receiver must never write: empty, absolute,
// containing "." or ".." components, empty components, or NUL. It does not
// (and cannot) check symlinks on the receiving disk; FsStore does that.
//
// Thread-safety: values.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace ardus {

using Sha256 = std::array<std::uint8_t, 32>;

enum class EntryType : std::uint8_t { kFile = 0, kDirectory = 1 };

struct ManifestEntry {
  EntryType type = EntryType::kFile;
  std::string path;
  std::uint32_t mode = 0644;  // permission bits only (07777)
  std::int64_t mtime_ns = 0;
  std::uint64_t size = 0;  // 0 for directories
  Sha256 sha256{};         // of the file's bytes; zero for directories
  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  std::vector<ManifestEntry> entries;
  std::uint64_t total_bytes() const;
  bool operator==(const Manifest&) const = default;
};

inline constexpr std::size_t kMaxManifestBytes = 256u << 20;
inline constexpr std::size_t kMaxPathBytes = 4096;

// kUnsafePath with a message naming the path if it is not a safe relative path.
Status ValidateRelativePath(const std::string& path);

std::vector<std::uint8_t> EncodeManifest(const Manifest& manifest);
// Errors: kPeerProtocol (truncated, trailing bytes, bad type/size fields),
// kUnsafePath (a hostile path), both meaning the session must be abandoned.
Result<Manifest> DecodeManifest(std::span<const std::uint8_t> bytes);

Sha256 ComputeSha256(std::span<const std::uint8_t> bytes);
std::string HexDigest(const Sha256& digest);

// Incremental SHA-256 (OpenSSL). Not copyable.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::span<const std::uint8_t> bytes);
  Sha256 Finish();

 private:
  void* ctx_;
};

}  // namespace ardus
