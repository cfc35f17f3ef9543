#include "rexd/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "rex/auth_exchange.h"
#include "rex/body.h"  // ErrorBody: refusing a client before its HELLO
#include "rexd/clock.h"
#include "seal/identity.h"

namespace ardus::rexd {

namespace {

// Fair serving. A request costs kRequestWork, plus one per evaluation step
// its engine spent, plus one per kReplyBytesPerWork bytes of its reply; a
// turn serves until kTurnWork is spent (about 10 ms of cheap requests: a
// query at its full step budget takes one turn to itself).
constexpr std::uint64_t kRequestWork = 1000;
constexpr std::uint64_t kReplyBytesPerWork = 16;
constexpr std::uint64_t kTurnWork = 4'000'000;
// Accepting pauses this long when the system cannot give a descriptor.
constexpr std::int64_t kAcceptPauseMs = 100;
constexpr int kAcceptsPerTurn = 256;
// TLS: output is encrypted this much at a time, once the previous chunk is
// written, so that what waits for a slow reader stays in the
// ServerConnection, where max_pending, max_push_pending, --max-output and the
// write timeout see it (four full records).
constexpr std::size_t kTlsChunk = 64 << 10;

// The auth file's text. Errors name the path: kLocalIo (cannot read),
// kLimitExceeded (over the parser's limit, checked before reading it all).
Result<std::string> ReadAuthFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("cannot read --auth {}: {}", path, std::strerror(errno)));
  }
  std::string text(auth::kMaxAuthFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    return Status::Error(ErrorKind::kLocalIo, fmt::format("cannot read --auth {}", path));
  }
  if (text.size() > auth::kMaxAuthFileBytes) {
    return Status::Error(ErrorKind::kLimitExceeded, fmt::format("--auth {}: larger than {} bytes",
                                                                path, auth::kMaxAuthFileBytes));
  }
  return text;
}

Status AuthFileError(const std::string& path, const auth::ParseError& e) {
  if (e.line == 0) {
    return Status::Error(ErrorKind::kLimitExceeded, fmt::format("--auth {}: {}", path, e.message));
  }
  return Status::Error(ErrorKind::kInvalidArgument,
                       fmt::format("--auth {} line {}: {}", path, e.line, e.message));
}

rex::Nonce FreshNonce() {
  rex::Nonce n;
  std::size_t got = 0;
  while (got < n.size()) {
    ssize_t r = getrandom(n.data() + got, n.size() - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) std::abort();  // Linux >= 3.17 never fails once seeded; no weak nonce
    got += static_cast<std::size_t>(r);
  }
  return n;
}

}  // namespace

// Hands a service's pushes to its connections, skipping those gone.
class Server::Pusher final : public services::PushSink {
 public:
  explicit Pusher(Server& s) : s_(s) {}
  void Push(std::uint64_t owner, std::uint16_t method, std::uint32_t id,
            std::span<const std::uint8_t> body) override {
    auto it = s_.conns_.find(owner);
    if (it != s_.conns_.end()) it->second->rex.Push(method, id, body);
  }

 private:
  Server& s_;
};

Server::Conn::Conn(Server& server, std::uint64_t id, int fd, std::size_t listener,
                   const std::string& service, const rex::ConnectionLimits& limits,
                   std::int64_t now_ms, rex::OutputMeter* meter)
    : id(id),
      fd(fd),
      listener(listener),
      rex("rexd 0.1.0", {service}, limits, now_ms, meter),
      authenticator(server, *this) {}

Result<std::string, rex::Error> Server::ConnAuthenticator::Authenticate(
    const rex::AuthAttempt& attempt) {
  return server_.Authenticate(conn_, attempt);
}

