#include "io/fs_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace ardus {
namespace {
namespace fs = std::filesystem;

class FsSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ardus-source-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

// Receivers refuse a manifest with a path deeper than 255 components as a
// whole; the sender leaves such paths out (and lists them) instead.
TEST_F(FsSourceTest, PathsDeeperThanTheLimitAreSkippedAndListed) {
  fs::path dir = root_ / "top";
  for (std::size_t depth = 2; depth < kMaxPathComponents; ++depth) dir /= "d";
  fs::create_directories(dir / "d");  // "top", 253 × "d", then "d" and "last": 255 components
  std::ofstream(dir / "last") << "at the limit";
  std::ofstream(dir / "d" / "over") << "one too deep";
  Result<SourceTree> tree = ScanSources({(root_ / "top").string()}, DigestAlgorithm::kXxh128);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const auto& entries = tree.value().manifest.entries;
  ASSERT_FALSE(entries.empty());
  EXPECT_TRUE(std::any_of(entries.begin(), entries.end(),
                          [](const ManifestEntry& e) { return e.path.ends_with("/last"); }));
  EXPECT_TRUE(std::any_of(entries.begin(), entries.end(), [](const ManifestEntry& e) {
    return e.path.ends_with("/d") && std::count(e.path.begin(), e.path.end(), '/') == 254;
  }));
  EXPECT_FALSE(std::any_of(entries.begin(), entries.end(),
                           [](const ManifestEntry& e) { return e.path.ends_with("/over"); }));
  ASSERT_EQ(tree.value().skipped.size(), 1u);
  EXPECT_NE(tree.value().skipped[0].find("deeper than 255 components"), std::string::npos)
      << tree.value().skipped[0];
  // What is sent decodes: no receiver refuses it.
  Result<Manifest> sent = DecodeManifest(EncodeManifest(tree.value().manifest));
  EXPECT_TRUE(sent.ok()) << sent.status().ToString();
}

// Two arguments of one name would be one path twice on every receiver.
TEST_F(FsSourceTest, ArgumentsOfOneNameAreRefused) {
  fs::create_directories(root_ / "a");
  fs::create_directories(root_ / "b");
  std::ofstream(root_ / "a" / "same") << "1";
  std::ofstream(root_ / "b" / "same") << "2";
  Result<SourceTree> tree = ScanSources(
      {(root_ / "a" / "same").string(), (root_ / "b" / "same").string()}, DigestAlgorithm::kXxh128);
  EXPECT_EQ(tree.status().kind(), ErrorKind::kInvalidArgument) << tree.status().ToString();
}

}  // namespace
}  // namespace ardus
