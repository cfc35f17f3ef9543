// The sans-IO TLS session: a client and a server pump bytes to each other in
// memory. Every refusal the header promises is provoked here with real
// certificates (support/test_certs.h) and checked by its Failure and message.
#include "tls/tls_session.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <random>
#include <string>

#include "support/test_certs.h"

namespace ardus::tls {
namespace {

using testing::LeafOptions;
using testing::MakeTestCa;
using testing::MakeTestLeaf;
using testing::TestCert;

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15
constexpr std::int64_t kDay = 86400;

std::vector<std::uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string Text(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

struct Pair {
  TlsSession client;
  TlsSession server;
  std::vector<std::uint8_t> client_got, server_got;  // plaintext each side received
  std::optional<Error> client_error, server_error;

  // Moves bytes both ways until neither side has more to say (or one fails
  // and has said its last: an alert still reaches the other side).
  void Pump(std::size_t chunk = 1 << 20) {
    for (int round = 0; round < 10000; ++round) {
      std::vector<std::uint8_t> c2s, s2c;
      client.TakeOutput(c2s);
      server.TakeOutput(s2c);
      if (c2s.empty() && s2c.empty()) return;
      Deliver(c2s, server, server_got, server_error, chunk);
      Deliver(s2c, client, client_got, client_error, chunk);
    }
    FAIL() << "pump did not settle";
  }

  static void Deliver(const std::vector<std::uint8_t>& bytes, TlsSession& to,
                      std::vector<std::uint8_t>& got, std::optional<Error>& error,
                      std::size_t chunk) {
    for (std::size_t at = 0; at < bytes.size() && !error; at += chunk) {
      const std::size_t n = std::min(chunk, bytes.size() - at);
      auto r = to.Receive({bytes.data() + at, n}, got);
      if (!r.ok()) error = r.error();
    }
  }
};

struct Pki {
  TestCert ca = MakeTestCa("ardus test CA", kNow);
  TestCert server = MakeTestLeaf(
      ca, LeafOptions{"rexd", {"localhost", "rexd.example"}, kNow - kDay, kNow + 30 * kDay, false});
};

const Pki& SharedPki() {
  static const Pki pki;
  return pki;
}

TlsContext ServerContext(const TestCert& cert, std::string client_ca = "") {
  auto ctx = TlsContext::Server({cert.cert_pem, cert.key_pem, std::move(client_ca)});
  EXPECT_TRUE(ctx.ok()) << ctx.error().message;
  return std::move(ctx).value();
}

TlsContext ClientContext(ClientConfig config) {
  auto ctx = TlsContext::Client(config);
  EXPECT_TRUE(ctx.ok()) << ctx.error().message;
  return std::move(ctx).value();
}

Pair Connect(const TlsContext& client, const TlsContext& server, std::int64_t now = kNow) {
  auto c = TlsSession::Start(client, now);
  auto s = TlsSession::Start(server, now);
  EXPECT_TRUE(c.ok() && s.ok());
  Pair pair{std::move(c).value(), std::move(s).value()};
  pair.Pump();
  return pair;
}

std::string SpkiOf(const std::string& cert_pem) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  unsigned char* der = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(der, static_cast<std::size_t>(n), digest, &size, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  X509_free(cert);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < size; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

TEST(TlsSession, HandshakeAndDataBothWays) {
  const auto& pki = SharedPki();
  auto server_ctx = ServerContext(pki.server);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "rexd.example"});
  auto c = TlsSession::Start(client_ctx, kNow);
  auto s = TlsSession::Start(server_ctx, kNow);
  ASSERT_TRUE(c.ok() && s.ok());
  Pair p{std::move(c).value(), std::move(s).value()};
  // Plaintext queued before the handshake is sent once it completes.
  ASSERT_TRUE(p.client.Send(Bytes("early hello")).ok());
  EXPECT_EQ(p.client.state(), State::kHandshaking);
  p.Pump();
  ASSERT_FALSE(p.client_error) << p.client_error->message;
  ASSERT_FALSE(p.server_error) << p.server_error->message;
  ASSERT_TRUE(p.client.established());
  ASSERT_TRUE(p.server.established());
  EXPECT_EQ(p.client.version(), "TLSv1.3");
  EXPECT_EQ(Text(p.server_got), "early hello");
  ASSERT_TRUE(p.server.Send(Bytes("reply")).ok());
  p.Pump();
  EXPECT_EQ(Text(p.client_got), "reply");
  // The client sees the server's certificate; the server saw no client one.
  ASSERT_TRUE(p.client.peer().has_value());
  EXPECT_EQ(p.client.peer()->spki_sha256, SpkiOf(pki.server.cert_pem));
  EXPECT_EQ(p.client.peer()->subject, "O=ardus test,CN=rexd");
  EXPECT_FALSE(p.server.peer().has_value());
}

TEST(TlsSession, OneMebibyteInOddPiecesArrivesIntact) {
  const auto& pki = SharedPki();
  auto server_ctx = ServerContext(pki.server);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client.established());
  std::vector<std::uint8_t> data(1 << 20);
  std::mt19937 rng(7);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  // Sent in uneven plaintext pieces, delivered in 1000-byte network pieces.
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t n = std::min<std::size_t>(data.size() - at, 1 + rng() % 70000);
    ASSERT_TRUE(p.client.Send({data.data() + at, n}).ok());
    ASSERT_TRUE(p.server.Send({data.data() + at, n}).ok());
    at += n;
  }
  p.Pump(1000);
  ASSERT_FALSE(p.server_error);
  ASSERT_FALSE(p.client_error);
  EXPECT_EQ(p.server_got, data);
  EXPECT_EQ(p.client_got, data);
}

