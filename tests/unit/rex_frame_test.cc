// REX framing and the server connection's handshake and limits.
#include <gtest/gtest.h>

#include <limits>
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

TEST(RexFrame, ABadHeaderBehindCompleteFramesIsFoundAtOnceAndReportedAfterThem) {
  FrameParser p(1024);
  std::vector<std::uint8_t> bytes;
  AppendFrame(Kind::kRequest, 30, 1, std::vector<std::uint8_t>(10, 7), bytes);
  std::uint8_t huge[] = {0x00, 0x10, 0x00, 0x00};  // 1 MiB declared
  bytes.insert(bytes.end(), huge, huge + 4);
  p.Feed(bytes);
  EXPECT_FALSE(p.failed());  // the frame before it is still to be taken
  EXPECT_FALSE(p.partial());
  Frame f;
  ASSERT_TRUE(p.Next(&f));
  EXPECT_EQ(f.id, 1u);
  EXPECT_FALSE(p.Next(&f));
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.error().code, Code::kFrameTooLarge);
  std::vector<std::uint8_t> more(5000, 1);
  p.Feed(more);  // ignored: nothing after a bad header is buffered
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(RexFrame, CountsCompleteAndPartialFramesWithoutTakingThem) {
  FrameParser p;
  std::vector<std::uint8_t> bytes;
  AppendFrame(Kind::kRequest, 30, 1, {}, bytes);
  AppendFrame(Kind::kRequest, 30, 2, {}, bytes);
  bytes.push_back(0);  // a third frame begins
  p.Feed(bytes);
  EXPECT_EQ(p.frames_completed(), 2u);
  EXPECT_EQ(p.complete_bytes(), 2 * kHeaderBytes);
  EXPECT_TRUE(p.partial());
  EXPECT_EQ(p.NextKind(), Kind::kRequest);
}

std::vector<Frame> Parse(std::span<const std::uint8_t> bytes) {
  FrameParser p(64 << 20);
  p.Feed(bytes);
  std::vector<Frame> out;
  Frame f;
  while (p.Next(&f)) out.push_back(f);
  EXPECT_EQ(p.buffered(), 0u);
  return out;
}

std::vector<Frame> Drain(ServerConnection& c, std::int64_t now = 0) {
  auto out = Parse(c.pending());
  c.Consumed(c.pending().size(), now);
  return out;
}

std::vector<std::uint8_t> Hello(std::uint64_t version) {
  BodyWriter w;
  w.Map(1).Key("version").Uint(version);
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kHello, 0, 0, w.bytes(), out);
  return out;
}

std::vector<std::uint8_t> Requests(std::uint32_t n) {
  std::vector<std::uint8_t> out;
  for (std::uint32_t i = 1; i <= n; ++i) AppendFrame(Kind::kRequest, 23, i, {}, out);
  return out;
}

Code ErrorCode(const Frame& f) {
  EXPECT_EQ(f.kind, Kind::kError);
  return ParseErrorBody(f.body).code;
}

TEST(RexServerConnection, RequestBeforeHelloIsRefusedAndClosed) {
  ServerConnection c("t", {"trader"});
  std::vector<std::uint8_t> req;
  AppendFrame(Kind::kRequest, 30, 1, {}, req);
  c.OnBytes(0, req);
  Frame f;
  EXPECT_FALSE(c.NextRequest(&f));
  EXPECT_TRUE(c.closing());
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCode(out[0]), Code::kHandshakeRequired);
  EXPECT_TRUE(c.finished());
}

TEST(RexServerConnection, VersionMismatch) {
  ServerConnection c("t", {"trader"});
  c.OnBytes(0, Hello(2));
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCode(out[0]), Code::kUnsupportedVersion);
  EXPECT_TRUE(c.closing());
}