Server::Server(std::vector<Endpoint> endpoints, const ServerConfig& config)
    : auth_file_(config.auth_file),
      quiet_(config.quiet),
      tls_(config.tls),
      log_(config.log),
      limits_(config.limits),
      max_connections_(config.max_connections),
      meter_{config.max_output} {
  for (auto& e : endpoints) listeners_.push_back(Listener{std::move(e)});
}

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config,
                                              std::vector<Endpoint> endpoints) {
  if (endpoints.empty() || endpoints.size() > kMaxEndpoints) {
    return Status::Error(
        ErrorKind::kInvalidArgument,
        fmt::format("rexd serves 1 to {} services, not {}", kMaxEndpoints, endpoints.size()));
  }
  std::unique_ptr<Server> s(new Server(std::move(endpoints), config));
  if (!config.auth_file.empty()) {
    if (auto loaded = s->ReloadAuth(); !loaded.ok()) return loaded.status();
  }
  s->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  s->spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto& l : s->listeners_) {
    if (auto st = s->Listen(config, l); !st.ok()) return st;
  }
  return s;
}

Status Server::Listen(const ServerConfig& config, Listener& l) {
  const std::uint16_t port = l.endpoint.port;
  const std::string& flag = l.endpoint.port_flag;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, config.listen.c_str(), &addr.sin_addr) != 1) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("--listen {}: not an IPv4 address", config.listen));
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  l.fd = fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    std::string where = fmt::format("{}:{} ({})", config.listen, port, l.endpoint.name);
    if (err == EACCES && port < 1024) {
      return Status::Error(ErrorKind::kLocalIo,
                           fmt::format("cannot listen on {}: port {} is privileged and this "
                                       "process may not bind it (run as root, grant "
                                       "CAP_NET_BIND_SERVICE, or pick another port with {}, "
                                       "e.g. {} {})",
                                       where, port, flag, flag, port + 1000));
    }
    return Status::Error(
        ErrorKind::kLocalIo,
        fmt::format("cannot listen on {}: {}{}", where, std::strerror(err),
                    err == EADDRINUSE ? fmt::format(" (choose another {})", flag) : ""));
  }
  listen(fd, 1024);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  l.port = ntohs(addr.sin_port);
  epoll_event ev{EPOLLIN, {.u64 = static_cast<std::uint64_t>(&l - listeners_.data())}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  return Status::Ok();
}

