// Durable Notify state in SQLite: DIR/notify.db under rexd's --data. It
// holds persistent channels' definitions, their retained events and durable
// subscriptions' cursors. Commit takes one batch of Broker mutations in one
// transaction; rexd acknowledges the batch's publishes only after it.
//
// Errors, what a failed Commit leaves and `env` as TraderJournal.
// Thread-safety: none; one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "notify/broker.h"
#include "rexd/sqlite_db.h"

namespace ardus::rexd {

class NotifyJournal {
 public:
  static Result<std::unique_ptr<NotifyJournal>> Open(const std::string& dir,
                                                     const StorageEnv& env = StorageEnv::Plain());

  Status Load(notify::Broker& broker);
  Status Commit(const std::vector<notify::Mutation>& batch, const notify::Broker& broker);

 private:
  explicit NotifyJournal(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  Status Apply(const notify::Mutation& m);

  std::unique_ptr<SqliteDb> db_;
  sqlite3_stmt* put_channel_ = nullptr;
  sqlite3_stmt* append_ = nullptr;
  sqlite3_stmt* trim_ = nullptr;
  sqlite3_stmt* put_cursor_ = nullptr;
  sqlite3_stmt* set_next_seq_ = nullptr;
};

}  // namespace ardus::rexd
