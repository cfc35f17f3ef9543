// The seal layer against the test vectors of docs/ardus-protocol.md
// ("Test vectors"): computed once with this code and checked against the
// `openssl` command and python3-cryptography (tests/unit/seal_vectors.sh), so
// they are not circular. Then its refusals: tampering, truncation, wrong
// packet numbers, replays, small-order keys, bad fingerprints.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "seal/identity.h"
#include "seal/key_schedule.h"
#include "seal/packet_cipher.h"
#include "seal/random.h"
#include "seal/replay_window.h"

namespace ardus::seal {
namespace {

std::string Hex(std::span<const std::uint8_t> b) {
  std::string s;
  char buf[3];
  for (auto x : b) {
    std::snprintf(buf, sizeof buf, "%02x", x);
    s += buf;
  }
  return s;
}

Key32 Counting(std::uint8_t first) {
  Key32 k;
  for (int i = 0; i < 32; ++i) k[i] = std::uint8_t(first + i);
  return k;
}

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(SealVectors, Ed25519IdentityFingerprintAndSignature) {
  Identity id = Identity::FromSeed(Counting(0x00));
  EXPECT_EQ(Hex(id.public_key()),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  EXPECT_EQ(FingerprintText(id.fingerprint()),
            "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c");
  const Signature sig = id.Sign(Bytes("ardus"));
  EXPECT_EQ(Hex(sig),
            "928de441de3e309912c4e069c797a1a9e6f5ed87e4ba66a6019884e3129506de"
            "4faa700e5495de5533b329931923fdc0f5608ee73d8e7b6ad59d0ad88513ce02");
  EXPECT_TRUE(Verify(id.public_key(), Bytes("ardus"), sig));
  EXPECT_FALSE(Verify(id.public_key(), Bytes("ardut"), sig));
  Signature bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(Verify(id.public_key(), Bytes("ardus"), bad));
  EXPECT_FALSE(Verify(Identity::FromSeed(Counting(1)).public_key(), Bytes("ardus"), sig));
}

TEST(SealVectors, PemRoundTripKeepsTheKey) {
  Identity id = Identity::FromSeed(Counting(0x00));
  EXPECT_EQ(id.PrivatePem(),
            "-----BEGIN PRIVATE KEY-----\n"
            "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
            "-----END PRIVATE KEY-----\n");
  Result<Identity> back = Identity::FromPem(id.PrivatePem());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().public_key(), id.public_key());
  Result<PublicKey> pub = PublicKeyFromPem(id.PublicPem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub.value(), id.public_key());
  EXPECT_FALSE(Identity::FromPem("not a key").ok());
  EXPECT_FALSE(Identity::FromPem(id.PublicPem()).ok());  // a public key is no identity
}

TEST(SealVectors, X25519Agreement) {
  KeyExchange a = KeyExchange::FromSeed(Counting(0x20));
  KeyExchange b = KeyExchange::FromSeed(Counting(0x40));
  EXPECT_EQ(Hex(a.public_key()),
            "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254");
  EXPECT_EQ(Hex(b.public_key()),
            "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a");
  Result<Key32> ab = a.Agree(b.public_key());
  Result<Key32> ba = b.Agree(a.public_key());
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(Hex(ab.value()), "04c304fb1ca83cee75e206344231f33797e07d9929db670994b7c6fbeb1dc255");
  EXPECT_EQ(ab.value(), ba.value());
  // A small-order point (here 0) would give an all-zero secret: refused.
  EXPECT_FALSE(a.Agree(PublicKey{}).ok());
}

TEST(SealVectors, HkdfExpandLabel) {
  Key32 shared;
  Result<Key32> ab = KeyExchange::FromSeed(Counting(0x20))
                         .Agree(KeyExchange::FromSeed(Counting(0x40)).public_key());
  ASSERT_TRUE(ab.ok());
  shared = ab.value();
  const Key32 prk = HkdfExtract({}, shared);
  EXPECT_EQ(Hex(prk), "6a90ea8299722a8e950b9f10160222d2a1fa665f7ae639727f9edb938db4cbcb");
  std::uint8_t key[32];
  ExpandLabel(prk, "data key", {}, key);
  EXPECT_EQ(Hex(key), "b6cdc337a3037ca5e576177abe152ddcaa5bebe71de3ef6bc9e207a666d2fb6c");
  std::uint8_t other[32];
  ExpandLabel(prk, "data iv", {}, other);
  EXPECT_NE(Hex(other), Hex(key));  // labels separate keys
}

TrafficKeys VectorKeys() {
  TrafficKeys k;
  k.key = Counting(0x60);
  for (int i = 0; i < 12; ++i) k.iv[i] = std::uint8_t(0xa0 + i);
  return k;
}

std::vector<std::uint8_t> VectorPacket() {
  static constexpr std::uint8_t kHeader[20] = {
      0xAD, 0x05, 0x02, 0x03, 0x5E, 0xED, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const std::string body = "hello, ardus";
  std::vector<std::uint8_t> p(20 + body.size() + kTagSize, 0);
  std::memcpy(p.data(), kHeader, 20);
  std::memcpy(p.data() + 20, body.data(), body.size());
  return p;
}

TEST(SealVectors, Aes256GcmSealAndOpen) {
  PacketCipher c(VectorKeys(), Protection::kSeal);
  std::vector<std::uint8_t> p = VectorPacket();
  ASSERT_EQ(c.Seal(1, p, 20, 12), p.size());
  EXPECT_EQ(Hex(p),
            "ad0502035eed0001000000000000000000000001"
            "9cb0f3d9f7827d93792d1566"
            "2748690accede28bb759e0d94162b257");
  std::uint8_t out[12];
  ASSERT_TRUE(c.Open(1, p, 20, out));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 12), "hello, ardus");
  // In place, too.
  ASSERT_TRUE(c.Open(1, p, 20, p.data() + 20));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(p.data() + 20), 12), "hello, ardus");
}

