// FsStore: the receiver's ContentStore on a real directory.
//
// Safety: every path is resolved component by component from the destination
// directory with O_NOFOLLOW, so a symlink (or a file where a directory should
// be) anywhere under --dir stops the session with kUnsafePath instead of
// writing outside it. Files are written to a hidden temporary name next to
// their final name, verified against the manifest's digest, and only then
// renamed into place, so no reader ever sees a partial or corrupt file under
// the final name. Begin() checks free space for the whole session up front.
// Bytes written in order are hashed as they are written; the rest is read
// back and hashed as Settle() reports it final, so Commit() rarely reads.
//
// Limitations: no fsync before rename (visibility is atomic; durability across
// power loss is not promised). At most one temporary file is open at a time per
// run of contiguous writes; others are reopened on demand.
//
// Thread-safety: none; owned and driven by one Receiver.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ardus/store.h"

namespace ardus {

class FsStore final : public ContentStore {
 public:
  // `dir` must be an existing directory. Errors: kLocalIo naming the path.
  static Result<std::unique_ptr<FsStore>> Open(const std::string& dir, std::uint32_t session_id);
  ~FsStore() override;

  Status Begin(const Manifest& manifest) override;
  Status Write(std::uint32_t entry, std::uint64_t offset,
               std::span<const std::uint8_t> data) override;
  Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) override;
  Status Settle(std::uint32_t entry, std::uint64_t upto) override;
  Status Commit(std::uint32_t entry) override;
  Status Finish() override;
  void Abort() override;

 private:
  struct Item {
    int fd = -1;
    bool created = false, committed = false;
    std::string parent, name, temp;         // parent: relative directory path ("" = root)
    std::unique_ptr<ContentHasher> hasher;  // over bytes [0, hashed)
    std::uint64_t hashed = 0;
  };
  Status HashUpTo(std::uint32_t entry, std::uint64_t upto);
  FsStore(int root_fd, std::string dir, std::uint32_t session_id);
  Result<int> OpenDir(const std::string& relative, bool create);
  Result<int> OpenTemp(std::uint32_t entry);
  Status WriteAt(std::uint32_t entry, std::uint64_t offset, std::span<const std::uint8_t> data);
  Status Flush();
  Status IoError(const std::string& what, const std::string& path, int err) const;

  int root_fd_;
  std::string dir_;
  std::uint32_t session_id_;
  Manifest manifest_;
  std::vector<Item> items_;
  // Write coalescing: one pending run of contiguous small writes.
  std::uint32_t pending_entry_ = 0;
  std::uint64_t pending_offset_ = 0;
  std::vector<std::uint8_t> pending_;
};

}  // namespace ardus
