// A blocking REX client over TCP: connect, HELLO, optionally AUTH (prove an
// Ed25519 identity: docs/rex-protocol.md, "Authentication"), then calls and
// pushes.
// This is I/O (sockets and timeouts); the framing it uses is frame.h.
//
// Two kinds of failure stay apart: Call's ardus::Status covers the transport
// (an address that is not HOST:PORT: kInvalidArgument; cannot resolve or
// connect: kLocalIo/kTimeout; the server broke the protocol or hung up:
// kPeerProtocol), while a server that refused the request answers with a
// rex::Error inside a successful Result.
//
// TLS (ConnectOptions::tls): the client speaks TLS 1.3 first and verifies the
// server by the CA (and the host name in the address, or tls->server_name),
// by the pin, or both (tls/tls_session.h). Its failures are kPeerProtocol (or
// kInvalidArgument for an unusable CA, pin or client certificate) with
// messages that say what to change: "the server does not speak TLS on
// HOST:PORT; drop --tls-ca/--tls-pin ...", an expired certificate, a wrong
// name, a pin mismatch, a server that wants a client certificate.
//
// Thread-safety: none; one thread per Client.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "rex/body.h"
#include "rex/error_code.h"
#include "rex/frame.h"
#include "seal/identity.h"
#include "tls/tls_session.h"

namespace ardus::rex {

using Reply = Result<std::vector<std::uint8_t>, Error>;

// Who to authenticate as, and to which service (signed into the proof, so
// that it is good for that service only). `identity` must outlive Connect.
struct ClientCredentials {
  const seal::Identity* identity = nullptr;  // null: stay anonymous
  std::string service;                       // "trader", "notify"
};

struct ConnectOptions {
  // Set: connect with TLS. An empty server_name is taken from the address's
  // host (a name or an IP address, checked against the certificate's SAN).
  std::optional<tls::ClientConfig> tls;
  // With an identity: AUTH after the HELLO, bound to the TLS session (its
  // RFC 9266 exporter) when there is one.
  ClientCredentials credentials;
};

class Client {
 public:
  // `address` is HOST:PORT (IPv4 or a resolvable name). Performs the HELLO,
  // then, with credentials.identity, the AUTH. A refused AUTH (the server
  // sends ERROR unauthenticated and closes) is kPeerProtocol with the
  // server's reason; so is a server that offers no nonce.
  static Result<std::unique_ptr<Client>> Connect(const std::string& address, int timeout_ms,
                                                 const std::string& agent,
                                                 const ConnectOptions& options = {});
  // The identity the server said this connection is (empty: anonymous).
  const std::string& identity_name() const { return identity_name_; }
  ~Client();

  // Sends a request and waits for its reply, through signals. PUSH frames
  // that arrive in between are queued for NextFrame.
  Result<Reply> Call(std::uint16_t method, std::span<const std::uint8_t> body);
  // Pipelining: send now, collect with Receive (replies come in order).
  Result<std::uint32_t> Send(std::uint16_t method, std::span<const std::uint8_t> body);
  // The next frame of any kind; timeout_ms < 0 waits forever. kTimeout if
  // none, kCancelled if a signal interrupted the wait.
  Result<Frame> Receive(int timeout_ms);
  // The next frame: PUSH frames queued during a Call first, then whatever
  // arrives (replies to Send, ERRORs, pushes).
  Result<Frame> NextFrame(int timeout_ms);

  // With TLS, once connected: the RFC 9266 exporter of the session (32
  // bytes; empty without TLS) and the server's verified certificate.
  const std::vector<std::uint8_t>& channel_binding() const { return channel_binding_; }
  const std::optional<tls::PeerCertificate>& server_certificate() const {
    return server_certificate_;
  }

 private:
  explicit Client(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  Status StartTls(const tls::ClientConfig& config, int timeout_ms);
  Status Authenticate(const std::string& address, int timeout_ms, const BodyReader& hello,
                      const ClientCredentials& credentials);
  Status WriteAll(std::span<const std::uint8_t> bytes);
  Status WriteRaw(std::span<const std::uint8_t> bytes);
  Status FlushTls();
  Status TlsError(const tls::Error& e) const;
  // Reads what the socket has (after poll said so) into parser_.
  Status ReadSome();

  int fd_;
  std::string address_;
  std::optional<tls::TlsSession> tls_;
  std::vector<std::uint8_t> tls_buf_;  // plaintext in, or ciphertext out: scratch
  std::vector<std::uint8_t> channel_binding_;
  std::optional<tls::PeerCertificate> server_certificate_;
  std::uint32_t next_id_ = 1;
  FrameParser parser_{64 << 20};
  std::vector<Frame> pushes_;
  std::string identity_name_;
};

}  // namespace ardus::rex
