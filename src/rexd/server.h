// rexd's event loop: a single-threaded epoll server that drives the sans-IO
// pieces: rex::ServerConnection per client, and any set of services
// (services/service.h), each on its own port. rexd runs the Trader (TCP 124)
// and Notify (TCP 116); the server knows neither.
//
// One loop turn: read what the ready connections sent, serve requests, Tick
// every service (leases, retention), Commit every service in order (one
// transaction per store: group commit), then release the replies and the
// services' pushes, and write. Nothing a client learns was left uncommitted.
//
// Serving is fair between connections: the connection that has had the least
// work so far goes next, one request at a time, until the turn's work budget
// is spent; requests left over wait, parsed, for the next turn, which comes at
// once. A request's work is a fixed cost plus the evaluation steps the engines
// spent on it plus its reply's size, so one client's expensive queries delay
// another client's request by about one turn, not by all of them.
//
// What clients can make rexd hold is bounded: per connection by
// rex::ConnectionLimits (input, output, timeouts), across connections by
// max_connections and max_output (all pending output: past it, the
// connections whose output has waited longest are closed with `overloaded`).
// Out of file descriptors, rexd refuses new connections with `overloaded`
// (or stops accepting for a moment) instead of spinning.
//
// Who a connection is (docs/rex-protocol.md, "Authentication"): every
// connection's HELLO reply carries a fresh nonce; a client that answers with
// a valid AUTH is the identity its key names in the auth file (--auth), one
// with a verified TLS client certificate the identity the certificate names,
// any other the file's anonymous entry. Without --auth, the open policy: a
// verified key or certificate is still logged, and every connection may do
// everything. ReloadAuth (rexd's SIGHUP) swaps in a new file and resolves
// every open connection's credential again.
// TLS (ServerConfig::tls): every port then speaks TLS 1.3 first. A
// connection's bytes pass socket -> tls::TlsSession -> rex::ServerConnection
// and back; the session holds at most one chunk of encrypted output
// (kTlsChunk), the rest waits in the ServerConnection, where the output limits
// and the write timeout count it. The TLS handshake must finish within the
// connection's handshake timeout (it runs from accept to the end of the
// HELLO). A client whose first byte is not a TLS record (a plaintext HELLO) is
// answered with a plaintext ERROR `handshake_required` saying the port needs
// TLS, and closed. Failed handshakes are logged with the peer's address.
//
// Thread-safety: none; Run() owns the thread that calls it.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_file.h"
#include "auth/permissions.h"
#include "common/status.h"
#include "rex/server_connection.h"
#include "services/service.h"
#include "tls/tls_session.h"

namespace ardus::rexd {

struct ServerConfig {
  std::string listen = "127.0.0.1";
  rex::ConnectionLimits limits;
  std::size_t max_connections = 1024;  // all ports together
  std::size_t max_output = 256 << 20;  // pending output of all connections together
  // The auth file (rexd --auth); empty: the open policy, everyone an admin.
  std::string auth_file;
  bool quiet = false;  // log nothing but errors (not each authentication)
  // Set: every port speaks TLS with this (server) context; unset: plaintext.
  std::optional<tls::TlsContext> tls;
  // Where the server logs what happens to clients (failed TLS handshakes);
  // one line, no newline. Default: stderr, prefixed "rexd: ".
  std::function<void(std::string_view)> log;
};

// One service on one port. The service is the caller's and outlives the
// Server.
struct Endpoint {
  std::string name;        // the service name the HELLO announces, e.g. "trader"
  std::string port_flag;   // the flag that sets `port`, named in errors
  std::uint16_t port = 0;  // 0: any free port
  services::Service& service;
};
inline constexpr std::size_t kMaxEndpoints = 16;

class Server {
 public:
  // Reads the auth file, binds and listens on every endpoint's port. Errors:
  // kInvalidArgument (a bad address, no endpoints or more than kMaxEndpoints;
  // an auth file that does not parse: "FILE line N: ..."), kLocalIo (a port
  // in use, or privileged without the right to bind it: the message names
  // the endpoint's port flag; an auth file that cannot be read),
  // kLimitExceeded (an auth file over 1 MiB).
  static Result<std::unique_ptr<Server>> Start(const ServerConfig& config,
                                               std::vector<Endpoint> endpoints);
  ~Server();

