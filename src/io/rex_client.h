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
// Thread-safety: none; one thread per Client.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "rex/body.h"
#include "rex/error_code.h"
#include "rex/frame.h"
#include "seal/identity.h"

namespace ardus::rex {

using Reply = Result<std::vector<std::uint8_t>, Error>;

// Who to authenticate as, and to which service (signed into the proof, so
// that it is good for that service only). `identity` must outlive Connect.
struct ClientCredentials {
  const seal::Identity* identity = nullptr;  // null: stay anonymous
  std::string service;                       // "trader", "notify"
  // The TLS channel binding (RFC 9266 exporter) of this connection; empty
  // over plaintext.
  std::vector<std::uint8_t> channel_binding;
};

class Client {
 public:
  // `address` is HOST:PORT (IPv4 or a resolvable name). Performs the HELLO,
  // then, with credentials.identity, the AUTH. A refused AUTH (the server
  // sends ERROR unauthenticated and closes) is kPeerProtocol with the
  // server's reason; so is a server that offers no nonce.
  static Result<std::unique_ptr<Client>> Connect(const std::string& address, int timeout_ms,
                                                 const std::string& agent,
                                                 const ClientCredentials& credentials = {});
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

 private:
  explicit Client(int fd) : fd_(fd) {}
  Status WriteAll(const std::vector<std::uint8_t>& bytes);
  Status Authenticate(const std::string& address, int timeout_ms, const BodyReader& hello,
                      const ClientCredentials& credentials);

  int fd_;
  std::uint32_t next_id_ = 1;
  FrameParser parser_{64 << 20};
  std::vector<Frame> pushes_;
  std::string identity_name_;
};

}  // namespace ardus::rex