TEST(TlsSession, PlaintextClientOnTlsPortIsRefusedClearly) {
  auto server_ctx = ServerContext(SharedPki().server);
  auto s = TlsSession::Start(server_ctx, kNow);
  ASSERT_TRUE(s.ok());
  // A REX HELLO frame: length 0x00000008..., kind 1.
  const std::vector<std::uint8_t> hello = {0, 0, 0, 8, 1, 0, 0, 0, 0, 0, 0, 0};
  std::vector<std::uint8_t> got;
  auto r = s.value().Receive(hello, got);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().failure, Failure::kPlaintextPeer);
  EXPECT_NE(r.error().message.find("plaintext to a TLS port"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(s.value().state(), State::kFailed);
  EXPECT_TRUE(got.empty());
  // The failure sticks.
  auto again = s.value().Receive(hello, got);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().failure, Failure::kPlaintextPeer);
}

TEST(TlsSession, TlsClientToPlaintextServerIsRecognisedByBoth) {
  auto client_ctx = ClientContext({.ca_pem = SharedPki().ca.cert_pem, .server_name = "localhost"});
  auto c = TlsSession::Start(client_ctx, kNow);
  ASSERT_TRUE(c.ok());
  std::vector<std::uint8_t> hello;
  ASSERT_GT(c.value().TakeOutput(hello), 0u);
  // The plaintext server's test on the first bytes.
  EXPECT_TRUE(LooksLikeTls(hello));
  EXPECT_FALSE(LooksLikeTls(std::vector<std::uint8_t>{0, 0, 0, 8, 1}));
  EXPECT_FALSE(LooksLikeTls(std::vector<std::uint8_t>{0x16, 0x00}));
  // The plaintext server answers with a REX ERROR frame: the client says so.
  const std::vector<std::uint8_t> error_frame = {0, 0, 0, 8, 4, 0, 0, 0, 0, 0, 0, 0};
  std::vector<std::uint8_t> got;
  auto r = c.value().Receive(error_frame, got);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().failure, Failure::kPlaintextPeer);
  EXPECT_NE(r.error().message.find("answered in plaintext"), std::string::npos)
      << r.error().message;
}

