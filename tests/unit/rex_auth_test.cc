// The REX authentication exchange: the signed message and AUTH frame of
// docs/rex-protocol.md's worked example (read from the doc), and the rules a
// ServerConnection enforces on AUTH (order, once, time, the verdict).
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "rex/auth_exchange.h"
#include "rex/body.h"
#include "rex/frame.h"
#include "rex/server_connection.h"
#include "seal/identity.h"

namespace ardus::rex {
namespace {

// The doc's fixed inputs: seed 00 01 .. 1f, nonce 80 81 .. 9f.
seal::Key32 ExampleSeed() {
  seal::Key32 k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  return k;
}
Nonce ExampleNonce() {
  Nonce n;
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(0x80 + i);
  return n;
}

// Hex in rows of 16 bytes, each row indented 4 spaces, as the doc shows it.
std::string HexRows(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i % 16 == 0)
      out += i ? "\n    " : "    ";
    else
      out += ' ';
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

std::string ProtocolDoc() {
  std::ifstream in(ARDUS_SOURCE_DIR "/docs/rex-protocol.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::uint8_t> ExampleAuthFrame(const seal::Identity& id) {
  AuthRequest r;
  r.key = id.public_key();
  r.signature = id.Sign(AuthMessage(ExampleNonce(), "trader", {}));
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kAuth, 0, 0, EncodeAuthRequest(r), out);
  return out;
}

TEST(RexAuth, WorkedExampleMatchesTheProtocolDocument) {
  const std::string doc = ProtocolDoc();
  ASSERT_FALSE(doc.empty());
  const auto id = seal::Identity::FromSeed(ExampleSeed());
  const auto message = AuthMessage(ExampleNonce(), "trader", {});
  ASSERT_EQ(message.size(), 12u + 32 + 1 + 6 + 1);
  const auto signature = id.Sign(message);
  for (const std::string& block : {HexRows(id.public_key()), HexRows(message), HexRows(signature),
                                   HexRows(ExampleAuthFrame(id))}) {
    EXPECT_NE(doc.find("\n" + block + "\n"), std::string::npos) << "not in docs/rex-protocol.md:\n"
                                                                << block;
  }
  EXPECT_NE(doc.find(seal::FingerprintText(id.fingerprint())), std::string::npos);
  EXPECT_TRUE(seal::Verify(id.public_key(), message, signature));
}

TEST(RexAuth, MessageIsLabelledAndLengthFramed) {
  const Nonce n = ExampleNonce();
  const std::vector<std::uint8_t> binding(32, 7);
  auto m = AuthMessage(n, "notify", binding);
  ASSERT_EQ(m.size(), 12u + 32 + 1 + 6 + 1 + 32);
  EXPECT_EQ(std::string(m.begin(), m.begin() + 12), std::string("rex-auth-v1\0", 12));
  EXPECT_EQ(m[44], 6);
  EXPECT_EQ(m[51], 32);
  // A service name cannot bleed into the binding: ("ab", "") != ("a", "b").
  const std::vector<std::uint8_t> b{'b'};
  EXPECT_NE(AuthMessage(n, "ab", {}), AuthMessage(n, "a", b));
}

TEST(RexAuth, DecodeRefusesWrongSizes) {
  BodyWriter w;
  w.Map(2);
  std::vector<std::uint8_t> short_key(31, 1), sig(64, 2);
  w.Key("key").Bin(short_key);
  w.Key("signature").Bin(sig);
  auto r = DecodeAuthRequest(w.bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kUnauthenticated);
  EXPECT_NE(r.error().message.find("'key'"), std::string::npos);
  EXPECT_FALSE(DecodeAuthRequest(std::vector<std::uint8_t>{0x80}).ok());  // {}
  EXPECT_FALSE(DecodeAuthRequest(std::vector<std::uint8_t>{0xc1}).ok());  // not MessagePack
}

// What rexd's Server does, minus the auth file: verify, name by fingerprint.
class VerifyingAuthenticator final : public Authenticator {
 public:
  Result<std::string, Error> Authenticate(const AuthAttempt& a) override {
    ++calls;
    if (!seal::Verify(a.request.key, AuthMessage(a.nonce, "trader", {}), a.request.signature)) {
      return Fail(Code::kUnauthenticated, "the signature does not verify");
    }
    return seal::FingerprintText(seal::FingerprintOf(a.request.key)).substr(0, 8);
  }
  int calls = 0;
};

std::vector<Frame> Drain(ServerConnection& c) {
  FrameParser p(1 << 20);
  p.Feed(c.pending());
  c.Consumed(c.pending().size(), 0);
  std::vector<Frame> out;
  Frame f;
  while (p.Next(&f)) out.push_back(f);
  return out;
}

std::vector<std::uint8_t> Hello() {
  BodyWriter w;
  w.Map(1).Key("version").Uint(kVersion);
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kHello, 0, 0, w.bytes(), out);
  return out;
}

std::vector<std::uint8_t> Auth(const seal::Identity& id, const Nonce& nonce, std::uint32_t rid) {
  AuthRequest r;
  r.key = id.public_key();
  r.signature = id.Sign(AuthMessage(nonce, "trader", {}));
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kAuth, 0, rid, EncodeAuthRequest(r), out);
  return out;
}

std::vector<std::uint8_t> Request(std::uint32_t rid) {
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kRequest, 12, rid, {}, out);
  return out;
}

Code ErrorCodeOf(const Frame& f) {
  EXPECT_EQ(f.kind, Kind::kError);
  return ParseErrorBody(f.body).code;
}

