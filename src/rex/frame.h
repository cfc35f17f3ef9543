// REX framing: length-prefixed frames over a TCP stream (docs/rex-protocol.md).
//
//   offset size field
//   0      4    length  bytes after this field (8 + body), big-endian
//   4      1    kind    HELLO 1, REQUEST 2, REPLY 3, ERROR 4, PUSH 5, AUTH 6
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

enum class Kind : std::uint8_t {
  kHello = 1,
  kRequest = 2,
  kReply = 3,
  kError = 4,
  kPush = 5,
  kAuth = 6,  // the authentication exchange (rex/auth_exchange.h)
};

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
// take complete frames out, one at a time, whenever the caller is ready.
// Headers are checked as their bytes arrive, even behind complete frames the
// caller has not taken yet, so a bad or oversized frame is refused before any
// of its body is buffered. A partial frame is at most one header plus
// max_body bytes; how many complete frames may wait is the caller's choice
// (complete_bytes() tells it).
class FrameParser {
 public:
  explicit FrameParser(std::size_t max_body = kDefaultMaxBodyBytes) : max_body_(max_body) {}

  // Appends bytes. Once a bad header was seen, the bytes after it are ignored.
  void Feed(std::span<const std::uint8_t> bytes);
  // Moves the next complete frame into `out`; false if none is complete.
  bool Next(Frame* out);
  // The kind of the frame Next would return; nullopt if none is complete.
  std::optional<Kind> NextKind() const;
  // True once every frame before a bad header was taken: the caller must then
  // send an ERROR with error() and close. Errors:
  //   kFrameTooLarge: the declared length exceeds the limit;
  //   kBadFrame: the length is below the header size or the kind is unknown.
  bool failed() const { return error_.has_value() && pos_ == scan_; }
  const Error& error() const { return *error_; }
  // Bytes buffered and not yet returned as frames.
  std::size_t buffered() const { return buf_.size() - pos_; }
  // Of those, the bytes of complete frames.
  std::size_t complete_bytes() const { return scan_ - pos_; }
  // True while a frame has begun to arrive and is not complete.
  bool partial() const { return !error_ && buf_.size() > scan_; }
  // Frames completed since the parser was made (taken or not).
  std::uint64_t frames_completed() const { return frames_; }

 private:
  void Scan();

  std::size_t max_body_;
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0;   // start of the frames not yet taken
  std::size_t scan_ = 0;  // end of the complete frames (or where the bad header starts)
  std::uint64_t frames_ = 0;
  std::optional<Error> error_;
};

}  // namespace ardus::rex
