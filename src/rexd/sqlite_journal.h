// Durable Trader state in SQLite (the embedded default store in --data DIR).
//
// rexd applies a batch of requests to the in-memory Trader, then commits the
// batch's mutations here in one transaction (WAL, synchronous=FULL: the
// commit is on disk when Commit returns) and only then sends the replies.
// At start-up Load replays the tables into an empty Trader.
//
// Errors are ardus::Status with kLocalIo/kNoSpace and SQLite's message; a
// failed Commit leaves the database as it was before the batch.
// Thread-safety: none; one thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "trader/trader.h"

namespace ardus::rexd {

class SqliteJournal {
 public:
  // Opens (creating if needed) DIR/trader.db. Errors: kLocalIo.
  static Result<std::unique_ptr<SqliteJournal>> Open(const std::string& dir);
  ~SqliteJournal();

  // Loads every type and offer into `trader` (see Trader::Restore*).
  Status Load(trader::Trader& trader, std::int64_t now_ms);
  // Commits one batch. `next_offer_id` is recorded so ids are never reused.
  Status Commit(const std::vector<trader::Mutation>& batch, std::uint64_t next_offer_id);

  std::uint64_t commits() const { return commits_; }

 private:
  explicit SqliteJournal(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Error(const char* what);
  Status Prepare();

  sqlite3* db_;
  sqlite3_stmt* put_type_ = nullptr;
  sqlite3_stmt* delete_type_ = nullptr;
  sqlite3_stmt* put_offer_ = nullptr;
  sqlite3_stmt* delete_offer_ = nullptr;
  sqlite3_stmt* put_meta_ = nullptr;
  std::uint64_t commits_ = 0;
};

}  // namespace ardus::rexd
