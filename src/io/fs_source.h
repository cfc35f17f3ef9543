// The sender's side of the filesystem: turning command-line paths into a
// Manifest (scan + digest of every file) and reading file content.
//
// ScanSources() takes files and directories. A file becomes an entry named by
// its basename; a directory becomes an entry named by its basename followed by
// its whole tree (names sorted, so the manifest is deterministic). Symlinks
// and special files inside a tree are skipped and listed in `skipped`; they
// are never followed. So are names receivers would refuse (not UTF-8, a
// control character, over 255 bytes, a path over 4096 bytes or deeper than
// kMaxPathComponents, a name starting with ".ardus-"); `skipped` shows them
// escaped. Two arguments with the same
// basename are an error.
//
// Thread-safety: FsSource is used by one Sender on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ardus/manifest.h"
#include "ardus/store.h"

namespace ardus {

struct SourceTree {
  Manifest manifest;
  std::vector<std::string> files;    // absolute source path per entry ("" for directories)
  std::vector<std::string> skipped;  // paths left out, with the reason
};

// Errors: kInvalidArgument (an argument receivers could not name, a duplicate
// name or any other FindPathCollision, an unsupported type, more than kMaxManifestEntries entries),
// kLocalIo (a missing or unreadable file or directory). The tree is scanned first, then every file
// is digested with `digest`; `on_hashed` (optional) is called as files are hashed with the bytes
// hashed so far and the total to hash, for progress.
Result<SourceTree> ScanSources(
    const std::vector<std::string>& paths, DigestAlgorithm digest,
    const std::function<void(std::uint64_t hashed, std::uint64_t total)>& on_hashed = {});

class FsSource final : public ContentSource {
 public:
  explicit FsSource(std::vector<std::string> files, std::vector<std::uint64_t> sizes);
  ~FsSource() override;
  // Errors: kLocalIo when the file cannot be opened or has shrunk since the scan.
  Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) override;

 private:
  std::vector<std::string> files_;
  std::vector<std::uint64_t> sizes_;
  std::uint32_t open_entry_ = 0;
  int fd_ = -1;
};

}  // namespace ardus