struct Fixture {
  explicit Fixture(Nonce n = ExampleNonce()) : nonce(n), c("t", {"trader"}) {
    c.OfferAuthentication(nonce, auth);
  }
  // Feeds bytes and serves until nothing is handed out; returns the requests.
  std::vector<Frame> Feed(std::int64_t now, const std::vector<std::uint8_t>& bytes) {
    c.OnBytes(now, bytes);
    std::vector<Frame> reqs;
    Frame f;
    while (c.NextRequest(&f)) reqs.push_back(f);
    return reqs;
  }
  Nonce nonce;
  VerifyingAuthenticator auth;
  ServerConnection c;
  seal::Identity id = seal::Identity::FromSeed(ExampleSeed());
};

TEST(RexAuthConnection, HelloCarriesTheNonceAndAValidAuthNamesTheIdentity) {
  Fixture x;
  x.Feed(0, Hello());
  auto hello = Drain(x.c);
  ASSERT_EQ(hello.size(), 1u);
  auto body = BodyReader::Parse(hello[0].body).value();
  EXPECT_EQ(HelloNonce(body).value(), x.nonce);
  auto bytes = Auth(x.id, x.nonce, 5);
  auto req = Request(1);
  bytes.insert(bytes.end(), req.begin(), req.end());
  auto reqs = x.Feed(1, bytes);
  ASSERT_EQ(reqs.size(), 1u);  // the request after AUTH is served
  EXPECT_TRUE(x.c.authenticated());
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kAuth);
  EXPECT_EQ(out[0].id, 5u);
  EXPECT_EQ(BodyReader::Parse(out[0].body).value().StringOr("identity", ""),
            seal::FingerprintText(x.id.fingerprint()).substr(0, 8));
  EXPECT_FALSE(x.c.closing());
}

TEST(RexAuthConnection, ASignatureForAnotherNonceIsRefused) {
  Fixture x;
  x.Feed(0, Hello());
  Drain(x.c);
  Nonce other = x.nonce;
  other[0] ^= 1;  // a proof recorded on another connection
  auto reqs = x.Feed(1, Auth(x.id, other, 1));
  EXPECT_TRUE(reqs.empty());
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCodeOf(out[0]), Code::kUnauthenticated);
  EXPECT_TRUE(x.c.closing());
  EXPECT_FALSE(x.c.authenticated());
}

TEST(RexAuthConnection, AuthTwiceIsRefused) {
  Fixture x;
  x.Feed(0, Hello());
  x.Feed(1, Auth(x.id, x.nonce, 1));
  auto reqs = x.Feed(2, Auth(x.id, x.nonce, 2));
  EXPECT_TRUE(reqs.empty());
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 3u);  // HELLO, AUTH, ERROR
  EXPECT_EQ(ErrorCodeOf(out[2]), Code::kUnauthenticated);
  EXPECT_NE(ParseErrorBody(out[2].body).message.find("already"), std::string::npos);
  EXPECT_TRUE(x.c.closing());
  EXPECT_EQ(x.auth.calls, 1);
}

TEST(RexAuthConnection, AuthAfterARequestIsRefused) {
  Fixture x;
  x.Feed(0, Hello());
  EXPECT_EQ(x.Feed(1, Request(1)).size(), 1u);
  x.Feed(2, Auth(x.id, x.nonce, 2));
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(ErrorCodeOf(out[1]), Code::kUnauthenticated);
  EXPECT_NE(ParseErrorBody(out[1].body).message.find("before the first REQUEST"),
            std::string::npos);
  EXPECT_EQ(x.auth.calls, 0);
}

TEST(RexAuthConnection, AuthAfterTheHandshakeTimeoutIsRefused) {
  Fixture x;
  x.Feed(0, Hello());
  const std::int64_t late = ConnectionLimits{}.handshake_timeout_ms;
  x.Feed(late, Auth(x.id, x.nonce, 1));
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(ErrorCodeOf(out[1]), Code::kTimedOut);
  EXPECT_EQ(x.auth.calls, 0);
  EXPECT_TRUE(x.c.closing());
}

TEST(RexAuthConnection, AuthBeforeHelloIsRefused) {
  Fixture x;
  x.Feed(0, Auth(x.id, x.nonce, 1));
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCodeOf(out[0]), Code::kHandshakeRequired);
  EXPECT_EQ(x.auth.calls, 0);
}

TEST(RexAuthConnection, AMalformedAuthBodyIsRefused) {
  Fixture x;
  x.Feed(0, Hello());
  std::vector<std::uint8_t> bytes;
  AppendFrame(Kind::kAuth, 0, 1, std::vector<std::uint8_t>{0x80}, bytes);
  x.Feed(1, bytes);
  auto out = Drain(x.c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(ErrorCodeOf(out[1]), Code::kUnauthenticated);
  EXPECT_TRUE(x.c.closing());
}

TEST(RexAuthConnection, WithoutAuthenticationOfferedAuthIsRefusedAndHelloHasNoNonce) {
  ServerConnection c("t", {"trader"});
  c.OnBytes(0, Hello());
  Frame f;
  c.NextRequest(&f);
  auto hello = Drain(c);
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_FALSE(HelloNonce(BodyReader::Parse(hello[0].body).value()).ok());
  c.OnBytes(1, Auth(seal::Identity::FromSeed(ExampleSeed()), ExampleNonce(), 1));
  c.NextRequest(&f);
  auto out = Drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ErrorCodeOf(out[0]), Code::kUnauthenticated);
}

TEST(RexAuthConnection, AnonymousClientsNeedNoAuth) {
  Fixture x;
  auto bytes = Hello();
  auto req = Request(1);
  bytes.insert(bytes.end(), req.begin(), req.end());
  EXPECT_EQ(x.Feed(0, bytes).size(), 1u);
  EXPECT_FALSE(x.c.authenticated());
  EXPECT_FALSE(x.c.closing());
}

}  // namespace
}  // namespace ardus::rex