TEST(RexServerConnection, HandshakeThenRequestsInOneSegment) {
  ServerConnection c("t", {"trader"});
  auto bytes = Hello(1);
  AppendFrame(Kind::kRequest, 30, 1, {}, bytes);
  AppendFrame(Kind::kRequest, 31, 2, {}, bytes);
  c.OnBytes(0, bytes);
  Frame a, b, none;
  ASSERT_TRUE(c.NextRequest(&a));
  ASSERT_TRUE(c.NextRequest(&b));
  EXPECT_FALSE(c.NextRequest(&none));
  EXPECT_EQ(a.id, 1u);
  EXPECT_EQ(b.id, 2u);
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kHello);
  EXPECT_FALSE(c.closing());
}

// Pipelined requests whose replies are large are served only while the
// output, counting the replies the caller still holds, has room; the rest
// wait, parsed, and reading stops once enough of them wait.
TEST(RexServerConnection, RequestsAreHandedOutOnlyWhileTheOutputHasRoom) {
  ConnectionLimits limits{.max_body = 1024, .max_pending = 4096};
  limits.max_unserved = 240;  // 20 requests of 12 bytes
  ServerConnection c("t", {"trader"}, limits);
  c.OnBytes(0, Hello(1));
  Drain(c);
  c.OnBytes(0, Requests(100));
  EXPECT_FALSE(c.want_read());  // 100 requests wait: read no more
  const std::vector<std::uint8_t> reply(1000, 9);
  std::uint32_t served = 0, turns = 0;
  while (served < 100 && ++turns < 1000) {
    std::vector<Frame> held;
    Frame f;
    while (c.NextRequest(&f, held.size() * (reply.size() + kHeaderBytes))) held.push_back(f);
    EXPECT_LE(held.size(), 5u);  // 4096 bytes hold at most 5 replies of 1012
    EXPECT_FALSE(c.ready(held.size() * (reply.size() + kHeaderBytes)));
    for (const auto& r : held) c.Reply(r, reply);
    EXPECT_LE(c.pending().size(), 4096u + reply.size() + kHeaderBytes);
    for (const auto& r : Drain(c)) EXPECT_EQ(r.id, ++served);
  }
  EXPECT_EQ(served, 100u);
  EXPECT_TRUE(c.want_read());
}

TEST(RexServerConnection, AProtocolErrorComesAfterTheRepliesToTheRequestsBeforeIt) {
  ServerConnection c("t", {"trader"});
  auto bytes = Hello(1);
  AppendFrame(Kind::kRequest, 30, 1, {}, bytes);
  AppendFrame(Kind::kReply, 30, 2, {}, bytes);  // clients do not send replies
  c.OnBytes(0, bytes);
  Frame f, none;
  ASSERT_TRUE(c.NextRequest(&f));
  EXPECT_FALSE(c.NextRequest(&none, 100));  // the reply to 1 is still held
  EXPECT_FALSE(c.closing());
  std::uint8_t body[] = {0x80};
  c.Reply(f, body);
  EXPECT_FALSE(c.NextRequest(&none, 0));
  EXPECT_TRUE(c.closing());
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].kind, Kind::kReply);
  EXPECT_EQ(out[1].id, 1u);
  EXPECT_EQ(ErrorCode(out[2]), Code::kBadFrame);
}

