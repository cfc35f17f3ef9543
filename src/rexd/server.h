// rexd's event loop: a single-threaded epoll server that drives the sans-IO
// pieces: rex::ServerConnection per client, the Trader (TCP 124) through
// TraderService and the Notify broker (TCP 116) through NotifyService.
//
// One loop turn: read every ready connection, serve the complete requests,
// expire leases and retention, commit the turn's mutations (one transaction
// per store: group commit), then release the replies, watch pushes and event
// deliveries, and write. Nothing a client learns was left uncommitted.
//
// Thread-safety: none; Run() owns the thread that calls it.
#pragma once

#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "notify/broker.h"
#include "rex/server_connection.h"
#include "rexd/notify_journal.h"
#include "rexd/sqlite_journal.h"
#include "trader/trader.h"

namespace ardus::rexd {

struct ServerConfig {
  std::string listen = "0.0.0.0";
  std::uint16_t trader_port = 124;
  std::uint16_t notify_port = 116;
  rex::ConnectionLimits limits;
};

// The engines and their stores; owned by the caller, outliving the Server.
struct Engines {
  trader::Trader& trader;
  SqliteJournal& trader_journal;
  notify::Broker& broker;
  NotifyJournal& notify_journal;
};

class Server {
 public:
  // Binds and listens on both ports. Errors: kInvalidArgument (bad address),
  // kLocalIo (a port in use, or privileged without the right to bind it: the
  // message names --trader-port or --notify-port).
  static Result<std::unique_ptr<Server>> Start(const ServerConfig& config, Engines engines);
  ~Server();

  // Serves until *stop becomes non-zero (a signal handler sets it). Returns
  // an error only if a store failed: rexd must then exit, and restart from
  // the durable state, because the turn in memory was not committed.
  Status Run(const volatile std::sig_atomic_t* stop);

  std::uint16_t trader_port() const { return ports_[0]; }
  std::uint16_t notify_port() const { return ports_[1]; }

 private:
  enum Service : std::uint8_t { kTrader = 0, kNotify = 1 };
  struct Conn {
    std::uint64_t id;
    int fd;
    Service service;
    rex::ServerConnection rex;
    std::uint32_t interest = 0;  // epoll events registered (0: not yet)
    bool dead = false;
  };
  // A reply computed in this turn, sent once the turn is committed.
  struct Held {
    std::uint64_t conn;
    rex::Frame request;  // header only (body cleared)
    rex::Outcome<std::vector<std::uint8_t>> reply;
  };

  Server(Engines engines, rex::ConnectionLimits limits) : e_(engines), limits_(limits) {}
  Status Listen(const ServerConfig& config, Service service, std::uint16_t port);
  void Accept(Service service);
  void ReadFrom(Conn& c, std::int64_t now_ms);
  void WriteTo(Conn& c);
  void UpdateInterest(Conn& c);
  Status Commit();
  void Release(const Status& committed);

  Engines e_;
  rex::ConnectionLimits limits_;
  int epoll_fd_ = -1;
  int listen_fd_[2] = {-1, -1};
  std::uint16_t ports_[2] = {0, 0};
  std::uint64_t next_conn_ = 16;  // ids below are the listeners
  std::vector<Held> held_;
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
};

}  // namespace ardus::rexd
