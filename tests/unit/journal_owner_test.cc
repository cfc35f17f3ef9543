// Ownership is durable: an offer's owner and a durable subscription's owner
// survive a restart of rexd (the journals reload them), an ack does not wipe
// the owner it rewrites the cursor row with, and a database made before
// owners existed still loads, its subscriptions owned by nobody.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "notify/notify_wire.h"
#include "rexd/notify_journal.h"
#include "rexd/trader_journal.h"

namespace ardus {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kNow = 1'000'000;

class JournalOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ardus-owner-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(JournalOwnerTest, AnOffersOwnerSurvivesARestart) {
  trader::OfferId id = 0;
  {
    auto journal = rexd::TraderJournal::Open(dir_);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    trader::Trader t(1);
    ASSERT_TRUE(t.AddType({"printer", {}, {}}).ok());
    auto exported = t.Export(kNow, "printer", {}, 0, "alice");
    ASSERT_TRUE(exported.ok());
    id = exported.value();
    ASSERT_TRUE(journal.value()->Commit(t.TakeMutations(), t.next_offer_id()).ok());
  }
  auto journal = rexd::TraderJournal::Open(dir_);
  ASSERT_TRUE(journal.ok());
  trader::Trader t(1);
  ASSERT_TRUE(journal.value()->Load(t, kNow).ok());
  auto offer = t.Describe(id);
  ASSERT_TRUE(offer.ok());
  EXPECT_EQ(offer.value().owner, "alice");
}

notify::SubscribeRequest Durable() {
  notify::SubscribeRequest r;
  r.channel = "jobs";
  r.durable = "audit";
  return r;
}

TEST_F(JournalOwnerTest, ADurableSubscriptionsOwnerSurvivesAcksAndARestart) {
  {
    auto journal = rexd::NotifyJournal::Open(dir_);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    notify::Broker b(notify::EncodeEvent);
    notify::ChannelConfig persistent;
    persistent.persistent = true;
    ASSERT_TRUE(b.CreateChannel("jobs", persistent).ok());
    notify::Event e;
    e.domain = "d";
    e.type = "t";
    ASSERT_TRUE(b.Publish(kNow, "jobs", e).ok());
    auto s = b.Subscribe(kNow, 7, Durable(), "alice");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(journal.value()->Commit(b.TakeMutations(), b).ok());
    auto pulled = b.Pull(kNow, 7, s.value().subscription, 1);
    ASSERT_TRUE(pulled.ok());
    ASSERT_EQ(pulled.value().size(), 1u);
    ASSERT_TRUE(b.AckUpTo(7, s.value().subscription, 1).ok());  // rewrites the cursor row
    ASSERT_TRUE(journal.value()->Commit(b.TakeMutations(), b).ok());
  }
  auto journal = rexd::NotifyJournal::Open(dir_);
  ASSERT_TRUE(journal.ok());
  notify::Broker b(notify::EncodeEvent);
  ASSERT_TRUE(journal.value()->Load(b).ok());
  EXPECT_EQ(b.DurableOwner("jobs", "audit"), std::optional<std::string>("alice"));
  auto resumed = b.Subscribe(kNow, 8, Durable(), "alice");
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed.value().resume_after, 1u);
}

TEST_F(JournalOwnerTest, ADatabaseFromBeforeOwnersLoadsWithUnownedCursors) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/notify.db").c_str(), &db), SQLITE_OK);
  const char* old_schema = R"(
    CREATE TABLE channels(name TEXT PRIMARY KEY, persistent INTEGER NOT NULL,
        retain_count INTEGER NOT NULL, retain_age_ms INTEGER NOT NULL,
        retain_bytes INTEGER NOT NULL, next_seq INTEGER NOT NULL);
    CREATE TABLE events(channel TEXT NOT NULL, seq INTEGER NOT NULL,
        body BLOB NOT NULL, PRIMARY KEY(channel, seq)) WITHOUT ROWID;
    CREATE TABLE cursors(channel TEXT NOT NULL, name TEXT NOT NULL,
        acked INTEGER NOT NULL, PRIMARY KEY(channel, name)) WITHOUT ROWID;
    INSERT INTO channels VALUES('jobs', 1, 100, 0, 1000000, 5);
    INSERT INTO cursors VALUES('jobs', 'audit', 4);
  )";
  ASSERT_EQ(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto journal = rexd::NotifyJournal::Open(dir_);
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  notify::Broker b(notify::EncodeEvent);
  ASSERT_TRUE(journal.value()->Load(b).ok());
  EXPECT_EQ(b.DurableOwner("jobs", "audit"), std::optional<std::string>(""));
}

}  // namespace
}  // namespace ardus
