#include "rexd/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "rex/body.h"  // ErrorBody: refusing a client before its HELLO
#include "rexd/clock.h"

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

Server::Conn::Conn(std::uint64_t id, int fd, std::size_t listener, const std::string& service,
                   const rex::ConnectionLimits& limits, std::int64_t now_ms,
                   rex::OutputMeter* meter)
    : id(id), fd(fd), listener(listener), rex("rexd 0.1.0", {service}, limits, now_ms, meter) {}

Server::Server(std::vector<Endpoint> endpoints, const ServerConfig& config)
    : limits_(config.limits), max_connections_(config.max_connections), meter_{config.max_output} {
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
    int fd = accept4(listeners_[listener].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
    auto c = std::make_unique<Conn>(id, fd, listener, listeners_[listener].endpoint.name, limits_,
                                    now_ms, &meter_);
    c->identity = &policy_->anonymous();
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
  std::uint32_t want = (c.rex.want_read() ? std::uint32_t{EPOLLIN} : 0u) |
                       (c.rex.pending().empty() ? 0u : std::uint32_t{EPOLLOUT});
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
    c.rex.OnBytes(now_ms, {buf, static_cast<std::size_t>(n)});
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

void Server::WriteTo(Conn& c, std::int64_t now_ms) {
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
    if (c.dead || c.rex.finished()) {
      close(c.fd);
      it = conns_.erase(it);
      closed = true;
      continue;
    }
    UpdateInterest(c);
    backlog_ = backlog_ || c.rex.ready();
    next = std::min(next, c.rex.NextDeadline());
    ++it;
  }
  ResumeAccepting(now_ms, closed);
  for (const auto& l : listeners_) {
    if (l.paused_until) next = std::min(next, l.paused_until);
  }
  return next;
}

Status Server::Run(const volatile std::sig_atomic_t* stop) {
  epoll_event events[256];
  std::int64_t conn_deadline = std::numeric_limits<std::int64_t>::max();
  while (!*stop) {
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