  // Serves until *stop becomes non-zero (a signal handler sets it). Returns
  // an error only if a service's Commit failed: rexd must then exit, and
  // restart from the durable state, because the turn in memory was not
  // committed.
  // If `reload` is given, each time it becomes non-zero (SIGHUP) Run sets
  // it back to 0 and calls ReloadAuth, logging the outcome.
  Status Run(const volatile std::sig_atomic_t* stop, volatile std::sig_atomic_t* reload = nullptr);

  // Reads config.auth_file again. On success the new policy is current, every
  // open connection's identity is resolved again from its credential (a
  // credential the file no longer names: AuthPolicy::Nobody()) and each
  // service is told (Service::Reauthorize); returns how many identities the
  // file has. On failure (the same errors as Start) the old policy stays in
  // force. kInvalidArgument without --auth.
  Result<std::size_t> ReloadAuth();

  // The port endpoint `i` (in Start's order) listens on.
  std::uint16_t port(std::size_t i) const { return listeners_[i].port; }

 private:
  struct Listener {
    Endpoint endpoint;
    int fd = -1;
    std::uint16_t port = 0;
    std::int64_t paused_until = 0;  // accepting paused (0: listening)
  };
  struct Conn;
  // Checks one connection's AUTH (rex::ServerConnection hands it over).
  class ConnAuthenticator final : public rex::Authenticator {
   public:
    ConnAuthenticator(Server& server, Conn& conn) : server_(server), conn_(conn) {}
    Result<std::string, rex::Error> Authenticate(const rex::AuthAttempt& attempt) override;

   private:
    Server& server_;
    Conn& conn_;
  };
  struct Conn {
    Conn(Server& server, std::uint64_t id, int fd, std::size_t listener, const std::string& service,
         const rex::ConnectionLimits& limits, std::int64_t now_ms, rex::OutputMeter* meter);
    std::uint64_t id;
    int fd;
    std::size_t listener;  // index into listeners_: the service it talks to
    rex::ServerConnection rex;
    std::uint32_t interest = 0;  // epoll events registered (0: not yet)
    bool dead = false;           // the socket failed or the peer went away
    bool dropped = false;        // the engines have forgotten it (it is closing)
    std::uint64_t vtime = 0;     // fair queueing: the work it has been served
    std::size_t held = 0;        // bytes of replies held for it this turn
    // Who its requests come from: an identity of the current policy, or
    // AuthPolicy::Nobody() (never null). Resolved from the credentials below.
    const auth::Identity* identity = nullptr;
    // The Ed25519 key an accepted AUTH proved (lower-case hex fingerprint;
    // empty: none).
    std::string key_fingerprint;
    // TLS only. Set when the TLS handshake completes, before any REX byte
    // reaches `rex`: the RFC 9266 exporter (32 bytes; empty without TLS) and
    // the client's verified certificate under mutual TLS.
    std::vector<std::uint8_t> channel_binding;
    std::optional<tls::PeerCertificate> peer_certificate;
    bool certificate_resolved = false;  // identity reflects peer_certificate
    ConnAuthenticator authenticator;
    // The TLS handshake is done (the session may have closed since).
    bool tls_up() const { return !channel_binding.empty(); }
    // The TLS path (unset on a plaintext port): the session, and its
    // encrypted output not yet written (tls_out from tls_sent on).
    std::optional<tls::TlsSession> tls;
    std::vector<std::uint8_t> tls_out;
    std::size_t tls_sent = 0;
    bool tls_closed = false;        // close_notify queued
    std::int64_t tls_close_by = 0;  // finishing: give up on tls_out at this time (0: not yet)
    bool read_any = false;          // plaintext: the first bytes were looked at
    std::uint32_t peer_ip = 0;      // network order, for the log
    std::uint16_t peer_port = 0;    // host order
  };
  // A reply computed in this turn, sent once the turn is committed.
  struct Held {
    std::uint64_t conn;
    rex::Frame request;  // header only (body cleared)
    Result<std::vector<std::uint8_t>, rex::Error> reply;
    std::size_t bytes;  // counted in Conn::held and the output meter
  };

