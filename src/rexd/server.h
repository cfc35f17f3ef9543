// rexd's event loop: a single-threaded epoll server that drives the sans-IO
// pieces (rex::ServerConnection per client, the Trader through
// TraderService) and commits each batch to the journal before replying.
//
// One loop iteration: read every ready connection, serve the complete
// requests, expire leases, commit the batch's mutations in one transaction
// (group commit), then release the replies and watch pushes and write.
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
#include "rex/server_connection.h"
#include "rexd/sqlite_journal.h"
#include "trader/trader.h"

namespace ardus::rexd {

struct ServerConfig {
  std::string listen = "0.0.0.0";
  std::uint16_t trader_port = 124;
  rex::ConnectionLimits limits;
};

class Server {
 public:
  // Binds and listens. Errors: kInvalidArgument (bad address), kLocalIo
  // (port in use, or a privileged port without the right to bind it: the
  // message names --trader-port).
  static Result<std::unique_ptr<Server>> Start(const ServerConfig& config, trader::Trader& trader,
                                               SqliteJournal& journal);
  ~Server();

  // Serves until *stop becomes non-zero (a signal handler sets it). Returns
  // an error only if the journal failed: rexd must then exit, and restart
  // from the durable state, because the batch in memory was not committed.
  Status Run(const volatile std::sig_atomic_t* stop);

  std::uint16_t trader_port() const { return port_; }

 private:
  struct Conn {
    std::uint64_t id;
    int fd;
    rex::ServerConnection rex;
    std::uint32_t interest = 0;  // epoll events registered (0: not yet)
    bool dead = false;
  };
  // A reply computed in this iteration, sent once the batch is committed.
  struct Held {
    std::uint64_t conn;
    rex::Frame request;  // header only (body cleared)
    rex::Outcome<std::vector<std::uint8_t>> reply;
  };

  Server(trader::Trader& trader, SqliteJournal& journal, rex::ConnectionLimits limits)
      : trader_(trader), journal_(journal), limits_(limits) {}
  void Accept();
  void ReadFrom(Conn& c, std::int64_t now_ms);
  void WriteTo(Conn& c);
  void UpdateInterest(Conn& c);

  trader::Trader& trader_;
  SqliteJournal& journal_;
  rex::ConnectionLimits limits_;
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::uint64_t next_conn_ = 1;
  std::vector<Held> held_;
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
};

}  // namespace ardus::rexd
