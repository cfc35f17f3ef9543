// Storage faults under the Trader and Notify journals, injected through
// FaultEnv (tests/support/fault_env.h): a failed write or sync, a full disk,
// a write torn by a crash. Each must be reported by Commit (or Open), and a
// restart with the plain env must find every change whose Commit returned ok,
// in a database that passes PRAGMA integrity_check.
//
// What rexd does with a failed Commit (src/rexd/server.cc): Server::Run
// answers every request of the turn with storage_failed, sends no watch event
// or delivery of the turn, writes those replies and returns the error; rexd
// exits 5. The engines are not rolled back (their mutations were taken), so
// the state in memory is discarded and the restart loads the journal, which
// these tests check holds every acknowledged turn.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "notify/notify_wire.h"
#include "rexd/notify_journal.h"
#include "rexd/trader_journal.h"
#include "support/fault_env.h"

namespace ardus {
namespace {

namespace fs = std::filesystem;
using test::FaultEnv;

constexpr std::int64_t kNow = 1'000'000;
constexpr int kBatches = 8;
constexpr int kReopenAfter = 4;  // closing checkpoints: the database file is written too

// One batch of Trader changes per call: an export, a modify of the previous
// offer, and every third batch a withdrawal, so that every mutation kind and
// growing pages reach the journal.
struct TraderStore {
  static constexpr const char* kName = "Trader";
  static constexpr const char* kFile = "trader.db";
  struct Snapshot {
    std::vector<std::string> types;
    std::map<trader::OfferId, std::pair<std::int64_t, std::int64_t>> offers;  // serial, rev
    trader::OfferId next_offer_id = 0;
    bool operator==(const Snapshot&) const = default;
  };

  Status Open(const std::string& dir, const rexd::StorageEnv& env) {
    auto j = rexd::TraderJournal::Open(dir, env);
    if (!j.ok()) return j.status();
    journal = std::move(j).value();
    return Status::Ok();
  }
  void Close() { journal.reset(); }
  Status Commit() { return journal->Commit(engine.TakeMutations(), engine.next_offer_id()); }

  void Stage(int batch) {
    using tcl::BaseType;
    if (batch == 1) {
      trader::ServiceType type{"printer",
                               {},
                               {{"serial", {BaseType::kInt, false}, true, false},
                                {"rev", {BaseType::kInt, false}, false, false},
                                {"note", {BaseType::kString, false}, false, false}}};
      ASSERT_TRUE(engine.AddType(std::move(type)).ok());
    }
    tcl::Properties props{{"serial", std::int64_t{batch}},
                          {"rev", std::int64_t{0}},
                          {"note", std::string(200 + 60 * batch, static_cast<char>('a' + batch))}};
    auto id = engine.Export(kNow, "printer", std::move(props), 0);
    ASSERT_TRUE(id.ok()) << id.error().message;
    ids.push_back(id.value());
    if (batch >= 2) {
      ASSERT_TRUE(engine.Modify(ids[batch - 2], {{"rev", std::int64_t{batch}}}, {}).ok());
    }
    if (batch % 3 == 0) {
      ASSERT_TRUE(engine.Withdraw(ids[batch - 3]).ok());
    }
  }

  static Snapshot Of(const trader::Trader& t) {
    Snapshot s;
    s.types = t.ListTypes();
    s.next_offer_id = t.next_offer_id();
    for (trader::OfferId id = 1; id < s.next_offer_id; ++id) {
      auto o = t.Describe(id);
      if (!o.ok()) continue;
      s.offers[id] = {std::get<std::int64_t>(o.value().props.at("serial")),
                      std::get<std::int64_t>(o.value().props.at("rev"))};
    }
    return s;
  }
  // What a restarted rexd loads from `dir`.
  static Result<Snapshot> Recover(const std::string& dir) {
    auto j = rexd::TraderJournal::Open(dir);
    if (!j.ok()) return j.status();
    trader::Trader t(1);
    if (auto s = j.value()->Load(t, kNow); !s.ok()) return s;
    return Of(t);
  }
  // The journal holds what the engine holds.
  void ExpectMatches(const Snapshot& recovered) const { EXPECT_EQ(Of(engine), recovered); }

