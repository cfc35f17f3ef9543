// rexd's Server with TLS, in process: a real loop on loopback, the REX client
// over TLS. What the integration test (rexd_tls.sh) cannot see from outside:
// many replies crossing the 64 KiB encryption chunks in order, the client's
// channel binding and the server certificate it verified, and the plaintext
// refusal through the client library.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "io/rex_client.h"
#include "rexd/server.h"
#include "services/trader_service.h"
#include "tls/tls_session.h"
#include "trader/trader.h"
#include "trader/trader_requests.h"
#include "trader/trader_wire.h"

namespace ardus::rexd {
namespace {

std::int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RexdTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tls::SelfSignedOptions options;
    options.now_unix = NowUnix();
    auto made = tls::MakeSelfSigned(options);
    ASSERT_TRUE(made.ok()) << made.error().message;
    cert_ = made.value();
    auto context = tls::TlsContext::Server({cert_.cert_pem, cert_.key_pem, ""});
    ASSERT_TRUE(context.ok()) << context.error().message;
    ServerConfig config;
    config.tls = context.value();
    config.log = [this](std::string_view line) { log_ += std::string(line) + "\n"; };
    auto server = Server::Start(config, {{"trader", "--trader-port", 0, service_}});
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    address_ = "127.0.0.1:" + std::to_string(server_->port(0));
    loop_ = std::thread([this] { (void)server_->Run(&stop_); });
  }
  void TearDown() override {
    stop_ = 1;
    if (loop_.joinable()) loop_.join();
  }
  rex::ConnectOptions Pinned() const {
    rex::ConnectOptions options;
    options.tls = tls::ClientConfig{};
    options.tls->pin = cert_.spki_sha256;
    return options;
  }

  trader::Trader trader_{7};
  services::TraderService service_{trader_};
  tls::SelfSigned cert_;
  std::string log_;  // written by the loop thread: read it after TearDown() joined it
  std::unique_ptr<Server> server_;
  std::string address_;
  volatile std::sig_atomic_t stop_ = 0;
  std::thread loop_;
};

TEST_F(RexdTlsTest, PipelinedRepliesCrossEncryptionChunksInOrder) {
  auto client = rex::Client::Connect(address_, 5000, "rexd_tls_test", Pinned());
  ASSERT_TRUE(client.ok()) << client.status().message();
  rex::Client& c = *client.value();
  EXPECT_EQ(c.channel_binding().size(), 32u);
  ASSERT_TRUE(c.server_certificate().has_value());
  EXPECT_EQ(c.server_certificate()->spki_sha256, cert_.spki_sha256);
  EXPECT_EQ(c.server_certificate()->subject, "CN=rexd");

  rex::BodyWriter none;
  trader::Encode(none, trader::ListTypesRequest{});
  constexpr int kRequests = 12000;  // 20 bytes of reply each: several 64 KiB chunks
  std::vector<std::uint32_t> ids;
  for (int i = 0; i < kRequests; ++i) {
    auto id = c.Send(static_cast<std::uint16_t>(trader::Method::kListTypes), none.bytes());
    ASSERT_TRUE(id.ok()) << id.status().message();
    ids.push_back(id.value());
  }
  std::size_t reply_bytes = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto f = c.Receive(10000);
    ASSERT_TRUE(f.ok()) << i << ": " << f.status().message();
    ASSERT_EQ(f.value().kind, rex::Kind::kReply);
    ASSERT_EQ(f.value().id, ids[static_cast<std::size_t>(i)]);
    reply_bytes += rex::kHeaderBytes + f.value().body.size();
  }
  EXPECT_GT(reply_bytes, std::size_t{3} * (64 << 10));
}

TEST_F(RexdTlsTest, TwoSessionsHaveDifferentChannelBindings) {
  auto a = rex::Client::Connect(address_, 5000, "a", Pinned());
  auto b = rex::Client::Connect(address_, 5000, "b", Pinned());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.value()->channel_binding(), b.value()->channel_binding());
}

TEST_F(RexdTlsTest, PlaintextClientIsToldToUseTls) {
  auto c = rex::Client::Connect(address_, 5000, "plain");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().kind(), ErrorKind::kPeerProtocol);
  EXPECT_NE(c.status().message().find("handshake_required: this rexd port needs TLS"),
            std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("--tls-pin"), std::string::npos);
  TearDown();
  EXPECT_NE(log_.find("on the trader port spoke plaintext to TLS; refused"), std::string::npos)
      << log_;
}

TEST_F(RexdTlsTest, WrongPinIsRefusedAndLogged) {
  rex::ConnectOptions options = Pinned();
  options.tls->pin = std::string(64, '0');
  auto c = rex::Client::Connect(address_, 5000, "wrong", options);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not the pinned 0000"), std::string::npos)
      << c.status().message();
  // The client's alert reaches the server, which logs the failed handshake.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  TearDown();
  EXPECT_NE(log_.find("TLS handshake with 127.0.0.1:"), std::string::npos) << log_;
}

}  // namespace
}  // namespace ardus::rexd