TEST(SealVectors, AuthModeTagsWithoutEncrypting) {
  PacketCipher c(VectorKeys(), Protection::kAuth);
  std::vector<std::uint8_t> p = VectorPacket();
  ASSERT_EQ(c.Seal(1, p, 20, 12), p.size());
  EXPECT_EQ(Hex(p),
            "ad0502035eed0001000000000000000000000001"
            "68656c6c6f2c206172647573"
            "4601f89a75d8e502a3137688c88564e0");
  std::uint8_t out[12];
  EXPECT_TRUE(c.Open(1, p, 20, out));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 12), "hello, ardus");
}

TEST(PacketCipher, EveryFlippedBitAndWrongNumberIsRefused) {
  for (Protection mode : {Protection::kSeal, Protection::kAuth}) {
    PacketCipher c(VectorKeys(), mode);
    std::vector<std::uint8_t> p = VectorPacket();
    c.Seal(7, p, 20, 12);
    std::uint8_t out[64];
    for (std::size_t i = 0; i < p.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::vector<std::uint8_t> q = p;
        q[i] ^= std::uint8_t(1 << bit);
        EXPECT_FALSE(c.Open(7, q, 20, out)) << "byte " << i << " bit " << bit;
      }
    }
    EXPECT_FALSE(c.Open(8, p, 20, out));  // the number is part of the nonce
    EXPECT_FALSE(c.Open(7, std::span(p).first(p.size() - 1), 20, out));  // truncated tag
    EXPECT_FALSE(c.Open(7, std::span(p).first(19), 20, out));            // shorter than a header
    PacketCipher other(TrafficKeys{Counting(0x61), VectorKeys().iv}, mode);
    EXPECT_FALSE(other.Open(7, p, 20, out));  // another key
    EXPECT_TRUE(c.Open(7, p, 20, out));
  }
}