TEST(TlsSession, ExpiredCertificateIsRefusedOnBothSides) {
  const auto& pki = SharedPki();
  TestCert expired =
      MakeTestLeaf(pki.ca, {"old-rexd", {"localhost"}, kNow - 400 * kDay, kNow - kDay, false});
  auto server_ctx = ServerContext(expired);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client_error);
  EXPECT_EQ(p.client_error->failure, Failure::kCertificateExpired) << p.client_error->message;
  EXPECT_NE(p.client_error->message.find("expired on"), std::string::npos)
      << p.client_error->message;
  EXPECT_NE(p.client_error->message.find("CN=old-rexd"), std::string::npos)
      << p.client_error->message;
  // The client's alert tells the server why.
  ASSERT_TRUE(p.server_error);
  EXPECT_EQ(p.server_error->failure, Failure::kRefusedByPeer);
  EXPECT_NE(p.server_error->message.find("has expired"), std::string::npos)
      << p.server_error->message;
  // The same certificate verifies at a time inside its validity.
  Pair earlier = Connect(client_ctx, server_ctx, kNow - 2 * kDay);
  EXPECT_FALSE(earlier.client_error);
  EXPECT_TRUE(earlier.client.established());
}

TEST(TlsSession, NotYetValidCertificateIsRefused) {
  const auto& pki = SharedPki();
  TestCert future =
      MakeTestLeaf(pki.ca, {"rexd", {"localhost"}, kNow + kDay, kNow + 9 * kDay, false});
  auto server_ctx = ServerContext(future);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client_error);
  EXPECT_EQ(p.client_error->failure, Failure::kCertificateNotYetValid) << p.client_error->message;
}

TEST(TlsSession, WrongHostNameIsRefused) {
  const auto& pki = SharedPki();
  auto server_ctx = ServerContext(pki.server);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "other.example"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client_error);
  EXPECT_EQ(p.client_error->failure, Failure::kWrongHostName) << p.client_error->message;
  EXPECT_NE(p.client_error->message.find("not for 'other.example'"), std::string::npos)
      << p.client_error->message;
  ASSERT_TRUE(p.server_error);
  EXPECT_EQ(p.server_error->failure, Failure::kRefusedByPeer) << p.server_error->message;
}

