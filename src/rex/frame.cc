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
  // Compact before growing: amortised O(1) per byte.
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = scan_ = 0;
  } else if (pos_ > 65536 && pos_ >= buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    scan_ -= pos_;
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  Scan();
}

void FrameParser::Scan() {
  while (!error_ && buf_.size() - scan_ >= kLengthFieldBytes) {
    const std::uint8_t* h = buf_.data() + scan_;
    std::uint32_t length = Get32(h);
    if (length > max_body_ + kHeaderBytes - kLengthFieldBytes) {
      error_ = Fail(Code::kFrameTooLarge,
                    fmt::format("frame of {} bytes exceeds the limit of {}", length, max_body_));
    } else if (length < kHeaderBytes - kLengthFieldBytes) {
      error_ =
          Fail(Code::kBadFrame, fmt::format("frame length {} is below the header size", length));
    } else if (buf_.size() - scan_ > kLengthFieldBytes &&
               (h[4] < static_cast<std::uint8_t>(Kind::kHello) ||
                h[4] > static_cast<std::uint8_t>(Kind::kAuth))) {
      error_ = Fail(Code::kBadFrame, fmt::format("unknown frame kind {}", h[4]));
    } else if (buf_.size() - scan_ >= kLengthFieldBytes + length) {
      scan_ += kLengthFieldBytes + length;
      ++frames_;
    } else {
      break;
    }
  }
  if (error_) buf_.resize(scan_);  // what follows a bad header is never read
}

bool FrameParser::Next(Frame* out) {
  if (pos_ == scan_) return false;
  const std::uint8_t* h = buf_.data() + pos_;
  std::size_t total = kLengthFieldBytes + Get32(h);
  out->kind = static_cast<Kind>(h[4]);
  out->flags = h[5];
  out->method = static_cast<std::uint16_t>((h[6] << 8) | h[7]);
  out->id = Get32(h + 8);
  out->body.assign(h + kHeaderBytes, h + total);
  pos_ += total;
  return true;
}

std::optional<Kind> FrameParser::NextKind() const {
  if (pos_ == scan_) return std::nullopt;
  return static_cast<Kind>(buf_[pos_ + 4]);
}

}  // namespace ardus::rex
