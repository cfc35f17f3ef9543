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
#include <chrono>
#include <cstring>

#include "notify/notify_wire.h"
#include "rex/body.h"
#include "rexd/notify_service.h"
#include "rexd/trader_service.h"
#include "trader/trader_wire.h"

namespace ardus::rexd {

namespace {

std::int64_t WallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

constexpr const char* kPortFlag[] = {"--trader-port", "--notify-port"};
constexpr const char* kServiceName[] = {"trader", "notify"};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config, Engines engines) {
  std::unique_ptr<Server> s(new Server(engines, config.limits));
  s->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (auto st = s->Listen(config, kTrader, config.trader_port); !st.ok()) return st;
  if (auto st = s->Listen(config, kNotify, config.notify_port); !st.ok()) return st;
  return s;
}

Status Server::Listen(const ServerConfig& config, Service service, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, config.listen.c_str(), &addr.sin_addr) != 1) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         fmt::format("--listen {}: not an IPv4 address", config.listen));
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  listen_fd_[service] = fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    std::string where = fmt::format("{}:{} ({})", config.listen, port, kServiceName[service]);
    if (err == EACCES && port < 1024) {
      return Status::Error(
          ErrorKind::kLocalIo,
          fmt::format("cannot listen on {}: port {} is privileged and this "
                      "process may not bind it (run as root, grant "
                      "CAP_NET_BIND_SERVICE, or pick another port with {}, "
                      "e.g. {} {})",
                      where, port, kPortFlag[service], kPortFlag[service], port + 1000));
    }
    return Status::Error(
        ErrorKind::kLocalIo,
        fmt::format(
            "cannot listen on {}: {}{}", where, std::strerror(err),
            err == EADDRINUSE ? fmt::format(" (choose another {})", kPortFlag[service]) : ""));
  }
  listen(fd, 1024);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ports_[service] = ntohs(addr.sin_port);
  epoll_event ev{EPOLLIN, {.u64 = static_cast<std::uint64_t>(service)}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  return Status::Ok();
}

Server::~Server() {
  for (auto& [id, c] : conns_) close(c->fd);
  for (int fd : listen_fd_) {
    if (fd >= 0) close(fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Server::Accept(Service service) {
  while (true) {
    int fd = accept4(listen_fd_[service], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error such as EMFILE: try next turn
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint64_t id = next_conn_++;
    auto c = std::make_unique<Conn>(Conn{
        id, fd, service, rex::ServerConnection("rexd 0.1.0", {kServiceName[service]}, limits_)});
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
  TraderService trader(e_.trader);
  NotifyService notify(e_.broker);
  for (auto& r : requests) {
    auto reply =
        c.service == kTrader ? trader.Handle(now_ms, c.id, r) : notify.Handle(now_ms, c.id, r);
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

Status Server::Commit() {
  Status s = e_.trader_journal.Commit(e_.trader.TakeMutations(), e_.trader.next_offer_id());
  if (!s.ok()) return s;
  return e_.notify_journal.Commit(e_.broker.TakeMutations(), e_.broker);
}

void Server::Release(const Status& committed) {
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
  if (!committed.ok()) return;  // nothing uncommitted may reach a client
  for (const auto& ev : e_.trader.TakeWatchEvents()) {
    auto it = conns_.find(ev.owner);
    if (it == conns_.end()) continue;
    it->second->rex.Push(static_cast<std::uint16_t>(trader::Method::kWatchEvent),
                         static_cast<std::uint32_t>(ev.watch), TraderService::EncodeEvent(ev));
  }
  for (const auto& d : e_.broker.TakeDeliveries()) {
    auto it = conns_.find(d.owner);
    if (it == conns_.end()) continue;
    rex::ServerConnection& rex = it->second->rex;
    auto id = static_cast<std::uint32_t>(d.subscription);
    if (d.missed) {
      rex::BodyWriter w;
      w.Map(1).Key("missed").Uint(d.missed);
      rex.Push(static_cast<std::uint16_t>(notify::Method::kGap), id, w.bytes());
    }
    rex.Push(static_cast<std::uint16_t>(notify::Method::kEvent), id, d.event->wire);
  }
  for (const auto& c : e_.broker.TakeTypeChanges()) {
    auto it = conns_.find(c.owner);
    if (it == conns_.end()) continue;
    static constexpr const char* kChange[] = {"offered", "subscribed", "unsubscribed"};
    rex::BodyWriter w;
    w.Map(3).Key("channel").Str(c.channel).Key("change").Str(kChange[c.kind]);
    w.Key("type").Str(c.type);
    it->second->rex.Push(static_cast<std::uint16_t>(notify::Method::kTypeChange), 0, w.bytes());
  }
}

Status Server::Run(const volatile std::sig_atomic_t* stop) {
  epoll_event events[256];
  while (!*stop) {
    std::int64_t now = WallMs();
    std::int64_t next = std::min(e_.trader.NextDeadline(), e_.broker.NextDeadline());
    std::int64_t wait = std::clamp<std::int64_t>(next - now, 0, 500);
    int n = epoll_wait(epoll_fd_, events, 256, static_cast<int>(wait));
    now = WallMs();
    for (int i = 0; i < n; ++i) {
      std::uint64_t id = events[i].data.u64;
      if (id == kTrader || id == kNotify) {
        Accept(static_cast<Service>(id));
        continue;
      }
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadFrom(*it->second, now);
    }
    e_.trader.Tick(now);
    e_.broker.Tick(now);
    Status committed = Commit();
    Release(committed);
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = *it->second;
      WriteTo(c);
      if (c.dead || (c.rex.closing() && c.rex.pending().empty())) {
        close(c.fd);
        e_.trader.DropOwner(c.id);
        e_.broker.DropOwner(c.id);
        it = conns_.erase(it);
        continue;
      }
      UpdateInterest(c);
      ++it;
    }
    if (!committed.ok()) return committed;
  }
  return Status::Ok();
}

}  // namespace ardus::rexd