TEST(TlsSession, UnknownCaIsRefused) {
  const auto& pki = SharedPki();
  TestCert other_ca = MakeTestCa("someone else", kNow);
  auto server_ctx = ServerContext(pki.server);
  auto client_ctx = ClientContext({.ca_pem = other_ca.cert_pem, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client_error);
  EXPECT_EQ(p.client_error->failure, Failure::kUnknownCa) << p.client_error->message;
  ASSERT_TRUE(p.server_error);
  EXPECT_EQ(p.server_error->failure, Failure::kRefusedByPeer);
  EXPECT_NE(p.server_error->message.find("does not trust the CA"), std::string::npos)
      << p.server_error->message;
}

TEST(TlsSession, PinAloneAcceptsTheSelfSignedServerAndRefusesAnother) {
  auto made = MakeSelfSigned({.now_unix = kNow});
  ASSERT_TRUE(made.ok()) << made.error().message;
  const SelfSigned& self = made.value();
  EXPECT_EQ(self.spki_sha256, SpkiOf(self.cert_pem));
  auto server_ctx = ServerContext({self.cert_pem, self.key_pem});

  auto good = ClientContext({.pin = self.spki_sha256, .server_name = "localhost"});
  Pair ok = Connect(good, server_ctx);
  ASSERT_FALSE(ok.client_error) << ok.client_error->message;
  EXPECT_TRUE(ok.client.established());
  EXPECT_EQ(ok.client.peer()->sha256, self.sha256);

  auto other = MakeSelfSigned({.now_unix = kNow});
  ASSERT_TRUE(other.ok());
  auto bad = ClientContext({.pin = other.value().spki_sha256, .server_name = "localhost"});
  Pair refused = Connect(bad, server_ctx);
  ASSERT_TRUE(refused.client_error);
  EXPECT_EQ(refused.client_error->failure, Failure::kPinMismatch) << refused.client_error->message;
  EXPECT_NE(refused.client_error->message.find(self.spki_sha256), std::string::npos);
  EXPECT_FALSE(refused.client.established());
  ASSERT_TRUE(refused.server_error);
  EXPECT_EQ(refused.server_error->failure, Failure::kRefusedByPeer);
}

TEST(TlsSession, PinAndCaMustBothHold) {
  const auto& pki = SharedPki();
  auto server_ctx = ServerContext(pki.server);
  const std::string pin = SpkiOf(pki.server.cert_pem);
  auto both = ClientContext({.ca_pem = pki.ca.cert_pem, .pin = pin, .server_name = "localhost"});
  EXPECT_TRUE(Connect(both, server_ctx).client.established());
  auto wrong_pin = ClientContext(
      {.ca_pem = pki.ca.cert_pem, .pin = std::string(64, 'a'), .server_name = "localhost"});
  Pair p = Connect(wrong_pin, server_ctx);
  ASSERT_TRUE(p.client_error);
  EXPECT_EQ(p.client_error->failure, Failure::kPinMismatch);
}

TEST(TlsSession, ExpiredSelfSignedIsRefusedEvenWhenPinned) {
  auto made = MakeSelfSigned({.now_unix = kNow - 10 * kDay, .valid_days = 2});
  ASSERT_TRUE(made.ok());
  auto server_ctx = ServerContext({made.value().cert_pem, made.value().key_pem});
  auto client_ctx = ClientContext({.pin = made.value().spki_sha256, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client_error);
  EXPECT_EQ(p.client_error->failure, Failure::kCertificateExpired) << p.client_error->message;
}

TEST(TlsSession, Ed25519SelfSignedWorks) {
  auto made = MakeSelfSigned({.now_unix = kNow, .key_type = KeyType::kEd25519});
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto server_ctx = ServerContext({made.value().cert_pem, made.value().key_pem});
  auto client_ctx = ClientContext({.pin = made.value().spki_sha256, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_FALSE(p.client_error) << p.client_error->message;
  EXPECT_TRUE(p.client.established());
}

TEST(TlsSession, PinParsing) {
  const std::string hex(64, 'b');
  EXPECT_EQ(ParsePin(hex).value(), hex);
  EXPECT_EQ(ParsePin("BB:bb" + std::string(60, 'B')).value(), hex);
  // curl's form: base64 of the 32 bytes.
  auto curl = ParsePin("sha256//u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7s=");
  ASSERT_TRUE(curl.ok()) << curl.error().message;
  EXPECT_EQ(curl.value(), hex);
  EXPECT_EQ(ParsePin("abc").error().failure, Failure::kBadConfig);
  EXPECT_EQ(ParsePin(std::string(64, 'g')).error().failure, Failure::kBadConfig);
  EXPECT_EQ(ParsePin("sha256//AAAA").error().failure, Failure::kBadConfig);
  EXPECT_EQ(TlsContext::Client({.server_name = "x"}).error().failure, Failure::kBadConfig);
  // A CA without a name to check would accept any certificate the CA signed.
  auto nameless = TlsContext::Client({.ca_pem = SharedPki().ca.cert_pem});
  ASSERT_FALSE(nameless.ok());
  EXPECT_EQ(nameless.error().failure, Failure::kBadConfig);
}

TEST(TlsSession, BadServerConfigIsNamed) {
  const auto& pki = SharedPki();
  auto no_cert = TlsContext::Server({"not pem", pki.server.key_pem, ""});
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.error().failure, Failure::kBadConfig);
  EXPECT_NE(no_cert.error().message.find("server certificate"), std::string::npos);
  auto wrong_key = TlsContext::Server({pki.server.cert_pem, pki.ca.key_pem, ""});
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_NE(wrong_key.error().message.find("does not match"), std::string::npos)
      << wrong_key.error().message;
}

TEST(TlsSession, MutualTlsExposesTheClientCertificate) {
  const auto& pki = SharedPki();
  TestCert client_ca = MakeTestCa("clients CA", kNow);
  TestCert scanner = MakeTestLeaf(client_ca, {"scanner", {}, kNow - kDay, kNow + kDay, true});
  auto server_ctx = ServerContext(pki.server, client_ca.cert_pem);

  auto with_cert = ClientContext({.ca_pem = pki.ca.cert_pem,
                                  .server_name = "localhost",
                                  .cert_pem = scanner.cert_pem,
                                  .key_pem = scanner.key_pem});
  Pair p = Connect(with_cert, server_ctx);
  ASSERT_FALSE(p.server_error) << p.server_error->message;
  ASSERT_TRUE(p.server.established());
  ASSERT_TRUE(p.server.peer().has_value());
  EXPECT_EQ(p.server.peer()->subject, "O=ardus test,CN=scanner");
  EXPECT_EQ(p.server.peer()->spki_sha256, SpkiOf(scanner.cert_pem));
  EXPECT_EQ(p.server.peer()->sha256.size(), 64u);

  // No certificate: the server refuses, and the client learns why.
  auto without = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "localhost"});
  Pair refused = Connect(without, server_ctx);
  ASSERT_TRUE(refused.server_error);
  EXPECT_EQ(refused.server_error->failure, Failure::kNoPeerCertificate)
      << refused.server_error->message;
  ASSERT_TRUE(refused.client_error);
  EXPECT_EQ(refused.client_error->failure, Failure::kRefusedByPeer)
      << refused.client_error->message;
  EXPECT_NE(refused.client_error->message.find("requires a client certificate"), std::string::npos)
      << refused.client_error->message;

  // A certificate from a CA the server does not trust.
  TestCert stranger = MakeTestLeaf(pki.ca, {"stranger", {}, kNow - kDay, kNow + kDay, true});
  auto wrong_ca = ClientContext({.ca_pem = pki.ca.cert_pem,
                                 .server_name = "localhost",
                                 .cert_pem = stranger.cert_pem,
                                 .key_pem = stranger.key_pem});
  Pair untrusted = Connect(wrong_ca, server_ctx);
  ASSERT_TRUE(untrusted.server_error);
  EXPECT_EQ(untrusted.server_error->failure, Failure::kUnknownCa)
      << untrusted.server_error->message;
  EXPECT_NE(
      untrusted.server_error->message.find("client's certificate (O=ardus test,CN=stranger; at"),
      std::string::npos)
      << untrusted.server_error->message;
}

TEST(TlsSession, ExporterIsEqualOnBothSidesAndDiffersPerSession) {
  const auto& pki = SharedPki();
  auto server_ctx = ServerContext(pki.server);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "localhost"});
  Pair a = Connect(client_ctx, server_ctx);
  Pair b = Connect(client_ctx, server_ctx);
  auto ca = a.client.ChannelBinding();
  auto sa = a.server.ChannelBinding();
  ASSERT_TRUE(ca.ok() && sa.ok());
  EXPECT_EQ(ca.value().size(), 32u);
  EXPECT_EQ(ca.value(), sa.value());
  EXPECT_NE(ca.value(), b.client.ChannelBinding().value());
  const std::vector<std::uint8_t> context = {1, 2, 3};
  auto with_context = a.client.ExportKeyingMaterial("EXPORTER-rex-test", context, 48);
  ASSERT_TRUE(with_context.ok());
  EXPECT_EQ(with_context.value(),
            a.server.ExportKeyingMaterial("EXPORTER-rex-test", context, 48).value());
  EXPECT_NE(
      std::vector<std::uint8_t>(with_context.value().begin(), with_context.value().begin() + 32),
      ca.value());
  // Not before the handshake.
  auto fresh = TlsSession::Start(client_ctx, kNow);
  EXPECT_FALSE(fresh.value().ChannelBinding().ok());
}

