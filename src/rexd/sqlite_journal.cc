#include "rexd/sqlite_journal.h"

#include <fmt/core.h>

#include "rex/body.h"
#include "trader/trader_wire.h"

namespace ardus::rexd {

namespace {

constexpr const char* kSchema = R"(
  PRAGMA journal_mode=WAL;
  PRAGMA synchronous=FULL;
  CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS types(name TEXT PRIMARY KEY, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS offers(id INTEGER PRIMARY KEY, body BLOB NOT NULL);
)";

struct Statement {
  sqlite3_stmt* s;
  ~Statement() { sqlite3_finalize(s); }
};

}  // namespace

Result<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(const std::string& dir) {
  std::string path = dir + "/trader.db";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Error(ErrorKind::kLocalIo, fmt::format("cannot open {}: {}", path, msg));
  }
  std::unique_ptr<SqliteJournal> j(new SqliteJournal(db));
  sqlite3_busy_timeout(db, 2000);
  if (auto s = j->Exec(kSchema); !s.ok()) return s;
  if (auto s = j->Prepare(); !s.ok()) return s;
  return j;
}

SqliteJournal::~SqliteJournal() {
  for (auto* s : {put_type_, delete_type_, put_offer_, delete_offer_, put_meta_}) {
    sqlite3_finalize(s);
  }
  sqlite3_close(db_);
}

Status SqliteJournal::Error(const char* what) {
  int code = sqlite3_errcode(db_);
  ErrorKind kind = code == SQLITE_FULL ? ErrorKind::kNoSpace : ErrorKind::kLocalIo;
  return Status::Error(kind, fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
}

Status SqliteJournal::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Error(ErrorKind::kLocalIo, fmt::format("sqlite: {}", msg));
  }
  return Status::Ok();
}

Status SqliteJournal::Prepare() {
  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } all[] = {
      {&put_type_, "INSERT OR REPLACE INTO types(name, body) VALUES(?, ?)"},
      {&delete_type_, "DELETE FROM types WHERE name = ?"},
      {&put_offer_, "INSERT OR REPLACE INTO offers(id, body) VALUES(?, ?)"},
      {&delete_offer_, "DELETE FROM offers WHERE id = ?"},
      {&put_meta_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)"},
  };
  for (auto& a : all) {
    if (sqlite3_prepare_v3(db_, a.sql, -1, SQLITE_PREPARE_PERSISTENT, a.stmt, nullptr) !=
        SQLITE_OK) {
      return Error("prepare");
    }
  }
  return Status::Ok();
}

Status SqliteJournal::Load(trader::Trader& t, std::int64_t now_ms) {
  // Types in insertion order: a type is added only after its super-types.
  Statement types{nullptr};
  sqlite3_prepare_v2(db_, "SELECT name, body FROM types ORDER BY rowid", -1, &types.s, nullptr);
  while (sqlite3_step(types.s) == SQLITE_ROW) {
    auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(types.s, 1));
    auto body =
        rex::BodyReader::Parse({data, static_cast<std::size_t>(sqlite3_column_bytes(types.s, 1))});
    if (!body.ok()) return Status::Error(ErrorKind::kIntegrity, "a stored type does not decode");
    auto type = trader::DecodeServiceType(body.value());
    if (!type.ok()) return Status::Error(ErrorKind::kIntegrity, type.error().message);
    if (auto s = t.RestoreType(std::move(type).value()); !s.ok()) {
      return Status::Error(ErrorKind::kIntegrity, s.error().message);
    }
  }
  Statement offers{nullptr};
  sqlite3_prepare_v2(db_, "SELECT body FROM offers ORDER BY id", -1, &offers.s, nullptr);
  while (sqlite3_step(offers.s) == SQLITE_ROW) {
    auto* data = static_cast<const char*>(sqlite3_column_blob(offers.s, 0));
    std::size_t size = static_cast<std::size_t>(sqlite3_column_bytes(offers.s, 0));
    trader::Offer offer;
    try {
      auto handle = msgpack::unpack(data, size);
      auto decoded = trader::DecodeOffer(handle.get());
      if (!decoded.ok()) return Status::Error(ErrorKind::kIntegrity, decoded.error().message);
      offer = std::move(decoded).value();
    } catch (const std::exception& e) {
      return Status::Error(ErrorKind::kIntegrity, fmt::format("a stored offer: {}", e.what()));
    }
    if (auto s = t.RestoreOffer(now_ms, std::move(offer)); !s.ok()) {
      return Status::Error(ErrorKind::kIntegrity, s.error().message);
    }
  }
  Statement meta{nullptr};
  sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = 'next_offer_id'", -1, &meta.s,
                     nullptr);
  if (sqlite3_step(meta.s) == SQLITE_ROW) {
    t.RestoreNextOfferId(static_cast<std::uint64_t>(sqlite3_column_int64(meta.s, 0)));
  }
  return Status::Ok();
}

Status SqliteJournal::Commit(const std::vector<trader::Mutation>& batch,
                             std::uint64_t next_offer_id) {
  if (batch.empty()) return Status::Ok();
  if (auto s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto step = [](sqlite3_stmt* st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
  };
  bool ok = true;
  for (const auto& m : batch) {
    rex::BodyWriter w;
    switch (m.kind) {
      case trader::Mutation::kPutType: {
        trader::EncodeServiceType(w, m.type);
        auto b = w.bytes();
        sqlite3_bind_text(put_type_, 1, m.type.name.data(), static_cast<int>(m.type.name.size()),
                          SQLITE_STATIC);
        sqlite3_bind_blob(put_type_, 2, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
        ok = step(put_type_);
        break;
      }
      case trader::Mutation::kDeleteType:
        sqlite3_bind_text(delete_type_, 1, m.name.data(), static_cast<int>(m.name.size()),
                          SQLITE_STATIC);
        ok = step(delete_type_);
        break;
      case trader::Mutation::kPutOffer: {
        trader::EncodeOffer(w, m.offer);
        auto b = w.bytes();
        sqlite3_bind_int64(put_offer_, 1, static_cast<sqlite3_int64>(m.offer.id));
        sqlite3_bind_blob(put_offer_, 2, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
        ok = step(put_offer_);
        break;
      }
      case trader::Mutation::kDeleteOffer:
        sqlite3_bind_int64(delete_offer_, 1, static_cast<sqlite3_int64>(m.id));
        ok = step(delete_offer_);
        break;
    }
    if (!ok) break;
  }
  if (ok) {
    sqlite3_bind_text(put_meta_, 1, "next_offer_id", -1, SQLITE_STATIC);
    sqlite3_bind_int64(put_meta_, 2, static_cast<sqlite3_int64>(next_offer_id));
    ok = step(put_meta_);
  }
  if (!ok) {
    Status failed = Error("commit");
    (void)Exec("ROLLBACK");
    return failed;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status failed = Error("commit");
    (void)Exec("ROLLBACK");
    return failed;
  }
  ++commits_;
  return Status::Ok();
}

}  // namespace ardus::rexd