  trader::Trader engine{7};
  std::unique_ptr<rexd::TraderJournal> journal;
  std::vector<trader::OfferId> ids;
};

// One batch of Notify changes per call: two events on a persistent channel
// that retains 6 (so older ones are trimmed) and a durable subscriber's ack.
struct NotifyStore {
  static constexpr const char* kName = "Notify";
  static constexpr const char* kFile = "notify.db";
  static constexpr std::uint64_t kRetain = 6;
  struct Snapshot {
    std::uint64_t next_seq = 0;
    std::vector<std::pair<std::uint64_t, std::int64_t>> events;  // seq, field n
    std::uint64_t cursor = 0;                                    // the durable subscriber "worker"
    bool operator==(const Snapshot&) const = default;
  };

  Status Open(const std::string& dir, const rexd::StorageEnv& env) {
    auto j = rexd::NotifyJournal::Open(dir, env);
    if (!j.ok()) return j.status();
    journal = std::move(j).value();
    return Status::Ok();
  }
  void Close() { journal.reset(); }
  Status Commit() { return journal->Commit(engine.TakeMutations(), engine); }

  static notify::SubscribeRequest Durable(const std::string& name) {
    notify::SubscribeRequest r;
    r.channel = "jobs";
    r.durable = name;
    return r;
  }
  void Stage(int batch) {
    if (batch == 1) {
      notify::ChannelConfig c;
      c.persistent = true;
      c.retain_count = kRetain;
      ASSERT_TRUE(engine.CreateChannel("jobs", c).ok());
      auto s = engine.Subscribe(kNow, 1, Durable("worker"));
      ASSERT_TRUE(s.ok()) << s.error().message;
      worker = s.value().subscription;
    }
    for (int i = 0; i < 2; ++i) {
      notify::Event e;
      e.domain = "ardus";
      e.type = "job";
      e.name = "done";
      e.fields["n"] = std::int64_t{batch * 10 + i};
      e.body = std::string(300 + 50 * batch, static_cast<char>('a' + batch));
      ASSERT_TRUE(engine.Publish(kNow, "jobs", std::move(e)).ok());
    }
    auto got = engine.Pull(kNow, 1, worker, 1);
    ASSERT_TRUE(got.ok() && !got.value().empty());
    acked = got.value()[0].event->seq;
    ASSERT_TRUE(engine.AckUpTo(1, worker, acked).ok());
  }

  // Reads a broker loaded from a journal (subscribing changes it).
  static Snapshot Of(notify::Broker& b) {
    Snapshot s;
    s.next_seq = b.next_seq("jobs");
    auto audit = b.Subscribe(kNow, 2, Durable("audit"));
    if (!audit.ok()) return s;  // no channel yet
    auto events = b.Pull(kNow, 2, audit.value().subscription, 1000);
    if (events.ok()) {
      for (const auto& d : events.value()) {
        s.events.emplace_back(d.event->seq, std::get<std::int64_t>(d.event->fields.at("n")));
      }
    }
    auto w = b.Subscribe(kNow, 3, Durable("worker"));
    if (w.ok()) s.cursor = w.value().resume_after;
    return s;
  }
  static Result<Snapshot> Recover(const std::string& dir) {
    auto j = rexd::NotifyJournal::Open(dir);
    if (!j.ok()) return j.status();
    notify::Broker b(notify::EncodeEvent);
    if (auto s = j.value()->Load(b); !s.ok()) return s;
    return Of(b);
  }
  // The broker's own state, read without subscribing: the newest kRetain of
  // the 2 events a batch publishes, and the last ack.
  void ExpectMatches(const Snapshot& recovered) const {
    EXPECT_EQ(recovered.next_seq, engine.next_seq("jobs"));
    EXPECT_EQ(recovered.cursor, acked);
    std::uint64_t published = engine.next_seq("jobs") - 1;
    ASSERT_EQ(recovered.events.size(), std::min(published, kRetain));
    for (const auto& [seq, n] : recovered.events) {
      EXPECT_GT(seq, published - recovered.events.size());
      EXPECT_EQ(n, static_cast<std::int64_t>((seq + 1) / 2 * 10 + (seq + 1) % 2));
    }
  }

