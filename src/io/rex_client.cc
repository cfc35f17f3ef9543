#include "io/rex_client.h"

#include <fmt/core.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "rex/auth_exchange.h"
#include "rex/body.h"

namespace ardus::rex {

namespace {

Result<int> Dial(const std::string& address, int timeout_ms) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("'{}' is not HOST:PORT", address));
  }
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("cannot resolve {}: {}", address, gai_strerror(rc)));
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) != 1) {
      close(fd);
      return Status::Error(ErrorKind::kTimeout,
                           fmt::format("no answer from {} within {} ms", address, timeout_ms));
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    rc = err == 0 ? 0 : -1;
  }
  if (rc != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("cannot connect to {}: {}", address, why));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::int64_t NowUnix() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(const std::string& address, int timeout_ms,
                                                const std::string& agent,
                                                const ConnectOptions& options) {
  auto fd = Dial(address, timeout_ms);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<Client> c(new Client(fd.value(), address));
  if (options.tls) {
    if (auto s = c->StartTls(*options.tls, timeout_ms); !s.ok()) return s;
  }
  BodyWriter w;
  w.Map(2);
  w.Key("version").Uint(kVersion);
  w.Key("agent").Str(agent);
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kHello, 0, 0, w.bytes(), out);
  if (auto s = c->WriteAll(out); !s.ok()) return s;
  auto reply = c->Receive(timeout_ms);
  if (!reply.ok()) return reply.status();
  if (reply.value().kind == Kind::kError) {
    Error e = ParseErrorBody(reply.value().body);
    return Status::Error(
        ErrorKind::kPeerProtocol,
        fmt::format("{} refused the handshake: {}: {}", address, CodeName(e.code), e.message));
  }
  if (reply.value().kind != Kind::kHello) {
    return Status::Error(ErrorKind::kPeerProtocol,
                         fmt::format("{} is not a REX server (no HELLO reply)", address));
  }
  if (options.credentials.identity) {
    auto hello = BodyReader::Parse(reply.value().body);
    if (!hello.ok()) {
      return Status::Error(
          ErrorKind::kPeerProtocol,
          fmt::format("{}: the HELLO reply does not decode: {}", address, hello.error().message));
    }
    if (auto s = c->Authenticate(address, timeout_ms, hello.value(), options.credentials);
        !s.ok()) {
      return s;
    }
  }
  return c;
}

Status Client::Authenticate(const std::string& address, int timeout_ms, const BodyReader& hello,
                            const ClientCredentials& credentials) {
  auto nonce = HelloNonce(hello);
  if (!nonce.ok()) {
    return Status::Error(ErrorKind::kPeerProtocol, fmt::format("{}: cannot authenticate: {}",
                                                               address, nonce.error().message));
  }
  AuthRequest request;
  request.key = credentials.identity->public_key();
  // Bound to this TLS session (empty over plaintext): a proof relayed from
  // another session does not verify.
  request.signature =
      credentials.identity->Sign(AuthMessage(nonce.value(), credentials.service, channel_binding_));
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kAuth, 0, 0, EncodeAuthRequest(request), out);
  if (auto s = WriteAll(out); !s.ok()) return s;
  auto answer = Receive(timeout_ms);
  if (!answer.ok()) return answer.status();
  if (answer.value().kind == Kind::kError) {
    Error e = ParseErrorBody(answer.value().body);
    return Status::Error(
        ErrorKind::kPeerProtocol,
        fmt::format("{} refused the authentication: {}: {}", address, CodeName(e.code), e.message));
  }
  auto body = BodyReader::Parse(answer.value().body);
  if (answer.value().kind != Kind::kAuth || !body.ok()) {
    return Status::Error(ErrorKind::kPeerProtocol,
                         fmt::format("{} did not answer the AUTH frame with AUTH", address));
  }
  identity_name_ = body.value().StringOr("identity", "");
  return Status::Ok();
}

Client::~Client() { close(fd_); }

Status Client::TlsError(const tls::Error& e) const {
  if (e.failure == tls::Failure::kPlaintextPeer) {
    return Status::Error(ErrorKind::kPeerProtocol,
                         fmt::format("the server does not speak TLS on {}; drop --tls-ca/--tls-pin "
                                     "(and $REX_TLS_CA), or start rexd with --tls-cert and "
                                     "--tls-key (or --tls-self-signed DIR)",
                                     address_));
  }
  if (e.failure == tls::Failure::kBadConfig) return e.ToStatus();
  return Status::Error(ErrorKind::kPeerProtocol,
                       fmt::format("TLS with {} failed: {}", address_, e.message));
}

