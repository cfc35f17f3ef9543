// REX framing: length-prefixed frames over a TCP stream (docs/rex-protocol.md).
//
//   offset size field
//   0      4    length  bytes after this field (8 + body), big-endian
//   4      1    kind    HELLO 1, REQUEST 2, REPLY 3, ERROR 4, PUSH 5
//   5      1    flags   0 in version 1; receivers ignore unknown bits
//   6      2    method  what a REQUEST asks for; echoed in REPLY/ERROR
//   8      4    id      request id chosen by the client, echoed in the
//                       REPLY or ERROR; for PUSH the subscription id
//   12     ...  body    one MessagePack map (may be empty: 0 bytes)
//
// Thread-safety: FrameParser is single-threaded; the free functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rex/error_code.h"

namespace ardus::rex {

inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 12;
inline constexpr std::size_t kLengthFieldBytes = 4;
// Default limit on one frame's body; rexd may configure another.
inline constexpr std::size_t kDefaultMaxBodyBytes = 1 << 20;

enum class Kind : std::uint8_t { kHello = 1, kRequest = 2, kReply = 3, kError = 4, kPush = 5 };

struct Frame {
  Kind kind = Kind::kRequest;
  std::uint8_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t id = 0;
  std::vector<std::uint8_t> body;
};

// Appends the encoded frame to `out`.
void AppendFrame(const Frame& f, std::vector<std::uint8_t>& out);
// Appends a frame whose body the caller already encoded.
void AppendFrame(Kind kind, std::uint16_t method, std::uint32_t id,
                 std::span<const std::uint8_t> body, std::vector<std::uint8_t>& out);

// Incremental parser: feed it whatever the socket returned, in any split, and
// take complete frames out. It buffers at most one partial frame (header plus
// max_body bytes), so a peer cannot make it grow past that.
class FrameParser {
 public:
  explicit FrameParser(std::size_t max_body = kDefaultMaxBodyBytes) : max_body_(max_body) {}

  // Appends bytes. After an error the parser stays failed and ignores input.
  void Feed(std::span<const std::uint8_t> bytes);
  // Moves the next complete frame into `out`; false if none is complete.
  // Errors (the connection must then be closed after sending an ERROR):
  //   kFrameTooLarge: the declared length exceeds the limit;
  //   kBadFrame: the length is below the header size or the kind is unknown.
  bool Next(Frame* out);
  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }
  // Bytes buffered and not yet returned as frames.
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::size_t max_body_;
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0;  // start of the unparsed part of buf_
  std::optional<Error> error_;
};

}  // namespace ardus::rex