Server::~Server() {
  for (auto& [id, c] : conns_) close(c->fd);
  for (const auto& l : listeners_) {
    if (l.fd >= 0) close(l.fd);
  }
  if (spare_fd_ >= 0) close(spare_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Server::Accept(std::size_t listener, std::int64_t now_ms) {
  // A bounded number per turn: a flood of connections (each refused, say)
  // must not keep the loop from the clients already served. The listener is
  // level-triggered, so the rest are accepted next turn.
  for (int i = 0; i < kAcceptsPerTurn; ++i) {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    int fd = accept4(listeners_[listener].fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE) {
        Spare spare = RefuseWithSpareFd(listener);
        if (spare == Spare::kRefused) continue;  // more may wait
        if (spare == Spare::kNoneWaiting) return;
      }
      // No descriptor to refuse with (or another failure): the listener is
      // level-triggered, so stop watching it for a moment instead of spinning.
      PauseAccepting(listener, now_ms);
      return;
    }
    if (conns_.size() >= max_connections_) {
      Refuse(fd, fmt::format("rexd serves at most {} connections (--max-connections); try later",
                             max_connections_));
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint64_t id = next_conn_++;
    auto c = std::make_unique<Conn>(*this, id, fd, listener, listeners_[listener].endpoint.name,
                                    limits_, now_ms, &meter_);
    c->peer_ip = peer.sin_addr.s_addr;
    c->peer_port = ntohs(peer.sin_port);
    if (tls_) {
      auto session = tls::TlsSession::Start(*tls_, WallMs() / 1000);
      if (!session.ok()) {
        Log(fmt::format("TLS for {}: {}", PeerName(*c), session.error().message));
        close(fd);
        continue;
      }
      c->tls.emplace(std::move(session).value());
    }
    c->rex.OfferAuthentication(FreshNonce(), c->authenticator);
    Resolve(*c);
    UpdateInterest(*c);
    conns_.emplace(id, std::move(c));
  }
}

// Out of descriptors: the spare one makes room to accept a client and tell
// it why, instead of leaving it in the backlog to time out.
Server::Spare Server::RefuseWithSpareFd(std::size_t listener) {
  if (spare_fd_ < 0) return Spare::kUnavailable;
  close(spare_fd_);
  int fd = accept4(listeners_[listener].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  int err = errno;
  if (fd >= 0) Refuse(fd, "rexd is out of file descriptors; try later");
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (spare_fd_ < 0) return Spare::kUnavailable;
  if (fd >= 0) return Spare::kRefused;
  return err == EAGAIN || err == EWOULDBLOCK ? Spare::kNoneWaiting : Spare::kUnavailable;
}

void Server::Refuse(int fd, const std::string& why) {
  std::vector<std::uint8_t> out;
  rex::AppendFrame(rex::Kind::kError, 0, 0, rex::ErrorBody(rex::Fail(rex::Code::kOverloaded, why)),
                   out);
  (void)send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // Unread input would make close() reset the connection before the client
  // reads the error; a fresh connection holds at most its HELLO.
  std::uint8_t sink[4096];
  (void)recv(fd, sink, sizeof sink, MSG_DONTWAIT);
  close(fd);
}

void Server::PauseAccepting(std::size_t listener, std::int64_t now_ms) {
  Listener& l = listeners_[listener];
  if (l.paused_until) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
  l.paused_until = now_ms + kAcceptPauseMs;
}

void Server::ResumeAccepting(std::int64_t now_ms, bool room) {
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (!l.paused_until || (!room && now_ms < l.paused_until)) continue;
    l.paused_until = 0;
    epoll_event ev{EPOLLIN, {.u64 = static_cast<std::uint64_t>(i)}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, l.fd, &ev);
  }
}

void Server::UpdateInterest(Conn& c) {
  // With TLS, the REX output waits until the handshake is done, then goes
  // out a chunk at a time after what is already encrypted.
  const bool rex_output = !c.rex.pending().empty() && (!c.tls || c.tls_up());
  const bool output = c.tls ? tls_unsent(c) > 0 || rex_output : rex_output;
  std::uint32_t want =
      (c.rex.want_read() ? std::uint32_t{EPOLLIN} : 0u) | (output ? std::uint32_t{EPOLLOUT} : 0u);
  if (want == c.interest && c.interest != 0) return;
  epoll_event ev{want, {.u64 = c.id}};
  epoll_ctl(epoll_fd_, c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
  c.interest = want == 0 ? EPOLLERR : want;  // non-zero: registered
}

void Server::ReadFrom(Conn& c, std::int64_t now_ms) {
  std::uint8_t buf[65536];
  for (int round = 0; round < 4 && c.rex.want_read(); ++round) {
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      c.dead = true;
      break;
    }
    if (n < 0) break;
    if (c.tls) {
      if (!FromTls(c, now_ms, {buf, static_cast<std::size_t>(n)})) break;
    } else {
      if (!c.read_any) NoteFirstBytes(c, {buf, static_cast<std::size_t>(n)});
      c.rex.OnBytes(now_ms, {buf, static_cast<std::size_t>(n)});
    }
    if (static_cast<std::size_t>(n) < sizeof buf) break;
  }
}

void Server::Serve(std::int64_t wall_ms) {
  // Start-time fair queueing: a connection that becomes ready starts level
  // with the last one served, so idling earns no burst.
  std::vector<Conn*>& ready = ready_;  // a member: no allocation per turn
  ready.clear();
  for (auto& [id, c] : conns_) {
    if (c->dead || !c->rex.ready(c->held)) continue;
    c->vtime = std::max(c->vtime, vclock_);
    ready.push_back(c.get());
  }
  auto later = [](const Conn* a, const Conn* b) { return a->vtime > b->vtime; };
  std::make_heap(ready.begin(), ready.end(), later);
  std::uint64_t spent = 0;
  while (!ready.empty() && spent < kTurnWork) {
    std::pop_heap(ready.begin(), ready.end(), later);
    Conn& c = *ready.back();
    ready.pop_back();
    vclock_ = c.vtime;
    if (c.peer_certificate && !c.certificate_resolved) Resolve(c);
    rex::Frame r;
    if (!c.rex.NextRequest(&r, c.held)) continue;
    auto [reply, steps] =
        listeners_[c.listener].endpoint.service.Handle(wall_ms, {c.id, c.identity}, r);
    if (reply.ok() && reply.value().size() > limits_.max_pending) {
      reply = rex::Fail(rex::Code::kLimitExceeded,
                        fmt::format("the reply would be {} bytes, over the limit of {}; ask for "
                                    "less at a time",
                                    reply.value().size(), limits_.max_pending));
    }
    std::size_t bytes =
        rex::kHeaderBytes + (reply.ok() ? reply.value().size() : reply.error().message.size() + 64);
    std::uint64_t cost = kRequestWork + steps + bytes / kReplyBytesPerWork;
    c.vtime += cost;
    spent += cost;
    c.held += bytes;
    meter_.total += bytes;
    r.body.clear();
    held_.push_back(Held{c.id, std::move(r), std::move(reply), bytes});
    if (c.rex.ready(c.held)) {
      ready.push_back(&c);
      std::push_heap(ready.begin(), ready.end(), later);
    }
  }
}

bool Server::FromTls(Conn& c, std::int64_t now_ms, std::span<const std::uint8_t> network) {
  tls::TlsSession& session = *c.tls;
  const bool was_established = session.established();
  plaintext_.clear();
  auto received = session.Receive(network, plaintext_);
  meter_.total += session.TakeOutput(c.tls_out);
  if (!received.ok() && received.error().failure == tls::Failure::kPlaintextPeer) {
    RefusePlaintext(c);
    return false;
  }
  if (!was_established && session.established()) {
    auto binding = session.ChannelBinding();
    if (!binding.ok()) {
      TlsFailed(c, binding.error());
      return false;
    }
    c.channel_binding = std::move(binding).value();
    c.peer_certificate = session.peer();
  }
  // Plaintext that arrived before a close_notify or an error still counts.
  if (!plaintext_.empty()) c.rex.OnBytes(now_ms, plaintext_);
  if (!received.ok()) {
    if (received.error().failure == tls::Failure::kClosed) {
      c.dead = true;  // the client is gone, as a plaintext EOF
    } else {
      TlsFailed(c, received.error());
    }
    return false;
  }
  return true;
}

// A plaintext port: a TLS ClientHello is worth a log line (rex answers it
// with bad_frame or frame_too_large in plaintext, which the client's TLS
// reports as "the server does not speak TLS").
void Server::NoteFirstBytes(Conn& c, std::span<const std::uint8_t> bytes) {
  c.read_any = true;
  if (!tls::LooksLikeTls(bytes)) return;
  Log(fmt::format("{} on the {} port started TLS, but rexd runs without TLS (--tls-cert)",
                  PeerName(c), listeners_[c.listener].endpoint.name));
}

// The first byte was not TLS: most likely a plaintext REX client. Tell it in
// its own language, then close.
void Server::RefusePlaintext(Conn& c) {
  const std::string& service = listeners_[c.listener].endpoint.name;
  Log(fmt::format("{} on the {} port spoke plaintext to TLS; refused", PeerName(c), service));
  std::vector<std::uint8_t> out;
  rex::AppendFrame(
      rex::Kind::kError, 0, 0,
      rex::ErrorBody(
          rex::Fail(rex::Code::kHandshakeRequired,
                    "this rexd port needs TLS: connect with rex --tls-ca FILE (or $REX_TLS_CA) or "
                    "--tls-pin SHA256 (the fingerprint rexd prints at start)")),
      out);
  (void)send(c.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  c.dead = true;
}

// A failed handshake or record: send the alert the session queued (it tells
// the client why), log, and close.
void Server::TlsFailed(Conn& c, const tls::Error& error) {
  Log(fmt::format("TLS {} with {} failed: {} ({})", c.tls_up() ? "session" : "handshake",
                  PeerName(c), error.message, tls::FailureName(error.failure)));
  (void)SendTlsOut(c);
  c.dead = true;
}

std::string Server::PeerName(const Conn& c) const {
  char ip[INET_ADDRSTRLEN] = "?";
  in_addr addr{c.peer_ip};
  inet_ntop(AF_INET, &addr, ip, sizeof ip);
  return fmt::format("{}:{}", ip, c.peer_port);
}

void Server::Log(std::string_view line) const {
  if (log_) {
    log_(line);
  } else {
    fmt::print(stderr, "rexd: {}\n", line);
  }
}

// Writes the encrypted output; false if the socket failed (c.dead is set).
bool Server::SendTlsOut(Conn& c) {
  while (tls_unsent(c) > 0) {
    ssize_t n = send(c.fd, c.tls_out.data() + c.tls_sent, tls_unsent(c), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) c.dead = true;
      return !c.dead;
    }
    c.tls_sent += static_cast<std::size_t>(n);
    meter_.total -= static_cast<std::size_t>(n);
  }
  c.tls_out.clear();
  c.tls_sent = 0;
  return true;
}

void Server::WriteTls(Conn& c, std::int64_t now_ms) {
  tls::TlsSession& session = *c.tls;
  for (;;) {
    if (!SendTlsOut(c) || tls_unsent(c) > 0) return;
    auto pending = c.rex.pending();
    if (!session.established() || pending.empty()) return;
    auto chunk = pending.first(std::min(pending.size(), kTlsChunk));
    if (auto sent = session.Send(chunk); !sent.ok()) {
      TlsFailed(c, sent.error());
      return;
    }
    c.rex.Consumed(chunk.size(), now_ms);
    meter_.total += session.TakeOutput(c.tls_out);
  }
}

// Whether a finishing TLS connection may close now: its close_notify and
// every encrypted byte written, or the write timeout spent on them.
bool Server::TlsFinished(Conn& c, std::int64_t now_ms) {
  if (!c.tls_up()) return true;  // no handshake: nothing can reach the client
  if (!c.tls_closed) {
    c.tls_closed = true;
    c.tls->Close();
    meter_.total += c.tls->TakeOutput(c.tls_out);
    (void)SendTlsOut(c);
  }
  if (tls_unsent(c) == 0 || c.dead) return true;
  if (c.tls_close_by == 0) c.tls_close_by = now_ms + limits_.write_timeout_ms;
  return now_ms >= c.tls_close_by;
}

void Server::WriteTo(Conn& c, std::int64_t now_ms) {
  if (c.tls) return WriteTls(c, now_ms);
  while (!c.rex.pending().empty()) {
    auto out = c.rex.pending();
    ssize_t n = send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) c.dead = true;
      return;
    }
    c.rex.Consumed(static_cast<std::size_t>(n), now_ms);
  }
}