  notify::Broker engine{notify::EncodeEvent};
  std::unique_ptr<rexd::NotifyJournal> journal;
  std::uint64_t worker = 0;
  std::uint64_t acked = 0;
};

template <typename S>
std::ostream& operator<<(std::ostream& os, const S& s) requires
    std::is_same_v<S, TraderStore::Snapshot> || std::is_same_v<S, NotifyStore::Snapshot> {
  if constexpr (std::is_same_v<S, TraderStore::Snapshot>) {
    os << "{next_offer_id " << s.next_offer_id << ", offers";
    for (const auto& [id, v] : s.offers) os << " " << id << ":" << v.first << "/" << v.second;
  } else {
    os << "{next_seq " << s.next_seq << ", cursor " << s.cursor << ", events";
    for (const auto& [seq, n] : s.events) os << " " << seq << ":" << n;
  }
  return os << "}";
}

// PRAGMA integrity_check on the database file, through the default VFS.
std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    result = "cannot run";
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
      result.clear();
      while (sqlite3_step(st) == SQLITE_ROW) {
        result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return result;
}

template <typename Store>
class JournalFaultTest : public ::testing::Test {
 protected:
  using Snapshot = typename Store::Snapshot;

  // What the journal holds after each batch of a fault-free run (index 0:
  // before the first), checked against the engines once.
  static void SetUpTestSuite() {
    expected_ = new std::vector<Snapshot>;
    std::string dir = MakeDir();
    Store s;
    ASSERT_TRUE(s.Open(dir, rexd::StorageEnv::Plain()).ok());
    auto empty = Store::Recover(dir);
    ASSERT_TRUE(empty.ok()) << empty.status().message();
    expected_->push_back(empty.value());
    for (int b = 1; b <= kBatches; ++b) {
      s.Stage(b);
      ASSERT_TRUE(s.Commit().ok());
      auto r = Store::Recover(dir);
      ASSERT_TRUE(r.ok()) << r.status().message();
      s.ExpectMatches(r.value());
      expected_->push_back(r.value());
    }
    s.Close();
    fs::remove_all(dir);
  }
  static void TearDownTestSuite() {
    delete expected_;
    expected_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(expected_, nullptr);
    ASSERT_EQ(expected_->size(), static_cast<std::size_t>(kBatches + 1));
    dir_ = MakeDir();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string MakeDir() {
    std::string tmpl = (fs::temp_directory_path() / "ardus-journal-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    return tmpl;
  }
  static const Snapshot& Expected(int acked) {
    return (*expected_)[static_cast<std::size_t>(acked)];
  }

  struct Outcome {
    int acked = 0;           // batches whose Commit returned ok
    Status failure;          // the first failure, of Open or Commit
    bool in_commit = false;  // the failure was a Commit's
  };
  // Batches 1..kBatches, one Commit each; the journal is closed and opened
  // again after kReopenAfter. Stops at the first failure.
  static Outcome Run(const std::string& dir, const rexd::StorageEnv& env) {
    Outcome out;
    Store s;
    for (int b = 1; b <= kBatches; ++b) {
      if (b == 1 || b == kReopenAfter + 1) {
        s.Close();
        out.failure = s.Open(dir, env);
        if (!out.failure.ok()) return out;
      }
      s.Stage(b);
      out.failure = s.Commit();
      if (!out.failure.ok()) {
        out.in_commit = true;
        return out;
      }
      out.acked = b;
    }
    return out;
  }

  // After a fault: the database is sound, and a restart finds every
  // acknowledged batch; the failed one is there entirely or not at all when
  // `either` (its outcome is unknown), else not at all.
  void ExpectRecovered(int acked, bool either, const std::string& context) {
    SCOPED_TRACE(context);
    EXPECT_EQ(IntegrityCheck(dir_ + "/" + Store::kFile), "ok");
    auto r = Store::Recover(dir_);
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (either && acked < kBatches && r.value() == Expected(acked + 1)) return;
    EXPECT_EQ(r.value(), Expected(acked)) << "acknowledged batches: " << acked;
  }

  std::string dir_;
  static std::vector<Snapshot>* expected_;
};

template <typename Store>
std::vector<typename Store::Snapshot>* JournalFaultTest<Store>::expected_ = nullptr;

// Stages and commits batches 1..n, each acknowledged.
template <typename Store>
void CommitBatches(Store& s, int n) {
  for (int b = 1; b <= n; ++b) {
    s.Stage(b);
    ASSERT_TRUE(s.Commit().ok()) << "batch " << b;
  }
}

struct StoreName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Stores = ::testing::Types<TraderStore, NotifyStore>;
TYPED_TEST_SUITE(JournalFaultTest, Stores, StoreName);

// A failed write (EIO): Commit says so, and nothing of the batch is stored.
TYPED_TEST(JournalFaultTest, FailedWriteIsReportedAndLosesNothing) {
  FaultEnv env;
  TypeParam s;
  ASSERT_TRUE(s.Open(this->dir_, env).ok());
  ASSERT_NO_FATAL_FAILURE(CommitBatches(s, 3));
  env.FailNextWrite();
  s.Stage(4);
  Status failed = s.Commit();
  EXPECT_EQ(failed.kind(), ErrorKind::kLocalIo) << failed.ToString();
  EXPECT_NE(failed.message().find("commit"), std::string::npos) << failed.message();
  EXPECT_EQ(env.faults(), 1u);
  // The engine keeps batch 4 in memory, but its mutations are gone: a server
  // that carried on would never store them. Hence rexd stops and restarts
  // from the journal, which is as it was after batch 3.
  s.Close();
  this->ExpectRecovered(3, false, "after a failed write");
}

// A failed fsync: reported; the batch may or may not have reached the WAL
// (SQLite cannot tell), so storage_failed means "not known to be durable".
TYPED_TEST(JournalFaultTest, FailedSyncIsReportedAndLosesNothing) {
  FaultEnv env;
  TypeParam s;
  ASSERT_TRUE(s.Open(this->dir_, env).ok());
  ASSERT_NO_FATAL_FAILURE(CommitBatches(s, 3));
  env.FailNextSync();
  s.Stage(4);
  Status failed = s.Commit();
  EXPECT_EQ(failed.kind(), ErrorKind::kLocalIo) << failed.ToString();
  EXPECT_EQ(env.faults(), 1u);
  s.Close();
  this->ExpectRecovered(3, true, "after a failed sync");
}

// A disk that fills up: the room grows by 4500 bytes a run (not a multiple of a WAL frame), from
// none to what the whole run needs. The failure is kNoSpace (Open's or Commit's), and every batch
// before it survives.
TYPED_TEST(JournalFaultTest, FullDiskIsReportedAsNoSpaceAndLosesNothing) {
  int failed_commits = 0;
  for (std::uint64_t space = 0;; space += 4500) {
    ASSERT_LT(space, std::uint64_t{8} << 20) << "the run never fitted";
    fs::remove_all(this->dir_);
    fs::create_directory(this->dir_);
    FaultEnv env;
    env.LimitSpace(space);
    auto out = this->Run(this->dir_, env);
    if (env.faults() == 0) break;  // it fitted: every smaller room was tried
    std::string context = "room " + std::to_string(space) + " bytes";
    // A full disk met while closing (a checkpoint) fails nothing; the next
    // Open or Commit may then meet it.
    if (!out.failure.ok()) {
      EXPECT_EQ(out.failure.kind(), ErrorKind::kNoSpace)
          << context << ": " << out.failure.ToString();
    }
    failed_commits += out.in_commit;
    this->ExpectRecovered(out.acked, false, context);
  }
  ::testing::Test::RecordProperty("failed_commits", failed_commits);
  EXPECT_GE(failed_commits, kBatches) << "the disk filled up in too few commits";
}

// A crash in the middle of each write of the run in turn: the database a
// restart finds is sound and holds every batch whose Commit returned ok.
TYPED_TEST(JournalFaultTest, TornWriteLosesNoAcknowledgedChange) {
  std::uint64_t writes = 0;
  {
    FaultEnv count;
    ASSERT_TRUE(this->Run(this->dir_, count).failure.ok());
    writes = count.writes();
  }
  ::testing::Test::RecordProperty("writes", static_cast<int>(writes));
  ASSERT_GT(writes, 20u);
  for (std::uint64_t n = 1; n <= writes; ++n) {
    fs::remove_all(this->dir_);
    fs::create_directory(this->dir_);
    FaultEnv env;
    std::size_t keep = (n * 613) % 4096;  // into a frame header, a page, or nothing
    env.TearWrite(n, keep);
    auto out = this->Run(this->dir_, env);
    std::string context = "write " + std::to_string(n) + " torn after " + std::to_string(keep);
    ASSERT_TRUE(env.crashed()) << context;
    // The crash happened during an Open or a Commit, which reported it, or
    // while closing, after which the next Open met the crashed env (or the
    // run was over).
    if (out.acked < kBatches) {
      EXPECT_FALSE(out.failure.ok()) << context;
    }
    this->ExpectRecovered(out.acked, true, context);
  }
}

}  // namespace
}  // namespace ardus
