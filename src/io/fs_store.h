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
// Modes are applied without setuid, setgid and sticky bits unless
// FsStoreOptions::keep_special_bits says otherwise: the manifest comes from
// an unauthenticated peer.
//
// Temporary files. Entry i's is ".ardus-<nonce>-<i>.part" in the entry's
// directory: unique per entry and per store, created with O_EXCL, so a store
// never opens, truncates or removes a file it did not create. The directory
// holding a temporary stays open from the temporary's creation to its
// publication or removal, so Abort() removes it even if the directory was
// moved or replaced by a symlink meanwhile (and only if the name still
// holds the very file created), and Commit() publishes only if the
// directory is still the one reached by name from --dir.
//
// Leftovers of dead receivers. Before its first temporary, a store creates
// the journal ".ardus-<nonce>.lock" at the root of --dir, holds an exclusive
// flock(2) on it for its life, and appends one line per temporary before
// creating it:
//     ardus-store 1
//     part <path of the temporary, relative to --dir>
// It removes the journal once none of its temporaries is left. A store
// killed (kill -9, power cut before writeback aside) leaves its journal
// unlocked; Open() takes the lock of every such journal, removes the
// temporaries it lists (regular files named as that store's, reached without
// following symlinks) and then the journal. (Resume will add record types
// for partial files to keep; unknown records are left alone.)
//
// Directories. Begin() creates every entry's directory in component order,
// each from its deepest ancestor already open, so that N entries cost one
// lookup (or mkdirat) per distinct directory, not N times their depth; later
// lookups by name (a temporary's directory, the check before publishing)
// resolve the whole path in one openat2(2) with RESOLVE_NO_SYMLINKS and
// RESOLVE_BENEATH where the kernel has it. Directories Begin() created are
// recorded, and Abort() removes those still empty (never one that existed
// before, nor one that now holds anything, nor a name now bound to another
// directory); after Finish() they are the session's and stay.
//
// Limitations: no fsync before rename (visibility is atomic; durability across
// power loss is not promised). Each incomplete file holds one descriptor, and
// each directory holding one another.
//
// Thread-safety: none; owned and driven by one Receiver.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ardus/store.h"

namespace ardus {

struct FsStoreOptions {
  // Apply setuid, setgid and sticky bits from the manifest (receivers opt in
  // with --keep-special-bits); otherwise only the permission bits, 0777.
  bool keep_special_bits = false;
  // Resolve paths with one openat2(2) where the kernel has it; false walks
  // them component by component, as on kernels before 5.6 (for tests).
  bool resolve_in_kernel = true;
};

class FsStore final : public ContentStore {
 public:
  // Opens `dir`, which must be an existing directory, for one session, after
  // removing the temporaries of dead stores there (leftovers_removed()
  // counts them; failures to remove are ignored, to be retried by the next
  // store). `nonce` names this store's files: callers pick it at random,
  // fresh for each store. Errors: kLocalIo naming the path.
  static Result<std::unique_ptr<FsStore>> Open(const std::string& dir, std::uint32_t nonce,
                                               FsStoreOptions options = {});
  ~FsStore() override;  // Abort()s what is unfinished

  // The manifest must outlive the store (it is not copied). Errors as
  // ContentStore, and kLocalIo if the journal cannot be created or a
  // temporary's name is taken.
  Status Begin(const Manifest& manifest) override;
  Status Write(std::uint32_t entry, std::uint64_t offset,
               std::span<const std::uint8_t> data) override;
  Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) override;
  Status Settle(std::uint32_t entry, std::uint64_t upto) override;
  // Errors as ContentStore, and kUnsafePath if the entry's directory is no
  // longer the one reached by name (the temporary is then left to Abort()).
  Status Commit(std::uint32_t entry) override;
  Status Finish() override;
  void Abort() override;

  std::size_t leftovers_removed() const { return leftovers_removed_; }
  // Directory lookups made so far: openat(2), openat2(2) and mkdirat(2)
  // calls resolving or creating directories. What a manifest's paths cost.
  std::uint64_t directory_lookups() const { return directory_lookups_; }
  // Whether lookups by name take one openat2(2) (false: none here, or not asked).
  bool resolves_in_kernel() const { return openat2_ && options_.resolve_in_kernel; }
  // This store's journal, relative to the directory (whether or not it exists yet).
  std::string journal_name() const;
  // Entry i's temporary file name (in the entry's directory).
  std::string temp_name(std::uint32_t entry) const;

 private:
  struct Directory;  // an open directory and its identity
  struct Item {
    int fd = -1;  // the temporary, from creation to publication or removal
    bool created = false, committed = false;
    std::shared_ptr<Directory> dir;         // holds the temporary while it exists
    dev_t dev = 0;                          // the temporary's identity, so that
    ino_t ino = 0;                          // only that very file is ever removed
    std::unique_ptr<ContentHasher> hasher;  // over bytes [0, hashed)
    std::uint64_t hashed = 0;
  };
  FsStore(int root_fd, std::string dir, std::uint32_t nonce, FsStoreOptions options);
  Status HashUpTo(std::uint32_t entry, std::uint64_t upto);
  class Walk;
  struct CreatedDir {  // a directory Begin() created: Abort() removes it if empty
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  Result<int> OpenDir(const std::string& relative);
  Status CreateDirectories(const Manifest& manifest);
  void RemoveCreatedDirectories();
  Result<std::shared_ptr<Directory>> HoldDir(const std::string& relative);
  Result<int> OpenTemp(std::uint32_t entry);
  Status Record(const std::string& line);
  Status CreateJournal();
  void RemoveJournalIfDone();
  void RemoveLeftovers();
  void RemoveLeftoversOf(const std::string& journal);
  Status WriteAt(std::uint32_t entry, std::uint64_t offset, std::span<const std::uint8_t> data);
  Status Flush();
  Status IoError(const std::string& what, const std::string& path, int err) const;

  int root_fd_;
  std::string dir_;
  std::uint32_t nonce_;
  FsStoreOptions options_;
  const Manifest* manifest_ = nullptr;
  std::vector<Item> items_;
  std::map<std::string, std::weak_ptr<Directory>> dirs_;  // held directories, shared
  int journal_fd_ = -1;
  std::size_t leftovers_removed_ = 0;
  std::uint64_t directory_lookups_ = 0;
  bool openat2_ = true;                   // until the kernel says it has none
  std::vector<CreatedDir> created_dirs_;  // in creation order
  // Write coalescing: one pending run of contiguous small writes.
  std::uint32_t pending_entry_ = 0;
  std::uint64_t pending_offset_ = 0;
  std::vector<std::uint8_t> pending_;
};

}  // namespace ardus