TEST(RexServerConnection, AHelloMustCompleteWithinTheHandshakeTimeout) {
  ConnectionLimits limits;
  limits.handshake_timeout_ms = 10'000;
  ServerConnection c("t", {"trader"}, limits, 5000);
  auto hello = Hello(1);
  c.OnBytes(6000, std::span(hello).first(3));  // one byte at a time is not enough
  EXPECT_EQ(c.NextDeadline(), 15'000);
  c.Tick(14'999);
  EXPECT_FALSE(c.closing());
  c.Tick(15'000);
  ASSERT_TRUE(c.closing());
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCode(out[0]), Code::kTimedOut);
}

TEST(RexServerConnection, AFrameBegunMustCompleteWithinTheFrameTimeout) {
  ConnectionLimits limits;
  limits.frame_timeout_ms = 30'000;
  ServerConnection c("t", {"trader"}, limits, 0);
  c.OnBytes(0, Hello(1));
  Drain(c);
  c.Tick(3'600'000);  // idle without a partial frame: stays
  EXPECT_FALSE(c.closing());
  EXPECT_EQ(c.NextDeadline(), std::numeric_limits<std::int64_t>::max());
  auto req = Requests(1);
  req.resize(req.size() + 3);  // 3 bytes of a 10-byte body that never ends
  req[3] = static_cast<std::uint8_t>(req[3] + 10);
  // One byte a second does not keep the frame alive.
  std::int64_t begun = 3'600'000;
  for (std::size_t i = 0; i < req.size(); ++i) {
    c.OnBytes(begun + 1000 * static_cast<std::int64_t>(i), std::span(req).subspan(i, 1));
  }
  Frame f;
  EXPECT_FALSE(c.NextRequest(&f));
  c.Tick(begun + 29'999);
  EXPECT_FALSE(c.closing());
  c.Tick(begun + 30'000);
  ASSERT_TRUE(c.closing());
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCode(out[0]), Code::kTimedOut);
}

TEST(RexServerConnection, TheFrameClockStartsWithEachFrame) {
  ConnectionLimits limits;
  limits.frame_timeout_ms = 30'000;
  ServerConnection c("t", {"trader"}, limits, 0);
  c.OnBytes(0, Hello(1));
  auto two = Requests(2);
  c.OnBytes(1000, std::span(two).first(5));
  c.OnBytes(20'000, std::span(two).subspan(5, 10));  // the first completes, the second begins
  c.Tick(40'000);
  EXPECT_FALSE(c.closing());
  EXPECT_EQ(c.NextDeadline(), 50'000);
  c.OnBytes(45'000, std::span(two).subspan(15));
  EXPECT_EQ(c.NextDeadline(), std::numeric_limits<std::int64_t>::max());
}

TEST(RexServerConnection, TheFrameClockWaitsWhileRexdIsNotReading) {
  ConnectionLimits limits{.max_body = 1024, .max_pending = 4096};
  limits.max_push_pending = 1 << 20;
  limits.frame_timeout_ms = 30'000;
  limits.write_timeout_ms = 1'000'000;
  ServerConnection c("t", {"trader"}, limits, 0);
  c.OnBytes(0, Hello(1));
  Drain(c);
  auto req = Requests(1);
  c.OnBytes(0, std::span(req).first(5));
  std::vector<std::uint8_t> body(1000, 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Push(42, 1, body));  // output over the bound
  ASSERT_FALSE(c.want_read());
  c.Tick(100'000);  // rexd has read nothing for 100 s: not the client's fault
  EXPECT_FALSE(c.closing());
  Drain(c, 100'000);
  c.Tick(129'999);
  EXPECT_FALSE(c.closing());
  c.Tick(130'000);
  EXPECT_TRUE(c.closing());
}

TEST(RexServerConnection, PushesBeyondTheBoundCloseTheConnectionAndDropItsOutput) {
  ConnectionLimits limits{.max_body = 1024, .max_pending = 4096};
  limits.max_push_pending = 8192;
  ServerConnection c("t", {"trader"}, limits);
  c.OnBytes(0, Hello(1));
  Drain(c);
  std::vector<std::uint8_t> body(1000, 1);
  int accepted = 0;
  while (c.Push(42, 1, body)) ++accepted;
  EXPECT_EQ(accepted, 8);  // up to max_push_pending
  EXPECT_TRUE(c.closing());
  EXPECT_FALSE(c.want_read());
  // The unread pushes are gone at once; only the error waits.
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCode(out[0]), Code::kOverloaded);
  EXPECT_FALSE(c.Push(42, 1, body));
  EXPECT_TRUE(c.finished());
}

TEST(RexServerConnection, OutputLeftOverTheBoundPastTheWriteTimeoutOverloadsKeepingFraming) {
  ConnectionLimits limits{.max_body = 1024, .max_pending = 4096};
  limits.max_push_pending = 1 << 20;
  limits.write_timeout_ms = 10'000;
  ServerConnection c("t", {"trader"}, limits, 0);
  c.OnBytes(0, Hello(1));
  Drain(c);
  std::vector<std::uint8_t> body(1000, 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.Push(42, static_cast<std::uint32_t>(i), body));
  std::vector<std::uint8_t> written(c.pending().begin(), c.pending().begin() + 500);
  c.Consumed(500, 1000);  // half of the first push is written, the rest still over the bound
  c.Tick(9'999);
  EXPECT_FALSE(c.closing());
  c.Tick(10'000);  // over 4096 bytes since t=0
  ASSERT_TRUE(c.closing());
  EXPECT_LT(c.pending().size(), 1024u);
  written.insert(written.end(), c.pending().begin(), c.pending().end());
  auto out = Parse(written);  // the stream stays framed: the first push whole, then the error
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kPush);
  EXPECT_EQ(out[0].body, body);
  EXPECT_EQ(ErrorCode(out[1]), Code::kOverloaded);
}

TEST(RexServerConnection, GettingBackUnderTheBoundRestartsTheWriteTimeout) {
  ConnectionLimits limits{.max_body = 1024, .max_pending = 4096};
  limits.max_push_pending = 1 << 20;
  limits.write_timeout_ms = 10'000;
  ServerConnection c("t", {"trader"}, limits, 0);
  c.OnBytes(0, Hello(1));
  Drain(c);
  std::vector<std::uint8_t> body(1000, 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.Push(42, 1, body));
  c.Consumed(c.pending().size() - 3000, 9000);                   // back under the bound
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Push(42, 1, body));  // over again at 9000
  c.Tick(18'999);
  EXPECT_FALSE(c.closing());
  EXPECT_EQ(c.stalled_since(), 9000);
}

TEST(RexServerConnection, AClosingConnectionThatIsNotReadIsFinishedAfterTheWriteTimeout) {
  ConnectionLimits limits;
  limits.write_timeout_ms = 10'000;
  ServerConnection c("t", {"trader"}, limits, 0);
  c.OnBytes(100, Hello(7));  // refused: closing, its error unread
  ASSERT_TRUE(c.closing());
  c.Tick(10'099);
  EXPECT_FALSE(c.finished());
  c.Tick(10'100);
  EXPECT_TRUE(c.finished());
}

TEST(RexServerConnection, ASharedMeterBoundsOutputAcrossConnections) {
  OutputMeter meter{.cap = 3000};
  std::vector<std::uint8_t> body(1000, 1);
  {
    ServerConnection a("t", {"trader"}, {}, 0, &meter);
    ServerConnection b("t", {"trader"}, {}, 0, &meter);
    auto bytes = Hello(1);
    auto reqs = Requests(1);
    bytes.insert(bytes.end(), reqs.begin(), reqs.end());
    a.OnBytes(0, bytes);
    b.OnBytes(0, bytes);
    EXPECT_EQ(meter.total, a.pending().size() + b.pending().size());
    ASSERT_TRUE(a.Push(1, 1, body));
    ASSERT_TRUE(a.Push(1, 1, body));
    EXPECT_TRUE(b.ready());
    ASSERT_TRUE(a.Push(1, 1, body));
    EXPECT_TRUE(meter.over());
    Frame f;
    EXPECT_FALSE(b.ready());  // over the cap: nobody is served
    EXPECT_FALSE(b.NextRequest(&f));
    a.Overload("cut");
    EXPECT_FALSE(meter.over());
    EXPECT_TRUE(b.NextRequest(&f));
    a.Consumed(a.pending().size(), 0);
    EXPECT_EQ(meter.total, b.pending().size());
  }
  EXPECT_EQ(meter.total, 0u);
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
