// The server side of one REX connection, sans-IO: bytes and time in, requests
// out one at a time, replies and pushes queued as bytes for the I/O layer to
// write.
//
// It owns the handshake (a HELLO must come first and name version 1; then,
// optionally, the AUTH exchange of rex/auth_exchange.h), the frame parser, the output queue and the
// connection's timeouts. Protocol violations queue an ERROR frame and mark the connection closing:
// the I/O layer writes what is pending, then closes (finished()).
//
// What a client can make it hold is bounded (ConnectionLimits):
//   - input: one partial frame (header + max_body), or while complete
//     requests wait to be served, about max_unserved bytes of them
//     (want_read() turns false);
//   - output: requests are handed out only while the pending output plus the
//     replies the caller holds for this connection stay under max_pending,
//     and while the shared OutputMeter (if any) is under its cap. A push that
//     would take the pending output past max_push_pending, or output that
//     stays over max_pending for write_timeout_ms, closes the connection with
//     `overloaded`: its pending output is dropped at once (all but the rest of
//     a frame partly written), so its memory is freed even if the client
//     never reads again;
//   - time: the HELLO must be complete handshake_timeout_ms after the
//     connection opened, and an AUTH is refused (timed_out) once that time
//     has passed, so a nonce is good for that long only; and a frame that has begun must be
//     complete within frame_timeout_ms of reading resuming (ERROR `timed_out`, closing). A closing
//     connection whose output is not written within write_timeout_ms is finished anyway. An idle
//     connection with no partial frame may stay forever.
//
// Time is whatever clock the caller uses, in ms; it only has to be monotonic.
// Thread-safety: none; one per connection, driven by one thread, which also
// owns the OutputMeter it shares with other connections.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rex/auth_exchange.h"
#include "rex/frame.h"

namespace ardus::rex {

// A client's AUTH, checked against what this connection sent it.
struct AuthAttempt {
  const AuthRequest& request;  // the key and signature the client sent
  const Nonce& nonce;          // the nonce this connection's HELLO carried
};

// Checks an AUTH for the I/O layer, which holds what the check needs (the
// crypto, the channel binding, the auth policy): verify the signature over
// AuthMessage(nonce, service, binding), map the key to an identity and
// remember it for the connection. Returns the identity's name (sent back in
// the AUTH reply) or the refusal (kUnauthenticated: sent, then closed).
class Authenticator {
 public:
  virtual Result<std::string, Error> Authenticate(const AuthAttempt& attempt) = 0;

