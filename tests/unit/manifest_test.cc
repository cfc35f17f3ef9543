#include "ardus/manifest.h"

#include <gtest/gtest.h>

namespace ardus {
namespace {

Manifest Sample() {
  Manifest m;
  m.entries.push_back({EntryType::kDirectory, "tree", 0755, 1, 0, {}});
  m.entries.push_back({EntryType::kDirectory, "tree/empty dir", 0700, 2, 0, {}});
  m.entries.push_back({EntryType::kFile, "tree/zero", 0644, 3, 0, ComputeSha256({})});
  m.entries.push_back({EntryType::kFile, "tree/naïve café.txt", 0600, -5, 12, {}});
  return m;
}

TEST(Manifest, RoundTrip) {
  Manifest m = Sample();
  auto bytes = EncodeManifest(m);
  Result<Manifest> back = DecodeManifest(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value(), m);
  EXPECT_EQ(m.total_bytes(), 12u);
}

TEST(Manifest, RejectsHostilePaths) {
  for (const char* path : {"../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "a/./b", ".", "",
                           "a/", "..", "x/.."}) {
    EXPECT_EQ(ValidateRelativePath(path).kind(), ErrorKind::kUnsafePath) << path;
    Manifest m;
    m.entries.push_back({EntryType::kFile, path, 0644, 0, 0, {}});
    EXPECT_FALSE(DecodeManifest(EncodeManifest(m)).ok()) << path;
  }
  EXPECT_EQ(ValidateRelativePath(std::string("a\0b", 3)).kind(), ErrorKind::kUnsafePath);
  EXPECT_TRUE(ValidateRelativePath("a/b c/..d/e..").ok());
}

TEST(Manifest, ShortestEntriesDecode) {
  Manifest m;
  for (int i = 0; i < 3; ++i)
    m.entries.push_back({EntryType::kFile, std::string(1, 'a' + i), 0644, 0, 0, {}});
  EXPECT_TRUE(DecodeManifest(EncodeManifest(m)).ok());
}

TEST(Manifest, RejectsTruncationAndBombs) {
  auto bytes = EncodeManifest(Sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeManifest({bytes.data(), n}).ok()) << n;
  }
  auto bomb = bytes;
  bomb[4] = bomb[5] = bomb[6] = bomb[7] = 0xFF;  // 4 billion entries claimed
  EXPECT_EQ(DecodeManifest(bomb).status().kind(), ErrorKind::kPeerProtocol);
  auto dir_with_size = Sample();
  dir_with_size.entries[0].size = 5;
  EXPECT_FALSE(DecodeManifest(EncodeManifest(dir_with_size)).ok());
}

TEST(Manifest, Sha256KnownAnswer) {
  std::string abc = "abc";
  EXPECT_EQ(HexDigest(ComputeSha256({reinterpret_cast<const std::uint8_t*>(abc.data()), 3})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace ardus
