// A StorageEnv for tests: a SQLite VFS that wraps the default one and
// injects the storage faults rexd must survive. Files live on the real
// filesystem; only what the env is told to break breaks.
//
// Faults (each counts in faults()):
//   - FailNextWrite / FailNextSync: one I/O error (SQLITE_IOERR_WRITE, nothing
//     written; SQLITE_IOERR_FSYNC, what was written stays written, as after
//     a failed fsync);
//   - LimitSpace: a disk that fills up. Files may grow by so many bytes more,
//     all together; a write past that stores what fits and fails with
//     SQLITE_FULL (ENOSPC), and so does every later write that would grow a
//     file. Overwrites inside a file cost nothing, truncation gives space back;
//   - TearWrite: a crash in the middle of a write. That write stores only
//     the first bytes of its buffer and fails; from then on the env has
//     crashed: every write, sync, truncate, delete and open fails with an I/O
//     error, so the files hold what a process killed at that write leaves
//     (the OS keeps what was written; a power cut, which loses unsynced
//     writes, is not modelled).
//
// Reads, locks and the WAL index (-shm, memory-mapped) pass through.
// Thread-safety: the fault controls may be called from any thread while
// SQLite uses the VFS on another (a mutex guards the state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "rexd/storage_env.h"

namespace ardus::test {

class FaultEnv final : public rexd::StorageEnv {
 public:
  // Registers a VFS with a name unique in the process (not as the default).
  // Aborts if SQLite refuses: a broken test set-up.
  FaultEnv();
  // Unregisters it. Precondition: every database opened through it is closed.
  ~FaultEnv() override;
  FaultEnv(const FaultEnv&) = delete;
  FaultEnv& operator=(const FaultEnv&) = delete;

  const char* vfs_name() const override;

  void FailNextWrite();
  void FailNextSync();
  void LimitSpace(std::uint64_t bytes);
  // The n-th write from now (1: the next) stores min(keep, its size - 1) bytes.
  void TearWrite(std::uint64_t n, std::size_t keep);

  bool crashed() const;
  std::uint64_t writes() const;  // write calls seen, failed ones included
  std::uint64_t faults() const;  // faults injected

  struct State;  // in fault_env.cc; public so that the VFS callbacks reach it

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ardus::test
