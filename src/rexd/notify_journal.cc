#include "rexd/notify_journal.h"

#include <fmt/core.h>

#include <set>

#include "notify/notify_wire.h"

namespace ardus::rexd {

namespace {

constexpr const char* kSchema = R"(
  CREATE TABLE IF NOT EXISTS channels(name TEXT PRIMARY KEY, persistent INTEGER NOT NULL,
      retain_count INTEGER NOT NULL, retain_age_ms INTEGER NOT NULL,
      retain_bytes INTEGER NOT NULL, next_seq INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS events(channel TEXT NOT NULL, seq INTEGER NOT NULL,
      body BLOB NOT NULL, PRIMARY KEY(channel, seq)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS cursors(channel TEXT NOT NULL, name TEXT NOT NULL,
      acked INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '',
      PRIMARY KEY(channel, name)) WITHOUT ROWID;
)";

// Databases made before durable subscriptions had owners lack the column;
// their subscriptions keep owner '' (only an admin may attach to them).
Status AddCursorOwners(SqliteDb& db) {
  sqlite3_stmt* probe = nullptr;
  bool has = sqlite3_prepare_v2(db.handle(), "SELECT owner FROM cursors LIMIT 0", -1, &probe,
                                nullptr) == SQLITE_OK;
  sqlite3_finalize(probe);
  return has ? Status::Ok()
             : db.Exec("ALTER TABLE cursors ADD COLUMN owner TEXT NOT NULL DEFAULT ''");
}

struct Query {
  sqlite3_stmt* s = nullptr;
  ~Query() { sqlite3_finalize(s); }
};

void BindText(sqlite3_stmt* st, int col, const std::string& s) {
  sqlite3_bind_text(st, col, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

std::string Text(sqlite3_stmt* st, int col) {
  return reinterpret_cast<const char*>(sqlite3_column_text(st, col));
}

}  // namespace

Result<std::unique_ptr<NotifyJournal>> NotifyJournal::Open(const std::string& dir,
                                                           const StorageEnv& env) {
  auto db = SqliteDb::Open(dir + "/notify.db", kSchema, env);
  if (!db.ok()) return db.status();
  if (auto s = AddCursorOwners(*db.value()); !s.ok()) return s;
  std::unique_ptr<NotifyJournal> j(new NotifyJournal(std::move(db).value()));
  std::pair<sqlite3_stmt**, const char*> all[] = {
      {&j->put_channel_,
       "INSERT OR REPLACE INTO channels VALUES(?, ?, ?, ?, ?, "
       "COALESCE((SELECT next_seq FROM channels WHERE name = ?1), 1))"},
      {&j->append_, "INSERT OR REPLACE INTO events(channel, seq, body) VALUES(?, ?, ?)"},
      {&j->trim_, "DELETE FROM events WHERE channel = ? AND seq <= ?"},
      {&j->put_cursor_,
       "INSERT OR REPLACE INTO cursors(channel, name, acked, owner) VALUES(?, ?, ?, ?)"},
      {&j->set_next_seq_, "UPDATE channels SET next_seq = MAX(next_seq, ?) WHERE name = ?"},
  };
  for (auto& [stmt, sql] : all) {
    auto p = j->db_->Prepare(sql);
    if (!p.ok()) return p.status();
    *stmt = p.value();
  }
  return j;
}

Status NotifyJournal::Load(notify::Broker& broker) {
  Query channels;
  sqlite3_prepare_v2(db_->handle(), "SELECT * FROM channels", -1, &channels.s, nullptr);
  while (sqlite3_step(channels.s) == SQLITE_ROW) {
    notify::ChannelConfig c;
    c.persistent = sqlite3_column_int(channels.s, 1) != 0;
    c.retain_count = static_cast<std::uint64_t>(sqlite3_column_int64(channels.s, 2));
    c.retain_age_ms = sqlite3_column_int64(channels.s, 3);
    c.retain_bytes = static_cast<std::uint64_t>(sqlite3_column_int64(channels.s, 4));
    broker.RestoreChannel(Text(channels.s, 0), c,
                          static_cast<std::uint64_t>(sqlite3_column_int64(channels.s, 5)));
  }
  Query events;
  sqlite3_prepare_v2(db_->handle(), "SELECT channel, body FROM events ORDER BY channel, seq", -1,
                     &events.s, nullptr);
  while (sqlite3_step(events.s) == SQLITE_ROW) {
    const char* data = static_cast<const char*>(sqlite3_column_blob(events.s, 1));
    std::size_t size = static_cast<std::size_t>(sqlite3_column_bytes(events.s, 1));
    try {
      auto handle = msgpack::unpack(data, size);
      auto e = notify::DecodeEvent(handle.get());
      if (!e.ok()) return Status::Error(ErrorKind::kIntegrity, e.error().message);
      broker.RestoreEvent(Text(events.s, 0),
                          std::make_shared<const notify::Event>(std::move(e).value()));
    } catch (const std::exception& ex) {
      return Status::Error(ErrorKind::kIntegrity, fmt::format("a stored event: {}", ex.what()));
    }
  }
  Query cursors;
  sqlite3_prepare_v2(db_->handle(), "SELECT channel, name, acked, owner FROM cursors", -1,
                     &cursors.s, nullptr);
  while (sqlite3_step(cursors.s) == SQLITE_ROW) {
    broker.RestoreCursor(Text(cursors.s, 0), Text(cursors.s, 1),
                         static_cast<std::uint64_t>(sqlite3_column_int64(cursors.s, 2)),
                         Text(cursors.s, 3));
  }
  return Status::Ok();
}

Status NotifyJournal::Apply(const notify::Mutation& m) {
  sqlite3_stmt* st = nullptr;
  switch (m.kind) {
    case notify::Mutation::kPutChannel:
      st = put_channel_;
      BindText(st, 1, m.channel);
      sqlite3_bind_int(st, 2, m.config.persistent ? 1 : 0);
      sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(m.config.retain_count));
      sqlite3_bind_int64(st, 4, m.config.retain_age_ms);
      sqlite3_bind_int64(st, 5, static_cast<sqlite3_int64>(m.config.retain_bytes));
      break;
    case notify::Mutation::kAppend:
      st = append_;
      BindText(st, 1, m.channel);
      sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(m.event->seq));
      sqlite3_bind_blob(st, 3, m.event->wire.data(), static_cast<int>(m.event->wire.size()),
                        SQLITE_STATIC);
      break;
    case notify::Mutation::kTrim:
      st = trim_;
      BindText(st, 1, m.channel);
      sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(m.seq));
      break;
    case notify::Mutation::kPutCursor:
      st = put_cursor_;
      BindText(st, 1, m.channel);
      BindText(st, 2, m.durable);
      sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(m.seq));
      BindText(st, 4, m.owner);
      break;
  }
  return db_->Run(st) ? Status::Ok() : db_->Error("commit");
}

Status NotifyJournal::Commit(const std::vector<notify::Mutation>& batch,
                             const notify::Broker& broker) {
  if (batch.empty()) return Status::Ok();
  return db_->Transaction([&] {
    std::set<std::string> appended;
    for (const auto& m : batch) {
      if (auto s = Apply(m); !s.ok()) return s;
      if (m.kind == notify::Mutation::kAppend) appended.insert(m.channel);
    }
    for (const auto& channel : appended) {
      sqlite3_bind_int64(set_next_seq_, 1, static_cast<sqlite3_int64>(broker.next_seq(channel)));
      BindText(set_next_seq_, 2, channel);
      if (!db_->Run(set_next_seq_)) return db_->Error("commit");
    }
    return Status::Ok();
  });
}

}  // namespace ardus::rexd