TEST(PacketCipher, TwoStepOpenSplitsTheBodyAndStillChecksTheTag) {
  for (Protection mode : {Protection::kSeal, Protection::kAuth}) {
    PacketCipher c(VectorKeys(), mode);
    std::vector<std::uint8_t> p = VectorPacket();
    c.Seal(3, p, 20, 12);
    // The first 5 body bytes to one buffer, the other 7 to another.
    std::uint8_t head[5], rest[7];
    ASSERT_TRUE(c.BeginOpen(3, p, 20, 5, head));
    ASSERT_TRUE(c.FinishOpen(p, 20, 5, rest));
    EXPECT_EQ(std::string(reinterpret_cast<char*>(head), 5), "hello");
    EXPECT_EQ(std::string(reinterpret_cast<char*>(rest), 7), ", ardus");
    // A flipped bit in the rest fails at FinishOpen, in the head too.
    for (std::size_t at : {std::size_t{21}, std::size_t{29}, p.size() - 1}) {
      std::vector<std::uint8_t> q = p;
      q[at] ^= 0x10;
      ASSERT_TRUE(c.BeginOpen(3, q, 20, 5, head));
      EXPECT_FALSE(c.FinishOpen(q, 20, 5, rest)) << "byte " << at;
    }
    // A head longer than the body leaves no room for the tag.
    EXPECT_FALSE(c.BeginOpen(3, p, 20, 13, head));
    // The cipher is usable again after a failed open.
    ASSERT_TRUE(c.BeginOpen(3, p, 20, 5, head));
    EXPECT_TRUE(c.FinishOpen(p, 20, 5, rest));
  }
}

TEST(PacketCipher, NumbersNeverShareANonce) {
  // Two packets with the same bytes under consecutive numbers differ.
  PacketCipher c(VectorKeys(), Protection::kSeal);
  std::vector<std::uint8_t> a = VectorPacket(), b = VectorPacket();
  c.Seal(1, a, 20, 12);
  c.Seal(2, b, 20, 12);
  EXPECT_NE(std::vector(a.begin() + 20, a.end()), std::vector(b.begin() + 20, b.end()));
}

TEST(ReplayWindow, AcceptsEachNumberOnceWithinTheWindow) {
  ReplayWindow w;
  EXPECT_FALSE(w.MayAccept(0));
  for (std::uint64_t n : {1, 3, 2, 10}) {
    ASSERT_TRUE(w.MayAccept(n)) << n;
    w.Accept(n);
    EXPECT_FALSE(w.MayAccept(n)) << n;
  }
  EXPECT_TRUE(w.MayAccept(9));  // late but new
  w.Accept(10 + ReplayWindow::kSize);
  EXPECT_FALSE(w.MayAccept(10));  // fell out of the window
  EXPECT_TRUE(w.MayAccept(11));   // the oldest still inside
  EXPECT_FALSE(w.MayAccept(9));
  // Sliding clears the words it passes: numbers seen before are not
  // mistaken for the new ones sharing their slot.
  ReplayWindow v;
  for (std::uint64_t n = 1; n <= 3 * ReplayWindow::kSize; ++n) {
    ASSERT_TRUE(v.MayAccept(n)) << n;
    v.Accept(n);
  }
  for (std::uint64_t n = 2 * ReplayWindow::kSize + 1; n <= 3 * ReplayWindow::kSize; ++n)
    ASSERT_FALSE(v.MayAccept(n)) << n;
  v.Accept(5 * ReplayWindow::kSize);  // a jump larger than the window
  EXPECT_TRUE(v.MayAccept(5 * ReplayWindow::kSize - 1));
  EXPECT_FALSE(v.MayAccept(5 * ReplayWindow::kSize));
}

TEST(Fingerprint, ParsesHexWithOrWithoutColons) {
  const Fingerprint f = Identity::FromSeed(Counting(0)).fingerprint();
  const std::string text = FingerprintText(f);
  ASSERT_TRUE(ParseFingerprint(text).ok());
  EXPECT_EQ(ParseFingerprint(text).value(), f);
  std::string upper = text;
  for (char& c : upper) c = char(std::toupper(c));
  EXPECT_EQ(ParseFingerprint(upper).value(), f);
  std::string colons;
  for (std::size_t i = 0; i < text.size(); i += 2) colons += (i ? ":" : "") + text.substr(i, 2);
  EXPECT_EQ(ParseFingerprint(colons).value(), f);
  EXPECT_FALSE(ParseFingerprint(text.substr(1)).ok());
  EXPECT_FALSE(ParseFingerprint(text + "0").ok());
  EXPECT_FALSE(ParseFingerprint("zz" + text.substr(2)).ok());
}

TEST(SeededRandom, SameSeedSameBytes) {
  SeededRandom a(5), b(5), c(6);
  EXPECT_EQ(a.Key(), b.Key());
  EXPECT_NE(a.Key(), c.Key());
}

}  // namespace
}  // namespace ardus::seal
