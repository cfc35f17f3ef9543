// REX framing and the server connection's handshake and limits.
#include <gtest/gtest.h>

#include <random>

#include "rex/body.h"
#include "rex/frame.h"
#include "rex/server_connection.h"

namespace ardus::rex {
namespace {

std::vector<std::uint8_t> Encode(const std::vector<Frame>& frames) {
  std::vector<std::uint8_t> out;
  for (const auto& f : frames) AppendFrame(f, out);
  return out;
}

std::vector<Frame> Sample() {
  std::vector<Frame> frames;
  for (std::uint32_t i = 0; i < 20; ++i) {
    Frame f;
    f.kind = i % 2 ? Kind::kRequest : Kind::kReply;
    f.method = static_cast<std::uint16_t>(30 + i);
    f.id = 1000 + i;
    f.body.assign(i * 37 % 300, static_cast<std::uint8_t>(i));
    frames.push_back(std::move(f));
  }
  return frames;
}

void ExpectSame(const std::vector<Frame>& a, const std::vector<Frame>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].method, b[i].method);
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].body, b[i].body);
  }
}

TEST(RexFrame, WorkedExampleBytes) {
  // docs/rex-protocol.md: REQUEST method 30, id 7, body {} (0x80).
  std::vector<std::uint8_t> out;
  std::uint8_t body[] = {0x80};
  AppendFrame(Kind::kRequest, 30, 7, body, out);
  std::vector<std::uint8_t> want = {0, 0, 0, 9, 2, 0, 0, 30, 0, 0, 0, 7, 0x80};
  EXPECT_EQ(out, want);
  // And the HELLO example: body {"version": 1}.
  BodyWriter w;
  w.Map(1).Key("version").Uint(1);
  out.clear();
  AppendFrame(Kind::kHello, 0, 0, w.bytes(), out);
  std::vector<std::uint8_t> hello = {0x00, 0x00, 0x00, 0x12, 0x01, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x81, 0xa7, 'v',  'e',
                                     'r',  's',  'i',  'o',  'n',  0x01};
  EXPECT_EQ(out, hello);
}

TEST(RexFrame, AnySplitOfTheStreamParsesTheSame) {
  auto frames = Sample();
  auto bytes = Encode(frames);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    FrameParser p;
    std::vector<Frame> got;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      std::size_t n = trial == 0 ? 1 : std::uniform_int_distribution<std::size_t>(1, 700)(rng);
      n = std::min(n, bytes.size() - pos);
      p.Feed({bytes.data() + pos, n});
      pos += n;
      Frame f;
      while (p.Next(&f)) got.push_back(f);
      ASSERT_FALSE(p.failed());
    }
    ExpectSame(frames, got);
    EXPECT_EQ(p.buffered(), 0u);
  }
}

TEST(RexFrame, OversizedIsRefusedFromTheLengthAlone) {
  FrameParser p(1024);
  std::uint8_t len[] = {0x00, 0x10, 0x00, 0x00};  // 1 MiB declared
  p.Feed(len);
  Frame f;
  EXPECT_FALSE(p.Next(&f));
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.error().code, Code::kFrameTooLarge);
  EXPECT_LE(p.buffered(), 4u);
}

TEST(RexFrame, MalformedHeaders) {
  for (auto bytes : {std::vector<std::uint8_t>{0, 0, 0, 3, 2, 0, 0, 0, 0, 0, 0, 0},
                     std::vector<std::uint8_t>{0, 0, 0, 8, 9, 0, 0, 0, 0, 0, 0, 0}}) {
    FrameParser p;
    p.Feed(bytes);
    Frame f;
    EXPECT_FALSE(p.Next(&f));
    ASSERT_TRUE(p.failed());
    EXPECT_EQ(p.error().code, Code::kBadFrame);
  }
}

std::vector<Frame> Drain(ServerConnection& c) {
  FrameParser p;
  p.Feed(c.pending());
  c.Consumed(c.pending().size());
  std::vector<Frame> out;
  Frame f;
  while (p.Next(&f)) out.push_back(f);
  return out;
}

std::vector<std::uint8_t> Hello(std::uint64_t version) {
  BodyWriter w;
  w.Map(1).Key("version").Uint(version);
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kHello, 0, 0, w.bytes(), out);
  return out;
}