Status Server::Commit() {
  for (auto& l : listeners_) {
    if (Status s = l.endpoint.service.Commit(); !s.ok()) return s;
  }
  return Status::Ok();
}

void Server::Release(const Status& committed) {
  for (auto& h : held_) {
    meter_.total -= h.bytes;
    auto it = conns_.find(h.conn);
    if (it == conns_.end()) continue;
    it->second->held = 0;
    rex::ServerConnection& rex = it->second->rex;
    if (!committed.ok()) {
      rex.ReplyError(h.request, rex::Fail(rex::Code::kStorageFailed, committed.message()));
    } else if (h.reply.ok()) {
      rex.Reply(h.request, h.reply.value());
    } else {
      rex.ReplyError(h.request, h.reply.error());
    }
  }
  held_.clear();
  if (!committed.ok()) return;  // nothing uncommitted may reach a client
  Pusher pusher(*this);
  for (auto& l : listeners_) l.endpoint.service.TakePushes(pusher);
}

void Server::EnforceOutputCap() {
  if (!meter_.over()) return;
  // The connections whose output has waited longest go first: those are the
  // clients that stopped reading, not the ones busy receiving a large reply.
  std::vector<Conn*> waiting;
  for (auto& [id, c] : conns_) {
    if (!c->rex.closing() && !c->rex.pending().empty()) waiting.push_back(c.get());
  }
  std::sort(waiting.begin(), waiting.end(), [](const Conn* a, const Conn* b) {
    if (a->rex.stalled_since() != b->rex.stalled_since()) {
      return a->rex.stalled_since() < b->rex.stalled_since();
    }
    return a->rex.pending().size() > b->rex.pending().size();
  });
  for (Conn* c : waiting) {
    if (!meter_.over()) break;
    c->rex.Overload(fmt::format(
        "rexd's output to all clients passed {} bytes (--max-output) and this client's output "
        "had waited longest",
        meter_.cap));
  }
}