TEST(TlsSession, CloseNotifyEndsTheSession) {
  const auto& pki = SharedPki();
  auto server_ctx = ServerContext(pki.server);
  auto client_ctx = ClientContext({.ca_pem = pki.ca.cert_pem, .server_name = "localhost"});
  Pair p = Connect(client_ctx, server_ctx);
  ASSERT_TRUE(p.client.Send(Bytes("last words")).ok());
  p.client.Close();
  EXPECT_EQ(p.client.Send(Bytes("more")).error().failure, Failure::kClosed);
  p.Pump();
  EXPECT_EQ(Text(p.server_got), "last words");
  ASSERT_TRUE(p.server_error);
  EXPECT_EQ(p.server_error->failure, Failure::kClosed);
  EXPECT_EQ(p.server.state(), State::kClosed);
}

TEST(TlsSession, GarbageAfterTheFirstByteIsAProtocolError) {
  auto server_ctx = ServerContext(SharedPki().server);
  auto s = TlsSession::Start(server_ctx, kNow);
  std::vector<std::uint8_t> junk = {0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff};
  std::vector<std::uint8_t> got;
  auto r = s.value().Receive(junk, got);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().failure, Failure::kProtocol) << r.error().message;
  EXPECT_EQ(r.error().ToStatus().kind(), ErrorKind::kPeerProtocol);
}

}  // namespace
}  // namespace ardus::tls
