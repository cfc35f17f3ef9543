#include "ardus/fs_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/skip.h"

namespace ardus {
namespace {
namespace fs = std::filesystem;

class FsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ardus-store-XXXXXX";
    root_ = mkdtemp(tmpl);
    dest_ = root_ / "dest";
    fs::create_directory(dest_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static ManifestEntry File(const std::string& path, const std::string& content) {
    ManifestEntry e;
    e.path = path;
    e.size = content.size();
    e.mode = 0640;
    e.mtime_ns = 1'600'000'000'123'456'789;
    e.digest = ComputeDigest(
        Manifest{}.digest, {reinterpret_cast<const std::uint8_t*>(content.data()), content.size()});
    return e;
  }
  static std::span<const std::uint8_t> Bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
  }
  std::vector<std::string> ListAll() {
    std::vector<std::string> out;
    for (auto& p : fs::recursive_directory_iterator(dest_)) out.push_back(fs::relative(p, dest_));
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root_, dest_;
};

TEST_F(FsStoreTest, WritesVerifiesAndPublishesAtomically) {
  auto store = FsStore::Open(dest_, 0xABCD).value();
  Manifest m;
  m.entries.push_back({EntryType::kDirectory, "d", 0750, 1'000'000'000, 0, {}});
  m.entries.push_back(File("d/hello world.txt", "hello, multicast"));
  m.entries.push_back(File("d/empty", ""));
  ASSERT_TRUE(store->Begin(m).ok());
  ASSERT_TRUE(store->Write(1, 7, Bytes("multicast")).ok());
  ASSERT_TRUE(store->Write(1, 0, Bytes("hello, ")).ok());
  // Before commit only the hidden temporary exists.
  EXPECT_FALSE(fs::exists(dest_ / "d/hello world.txt"));
  ASSERT_TRUE(store->Commit(1).ok());
  ASSERT_TRUE(store->Commit(2).ok());
  ASSERT_TRUE(store->Finish().ok());
  std::ifstream in(dest_ / "d/hello world.txt");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "hello, multicast");
  struct stat st;
  ASSERT_EQ(stat((dest_ / "d/hello world.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  ASSERT_EQ(stat((dest_ / "d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1);
  EXPECT_EQ(ListAll(), (std::vector<std::string>{"d", "d/empty", "d/hello world.txt"}));
}

TEST_F(FsStoreTest, SettledPrefixIsHashedOnceAndStillVerified) {
  auto store = FsStore::Open(dest_, 1).value();
  const std::string content(9 << 20, 'q');  // more than two 4 MiB settle steps
  Manifest m;
  m.entries.push_back(File("big", content));
  ASSERT_TRUE(store->Begin(m).ok());
  ASSERT_TRUE(store->Write(0, 0, Bytes(content.substr(0, 5 << 20))).ok());
  ASSERT_TRUE(store->Settle(0, 5 << 20).ok());
  ASSERT_TRUE(store->Write(0, 5 << 20, Bytes(content.substr(5 << 20))).ok());
  ASSERT_TRUE(store->Settle(0, content.size()).ok());
  ASSERT_TRUE(store->Commit(0).ok());
  EXPECT_EQ(fs::file_size(dest_ / "big"), content.size());
}

TEST_F(FsStoreTest, CorruptionInsideASettledPrefixIsCaught) {
  auto store = FsStore::Open(dest_, 1).value();
  std::string content(6 << 20, 'z');
  Manifest m;
  m.entries.push_back(File("f", content));
  content[100] = 'X';  // what arrives differs from what the manifest promised
  ASSERT_TRUE(store->Begin(m).ok());
  ASSERT_TRUE(store->Write(0, 0, Bytes(content)).ok());
  ASSERT_TRUE(store->Settle(0, content.size()).ok());
  EXPECT_EQ(store->Commit(0).kind(), ErrorKind::kIntegrity);
  store->Abort();
  EXPECT_TRUE(ListAll().empty());
}

TEST_F(FsStoreTest, DigestMismatchIsNotPublished) {
  auto store = FsStore::Open(dest_, 1).value();
  Manifest m;
  m.entries.push_back(File("f", "expected"));
  ASSERT_TRUE(store->Begin(m).ok());
  ASSERT_TRUE(store->Write(0, 0, Bytes("corrupt!")).ok());
  EXPECT_EQ(store->Commit(0).kind(), ErrorKind::kIntegrity);
  store->Abort();
  EXPECT_TRUE(ListAll().empty());
}

TEST_F(FsStoreTest, RefusesSymlinkEscape) {
  fs::create_directory(root_ / "outside");
  fs::create_directory_symlink(root_ / "outside", dest_ / "link");
  auto store = FsStore::Open(dest_, 1).value();
  Manifest m;
  m.entries.push_back(File("link/evil", "x"));
  Status s = store->Begin(m);
  EXPECT_EQ(s.kind(), ErrorKind::kUnsafePath) << s.ToString();
  EXPECT_TRUE(fs::is_empty(root_ / "outside"));
}

TEST_F(FsStoreTest, ReplacesSymlinkAtFinalNameWithoutFollowingIt) {
  std::ofstream(root_ / "target") << "precious";
  fs::create_symlink(root_ / "target", dest_ / "f");
  auto store = FsStore::Open(dest_, 1).value();
  Manifest m;
  m.entries.push_back(File("f", "new"));
  ASSERT_TRUE(store->Begin(m).ok());
  ASSERT_TRUE(store->Write(0, 0, Bytes("new")).ok());
  ASSERT_TRUE(store->Commit(0).ok());
  std::ifstream target(root_ / "target");
  std::string content((std::istreambuf_iterator<char>(target)), {});
  EXPECT_EQ(content, "precious");
  EXPECT_FALSE(fs::is_symlink(dest_ / "f"));
}

TEST_F(FsStoreTest, AbortRemovesTemporaries) {
  auto store = FsStore::Open(dest_, 1).value();
  Manifest m;
  m.entries.push_back(File("a", "aaaa"));
  ASSERT_TRUE(store->Begin(m).ok());
  ASSERT_TRUE(store->Write(0, 0, Bytes("aa")).ok());
  std::vector<std::uint8_t> back(2);
  ASSERT_TRUE(store->Read(0, 0, back).ok());  // forces the temporary onto disk
  EXPECT_EQ(ListAll().size(), 1u);
  store->Abort();
  EXPECT_TRUE(ListAll().empty());
}

TEST_F(FsStoreTest, FullDiskFailsCleanly) {
  ARDUS_SKIP_UNLESS(geteuid() == 0, "needs root to mount a small tmpfs");
  fs::path small = root_ / "small";
  fs::create_directory(small);
  ARDUS_SKIP_UNLESS(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k") == 0,
                    "cannot mount tmpfs: " << std::strerror(errno));
  {
    auto store = FsStore::Open(small, 1).value();
    Manifest m;
    m.entries.push_back(File("big", std::string(1 << 20, 'x')));
    Status s = store->Begin(m);
    EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
    EXPECT_NE(s.message().find("bytes free"), std::string::npos);
    store->Abort();
  }
  EXPECT_TRUE(fs::is_empty(small));
  umount(small.c_str());
}

TEST_F(FsStoreTest, MissingDirectoryIsAClearError) {
  auto r = FsStore::Open((root_ / "nope").string(), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace ardus