void Server::Forget(Conn& c) {
  if (c.dropped) return;
  c.dropped = true;
  listeners_[c.listener].endpoint.service.DropOwner(c.id);
}

std::int64_t Server::Finish(std::int64_t now_ms) {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  bool closed = false;
  backlog_ = false;
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn& c = *it->second;
    WriteTo(c, now_ms);
    c.rex.Tick(now_ms);
    // A closing connection is served no more: free its subscriptions and
    // queues now, not when its last bytes are written.
    if (c.rex.closing() || c.dead) Forget(c);
    if (c.tls && !c.tls_up() && c.rex.closing() && !c.dead) {
      // rex gave up (the handshake timeout) before TLS was up: its ERROR
      // cannot be sent in the clear to a TLS client.
      Log(fmt::format("TLS handshake with {} not complete within the handshake timeout; closed",
                      PeerName(c)));
      c.dead = true;
    }
    if (c.dead || (c.rex.finished() && (!c.tls || TlsFinished(c, now_ms)))) {
      meter_.total -= tls_unsent(c);
      close(c.fd);
      it = conns_.erase(it);
      closed = true;
      continue;
    }
    UpdateInterest(c);
    backlog_ = backlog_ || c.rex.ready();
    next = std::min(next, c.rex.NextDeadline());
    if (c.tls_close_by) next = std::min(next, c.tls_close_by);
    ++it;
  }
  ResumeAccepting(now_ms, closed);
  for (const auto& l : listeners_) {
    if (l.paused_until) next = std::min(next, l.paused_until);
  }
  return next;
}

