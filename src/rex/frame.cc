#include "rex/frame.h"

#include <fmt/core.h>

#include <cstring>

namespace ardus::rex {

namespace {

void Put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void Put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  Put16(out, static_cast<std::uint16_t>(v >> 16));
  Put16(out, static_cast<std::uint16_t>(v));
}
std::uint32_t Get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

}  // namespace

void AppendFrame(Kind kind, std::uint16_t method, std::uint32_t id,
                 std::span<const std::uint8_t> body, std::vector<std::uint8_t>& out) {
  Put32(out, static_cast<std::uint32_t>(kHeaderBytes - kLengthFieldBytes + body.size()));
  out.push_back(static_cast<std::uint8_t>(kind));
  out.push_back(0);
  Put16(out, method);
  Put32(out, id);
  out.insert(out.end(), body.begin(), body.end());
}

void AppendFrame(const Frame& f, std::vector<std::uint8_t>& out) {
  AppendFrame(f.kind, f.method, f.id, f.body, out);
}

void FrameParser::Feed(std::span<const std::uint8_t> bytes) {
  if (error_) return;
  // Compact before growing so the buffer holds at most one partial frame.
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536 && pos_ >= buf_.size() / 2) {  // amortised O(1) per byte
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

bool FrameParser::Next(Frame* out) {
  if (error_ || buffered() < kHeaderBytes) {
    if (!error_ && buffered() >= kLengthFieldBytes) {
      // Reject an oversized length as soon as it is visible.
      std::uint32_t length = Get32(buf_.data() + pos_);
      if (length > max_body_ + kHeaderBytes - kLengthFieldBytes) {
        error_ = Fail(Code::kFrameTooLarge,
                      fmt::format("frame of {} bytes exceeds the limit of {}", length, max_body_));
      }
    }
    return false;
  }
  const std::uint8_t* h = buf_.data() + pos_;
  std::uint32_t length = Get32(h);
  if (length > max_body_ + kHeaderBytes - kLengthFieldBytes) {
    error_ = Fail(Code::kFrameTooLarge,
                  fmt::format("frame of {} bytes exceeds the limit of {}", length, max_body_));
    return false;
  }
  if (length < kHeaderBytes - kLengthFieldBytes) {
    error_ = Fail(Code::kBadFrame, fmt::format("frame length {} is below the header size", length));
    return false;
  }
  std::uint8_t kind = h[4];
  if (kind < static_cast<std::uint8_t>(Kind::kHello) ||
      kind > static_cast<std::uint8_t>(Kind::kPush)) {
    error_ = Fail(Code::kBadFrame, fmt::format("unknown frame kind {}", kind));
    return false;
  }
  std::size_t total = kLengthFieldBytes + length;
  if (buffered() < total) return false;
  out->kind = static_cast<Kind>(kind);
  out->flags = h[5];
  out->method = static_cast<std::uint16_t>((h[6] << 8) | h[7]);
  out->id = Get32(h + 8);
  out->body.assign(h + kHeaderBytes, h + total);
  pos_ += total;
  return true;
}

}  // namespace ardus::rex
