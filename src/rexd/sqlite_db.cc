#include "rexd/sqlite_db.h"

#include <fmt/core.h>

namespace ardus::rexd {

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, const char* schema,
                                                 const StorageEnv& env) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           env.vfs_name());
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Error(ErrorKind::kLocalIo, fmt::format("cannot open {}: {}", path, msg));
  }
  std::unique_ptr<SqliteDb> d(new SqliteDb(db));
  sqlite3_busy_timeout(db, 2000);
  if (auto s = d->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !s.ok()) return s;
  if (auto s = d->Exec(schema); !s.ok()) return s;
  return d;
}

SqliteDb::~SqliteDb() {
  for (auto* s : statements_) sqlite3_finalize(s);
  sqlite3_close(db_);
}

Result<sqlite3_stmt*> SqliteDb::Prepare(const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
    return Error("prepare");
  }
  statements_.push_back(st);
  return st;
}

Status SqliteDb::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    ErrorKind kind =
        sqlite3_errcode(db_) == SQLITE_FULL ? ErrorKind::kNoSpace : ErrorKind::kLocalIo;
    return Status::Error(kind, fmt::format("sqlite: {}", msg));
  }
  return Status::Ok();
}

bool SqliteDb::Run(sqlite3_stmt* st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW;
}

Status SqliteDb::Error(const char* what) const {
  ErrorKind kind = sqlite3_errcode(db_) == SQLITE_FULL ? ErrorKind::kNoSpace : ErrorKind::kLocalIo;
  return Status::Error(kind, fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
}

}  // namespace ardus::rexd
