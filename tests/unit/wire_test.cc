#include "ardus/wire.h"

#include <gtest/gtest.h>

#include <random>

namespace ardus::wire {
namespace {

std::vector<std::uint8_t> EncodeToVector(const Packet& p) {
  std::vector<std::uint8_t> buf(kMaxDatagram);
  std::size_t n = Encode(p, buf);
  EXPECT_GT(n, 0u);
  buf.resize(n);
  return buf;
}

template <typename T>
T RoundTrip(const T& body, std::uint32_t session = 0x01020304) {
  auto bytes = EncodeToVector(Packet{session, body});
  Result<Packet> decoded = Decode(bytes);
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded.value().session_id, session);
  return std::get<T>(decoded.value().body);
}

TEST(Wire, AnnounceRoundTrip) {
  Announce a;
  a.data_group = 0xEFFF0B11;
  a.data_port = 1117;
  a.feedback_port = 1834;
  a.symbol_size = 1456;
  a.block_symbols = 200;
  a.manifest_size = 99;
  a.manifest_sha256[0] = 0xAB;
  a.manifest_sha256[31] = 0xCD;
  a.total_bytes = 5'000'000'000ull;
  a.sent_at_ns = 123456789;
  a.flags = kFlagRateAdaptive;
  a.window_blocks = 12;
  Announce b = RoundTrip(a);
  EXPECT_EQ(b.window_blocks, 12);
  EXPECT_EQ(b.data_group, a.data_group);
  EXPECT_EQ(b.symbol_size, 1456);
  EXPECT_EQ(b.manifest_sha256, a.manifest_sha256);
  EXPECT_EQ(b.total_bytes, a.total_bytes);
  EXPECT_EQ(b.sent_at_ns, a.sent_at_ns);
  EXPECT_EQ(b.flags, kFlagRateAdaptive);
}

// The spec's field limits for ANNOUNCE: a multicast data group and at most
// 64 blocks per repair window, else the datagram is malformed.
TEST(Wire, AnnounceOutsideTheFieldLimitsIsMalformed) {
  Announce a;
  a.data_group = 0xE0000001;  // 224.0.0.1
  a.data_port = a.feedback_port = 1;
  a.symbol_size = 1456;
  a.block_symbols = 200;
  a.window_blocks = kMaxWindowBlocks;
  EXPECT_TRUE(Decode(EncodeToVector(Packet{1, a})).ok());
  for (std::uint32_t group : {0x0A000001u, 0xDFFFFFFFu, 0xF0000000u, 0u}) {
    Announce bad = a;
    bad.data_group = group;
    EXPECT_EQ(Decode(EncodeToVector(Packet{1, bad})).status().kind(), ErrorKind::kPeerProtocol)
        << std::hex << group;
  }
  Announce wide = a;
  wide.window_blocks = kMaxWindowBlocks + 1;
  EXPECT_FALSE(Decode(EncodeToVector(Packet{1, wide})).ok());
}

TEST(Wire, DataRoundTripKeepsPayload) {
  std::vector<std::uint8_t> symbol(kDefaultSymbolSize);
  for (std::size_t i = 0; i < symbol.size(); ++i) symbol[i] = static_cast<std::uint8_t>(i * 7);
  auto bytes = EncodeToVector(Packet{9, Data{0xDEADBEEF, 254, 0xFFFE, symbol}});
  EXPECT_EQ(bytes.size(), kMaxDatagram);  // the default symbol fills a 1500-byte MTU exactly
  auto d = std::get<Data>(Decode(bytes).value().body);
  EXPECT_EQ(d.block, 0xDEADBEEFu);
  EXPECT_EQ(d.esi, 254);
  EXPECT_EQ(d.seq, 0xFFFE);
  EXPECT_TRUE(std::equal(symbol.begin(), symbol.end(), d.symbol.begin(), d.symbol.end()));
}

TEST(Wire, NakAdvertDoneRoundTrip) {
  Nak n{7, 42, {{1, 2, 3}, {100, 1, kWholeBlock}}};
  Nak n2 = RoundTrip(n);
  EXPECT_EQ(n2.receiver_id, 7u);
  EXPECT_EQ(n2.poll_id, 42u);
  EXPECT_EQ(n2.needs, n.needs);
  Advert a{5, {{0, 10, 4}}, {{16, 7}}};
  EXPECT_EQ(RoundTrip(a).planned, a.planned);
  EXPECT_EQ(RoundTrip(a).windows, a.windows);
  Nak w{7, 43, {{16, 3, 2}}, {{16, 5}, {32, 1}}};
  EXPECT_EQ(RoundTrip(w).windows, w.windows);
  Done d{3, DoneStatus::kFailed, 10, 20, "no-space: disk full"};
  Done d2 = RoundTrip(d);
  EXPECT_EQ(d2.status, DoneStatus::kFailed);
  EXPECT_EQ(d2.reason, d.reason);
  EXPECT_EQ(RoundTrip(Poll{1, 2, 3, 4, 5}).group_size, 5u);
  EXPECT_EQ(RoundTrip(Join{77, 88}).echo_ns, 88u);
  EXPECT_EQ(RoundTrip(StatusMsg{1, 2, 3, 4}).loss_ppm, 4u);
  EXPECT_EQ(RoundTrip(DoneAck{9}).receiver_id, 9u);
  (void)RoundTrip(End{});
}

// The worked example of docs/ardus-protocol.md: a JOIN, byte for byte.
TEST(Wire, JoinMatchesSpecExample) {
  auto bytes = EncodeToVector(Packet{0x5EED0001, Join{0x0000BEEF, 1'000'000'000}});
  std::vector<std::uint8_t> spec = {0xAD, 0x05, 0x01, 0x02, 0x5E, 0xED, 0x00, 0x01, 0x00, 0x00,
                                    0xBE, 0xEF, 0x00, 0x00, 0x00, 0x00, 0x3B, 0x9A, 0xCA, 0x00};
  EXPECT_EQ(bytes, spec);
}

// The second worked example: a NAK for blocks 40..42, 5 symbols short each.
TEST(Wire, NakMatchesSpecExample) {
  auto bytes = EncodeToVector(Packet{0x5EED0001, Nak{0x0000BEEF, 7, {{40, 3, 5}}}});
  std::vector<std::uint8_t> spec = {0xAD, 0x05, 0x01, 0x05, 0x5E, 0xED, 0x00, 0x01, 0x00, 0x00,
                                    0xBE, 0xEF, 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00,
                                    0x00, 0x28, 0x00, 0x00, 0x00, 0x03, 0x00, 0x05, 0x00, 0x00};
  EXPECT_EQ(bytes, spec);
}

// The ADVERT example: parity 1 for blocks 32..47, 36 window symbols for the
// window at block 32.
TEST(Wire, AdvertMatchesSpecExample) {
  auto bytes = EncodeToVector(Packet{0x5EED0001, Advert{9, {{32, 16, 1}}, {{32, 36}}}});
  std::vector<std::uint8_t> spec = {0xAD, 0x05, 0x01, 0x06, 0x5E, 0xED, 0x00, 0x01,
                                    0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x00, 0x00,
                                    0x00, 0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01,
                                    0x00, 0x01, 0x00, 0x00, 0x00, 0x20, 0x00, 0x24};
  EXPECT_EQ(bytes, spec);
}

TEST(Wire, RejectsForeignAndMalformed) {
  auto good = EncodeToVector(Packet{1, Join{2, 3}});
  auto bad_magic = good;
  bad_magic[0] = 0;
  EXPECT_EQ(Decode(bad_magic).status().kind(), ErrorKind::kPeerProtocol);
  auto bad_version = good;
  bad_version[2] = 2;
  EXPECT_NE(Decode(bad_version).status().message().find("version 2"), std::string::npos);
  auto bad_type = good;
  bad_type[3] = 200;
  EXPECT_FALSE(Decode(bad_type).ok());
  auto trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(Decode(trailing).ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(Decode({good.data(), n}).ok()) << "truncated to " << n;
  }
  std::vector<std::uint8_t> huge(kMaxDatagram + 1, 0);
  EXPECT_FALSE(Decode(huge).ok());
}

TEST(Wire, RejectsInvalidFieldValues) {
  std::vector<std::uint8_t> symbol(kDefaultSymbolSize);
  auto data = EncodeToVector(Packet{1, Data{0, 10, 0, symbol}});
  data[13] = 255;  // esi 255 does not exist in GF(2^8) RS
  EXPECT_FALSE(Decode(data).ok());
  data[12] = 1;  // esi 511: a window symbol
  EXPECT_TRUE(Decode(data).ok());
  EXPECT_FALSE(Decode(EncodeToVector(Packet{1, Nak{1, 1, {}, {{16, 0}}}})).ok());  // 0 symbols
  EXPECT_FALSE(Decode(EncodeToVector(Packet{1, Nak{1, 1, {{0, 0, 1}}}})).ok());    // count 0
  EXPECT_FALSE(Decode(EncodeToVector(Packet{1, Poll{1, 9, 3, 0, 1}})).ok());       // reversed
  Announce a;
  a.symbol_size = 10;
  a.block_symbols = 1;
  a.data_port = a.feedback_port = 1;
  EXPECT_FALSE(Decode(EncodeToVector(Packet{1, a})).ok());
}

TEST(Wire, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> buf(kMaxDatagram);
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::size_t n = rng() % buf.size();
    for (std::size_t j = 0; j < n; ++j) buf[j] = static_cast<std::uint8_t>(rng());
    if (i % 2) {  // a valid header makes the body decoders do the work
      buf[0] = 0xAD, buf[1] = 0x05, buf[2] = 1, buf[3] = 1 + rng() % 10;
    }
    accepted += Decode({buf.data(), n}).ok();
  }
  EXPECT_LT(accepted, 20000u);
}

TEST(Wire, NakBackoffIsATruncatedExponential) {
  EXPECT_DOUBLE_EQ(NakBackoffFraction(0, 100), 0);
  EXPECT_NEAR(NakBackoffFraction(0.999999, 100), 1, 1e-5);
  EXPECT_NEAR(NakBackoffFraction(0.5, 1), 0.62, 0.01);  // small groups: close to uniform
  // In a group of 1000 only about 1% of receivers answer in the first 25% of the window.
  EXPECT_GT(NakBackoffFraction(0.01, 1000), 0.25);
}

TEST(Wire, MaxRangesFitOneDatagram) {
  // The most a NAK carries fits a datagram even inside the version 2
  // envelope (what the engines encode into: kSealOverhead bytes less), and
  // one more entry does not.
  EXPECT_EQ(MaxRangesPerDatagram(), 142u);
  Nak n{1, 1, std::vector<NeedRange>(MaxRangesPerDatagram(), NeedRange{1, 1, 1})};
  std::vector<std::uint8_t> buf(kMaxDatagram - kSealOverhead);
  EXPECT_GT(Encode(Packet{1, n}, buf), 0u);
  n.needs.push_back({1, 1, 1});
  EXPECT_EQ(Encode(Packet{1, n}, buf), 0u);
}

TEST(Wire, SealedHeaderRoundTripAndRefusals) {
  std::vector<std::uint8_t> d(kSealedHeaderSize + kTagSize, 0);
  EncodeSealedHeader({5, 0x5EED0001, 0xBEEF, 42}, d);
  EXPECT_EQ(VersionOf(d), kSealedVersion);
  Result<SealedHeader> h = DecodeSealedHeader(d);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value().type, 5);
  EXPECT_EQ(h.value().session_id, 0x5EED0001u);
  EXPECT_EQ(h.value().key_id, 0xBEEFu);
  EXPECT_EQ(h.value().packet_number, 42u);
  EXPECT_FALSE(DecodeSealedHeader(std::span(d).first(d.size() - 1)).ok());  // no room for a tag
  std::vector<std::uint8_t> zero = d;
  EncodeSealedHeader({5, 1, 1, 0}, zero);
  EXPECT_FALSE(DecodeSealedHeader(zero).ok());  // packet number 0
  std::vector<std::uint8_t> bad = d;
  bad[3] = 12;
  EXPECT_FALSE(DecodeSealedHeader(bad).ok());  // unknown type
  bad = d;
  bad[2] = 1;
  EXPECT_FALSE(DecodeSealedHeader(bad).ok());  // version 1 is not an envelope
}

}  // namespace
}  // namespace ardus::wire
