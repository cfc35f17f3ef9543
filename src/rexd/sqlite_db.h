// A SQLite database file opened the way rexd's stores need it (WAL,
// synchronous=FULL: a COMMIT is on disk when it returns), with prepared
// statements and error mapping shared by the Trader and Notify journals.
//
// The file I/O goes through a StorageEnv (storage_env.h): SQLite's default
// VFS in rexd, a fault-injecting one in tests.
//
// Errors are ardus::Status: kNoSpace when the disk is full (SQLITE_FULL),
// else kLocalIo, with SQLite's message. Thread-safety: none; one thread.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "rexd/storage_env.h"

namespace ardus::rexd {

class SqliteDb {
 public:
  // Opens (creating if needed) `path` through `env`'s VFS and runs `schema`.
  // `env` must outlive the SqliteDb.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, const char* schema,
                                                const StorageEnv& env);
  ~SqliteDb();

  // A statement prepared once and kept for the life of the database.
  Result<sqlite3_stmt*> Prepare(const char* sql);
  Status Exec(const char* sql);
  // Steps a prepared statement to completion and resets it.
  bool Run(sqlite3_stmt* st);
  // The last error as a Status ("what: message").
  Status Error(const char* what) const;

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back if it fails.
  template <typename F>
  Status Transaction(F&& body) {
    if (auto s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    Status s = body();
    if (s.ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      s = Error("commit");
    }
    if (!s.ok()) (void)Exec("ROLLBACK");
    return s;
  }

  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::vector<sqlite3_stmt*> statements_;
};

}  // namespace ardus::rexd
