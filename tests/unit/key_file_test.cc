// Key files: written 0600 (and FILE.pub), read back, refused when others may
// read them or when they hold no Ed25519 key, each error naming the path;
// fingerprint lists from the command line and from files.
#include "io/key_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "seal/random.h"

namespace ardus::net {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ardus-key-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static void Write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
  }
  std::string dir_;
};

TEST_F(KeyFileTest, WritesPrivateKeyOwnerOnlyAndReadsItBack) {
  seal::SeededRandom random(1);
  const seal::Identity id = seal::Identity::Generate(random);
  const std::string path = Path("id");
  ASSERT_TRUE(WriteIdentity(path, id).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((path + ".pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  Result<seal::Identity> back = LoadIdentity(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().public_key(), id.public_key());
  // Never overwritten.
  Status again = WriteIdentity(path, id);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find(path), std::string::npos);
  // The .pub file names the same fingerprint.
  Result<std::set<seal::Fingerprint>> fp = LoadFingerprints("@" + path + ".pub");
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(*fp.value().begin(), id.fingerprint());
}

TEST_F(KeyFileTest, RefusesAKeyOthersMayRead) {
  seal::SeededRandom random(2);
  const std::string path = Path("loose");
  ASSERT_TRUE(WriteIdentity(path, seal::Identity::Generate(random)).ok());
  for (mode_t mode : {0640, 0604, 0644}) {
    chmod(path.c_str(), mode);
    Result<seal::Identity> r = LoadIdentity(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("readable by group or others"), std::string::npos);
  }
}

TEST_F(KeyFileTest, BadAndMissingKeysNameTheirPath) {
  Write(Path("garbage"), "hello\n", 0600);
  Result<seal::Identity> bad = LoadIdentity(Path("garbage"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(Path("garbage") + ": bad key"), std::string::npos);
  Result<seal::Identity> missing = LoadIdentity(Path("none"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().kind(), ErrorKind::kLocalIo);
  EXPECT_NE(missing.status().message().find(Path("none")), std::string::npos);
  // A public key where a private one belongs.
  seal::SeededRandom random(3);
  Write(Path("pubonly"), seal::Identity::Generate(random).PublicPem(), 0600);
  EXPECT_FALSE(LoadIdentity(Path("pubonly")).ok());
}

TEST_F(KeyFileTest, FingerprintListsFromArgumentsAndFiles) {
  const std::string a(64, 'a'), b(64, 'b');
  ASSERT_TRUE(LoadFingerprints(a).ok());
  Result<std::set<seal::Fingerprint>> bad = LoadFingerprints("abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'abc'"), std::string::npos);
  Write(Path("list"), "# receivers\n" + a + "  lab-1\n\n" + b + "\n", 0644);
  Result<std::set<seal::Fingerprint>> list = LoadFingerprints("@" + Path("list"));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list.value().size(), 2u);
  Write(Path("badlist"), a + "\nnot-hex\n", 0644);
  Result<std::set<seal::Fingerprint>> badlist = LoadFingerprints("@" + Path("badlist"));
  ASSERT_FALSE(badlist.ok());
  EXPECT_NE(badlist.status().message().find(Path("badlist") + ":2:"), std::string::npos);
  EXPECT_FALSE(LoadFingerprints("@" + Path("absent")).ok());
  Write(Path("empty"), "# nobody\n", 0644);
  EXPECT_FALSE(LoadFingerprints("@" + Path("empty")).ok());
}

}  // namespace
}  // namespace ardus::net
