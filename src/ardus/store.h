// The storage seams of the protocol engines: where the sender reads content
// and where the receiver writes it. Engines do no file I/O of their own; the
// CLI passes filesystem implementations (fs_store.h), tests pass in-memory or
// synthetic ones, the simulator passes fault-injecting ones.
//
// Thread-safety: implementations are used by one engine on one thread.
#pragma once

#include <cstdint>
#include <span>

#include "ardus/manifest.h"
#include "common/status.h"

namespace ardus {

// Read side (sender). Entry indices are manifest entry indices.
class ContentSource {
 public:
  virtual ~ContentSource() = default;
  // Fills `out` with bytes [offset, offset+out.size()) of file `entry`.
  // Precondition: the range lies within the entry's manifest size.
  // Errors: kLocalIo (the file changed or became unreadable); the sender
  // aborts the session with the message.
  virtual Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) = 0;
};

// Write side (receiver). Calls come in this order: Begin, then any mix of
// Write/Read/Commit, then Finish on success or Abort on failure.
class ContentStore {
 public:
  virtual ~ContentStore() = default;
  // Prepares every entry: checks free space for the sum of sizes, validates
  // paths against the destination (no escape through symlinks), creates
  // directories. Errors: kUnsafePath, kNoSpace, kLocalIo. Nothing is
  // published. `manifest` must outlive the session (stores may keep a
  // reference rather than a copy).
  virtual Status Begin(const Manifest& manifest) = 0;
  // Writes into entry's temporary file. Precondition: each byte is written
  // at most once, with its final value (a store may hash it as it goes).
  // Errors: kNoSpace, kLocalIo.
  virtual Status Write(std::uint32_t entry, std::uint64_t offset,
                       std::span<const std::uint8_t> data) = 0;
  // Reads back bytes previously written (needed to decode a block).
  virtual Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  // Bytes [0, upto) of `entry` are final and will not be written again. A
  // store may verify them now (hash as it goes) so that Commit does not stall
  // on a long file. Errors: as Read.
  virtual Status Settle(std::uint32_t entry, std::uint64_t upto) {
    (void)entry;
    (void)upto;
    return Status::Ok();
  }
  // Every byte of `entry` has been written: verify its digest, apply mode
  // and mtime, and publish it under its final name atomically. Errors:
  // kIntegrity (digest mismatch; the temporary file is removed), kLocalIo.
  virtual Status Commit(std::uint32_t entry) = 0;
  // Every entry is committed: apply directory modes and mtimes.
  virtual Status Finish() = 0;
  // Removes every unpublished temporary file. Never fails.
  virtual void Abort() = 0;
};

}  // namespace ardus
