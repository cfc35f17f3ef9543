#include "io/fs_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
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
    for (auto& p : fs::recursive_directory_iterator(dest_)) {
      out.push_back(p.path().lexically_relative(dest_));
    }
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
  EXPECT_EQ(ListAll(), (std::vector<std::string>{store->temp_name(0), store->journal_name()}));
  store->Abort();
  EXPECT_TRUE(ListAll().empty());
}

// Issue 15, 1: names sharing their first 200 bytes once shared a temporary
// name, and creating one removed another's live temporary "as a stale
// leftover": a file was published holding another file's bytes.
TEST_F(FsStoreTest, NamesSharingALongPrefixKeepTheirOwnContent) {
  auto store = FsStore::Open(dest_, 7).value();
  Manifest m;
  const std::string prefix(200, 'p');
  std::vector<std::string> contents;
  for (int i = 0; i < 30; ++i) {
    contents.push_back("content of file " + std::to_string(i) + std::string(100 + i, 'a' + i % 26));
    m.entries.push_back(File(prefix + std::to_string(i), contents.back()));
  }
  ASSERT_TRUE(store->Begin(m).ok());
  // Interleaved, as loss makes it: every file is open before any completes.
  for (std::uint32_t i = 0; i < 30; ++i) {
    ASSERT_TRUE(store->Write(i, 0, Bytes(contents[i].substr(0, 10))).ok());
    std::vector<std::uint8_t> back(10);
    ASSERT_TRUE(store->Read(i, 0, back).ok());  // each temporary reaches the disk
  }
  for (std::uint32_t i = 0; i < 30; ++i) {
    ASSERT_TRUE(store->Write(i, 10, Bytes(contents[i].substr(10))).ok());
    Status s = store->Commit(i);
    EXPECT_TRUE(s.ok()) << i << ": " << s.ToString();
    // Whatever else happens, a published file holds its own bytes.
    std::ifstream in(dest_ / (prefix + std::to_string(i)));
    std::string content((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(content, s.ok() ? contents[i] : "") << "file " << i;
  }
  ASSERT_TRUE(store->Finish().ok());
  EXPECT_EQ(ListAll().size(), 30u);  // no temporary or journal left
}

// A file already holding a temporary's name is not the store's: it is
// neither removed nor written, and the session fails instead.
TEST_F(FsStoreTest, NeverRemovesAFileItDidNotCreate) {
  std::ofstream(dest_ / ".ardus-0000abcd-0.part") << "someone else's";
  auto store = FsStore::Open(dest_, 0xABCD).value();
  Manifest m;
  m.entries.push_back(File("f", "new"));
  ASSERT_TRUE(store->Begin(m).ok());
  Status w = store->Write(0, 0, Bytes("new"));
  if (w.ok()) w = store->Commit(0);
  EXPECT_EQ(w.kind(), ErrorKind::kLocalIo) << w.ToString();
  store->Abort();
  std::ifstream in(dest_ / ".ardus-0000abcd-0.part");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "someone else's");
  EXPECT_FALSE(fs::exists(dest_ / "f"));
}

// Issue 15, 3: an unauthenticated peer's manifest must not make a root
// receiver publish setuid files; the receiver may opt in.
TEST_F(FsStoreTest, SpecialBitsAreStrippedUnlessKept) {
  for (bool keep : {false, true}) {
    fs::remove_all(dest_);
    fs::create_directory(dest_);
    auto store = FsStore::Open(dest_, 2, FsStoreOptions{keep}).value();
    Manifest m;
    m.entries.push_back({EntryType::kDirectory, "sticky", 01777, 0, 0, {}});
    m.entries.push_back(File("suid", "#!/bin/sh\n"));
    m.entries.back().mode = 06755;
    ASSERT_TRUE(store->Begin(m).ok());
    ASSERT_TRUE(store->Write(1, 0, Bytes("#!/bin/sh\n")).ok());
    ASSERT_TRUE(store->Commit(1).ok());
    ASSERT_TRUE(store->Finish().ok());
    struct stat st;
    ASSERT_EQ(stat((dest_ / "suid").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, keep ? 06755u : 0755u) << "keep " << keep;
    ASSERT_EQ(stat((dest_ / "sticky").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, keep ? 01777u : 0777u) << "keep " << keep;
  }
}

// Issue 15, 6: sizes whose sum wraps 64 bits once passed the free-space check.
TEST_F(FsStoreTest, SizesWhoseSumWrapsAreRefused) {
  auto store = FsStore::Open(dest_, 1).value();
  Manifest m;
  m.entries.push_back(File("a", ""));
  m.entries.back().size = 1ull << 63;
  m.entries.push_back(File("b", ""));
  m.entries.back().size = (1ull << 63) + 5;  // the sum wraps to 5
  Status s = store->Begin(m);
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
}

// Issue 15, 7: a directory swapped for a symlink mid-transfer. Abort removes
// the temporary through the directory it holds; Commit publishes nothing.
TEST_F(FsStoreTest, DirectorySwappedForASymlinkLeavesNothingBehind) {
  fs::create_directory(root_ / "outside");
  for (int round = 0; round < 4; ++round) {
    const bool commit = round % 2 == 1;
    FsStoreOptions options;
    options.resolve_in_kernel = round < 2;  // then walk paths component by component
    auto store = FsStore::Open(dest_, 3, options).value();
    Manifest m;
    m.entries.push_back({EntryType::kDirectory, "d", 0755, 0, 0, {}});
    m.entries.push_back(File("d/f", "payload"));
    ASSERT_TRUE(store->Begin(m).ok());
    ASSERT_TRUE(store->Write(1, 0, Bytes("pay")).ok());
    std::vector<std::uint8_t> back(3);
    ASSERT_TRUE(store->Read(1, 0, back).ok());  // the temporary exists in d
    fs::rename(dest_ / "d", dest_ / "moved");
    fs::create_directory_symlink(root_ / "outside", dest_ / "d");
    if (commit) {
      ASSERT_TRUE(store->Write(1, 3, Bytes("load")).ok());
      EXPECT_EQ(store->Commit(1).kind(), ErrorKind::kUnsafePath);
    }
    store->Abort();
    EXPECT_TRUE(fs::is_empty(dest_ / "moved")) << "commit " << commit;
    EXPECT_TRUE(fs::is_empty(root_ / "outside")) << "commit " << commit;
    fs::remove(dest_ / "d");
    fs::remove(dest_ / "moved");
  }
  EXPECT_TRUE(ListAll().empty());
}

// Issue 15, 7: a receiver killed with kill -9 leaves its temporaries; the
// next store on that directory removes them, and its journal, but nothing
// of a store still alive.
TEST_F(FsStoreTest, TemporariesOfAKilledStoreAreRemovedByTheNext) {
  Manifest m;
  m.entries.push_back({EntryType::kDirectory, "sub", 0755, 0, 0, {}});
  m.entries.push_back(File("a", "aaaa"));
  m.entries.push_back(File("sub/b", "bbbb"));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = FsStore::Open(dest_, 0xDEAD).value();
    if (!store->Begin(m).ok() || !store->Write(1, 0, Bytes("aaaa")).ok() ||
        !store->Write(2, 0, Bytes("bb")).ok()) {
      _exit(1);
    }
    std::vector<std::uint8_t> back(2);
    if (!store->Read(1, 0, back).ok() || !store->Read(2, 0, back).ok()) _exit(1);
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed before it was killed";
  EXPECT_EQ(ListAll(), (std::vector<std::string>{".ardus-0000dead-1.part", ".ardus-0000dead.lock",
                                                 "sub", "sub/.ardus-0000dead-2.part"}));

  auto alive = FsStore::Open(dest_, 0xA11E).value();  // a live store: its files stay
  ASSERT_TRUE(alive->Begin(m).ok());
  ASSERT_TRUE(alive->Write(1, 0, Bytes("aa")).ok());
  std::vector<std::uint8_t> back(2);
  ASSERT_TRUE(alive->Read(1, 0, back).ok());
  EXPECT_EQ(alive->leftovers_removed(), 2u);

  auto next = FsStore::Open(dest_, 0xBEEF).value();
  EXPECT_EQ(next->leftovers_removed(), 0u);
  EXPECT_EQ(ListAll(),
            (std::vector<std::string>{alive->temp_name(1), alive->journal_name(), "sub"}));
  alive.reset();  // a store that ends removes its own
  EXPECT_EQ(ListAll(), (std::vector<std::string>{"sub"}));
}

// A dead store's journal is only a list of names: cleaning up follows no
// symlink and removes only regular files named as that store's temporaries.
TEST_F(FsStoreTest, LeftoverCleanupRemovesOnlyThatStoresTemporaries) {
  fs::create_directory(root_ / "outside");
  fs::create_directory(dest_ / "real");
  fs::create_directory_symlink(root_ / "outside", dest_ / "link");
  for (const char* name : {"outside/.ardus-00000bad-0.part"}) std::ofstream(root_ / name) << "x";
  for (const char* name : {"real/.ardus-00000bad-1.part", "real/.ardus-00000bad-x.part",
                           "real/.ardus-0000cafe-2.part", "real/keep.txt"}) {
    std::ofstream(dest_ / name) << "x";
  }
  fs::create_directory(dest_ / "real/.ardus-00000bad-3.part");
  std::ofstream(dest_ / ".ardus-00000bad.lock") << "ardus-store 1\n"
                                                << "part link/.ardus-00000bad-0.part\n"
                                                << "part ../outside/.ardus-00000bad-0.part\n"
                                                << "part real/.ardus-00000bad-1.part\n"
                                                << "part real/.ardus-00000bad-x.part\n"
                                                << "part real/.ardus-0000cafe-2.part\n"
                                                << "part real/.ardus-00000bad-3.part\n"
                                                << "part real/keep.txt\n"
                                                << "future-record real/keep.txt\n";
  auto store = FsStore::Open(dest_, 1).value();
  EXPECT_EQ(store->leftovers_removed(), 1u);
  EXPECT_TRUE(fs::exists(root_ / "outside/.ardus-00000bad-0.part"));
  EXPECT_FALSE(fs::exists(dest_ / "real/.ardus-00000bad-1.part"));
  for (const char* name : {"real/.ardus-00000bad-x.part", "real/.ardus-0000cafe-2.part",
                           "real/keep.txt", "real/.ardus-00000bad-3.part"}) {
    EXPECT_TRUE(fs::exists(dest_ / name)) << name;
  }
  EXPECT_FALSE(fs::exists(dest_ / ".ardus-00000bad.lock"));
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

namespace ardus {
namespace {

std::string Deep(const std::string& top, std::size_t components) {
  std::string path = top;
  for (std::size_t i = 1; i < components; ++i) path += "/d";
  return path;
}

// Attack round 2: 4000 entries nested thousands of levels cost Begin 43 s of
// CPU, opening every entry's parents component by component. Now each
// distinct directory is opened once (in whatever order the manifest names
// them), and each later lookup by name is one call.
TEST_F(FsStoreTest, DirectoriesCostOneLookupEachHoweverManyEntriesShareThem) {
  constexpr std::size_t kDepth = 250, kFiles = 200;
  auto store = FsStore::Open(dest_, 5).value();
  Manifest m;
  for (std::size_t i = 0; i < kFiles; ++i) {  // alternating between two deep trees
    m.entries.push_back(File(Deep(i % 2 ? "x" : "y", kDepth) + "/f" + std::to_string(i), ""));
  }
  ASSERT_TRUE(store->Begin(m).ok());
  // 2 × 250 directories, each created (openat, mkdirat, openat): 1500.
  // Entry by entry it was 200 × 250 openat calls, and more to create them.
  EXPECT_LE(store->directory_lookups(), 3 * 2 * kDepth);
  const std::uint64_t after_begin = store->directory_lookups();
  for (std::uint32_t i = 0; i < kFiles; ++i) ASSERT_TRUE(store->Commit(i).ok());
  ASSERT_TRUE(store->Finish().ok());
  EXPECT_TRUE(fs::exists(dest_ / (Deep("x", kDepth) + "/f1")));
  if (!store->resolves_in_kernel()) {
    GTEST_SKIP() << "no openat2(2) here: commits walk each path (Begin's bound held)";
  }
  // A temporary's directory and the check before publishing: one each.
  EXPECT_LE(store->directory_lookups() - after_begin, 2 * kFiles);
}

// A failed session removes the directories it created, deepest first, and
// nothing else: not one that existed before, not one someone else has put
// something into, not one whose name now holds another directory.
TEST_F(FsStoreTest, FailedSessionRemovesOnlyTheDirectoriesItCreated) {
  fs::create_directory(dest_ / "kept");
  fs::create_directory(root_ / "outside");
  fs::create_directory_symlink(root_ / "outside", dest_ / "zlink");
  auto store = FsStore::Open(dest_, 6).value();
  Manifest m;
  m.entries.push_back({EntryType::kDirectory, "kept/new", 0755, 0, 0, {}});
  m.entries.push_back(File("kept/new/deeper/f", "x"));
  m.entries.push_back(File("fresh/a/b/f", "y"));
  m.entries.push_back(File("used/f", "z"));
  m.entries.push_back(File("zlink/evil", "w"));  // refused last, in component order
  Status s = store->Begin(m);
  ASSERT_EQ(s.kind(), ErrorKind::kUnsafePath) << s.ToString();
  EXPECT_TRUE(fs::is_directory(dest_ / "kept/new/deeper"));
  std::ofstream(dest_ / "used/theirs") << "not the store's";
  fs::rename(dest_ / "fresh/a", dest_ / "moved");
  fs::create_directory(dest_ / "fresh/a");  // another directory under the created name
  store->Abort();
  EXPECT_EQ(ListAll(), (std::vector<std::string>{"fresh", "fresh/a", "kept", "moved", "moved/b",
                                                 "used", "used/theirs", "zlink"}));
  EXPECT_TRUE(fs::is_empty(root_ / "outside"));
}

// After Finish the directories are the session's, empty or not.
TEST_F(FsStoreTest, SucceededSessionKeepsItsEmptyDirectories) {
  {
    auto store = FsStore::Open(dest_, 7).value();
    Manifest m;
    m.entries.push_back({EntryType::kDirectory, "empty/inner", 0755, 0, 0, {}});
    ASSERT_TRUE(store->Begin(m).ok());
    ASSERT_TRUE(store->Finish().ok());
  }
  EXPECT_EQ(ListAll(), (std::vector<std::string>{"empty", "empty/inner"}));
}

}  // namespace
}  // namespace ardus