TEST(RexServerConnection, RequestBeforeHelloIsRefusedAndClosed) {
  ServerConnection c("t", {"trader"});
  std::vector<Frame> requests;
  std::vector<std::uint8_t> req;
  AppendFrame(Kind::kRequest, 30, 1, {}, req);
  c.OnBytes(req, requests);
  EXPECT_TRUE(requests.empty());
  EXPECT_TRUE(c.closing());
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kError);
  EXPECT_EQ(ParseErrorBody(out[0].body).code, Code::kHandshakeRequired);
}

TEST(RexServerConnection, VersionMismatch) {
  ServerConnection c("t", {"trader"});
  std::vector<Frame> requests;
  c.OnBytes(Hello(2), requests);
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseErrorBody(out[0].body).code, Code::kUnsupportedVersion);
  EXPECT_TRUE(c.closing());
}

TEST(RexServerConnection, HandshakeThenRequestsInOneSegment) {
  ServerConnection c("t", {"trader"});
  auto bytes = Hello(1);
  AppendFrame(Kind::kRequest, 30, 1, {}, bytes);
  AppendFrame(Kind::kRequest, 31, 2, {}, bytes);
  std::vector<Frame> requests;
  c.OnBytes(bytes, requests);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].id, 2u);
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHello);
  EXPECT_FALSE(c.closing());
}

TEST(RexServerConnection, PushesBeyondTheBoundCloseTheConnection) {
  ServerConnection c("t", {"trader"}, ConnectionLimits{1024, 4096});
  std::vector<Frame> requests;
  c.OnBytes(Hello(1), requests);
  std::vector<std::uint8_t> body(1000, 1);
  int accepted = 0;
  while (c.Push(42, 1, body)) ++accepted;
  EXPECT_EQ(accepted, 8);  // up to twice max_pending
  EXPECT_TRUE(c.closing());
  EXPECT_FALSE(c.want_read());
  EXPECT_LT(c.pending().size(), 2 * 4096u + 200);
}

TEST(RexBody, RejectsWhatIsNotOneMap) {
  std::uint8_t array[] = {0x91, 0x01};
  EXPECT_EQ(BodyReader::Parse(array).error().code, Code::kBadRequest);
  std::uint8_t truncated[] = {0x81, 0xa1};
  EXPECT_FALSE(BodyReader::Parse(truncated).ok());
  std::uint8_t trailing[] = {0x80, 0x80};
  EXPECT_FALSE(BodyReader::Parse(trailing).ok());
  std::uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};  // claims 4G elements
  EXPECT_FALSE(BodyReader::Parse(huge_array).ok());
  EXPECT_FALSE(BodyReader::ParseInPlace(huge_array).ok());
  EXPECT_FALSE(BodyReader::ParseInPlace(truncated).ok());
}

TEST(RexBody, WriterGrowsPastItsFirstBufferAndTakesExactBytes) {
  BodyWriter w;
  std::string big(1000, 'z');
  w.Map(2).Key("a").Str(big).Key("n").Uint(7);
  auto copy = std::vector<std::uint8_t>(w.bytes().begin(), w.bytes().end());
  auto taken = w.Take();
  EXPECT_EQ(taken, copy);
  auto r = BodyReader::Parse(taken);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().StringOr("a", ""), big);
  EXPECT_EQ(r.value().UintOr("n", 0), 7u);
  w.Map(0);  // usable again after Take
  EXPECT_EQ(w.bytes().size(), 1u);
}

TEST(RexBody, InPlaceParsingReadsTheSameWithoutCopyingStrings) {
  BodyWriter w;
  w.Map(2).Key("channel").Str("prices").Key("body").Bin(std::vector<std::uint8_t>(300, 9));
  auto bytes = w.Take();
  auto r = BodyReader::ParseInPlace(bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().StringOr("channel", ""), "prices");
  const msgpack::object* body = r.value().Find("body");
  ASSERT_NE(body, nullptr);
  const auto* p = reinterpret_cast<const std::uint8_t*>(body->via.bin.ptr);
  EXPECT_TRUE(p >= bytes.data() && p + 300 <= bytes.data() + bytes.size());
}

}  // namespace
}  // namespace ardus::rex
