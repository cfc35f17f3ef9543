#include "rexd/trader_journal.h"

#include <fmt/core.h>

#include "rex/body.h"
#include "trader/trader_wire.h"

namespace ardus::rexd {

namespace {

constexpr const char* kSchema = R"(
  CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS types(name TEXT PRIMARY KEY, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS offers(id INTEGER PRIMARY KEY, body BLOB NOT NULL);
)";

struct Query {
  sqlite3_stmt* s = nullptr;
  ~Query() { sqlite3_finalize(s); }
};

std::span<const std::uint8_t> Blob(sqlite3_stmt* s, int col) {
  return {static_cast<const std::uint8_t*>(sqlite3_column_blob(s, col)),
          static_cast<std::size_t>(sqlite3_column_bytes(s, col))};
}

}  // namespace

Result<std::unique_ptr<TraderJournal>> TraderJournal::Open(const std::string& dir,
                                                           const StorageEnv& env) {
  auto db = SqliteDb::Open(dir + "/trader.db", kSchema, env);
  if (!db.ok()) return db.status();
  std::unique_ptr<TraderJournal> j(new TraderJournal(std::move(db).value()));
  if (auto s = j->Prepare(); !s.ok()) return s;
  return j;
}

Status TraderJournal::Prepare() {
  std::pair<sqlite3_stmt**, const char*> all[] = {
      {&put_type_, "INSERT OR REPLACE INTO types(name, body) VALUES(?, ?)"},
      {&delete_type_, "DELETE FROM types WHERE name = ?"},
      {&put_offer_, "INSERT OR REPLACE INTO offers(id, body) VALUES(?, ?)"},
      {&delete_offer_, "DELETE FROM offers WHERE id = ?"},
      {&put_meta_, "INSERT OR REPLACE INTO meta(key, value) VALUES('next_offer_id', ?)"},
  };
  for (auto& [stmt, sql] : all) {
    auto p = db_->Prepare(sql);
    if (!p.ok()) return p.status();
    *stmt = p.value();
  }
  return Status::Ok();
}

Status TraderJournal::Load(trader::Trader& t, std::int64_t now_ms) {
  // Types in insertion order: a type is added only after its super-types.
  Query types;
  sqlite3_prepare_v2(db_->handle(), "SELECT body FROM types ORDER BY rowid", -1, &types.s, nullptr);
  while (sqlite3_step(types.s) == SQLITE_ROW) {
    auto body = rex::BodyReader::Parse(Blob(types.s, 0));
    if (!body.ok()) return Status::Error(ErrorKind::kIntegrity, "a stored type does not decode");
    auto type = trader::DecodeServiceType(body.value());
    if (!type.ok()) return Status::Error(ErrorKind::kIntegrity, type.error().message);
    if (auto s = t.RestoreType(std::move(type).value()); !s.ok()) {
      return Status::Error(ErrorKind::kIntegrity, s.error().message);
    }
  }
  Query offers;
  sqlite3_prepare_v2(db_->handle(), "SELECT body FROM offers ORDER BY id", -1, &offers.s, nullptr);
  while (sqlite3_step(offers.s) == SQLITE_ROW) {
    auto blob = Blob(offers.s, 0);
    try {
      auto handle = msgpack::unpack(reinterpret_cast<const char*>(blob.data()), blob.size());
      auto offer = trader::DecodeOffer(handle.get());
      if (!offer.ok()) return Status::Error(ErrorKind::kIntegrity, offer.error().message);
      if (auto s = t.RestoreOffer(now_ms, std::move(offer).value()); !s.ok()) {
        return Status::Error(ErrorKind::kIntegrity, s.error().message);
      }
    } catch (const std::exception& e) {
      return Status::Error(ErrorKind::kIntegrity, fmt::format("a stored offer: {}", e.what()));
    }
  }
  Query meta;
  sqlite3_prepare_v2(db_->handle(), "SELECT value FROM meta WHERE key = 'next_offer_id'", -1,
                     &meta.s, nullptr);
  if (sqlite3_step(meta.s) == SQLITE_ROW) {
    t.RestoreNextOfferId(static_cast<std::uint64_t>(sqlite3_column_int64(meta.s, 0)));
  }
  return Status::Ok();
}

Status TraderJournal::Apply(const trader::Mutation& m) {
  rex::BodyWriter w;
  sqlite3_stmt* st = nullptr;
  switch (m.kind) {
    case trader::Mutation::kPutType:
      trader::EncodeServiceType(w, m.type);
      st = put_type_;
      sqlite3_bind_text(st, 1, m.type.name.data(), static_cast<int>(m.type.name.size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, w.bytes().data(), static_cast<int>(w.bytes().size()), SQLITE_STATIC);
      break;
    case trader::Mutation::kDeleteType:
      st = delete_type_;
      sqlite3_bind_text(st, 1, m.name.data(), static_cast<int>(m.name.size()), SQLITE_STATIC);
      break;
    case trader::Mutation::kPutOffer:
      trader::EncodeOffer(w, m.offer);
      st = put_offer_;
      sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(m.offer.id));
      sqlite3_bind_blob(st, 2, w.bytes().data(), static_cast<int>(w.bytes().size()), SQLITE_STATIC);
      break;
    case trader::Mutation::kDeleteOffer:
      st = delete_offer_;
      sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(m.id));
      break;
  }
  return db_->Run(st) ? Status::Ok() : db_->Error("commit");
}

Status TraderJournal::Commit(const std::vector<trader::Mutation>& batch,
                             std::uint64_t next_offer_id) {
  if (batch.empty()) return Status::Ok();
  return db_->Transaction([&] {
    for (const auto& m : batch) {
      if (auto s = Apply(m); !s.ok()) return s;
    }
    sqlite3_bind_int64(put_meta_, 1, static_cast<sqlite3_int64>(next_offer_id));
    return db_->Run(put_meta_) ? Status::Ok() : db_->Error("commit");
  });
}

}  // namespace ardus::rexd