Result<std::string, rex::Error> Server::Authenticate(Conn& c, const rex::AuthAttempt& attempt) {
  const std::string& service = listeners_[c.listener].endpoint.name;
  const std::string fingerprint = auth::KeyFingerprint(attempt.request.key);
  auto refuse = [&](std::string why) {
    Log(fmt::format("connection {} ({}): AUTH refused: {}", c.id, service, why));
    return rex::Fail(rex::Code::kUnauthenticated, std::move(why));
  };
  std::vector<std::uint8_t> message = rex::AuthMessage(attempt.nonce, service, c.channel_binding);
  if (!seal::Verify(attempt.request.key, message, attempt.request.signature)) {
    return refuse(fmt::format(
        "the signature does not verify for key {} over this connection's nonce, service '{}'{}: "
        "a wrong key, or a handshake replayed or relayed from another connection",
        fingerprint, service, c.channel_binding.empty() ? "" : " and TLS session"));
  }
  if (!auth_file_.empty() && !auth_.current()->Find(auth::CredentialKind::kKey, fingerprint)) {
    return refuse(fmt::format("key {} is not in the auth file", fingerprint));
  }
  c.key_fingerprint = fingerprint;
  Resolve(c);
  Note(fmt::format("connection {} ({}): identity '{}' (key {}{})", c.id, service,
                   c.identity->name(), fingerprint, auth_file_.empty() ? "; no --auth" : ""));
  return c.identity->name();
}

