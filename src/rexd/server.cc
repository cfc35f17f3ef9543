#include "rexd/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "rexd/trader_service.h"
#include "trader/trader_wire.h"

namespace ardus::rexd {

namespace {

std::int64_t WallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config, trader::Trader& trader,
                                              SqliteJournal& journal) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(config.trader_port);
  if (inet_pton(AF_INET, config.listen.c_str(), &addr.sin_addr) != 1) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("--listen {}: not an IPv4 address", config.listen));
  }
  std::unique_ptr<Server> s(new Server(trader, journal, config.limits));
  s->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    std::string where = fmt::format("{}:{}", config.listen, config.trader_port);
    if (err == EACCES && config.trader_port < 1024) {
      return Status::Error(ErrorKind::kLocalIo,
                           fmt::format("cannot listen on {}: port {} is privileged and this "
                                       "process may not bind it (run as root, grant "
                                       "CAP_NET_BIND_SERVICE, or pick another port with "
                                       "--trader-port, e.g. --trader-port 1124)",
                                       where, config.trader_port));
    }
    return Status::Error(ErrorKind::kLocalIo,
                         fmt::format("cannot listen on {}: {}{}", where, std::strerror(err),
                                     err == EADDRINUSE ? " (choose another --trader-port)" : ""));
  }
  listen(s->listen_fd_, 1024);
  socklen_t len = sizeof addr;
  getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  s->port_ = ntohs(addr.sin_port);
  s->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.u64 = 0}};
  epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->listen_fd_, &ev);
  return s;
}

Server::~Server() {
  for (auto& [id, c] : conns_) close(c->fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Server::Accept() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error such as EMFILE: try next round
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint64_t id = next_conn_++;
    auto c = std::make_unique<Conn>(
        Conn{id, fd, rex::ServerConnection("rexd 0.1.0", {"trader"}, limits_)});
    UpdateInterest(*c);
    conns_.emplace(id, std::move(c));
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
  std::vector<rex::Frame> requests;
  for (int round = 0; round < 4 && c.rex.want_read(); ++round) {
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      c.dead = true;
      break;
    }
    if (n < 0) break;
    c.rex.OnBytes({buf, static_cast<std::size_t>(n)}, requests);
    if (static_cast<std::size_t>(n) < sizeof buf) break;
  }
  TraderService service(trader_);
  for (auto& r : requests) {
    auto reply = service.Handle(now_ms, c.id, r);
    r.body.clear();
    held_.push_back(Held{c.id, std::move(r), std::move(reply)});
  }
}

void Server::WriteTo(Conn& c) {
  while (!c.rex.pending().empty()) {
    auto out = c.rex.pending();
    ssize_t n = send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) c.dead = true;
      return;
    }
    c.rex.Consumed(static_cast<std::size_t>(n));
  }
}

Status Server::Run(const volatile std::sig_atomic_t* stop) {
  epoll_event events[256];
  while (!*stop) {
    std::int64_t now = WallMs();
    std::int64_t wait = std::clamp<std::int64_t>(trader_.NextDeadline() - now, 0, 500);
    int n = epoll_wait(epoll_fd_, events, 256, static_cast<int>(wait));
    now = WallMs();
    for (int i = 0; i < n; ++i) {
      std::uint64_t id = events[i].data.u64;
      if (id == 0) {
        Accept();
        continue;
      }
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Conn& c = *it->second;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadFrom(c, now);
    }
    trader_.Tick(now);

    Status committed = journal_.Commit(trader_.TakeMutations(), trader_.next_offer_id());
    for (auto& h : held_) {
      auto it = conns_.find(h.conn);
      if (it == conns_.end()) continue;
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
    for (const auto& e : trader_.TakeWatchEvents()) {
      auto it = conns_.find(e.owner);
      if (it == conns_.end()) continue;
      it->second->rex.Push(static_cast<std::uint16_t>(trader::Method::kWatchEvent),
                           static_cast<std::uint32_t>(e.watch), TraderService::EncodeEvent(e));
    }
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = *it->second;
      WriteTo(c);
      if (c.dead || (c.rex.closing() && c.rex.pending().empty())) {
        close(c.fd);
        trader_.DropOwner(c.id);
        it = conns_.erase(it);
        continue;
      }
      UpdateInterest(c);
      ++it;
    }
    if (!committed.ok()) {
      for (auto& [id, c] : conns_) WriteTo(*c);
      return committed;
    }
  }
  return Status::Ok();
}

}  // namespace ardus::rexd
