// Manifest: the list of entries a session carries, sent in-band as object 0.
//
// Each entry is a file or a directory with a relative path ('/'-separated
// UTF-8 components), a POSIX mode, an mtime in nanoseconds and, for files, a
// size and a content digest. Object i+1 of the session's Layout is entry i's
// content (directories and empty files have no blocks).
//
// The digest algorithm is the manifest's, chosen by the sender. XXH3-128 is
// the default: the digests guard against corruption and mistakes (version 1
// authenticates nothing, so a forged ANNOUNCE could carry any digest), and
// it costs a tenth of SHA-256's CPU (14 vs 149 ms per 256 MiB here), which
// at 10 Gbit/s is the difference between a core and a tenth of one. SHA-256
// is there for digests to compare against published checksums.
//
// Decode() rejects any path a receiver must never write: empty, absolute,
// longer than kMaxPathBytes, ill-formed UTF-8, a control character (C0, DEL,
// C1: they would reach terminals and logs), "." or ".." or empty components,
// components over kMaxComponentBytes or starting with kReservedPrefix (the
// receiver's temporary files), more than kMaxPathComponents components (each
// costs a receiver a directory lookup); and two entries that would land on
// one name: the same path twice, or a file another path goes through. It
// does not (and cannot) check symlinks on the receiving disk; FsStore does
// that.
//
// Thread-safety: values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ardus {

using Sha256 = std::array<std::uint8_t, 32>;
// A file digest: SHA-256, or XXH3-128 (canonical big-endian) then 16 zeros.
using Digest = std::array<std::uint8_t, 32>;

enum class DigestAlgorithm : std::uint8_t { kSha256 = 1, kXxh128 = 2 };
// "sha256" / "xxh128"; ParseDigestAlgorithm is its inverse (nullopt if unknown).
const char* DigestName(DigestAlgorithm algorithm);
std::optional<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name);

enum class EntryType : std::uint8_t { kFile = 0, kDirectory = 1 };

struct ManifestEntry {
  EntryType type = EntryType::kFile;
  std::string path;
  std::uint32_t mode = 0644;  // permission bits only (07777)
  std::int64_t mtime_ns = 0;
  std::uint64_t size = 0;  // 0 for directories
  Digest digest{};         // of the file's bytes; zero for directories
  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  DigestAlgorithm digest = DigestAlgorithm::kXxh128;  // of every entry
  std::vector<ManifestEntry> entries;
  // The sum of every entry's size; UINT64_MAX if it does not fit, so a
  // free-space check against it cannot be wrapped past.
  std::uint64_t total_bytes() const;
  bool operator==(const Manifest&) const = default;
};

inline constexpr std::size_t kMaxManifestBytes = 256u << 20;
// Receivers keep per-entry state (about 200 bytes each, beyond the path).
inline constexpr std::size_t kMaxManifestEntries = 1'000'000;
inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxComponentBytes = 255;
// Components per path: bounds the directories a receiver walks or creates
// per entry (a 4096-byte path could otherwise hold 2048).
inline constexpr std::size_t kMaxPathComponents = 255;
// Receivers name their temporary and lock files so; no entry may.
inline constexpr std::string_view kReservedPrefix = ".ardus-";

// kUnsafePath with a message naming the path (escaped with Printable(), so
// the message is safe to print and to put in JSON) and why, if it is not a
// safe relative path.
Status ValidateRelativePath(const std::string& path);

// Orders paths component by component ('/' before every other byte), so
// that the paths under a directory come right after it, and paths sharing
// leading directories are adjacent.
bool PathComponentLess(std::string_view a, std::string_view b);

// Why two of `entries` would land on one name on the receiving disk (the
// same path twice, or a file that another path goes through as a
// directory), printable; nullopt if none do. Precondition: every path passes
// ValidateRelativePath, which refuses the only spellings that could alias
// ("a//b", "a/./b", "a/"): receivers apply no other normalisation, so
// byte-equal paths are the only aliases. O(n log n) comparisons.
std::optional<std::string> FindPathCollision(const std::vector<ManifestEntry>& entries);

std::vector<std::uint8_t> EncodeManifest(const Manifest& manifest);
// Errors: kPeerProtocol (truncated, trailing bytes, bad type/size fields,
// unknown digest algorithm, XXH3-128 digest with non-zero padding),
// kLimitExceeded (over kMaxManifestBytes or kMaxManifestEntries),
// kUnsafePath (a hostile path), all meaning the session must be abandoned;
// kPeerProtocol also for colliding paths (FindPathCollision).
Result<Manifest> DecodeManifest(std::span<const std::uint8_t> bytes);

Sha256 ComputeSha256(std::span<const std::uint8_t> bytes);
Digest ComputeDigest(DigestAlgorithm algorithm, std::span<const std::uint8_t> bytes);
std::string HexDigest(const Digest& digest);

// Incremental file digest: SHA-256 (OpenSSL) or XXH3-128 (libxxhash). Not
// copyable. Finish() once, then discard.
class ContentHasher {
 public:
  explicit ContentHasher(DigestAlgorithm algorithm);
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;
  void Update(std::span<const std::uint8_t> bytes);
  Digest Finish();

 private:
  DigestAlgorithm algorithm_;
  void* ctx_;  // EVP_MD_CTX or XXH3_state_t
};

}  // namespace ardus