// Runs the TLS handshake to completion within timeout_ms.
Status Client::StartTls(const tls::ClientConfig& config, int timeout_ms) {
  tls::ClientConfig c = config;
  if (c.server_name.empty()) c.server_name = address_.substr(0, address_.rfind(':'));
  auto context = tls::TlsContext::Client(c);
  if (!context.ok()) return TlsError(context.error());
  auto session = tls::TlsSession::Start(context.value(), NowUnix());
  if (!session.ok()) return TlsError(session.error());
  tls_.emplace(std::move(session).value());
  const std::int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    if (auto s = FlushTls(); !s.ok()) return s;
    if (tls_->established()) break;
    pollfd p{fd_, POLLIN, 0};
    const std::int64_t left = deadline - NowMs();
    int ready = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      return Status::Error(ErrorKind::kTimeout,
                           fmt::format("the TLS handshake with {} did not finish within {} ms",
                                       address_, timeout_ms));
    }
    if (auto s = ReadSome(); !s.ok()) return s;
  }
  auto binding = tls_->ChannelBinding();
  if (!binding.ok()) return TlsError(binding.error());
  channel_binding_ = std::move(binding).value();
  server_certificate_ = tls_->peer();
  return Status::Ok();
}

// Writes whatever the TLS session has for the network (handshake, records).
Status Client::FlushTls() {
  tls_buf_.clear();
  tls_->TakeOutput(tls_buf_);
  return WriteRaw(tls_buf_);
}

Status Client::ReadSome() {
  std::uint8_t buf[65536];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return Status::Ok();
  if (n <= 0) {
    return Status::Error(
        ErrorKind::kPeerProtocol,
        tls_ && !tls_->established()
            ? fmt::format("{} closed the connection during the TLS handshake", address_)
            : std::string("the server closed the connection"));
  }
  if (!tls_) {
    parser_.Feed({buf, static_cast<std::size_t>(n)});
    return Status::Ok();
  }
  tls_buf_.clear();
  auto received = tls_->Receive({buf, static_cast<std::size_t>(n)}, tls_buf_);
  if (!tls_buf_.empty()) parser_.Feed(tls_buf_);
  if (!received.ok()) {
    // A last frame (an ERROR saying why) may come with the close_notify: it
    // is parsed first, and the close is seen at the next read.
    if (received.error().failure == tls::Failure::kClosed && !tls_buf_.empty()) {
      return Status::Ok();
    }
    if (received.error().failure == tls::Failure::kClosed) {
      return Status::Error(ErrorKind::kPeerProtocol, "the server closed the connection");
    }
    (void)FlushTls();  // the alert, if any, tells the server why
    return TlsError(received.error());
  }
  return FlushTls();  // post-handshake messages (key updates)
}

Status Client::WriteAll(std::span<const std::uint8_t> bytes) {
  if (!tls_) return WriteRaw(bytes);
  if (auto sent = tls_->Send(bytes); !sent.ok()) return TlsError(sent.error());
  return FlushTls();
}

Status Client::WriteRaw(std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) {
      return Status::Error(ErrorKind::kPeerProtocol,
                           fmt::format("sending to the server failed: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Result<std::uint32_t> Client::Send(std::uint16_t method, std::span<const std::uint8_t> body) {
  std::uint32_t id = next_id_++;
  std::vector<std::uint8_t> out;
  AppendFrame(Kind::kRequest, method, id, body, out);
  if (auto s = WriteAll(out); !s.ok()) {
    // The server may have said why before it closed (e.g. frame_too_large).
    auto why = Receive(500);
    if (why.ok() && why.value().kind == Kind::kError) {
      Error e = ParseErrorBody(why.value().body);
      return Status::Error(ErrorKind::kPeerProtocol,
                           fmt::format("{}: {}", CodeName(e.code), e.message));
    }
    return s;
  }
  return id;
}

Result<Frame> Client::Receive(int timeout_ms) {
  Frame f;
  while (!parser_.Next(&f)) {
    if (parser_.failed()) {
      return Status::Error(ErrorKind::kPeerProtocol,
                           fmt::format("bad frame from the server: {}", parser_.error().message));
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready == 0) return Status::Error(ErrorKind::kTimeout, "no reply in time");
    if (ready < 0 && errno == EINTR) return Status::Error(ErrorKind::kCancelled, "interrupted");
    if (ready < 0) continue;
    if (auto s = ReadSome(); !s.ok()) return s;
  }
  return f;
}

Result<Reply> Client::Call(std::uint16_t method, std::span<const std::uint8_t> body) {
  auto id = Send(method, body);
  if (!id.ok()) return id.status();
  while (true) {
    auto f = Receive(-1);
    if (!f.ok() && f.status().kind() == ErrorKind::kCancelled)
      continue;  // a signal: the reply still comes
    if (!f.ok()) return f.status();
    Frame& frame = f.value();
    if (frame.kind == Kind::kPush) {
      pushes_.push_back(std::move(frame));
      continue;
    }
    if (frame.kind == Kind::kError && frame.id == 0 && id.value() != 0) {
      Error e = ParseErrorBody(frame.body);  // connection-level error: the server closes
      return Status::Error(ErrorKind::kPeerProtocol,
                           fmt::format("{}: {}", CodeName(e.code), e.message));
    }
    if (frame.id != id.value()) continue;  // a reply to an earlier pipelined request
    if (frame.kind == Kind::kError) return Reply(ParseErrorBody(frame.body));
    return Reply(std::move(frame.body));
  }
}

Result<Frame> Client::NextFrame(int timeout_ms) {
  if (!pushes_.empty()) {
    Frame f = std::move(pushes_.front());
    pushes_.erase(pushes_.begin());
    return f;
  }
  return Receive(timeout_ms);
}

}  // namespace ardus::rex
