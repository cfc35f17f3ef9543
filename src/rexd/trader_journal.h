// Durable Trader state in SQLite: DIR/trader.db under rexd's --data.
//
// rexd applies a batch of requests to the in-memory Trader, commits the
// batch's mutations here in one transaction, and only then sends the
// replies. At start-up Load replays the tables into an empty Trader.
//
// Errors are ardus::Status (kLocalIo, kNoSpace for a full disk, kIntegrity
// for a store that does not decode). A failed Commit leaves the database
// without the batch, or (a failed sync: SQLite cannot tell) with all of it,
// never with part of it; a change whose Commit returned ok survives a crash.
// The caller must treat the failed batch's outcome as unknown and the
// engine's state as lost (rexd stops and reloads; see server.h).
//
// Storage goes through `env` (storage_env.h); rexd passes the plain one,
// tests a FaultEnv. It must outlive the journal.
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
  static Result<std::unique_ptr<TraderJournal>> Open(const std::string& dir,
                                                     const StorageEnv& env = StorageEnv::Plain());

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
