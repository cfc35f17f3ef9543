#include "ardus/manifest.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace ardus {
namespace {

Manifest Sample() {
  Manifest m;
  m.entries.push_back({EntryType::kDirectory, "tree", 0755, 1, 0, {}});
  m.entries.push_back({EntryType::kDirectory, "tree/empty dir", 0700, 2, 0, {}});
  m.entries.push_back(
      {EntryType::kFile, "tree/zero", 0644, 3, 0, ComputeDigest(DigestAlgorithm::kXxh128, {})});
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

TEST(Manifest, RoundTripWithSha256Digests) {
  Manifest m = Sample();
  m.digest = DigestAlgorithm::kSha256;
  m.entries[2].digest = ComputeSha256({});
  Result<Manifest> back = DecodeManifest(EncodeManifest(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value(), m);
}

TEST(Manifest, RejectsUnknownDigestAlgorithmAndXxh128Padding) {
  auto bytes = EncodeManifest(Sample());
  ASSERT_EQ(bytes[4], static_cast<std::uint8_t>(DigestAlgorithm::kXxh128));
  for (std::uint8_t algorithm : {0, 3, 255}) {
    auto bad = bytes;
    bad[4] = algorithm;
    EXPECT_EQ(DecodeManifest(bad).status().kind(), ErrorKind::kPeerProtocol) << int(algorithm);
  }
  Manifest padded = Sample();
  padded.entries[2].digest[31] = 1;  // an XXH3-128 digest is 16 bytes, then zeros
  EXPECT_EQ(DecodeManifest(EncodeManifest(padded)).status().kind(), ErrorKind::kPeerProtocol);
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

// The spec says paths are UTF-8: ill-formed sequences and control
// characters (which would reach terminals, logs and JSON) are refused, and
// the refusal's message is itself printable.
TEST(Manifest, RejectsIllFormedUtf8AndControlCharacters) {
  const std::string bad[] = {
      "bad\xFF"
      "byte",                   // never valid
      "over\xC0\xAFlong",       // overlong '/'
      "over\xE0\x80\xAFlong",   // overlong '/', 3 bytes
      "surrogate\xED\xA0\x80",  // U+D800
      "big\xF4\x90\x80\x80",    // U+110000
      "cut\xE2\x82",            // truncated sequence
      "lone\x80"
      "continuation",
      "new\nline",
      "esc\x1B[31mred",
      "del\x7F",
      "c1\xC2\x9B"
      "csi",  // U+009B, CSI
      "tab\tname",
  };
  for (const std::string& path : bad) {
    Status s = ValidateRelativePath(path);
    EXPECT_EQ(s.kind(), ErrorKind::kUnsafePath) << Printable(path);
    EXPECT_TRUE(IsWellFormedUtf8(s.message())) << s.message();
    for (char c : s.message()) EXPECT_FALSE(c >= 0 && c < 0x20) << Printable(path);
    Manifest m;
    m.entries.push_back({EntryType::kFile, path, 0644, 0, 0, {}});
    EXPECT_EQ(DecodeManifest(EncodeManifest(m)).status().kind(), ErrorKind::kUnsafePath);
  }
  EXPECT_NE(ValidateRelativePath("new\nline").message().find("new\\x0Aline"), std::string::npos);
  for (const char* good : {"na\xC3\xAFve \xC3\xBC"
                           "ber",
                           "\xD1\x84\xD0\xB0\xD0\xB9\xD0\xBB", "\xE2\x82\xAC",
                           "\xF0\x9F\x98\x80 emoji", "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(ValidateRelativePath(good).ok()) << good;
  }
}

TEST(Manifest, LimitsAndReservedNames) {
  EXPECT_TRUE(ValidateRelativePath(std::string(255, 'a')).ok());
  EXPECT_FALSE(ValidateRelativePath(std::string(256, 'a')).ok());
  std::string longest;
  while (longest.size() + 201 <= kMaxPathBytes) longest += std::string(200, 'b') + "/";
  longest += std::string(kMaxPathBytes - longest.size(), 'c');
  EXPECT_TRUE(ValidateRelativePath(longest).ok());
  EXPECT_FALSE(ValidateRelativePath(longest + "c").ok());
  EXPECT_FALSE(ValidateRelativePath(".ardus-0000abcd-3.part").ok());
  EXPECT_FALSE(ValidateRelativePath("d/.ardus-0000abcd.lock").ok());
  EXPECT_TRUE(ValidateRelativePath("d/x.ardus-1.part").ok());
}

TEST(Manifest, DepthIsLimited) {
  std::string deepest = "d";
  for (std::size_t i = 1; i < kMaxPathComponents; ++i) deepest += "/d";
  EXPECT_TRUE(ValidateRelativePath(deepest).ok());
  Status s = ValidateRelativePath(deepest + "/d");
  EXPECT_EQ(s.kind(), ErrorKind::kUnsafePath) << s.ToString();
  EXPECT_NE(s.message().find("more than 255 components"), std::string::npos) << s.ToString();
  Manifest m;
  m.entries.push_back({EntryType::kFile, deepest + "/f", 0644, 0, 0, {}});
  EXPECT_EQ(DecodeManifest(EncodeManifest(m)).status().kind(), ErrorKind::kUnsafePath);
}

// '/' sorts before every byte: a path's descendants follow it at once,
// before its siblings that extend its last name ("a-b" sorts between "a"
// and "a/b" byte by byte).
TEST(Manifest, PathComponentOrder) {
  EXPECT_TRUE(PathComponentLess("a", "a/b"));
  EXPECT_TRUE(PathComponentLess("a/b", "a-b"));
  EXPECT_TRUE(PathComponentLess("a/z", "a-b"));
  EXPECT_FALSE(PathComponentLess("a-b", "a/z"));
  EXPECT_TRUE(PathComponentLess("a", "b"));
  EXPECT_FALSE(PathComponentLess("a", "a"));
  EXPECT_TRUE(PathComponentLess("x/\xc3\xa9", "x/\xc3\xa9/a"));
  EXPECT_TRUE(PathComponentLess(std::string(40, 'p') + "/q", std::string(40, 'p') + "!"));
}

// Two entries landing on one name: the second would replace the first (or
// fail half-way through Begin); refused as a whole before anything is written.
TEST(Manifest, RefusesCollidingPaths) {
  using E = ManifestEntry;
  const E file_a{EntryType::kFile, "a", 0644, 0, 0, {}};
  const E dir_a{EntryType::kDirectory, "a", 0755, 0, 0, {}};
  const E file_ab{EntryType::kFile, "a/b", 0644, 0, 0, {}};
  const E file_abc{EntryType::kFile, "a/b/c", 0644, 0, 0, {}};
  const E file_a_dash{EntryType::kFile, "a-b", 0644, 0, 0, {}};
  const E file_aa{EntryType::kFile, "aa", 0644, 0, 0, {}};
  const std::vector<std::pair<std::vector<E>, std::string>> refused = {
      {{file_a, file_a}, "'a' is named twice"},
      {{dir_a, dir_a}, "'a' is named twice"},
      {{dir_a, file_a}, "'a' is named twice"},
      {{file_ab, file_a}, "'a' is a file, but 'a/b' goes through it"},
      {{file_a, file_a_dash, file_abc}, "'a' is a file, but 'a/b/c' goes through it"},
      {{file_aa, file_a_dash, file_ab, file_a}, "'a' is a file, but 'a/b' goes through it"},
  };
  for (const auto& [entries, why] : refused) {
    Manifest m;
    m.entries = entries;
    EXPECT_EQ(FindPathCollision(m.entries).value_or("none"), why);
    Status s = DecodeManifest(EncodeManifest(m)).status();
    EXPECT_EQ(s.kind(), ErrorKind::kPeerProtocol) << s.ToString();
    EXPECT_EQ(s.message(), "malformed manifest: " + why);
  }
  const std::vector<std::vector<E>> fine = {{dir_a, file_ab},  {file_ab, dir_a},
                                            {file_abc, dir_a}, {file_a, file_aa, file_a_dash},
                                            {file_abc},        {}};
  for (const auto& entries : fine) {
    Manifest m;
    m.entries = entries;
    EXPECT_EQ(FindPathCollision(m.entries), std::nullopt) << entries.size();
    EXPECT_TRUE(DecodeManifest(EncodeManifest(m)).ok());
  }
}

// Receivers keep state per entry: a manifest of more entries than the limit
// is refused before any is decoded.
TEST(Manifest, EntryCountIsLimited) {
  for (std::size_t count : {kMaxManifestEntries, kMaxManifestEntries + 1}) {
    Manifest many;  // distinct names: a name twice is refused on its own
    many.entries.resize(count);
    for (std::size_t i = 0; i < count; ++i) many.entries[i].path = std::to_string(i);
    Result<Manifest> m = DecodeManifest(EncodeManifest(many));
    if (count == kMaxManifestEntries) {
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      EXPECT_EQ(m.value().entries.size(), count);
    } else {
      EXPECT_EQ(m.status().kind(), ErrorKind::kLimitExceeded) << m.status().ToString();
    }
  }
}

// A sum of sizes that does not fit 64 bits saturates: a free-space check
// against it cannot be wrapped past.
TEST(Manifest, TotalBytesSaturates) {
  Manifest m;
  m.entries.push_back({EntryType::kFile, "a", 0644, 0, 1ull << 63, {}});
  m.entries.push_back({EntryType::kFile, "b", 0644, 0, (1ull << 63) + 5, {}});
  EXPECT_EQ(m.total_bytes(), UINT64_MAX);
  m.entries.pop_back();
  m.entries.push_back({EntryType::kFile, "b", 0644, 0, 5, {}});
  EXPECT_EQ(m.total_bytes(), (1ull << 63) + 5);
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
  bomb[5] = bomb[6] = bomb[7] = bomb[8] = 0xFF;  // 4 billion entries claimed
  EXPECT_EQ(DecodeManifest(bomb).status().kind(), ErrorKind::kPeerProtocol);
  auto dir_with_size = Sample();
  dir_with_size.entries[0].size = 5;
  EXPECT_FALSE(DecodeManifest(EncodeManifest(dir_with_size)).ok());
}

TEST(Manifest, Xxh128KnownAnswer) {
  // XXH3-128 of the empty input (xxHash's published test value), then padding.
  EXPECT_EQ(HexDigest(ComputeDigest(DigestAlgorithm::kXxh128, {})),
            "99aa06d3014798d86001c324468d497f" + std::string(32, '0'));
  ContentHasher split(DigestAlgorithm::kXxh128);
  std::string text = "multicast file transfer";
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  split.Update(bytes.first(7));
  split.Update(bytes.subspan(7));
  EXPECT_EQ(split.Finish(), ComputeDigest(DigestAlgorithm::kXxh128, bytes));
}

TEST(Manifest, DigestNamesParse) {
  for (DigestAlgorithm a : {DigestAlgorithm::kSha256, DigestAlgorithm::kXxh128}) {
    EXPECT_EQ(ParseDigestAlgorithm(DigestName(a)), a);
  }
  EXPECT_FALSE(ParseDigestAlgorithm("md5").has_value());
}

TEST(Manifest, WorkedExampleFromTheSpec) {
  std::string hello = "hello";
  Manifest m;
  m.entries.push_back({EntryType::kFile, "a.txt", 0644, 0, 5,
                       ComputeDigest(DigestAlgorithm::kXxh128,
                                     {reinterpret_cast<const std::uint8_t*>(hello.data()), 5})});
  std::vector<std::uint8_t> expected = {0x41, 0x52, 0x4D, 0x32, 0x02, 0,    0,    0,    1,    0,
                                        0,    0,    0x01, 0xA4, 0,    0,    0,    0,    0,    0,
                                        0,    0,    0,    0,    0,    0,    0,    0,    0,    5,
                                        0xB5, 0xE9, 0xC1, 0xAD, 0x07, 0x1B, 0x3E, 0x7F, 0xC7, 0x79,
                                        0xCF, 0xAA, 0x5E, 0x52, 0x38, 0x18};
  expected.resize(expected.size() + 16, 0);
  for (std::uint8_t b : {0x00, 0x05, 0x61, 0x2E, 0x74, 0x78, 0x74}) expected.push_back(b);
  EXPECT_EQ(EncodeManifest(m), expected);
}

TEST(Manifest, Sha256KnownAnswer) {
  std::string abc = "abc";
  EXPECT_EQ(HexDigest(ComputeSha256({reinterpret_cast<const std::uint8_t*>(abc.data()), 3})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace ardus
