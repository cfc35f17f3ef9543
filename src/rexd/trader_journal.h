// Durable Trader state in SQLite: DIR/trader.db under rexd's --data.
//
// rexd applies a batch of requests to the in-memory Trader, commits the
// batch's mutations here in one transaction, and only then sends the
// replies. At start-up Load replays the tables into an empty Trader.
//
// Errors are ardus::Status (kLocalIo, kNoSpace, kIntegrity for a store that
// does not decode). A failed Commit leaves the database as it was.
// Thread-safety: none; one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rexd/sqlite_db.h"
#include "trader/trader.h"

namespace ardus::rexd {

class TraderJournal {
 public:
  static Result<std::unique_ptr<TraderJournal>> Open(const std::string& dir);

  // Loads every type and offer into `trader` (see Trader::Restore*).
  Status Load(trader::Trader& trader, std::int64_t now_ms);
  // Commits one batch. `next_offer_id` is recorded so ids are never reused.
  Status Commit(const std::vector<trader::Mutation>& batch, std::uint64_t next_offer_id);

 private:
  explicit TraderJournal(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  Status Prepare();
  Status Apply(const trader::Mutation& m);

  std::unique_ptr<SqliteDb> db_;
  sqlite3_stmt* put_type_ = nullptr;
  sqlite3_stmt* delete_type_ = nullptr;
  sqlite3_stmt* put_offer_ = nullptr;
  sqlite3_stmt* delete_offer_ = nullptr;
  sqlite3_stmt* put_meta_ = nullptr;
};

}  // namespace ardus::rexd
