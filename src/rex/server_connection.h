// The server side of one REX connection, sans-IO: bytes in, requests out,
// replies and pushes queued as bytes for the I/O layer to write.
//
// It owns the handshake (a HELLO must come first and name version 1), the
// frame parser and the output queue. Protocol violations queue an ERROR frame
// and mark the connection closing: the I/O layer writes what is pending, then
// closes. Output is bounded: while more than `max_pending` bytes wait, the
// I/O layer should stop reading requests (want_read() is false), and a push
// that would pass the bound closes the connection with `overloaded` instead
// of growing memory (a watch client that does not read is cut off).
//
// Thread-safety: none; one per connection, driven by one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rex/frame.h"

namespace ardus::rex {

struct ConnectionLimits {
  std::size_t max_body = kDefaultMaxBodyBytes;
  std::size_t max_pending = 16 << 20;
};

class ServerConnection {
 public:
  // `services` are announced in the HELLO reply (e.g. {"trader"}).
  ServerConnection(std::string server_name, std::vector<std::string> services,
                   ConnectionLimits limits = {});

  // Consumes received bytes and appends each complete REQUEST to `requests`.
  void OnBytes(std::span<const std::uint8_t> bytes, std::vector<Frame>& requests);

  void Reply(const Frame& request, std::span<const std::uint8_t> body);
  void ReplyError(const Frame& request, const Error& error);
  // Queues a PUSH. Returns false (and starts closing) if that would exceed
  // twice max_pending.
  bool Push(std::uint16_t method, std::uint32_t id, std::span<const std::uint8_t> body);

  std::span<const std::uint8_t> pending() const { return std::span(out_).subspan(out_sent_); }
  void Consumed(std::size_t n);
  bool want_read() const { return !closing_ && pending().size() <= limits_.max_pending; }
  // True once the connection should be closed after its output is flushed.
  bool closing() const { return closing_; }

 private:
  void Hello(const Frame& f);
  void ProtocolError(std::uint16_t method, std::uint32_t id, const Error& e);

  std::string server_name_;
  std::vector<std::string> services_;
  ConnectionLimits limits_;
  FrameParser parser_;
  bool greeted_ = false;
  bool closing_ = false;
  std::vector<std::uint8_t> out_;
  std::size_t out_sent_ = 0;
};

}  // namespace ardus::rex
