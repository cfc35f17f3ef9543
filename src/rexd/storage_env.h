// How rexd's SQLite journals reach the disk: the seam where tests put
// storage faults, as leveldb's Env is.
//
// A StorageEnv names the SQLite VFS (sqlite3_vfs: open, read, write, sync,
// truncate, delete, lock) through which SqliteDb opens its database. rexd
// uses StorageEnv::Plain(): SQLite's default VFS, called directly, so the
// seam costs nothing at run time. Tests pass an env whose VFS wraps the
// default one and fails, fills up or tears writes on demand
// (tests/support/fault_env.h).
//
// What an implementation promises: its VFS is registered with SQLite for as
// long as the env lives; it outlives every database opened through it; a
// file operation that fails returns an SQLite error code, never success:
// SQLITE_FULL for a full disk (the journals report ErrorKind::kNoSpace),
// SQLITE_IOERR_* for any other I/O failure (kLocalIo).
//
// Thread-safety: vfs_name() may be called from any thread; the VFS itself
// is called by SQLite from the thread that uses the database.
#pragma once

namespace ardus::rexd {

class StorageEnv {
 public:
  virtual ~StorageEnv() = default;
  // The VFS to give sqlite3_open_v2; nullptr means SQLite's default.
  virtual const char* vfs_name() const = 0;
  // SQLite's default VFS, unwrapped: what rexd runs on. Lives forever.
  static const StorageEnv& Plain();
};

}  // namespace ardus::rexd