 protected:
  ~Authenticator() = default;
};

struct ConnectionLimits {
  std::size_t max_body = kDefaultMaxBodyBytes;
  std::size_t max_pending = 16 << 20;       // no request is served while output is over this
  std::size_t max_push_pending = 32 << 20;  // a push past this closes with overloaded
  std::size_t max_unserved = 64 << 10;      // complete requests buffered before reading stops
  std::int64_t handshake_timeout_ms = 10'000;
  std::int64_t frame_timeout_ms = 30'000;
  std::int64_t write_timeout_ms = 10'000;
};

// The output queued on every connection that shares the meter, plus what
// their owner holds for them, against one cap (rexd --max-output). While
// over() no connection hands out requests; the owner decides which
// connections to close to get back under it (ServerConnection::Overload).
struct OutputMeter {
  std::size_t cap = std::numeric_limits<std::size_t>::max();
  std::size_t total = 0;
  bool over() const { return total > cap; }
};

class ServerConnection {
 public:
  // `services` are announced in the HELLO reply (e.g. {"trader"}). `now_ms`
  // is when the connection opened. `meter`, if given, must outlive this.
  ServerConnection(std::string server_name, std::vector<std::string> services,
                   ConnectionLimits limits = {}, std::int64_t now_ms = 0,
                   OutputMeter* meter = nullptr);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Lets the client authenticate: the HELLO reply carries `nonce` (fresh
  // random bytes from the I/O layer, never reused) and an AUTH frame is
  // handed to `authenticator` (which must outlive this). Call before the
  // first OnBytes. Without it, an AUTH is refused (unauthenticated).
  // AUTH rules, each breach an ERROR that closes the connection:
  //   - after HELLO (else handshake_required), before the first REQUEST,
  //     at most once (else unauthenticated);
  //   - within handshake_timeout_ms of connecting (else timed_out);
  //   - the authenticator's verdict (unauthenticated: bad signature,
  //     unknown key).
  // A client that sends no AUTH stays unauthenticated (the I/O layer gives
  // it the anonymous identity).
  void OfferAuthentication(const Nonce& nonce, Authenticator& authenticator);
  // Whether an AUTH was accepted on this connection.
  bool authenticated() const { return authenticated_; }

  // Takes received bytes. A HELLO is answered at once; requests wait for
  // NextRequest. A malformed or oversized header is refused at once.
  void OnBytes(std::int64_t now_ms, std::span<const std::uint8_t> bytes);

  // Moves the next REQUEST into `out` if one is complete and the output
  // (pending() plus `held`, the bytes of replies the caller computed for this
  // connection and has not queued yet) is under max_pending. A frame that is
  // not a request (or a bad header) gets its ERROR and starts closing instead,
  // but only once `held` is 0, so that the replies to the requests before it
  // are queued first. Returns false when nothing was handed out.
  bool NextRequest(Frame* out, std::size_t held = 0);
  // Whether NextRequest(out, held) would act on a frame now.
  bool ready(std::size_t held = 0) const;

  // Queue the answer to a request. Ignored once the connection was
  // overloaded (its output is being dropped).
  void Reply(const Frame& request, std::span<const std::uint8_t> body);
  void ReplyError(const Frame& request, const Error& error);
  // Queues a PUSH. Returns false if the connection is closing, or if the push
  // would take the pending output past max_push_pending (then Overload).
  bool Push(std::uint16_t method, std::uint32_t id, std::span<const std::uint8_t> body);
  // Drops the pending output (but the rest of a frame partly written), queues
  // ERROR `overloaded` with `why` and starts closing. The caller frees what
  // else it holds for the connection (subscriptions, queues).
  void Overload(const std::string& why);

  // Enforces the timeouts at `now_ms`; call it every loop turn.
  void Tick(std::int64_t now_ms);
  // When Tick next has something to check (INT64_MAX: nothing).
  std::int64_t NextDeadline() const;

  std::span<const std::uint8_t> pending() const { return std::span(out_).subspan(out_sent_); }
  // `n` bytes of pending() were written at `now_ms`.
  void Consumed(std::size_t n, std::int64_t now_ms);
  // Since when the pending output has waited without any of it being
  // written (INT64_MAX if nothing is pending): who to cut first at the cap.
  std::int64_t stalled_since() const;

  // Whether the I/O layer should read more from the socket.
  bool want_read() const;
  // True once the connection is to be closed after its output is flushed.
  bool closing() const { return closing_; }
  // True when the I/O layer should close the socket now: closing, and the
  // output written or the write timeout passed.
  bool finished() const { return closing_ && (pending().empty() || abandoned_); }

 private:
  void TakeHello();
  void Hello(const Frame& f);
  void Auth(const Frame& f);
  void ProtocolError(std::uint16_t method, std::uint32_t id, const Error& e);
  void Append(Kind kind, std::uint16_t method, std::uint32_t id,
              std::span<const std::uint8_t> body);
  void Closing();

  std::string server_name_;
  std::vector<std::string> services_;
  ConnectionLimits limits_;
  OutputMeter* meter_;
  FrameParser parser_;
  bool greeted_ = false;
  std::optional<Nonce> nonce_;              // set: AUTH is offered
  Authenticator* authenticator_ = nullptr;  // with nonce_
  bool authenticated_ = false;
  bool auth_seen_ = false;  // an AUTH came (accepted or not)
  bool requested_ = false;  // a REQUEST was handed out
  bool closing_ = false;
  bool dropping_ = false;   // overloaded: nothing more is queued
  bool abandoned_ = false;  // closing, and the write timeout passed
  std::int64_t now_ms_;     // the latest time seen
  std::int64_t opened_ms_;
  std::int64_t partial_since_ = -1;  // when the incomplete frame began (-1: none)
  std::int64_t over_since_ = -1;     // since when output has been over max_pending
  std::int64_t close_by_ = 0;        // closing: when to give up writing
  std::int64_t progress_ms_;         // output last empty or written to
  std::vector<std::uint8_t> out_;
  std::size_t out_sent_ = 0;
  std::size_t next_frame_ = 0;  // first frame boundary at or after out_sent_
};

}  // namespace ardus::rex