  class Pusher;
  Server(std::vector<Endpoint> endpoints, const ServerConfig& config);
  Status Listen(const ServerConfig& config, Listener& l);
  void Accept(std::size_t listener, std::int64_t now_ms);
  enum class Spare : std::uint8_t { kRefused, kNoneWaiting, kUnavailable };
  Spare RefuseWithSpareFd(std::size_t listener);
  void Refuse(int fd, const std::string& why);
  void PauseAccepting(std::size_t listener, std::int64_t now_ms);
  void ResumeAccepting(std::int64_t now_ms, bool room);
  void ReadFrom(Conn& c, std::int64_t now_ms);
  // TLS: decrypts `network` into c.rex; false when the connection is done.
  bool FromTls(Conn& c, std::int64_t now_ms, std::span<const std::uint8_t> network);
  void RefusePlaintext(Conn& c);
  void NoteFirstBytes(Conn& c, std::span<const std::uint8_t> bytes);
  void TlsFailed(Conn& c, const tls::Error& error);
  void WriteTls(Conn& c, std::int64_t now_ms);
  bool SendTlsOut(Conn& c);
  bool TlsFinished(Conn& c, std::int64_t now_ms);
  std::size_t tls_unsent(const Conn& c) const { return c.tls_out.size() - c.tls_sent; }
  std::string PeerName(const Conn& c) const;
  // A line about a client worth an operator's attention (refusals, failed
  // handshakes): always, through ServerConfig::log or to stderr.
  void Log(std::string_view line) const;
  // A routine line (who authenticated): skipped under ServerConfig::quiet.
  void Note(std::string_view line) const;
  void Serve(std::int64_t wall_ms);
  void WriteTo(Conn& c, std::int64_t now_ms);
  void UpdateInterest(Conn& c);
  Status Commit();
  void Release(const Status& committed);
  void EnforceOutputCap();
  // Writes, enforces timeouts, closes what is finished; returns the earliest
  // connection deadline.
  std::int64_t Finish(std::int64_t now_ms);
  void Forget(Conn& c);
  Result<std::string, rex::Error> Authenticate(Conn& c, const rex::AuthAttempt& attempt);
  // Sets c.identity from its credentials against the current policy.
  void Resolve(Conn& c);

  std::vector<Listener> listeners_;  // epoll ids 0..kMaxEndpoints-1
  // Who may do what: the auth file's current policy (without --auth, the
  // open policy: everyone is its anonymous admin).
  std::string auth_file_;
  auth::AuthStore auth_{auth::AuthPolicy::Open()};
  bool quiet_ = false;
  std::optional<tls::TlsContext> tls_;
  std::function<void(std::string_view)> log_;
  std::vector<std::uint8_t> plaintext_;  // TLS: scratch for decrypted input
  rex::ConnectionLimits limits_;
  std::size_t max_connections_;
  rex::OutputMeter meter_;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;                        // given up to refuse a client politely when out of fds
  std::uint64_t next_conn_ = kMaxEndpoints;  // ids below are the listeners
  std::uint64_t vclock_ = 0;                 // fair queueing: the work of the last served
  bool backlog_ = false;                     // some connection has a request it can be served
  std::vector<Held> held_;
  std::vector<Conn*> ready_;  // Serve's heap of connections with requests to serve
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
};

}  // namespace ardus::rexd