void Server::Resolve(Conn& c) {
  const auth::AuthPolicy& policy = *auth_.current();
  const bool open = auth_file_.empty();
  // What a credential the file does not name may do: everything under the
  // open policy; nothing under an auth file (never more than anonymous).
  const auth::Identity& unknown = open ? policy.anonymous() : auth::AuthPolicy::Nobody();
  if (!c.key_fingerprint.empty()) {
    const auth::Identity* id = policy.Find(auth::CredentialKind::kKey, c.key_fingerprint);
    c.identity = id ? id : &unknown;
  } else if (c.peer_certificate) {
    const auth::Identity* id =
        policy.FindByCertificate(c.peer_certificate->sha256, c.peer_certificate->subject);
    c.identity = id ? id : &unknown;
    if (!c.certificate_resolved) {
      Note(fmt::format("connection {} ({}): identity '{}' (certificate {}, {})", c.id,
                       listeners_[c.listener].endpoint.name, c.identity->name(),
                       c.peer_certificate->sha256, c.peer_certificate->subject));
    }
    c.certificate_resolved = true;
  } else {
    c.identity = &policy.anonymous();
  }
}

Result<std::size_t> Server::ReloadAuth() {
  if (auth_file_.empty()) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "rexd runs without --auth: nothing to reload");
  }
  auto text = ReadAuthFile(auth_file_);
  if (!text.ok()) return text.status();
  // The old snapshot lives until every connection points into the new one.
  std::shared_ptr<const auth::AuthPolicy> old = auth_.current();
  if (auto r = auth_.Reload(text.value()); !r.ok()) return AuthFileError(auth_file_, r.error());
  for (auto& [id, c] : conns_) {
    const std::string before = c->identity->name();
    Resolve(*c);
    if (c->dropped) continue;  // closing: its service state is gone already
    if (c->identity->name() != before) {
      Log(fmt::format("connection {} ({}): identity '{}' is now '{}' (auth file reloaded)", id,
                      listeners_[c->listener].endpoint.name, before, c->identity->name()));
    }
    listeners_[c->listener].endpoint.service.Reauthorize({c->id, c->identity});
  }
  return auth_.current()->identities().size();
}

void Server::Note(std::string_view line) const {
  if (!quiet_) Log(line);
}

Status Server::Run(const volatile std::sig_atomic_t* stop, volatile std::sig_atomic_t* reload) {
  epoll_event events[256];
  std::int64_t conn_deadline = std::numeric_limits<std::int64_t>::max();
  while (!*stop) {
    if (reload && *reload) {
      *reload = 0;
      auto r = ReloadAuth();
      if (r.ok()) {
        Log(
            fmt::format("SIGHUP: reloaded --auth {} ({} identities); {} connections "
                        "re-resolved",
                        auth_file_, r.value(), conns_.size()));
      } else {
        Log(fmt::format("SIGHUP: {}; the previous permissions stay in force",
                        r.status().message()));
      }
    }
    std::int64_t wall = WallMs(), mono = MonoMs();
    std::int64_t service_deadline = std::numeric_limits<std::int64_t>::max();
    for (const auto& l : listeners_) {
      service_deadline = std::min(service_deadline, l.endpoint.service.NextDeadline());
    }
    std::int64_t wait = std::min(service_deadline - wall, conn_deadline - mono);
    wait = backlog_ ? 0 : std::clamp<std::int64_t>(wait, 0, 500);
    int n = epoll_wait(epoll_fd_, events, 256, static_cast<int>(wait));
    wall = WallMs();
    mono = MonoMs();
    for (int i = 0; i < n; ++i) {
      std::uint64_t id = events[i].data.u64;
      if (id < listeners_.size()) {
        Accept(id, mono);
        continue;
      }
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) it->second->dead = true;
      if (events[i].events & EPOLLIN) ReadFrom(*it->second, mono);
    }
    Serve(wall);
    for (auto& l : listeners_) l.endpoint.service.Tick(wall);
    Status committed = Commit();
    Release(committed);
    EnforceOutputCap();
    conn_deadline = Finish(mono);
    if (!committed.ok()) return committed;
  }
  return Status::Ok();
}

}  // namespace ardus::rexd
