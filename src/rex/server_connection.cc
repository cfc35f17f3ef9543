#include "rex/server_connection.h"

#include <fmt/core.h>

#include <algorithm>

#include "rex/body.h"

namespace ardus::rex {

namespace {

// The length field of the frame that starts at p.
std::size_t FrameBytes(const std::uint8_t* p) {
  return kLengthFieldBytes +
         ((std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3]);
}

// Buffers this large are given back to the allocator once empty, so that a
// connection that once had a burst of output does not keep its capacity.
constexpr std::size_t kKeepCapacity = 1 << 20;

}  // namespace

ServerConnection::ServerConnection(std::string server_name, std::vector<std::string> services,
                                   ConnectionLimits limits, std::int64_t now_ms, OutputMeter* meter)
    : server_name_(std::move(server_name)),
      services_(std::move(services)),
      limits_(limits),
      meter_(meter),
      parser_(limits.max_body),
      now_ms_(now_ms),
      opened_ms_(now_ms),
      progress_ms_(now_ms) {}

void ServerConnection::OfferAuthentication(const Nonce& nonce, Authenticator& authenticator) {
  nonce_ = nonce;
  authenticator_ = &authenticator;
}

ServerConnection::~ServerConnection() {
  if (meter_) meter_->total -= pending().size();
}

void ServerConnection::OnBytes(std::int64_t now_ms, std::span<const std::uint8_t> bytes) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (closing_) return;
  std::uint64_t completed = parser_.frames_completed();
  parser_.Feed(bytes);
  if (!parser_.partial()) {
    partial_since_ = -1;
  } else if (partial_since_ < 0 || parser_.frames_completed() != completed) {
    partial_since_ = now_ms_;  // a frame began in these bytes
  }
  if (!greeted_) TakeHello();
}

void ServerConnection::TakeHello() {
  Frame f;
  if (parser_.failed()) return ProtocolError(0, 0, parser_.error());
  if (!parser_.Next(&f)) return;
  if (f.kind != Kind::kHello) {
    return ProtocolError(f.method, f.id, Fail(Code::kHandshakeRequired, "send HELLO first"));
  }
  Hello(f);
}

bool ServerConnection::ready(std::size_t held) const {
  if (closing_ || (meter_ && meter_->over())) return false;
  if (pending().size() + held >= limits_.max_pending) return false;
  if (parser_.failed()) return held == 0;
  auto kind = parser_.NextKind();
  return kind && (*kind == Kind::kRequest || held == 0);
}

bool ServerConnection::NextRequest(Frame* out, std::size_t held) {
  while (ready(held)) {
    if (parser_.failed()) {
      ProtocolError(0, 0, parser_.error());
      return false;
    }
    Frame f;
    parser_.Next(&f);
    if (f.kind == Kind::kRequest) {
      requested_ = true;
      *out = std::move(f);
      return true;
    }
    if (f.kind == Kind::kAuth) {
      Auth(f);
      continue;
    }
    if (f.kind != Kind::kHello) {
      ProtocolError(f.method, f.id,
                    Fail(Code::kBadFrame, "clients send only HELLO, AUTH and REQUEST frames"));
      return false;
    }
    Hello(f);
  }
  return false;
}

void ServerConnection::Hello(const Frame& f) {
  auto body = BodyReader::Parse(f.body);
  if (!body.ok()) return ProtocolError(f.method, f.id, body.error());
  std::uint64_t version = body.value().UintOr("version", 0);
  if (version != kVersion) {
    return ProtocolError(
        f.method, f.id,
        Fail(Code::kUnsupportedVersion,
             fmt::format("client speaks REX {}, this server speaks {}", version, kVersion)));
  }
  greeted_ = true;
  BodyWriter w;
  w.Map(nonce_ ? 4 : 3);
  w.Key("version").Uint(kVersion);
  w.Key("server").Str(server_name_);
  w.Key("services").Array(static_cast<std::uint32_t>(services_.size()));
  for (const auto& s : services_) w.Str(s);
  if (nonce_) w.Key("nonce").Bin(*nonce_);
  Append(Kind::kHello, f.method, f.id, w.bytes());
}

void ServerConnection::Auth(const Frame& f) {
  auto refuse = [&](std::string why) {
    ProtocolError(f.method, f.id, Fail(Code::kUnauthenticated, std::move(why)));
  };
  if (!nonce_) return refuse("this server does not authenticate clients");
  if (auth_seen_) return refuse("AUTH was already sent on this connection; it may come once");
  auth_seen_ = true;
  if (requested_) return refuse("AUTH must come before the first REQUEST");
  if (now_ms_ - opened_ms_ >= limits_.handshake_timeout_ms) {
    return ProtocolError(
        f.method, f.id,
        Fail(Code::kTimedOut,
             fmt::format("AUTH came {} ms after connecting; the handshake, AUTH included, must "
                         "complete within {} ms",
                         now_ms_ - opened_ms_, limits_.handshake_timeout_ms)));
  }
  auto request = DecodeAuthRequest(f.body);
  if (!request.ok()) return ProtocolError(f.method, f.id, request.error());
  auto verdict = authenticator_->Authenticate({request.value(), *nonce_});
  if (!verdict.ok()) return ProtocolError(f.method, f.id, verdict.error());
  authenticated_ = true;
  BodyWriter w;
  w.Map(1);
  w.Key("identity").Str(verdict.value());
  Append(Kind::kAuth, f.method, f.id, w.bytes());
}

void ServerConnection::ProtocolError(std::uint16_t method, std::uint32_t id, const Error& e) {
  Append(Kind::kError, method, id, ErrorBody(e));
  Closing();
}

void ServerConnection::Closing() {
  if (closing_) return;
  closing_ = true;
  close_by_ = now_ms_ + limits_.write_timeout_ms;
}

void ServerConnection::Append(Kind kind, std::uint16_t method, std::uint32_t id,
                              std::span<const std::uint8_t> body) {
  std::size_t before = out_.size();
  if (before == out_sent_) progress_ms_ = now_ms_;  // output starts waiting now
  AppendFrame(kind, method, id, body, out_);
  if (meter_) meter_->total += out_.size() - before;
  if (over_since_ < 0 && pending().size() > limits_.max_pending) over_since_ = now_ms_;
}

void ServerConnection::Reply(const Frame& request, std::span<const std::uint8_t> body) {
  if (!dropping_) Append(Kind::kReply, request.method, request.id, body);
}

void ServerConnection::ReplyError(const Frame& request, const Error& error) {
  if (!dropping_) Append(Kind::kError, request.method, request.id, ErrorBody(error));
}

bool ServerConnection::Push(std::uint16_t method, std::uint32_t id,
                            std::span<const std::uint8_t> body) {
  if (closing_) return false;
  if (pending().size() + kHeaderBytes + body.size() > limits_.max_push_pending) {
    Overload(fmt::format("over {} bytes of pushes were waiting for this client to read",
                         limits_.max_push_pending));
    return false;
  }
  Append(Kind::kPush, method, id, body);
  return true;
}

void ServerConnection::Overload(const std::string& why) {
  if (dropping_) return;
  dropping_ = true;
  // Keep only the rest of a frame partly written, so the stream stays framed.
  std::vector<std::uint8_t> rest(out_.begin() + static_cast<std::ptrdiff_t>(out_sent_),
                                 out_.begin() + static_cast<std::ptrdiff_t>(next_frame_));
  if (meter_) meter_->total -= pending().size() - rest.size();
  out_.swap(rest);  // the old buffer goes when `rest` does
  out_sent_ = 0;
  next_frame_ = out_.size();
  over_since_ = -1;
  Append(Kind::kError, 0, 0, ErrorBody(Fail(Code::kOverloaded, why)));
  Closing();
}

void ServerConnection::Consumed(std::size_t n, std::int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (n == 0) return;
  progress_ms_ = now_ms_;
  out_sent_ += n;
  if (meter_) meter_->total -= n;
  while (next_frame_ < out_sent_) next_frame_ += FrameBytes(out_.data() + next_frame_);
  if (out_sent_ == out_.size()) {
    out_.clear();
    if (out_.capacity() > kKeepCapacity) out_.shrink_to_fit();
    out_sent_ = next_frame_ = 0;
  } else if (out_sent_ > kKeepCapacity && out_sent_ >= out_.size() / 2) {  // amortised O(1)
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_sent_));
    next_frame_ -= out_sent_;
    out_sent_ = 0;
  }
  if (pending().size() <= limits_.max_pending) over_since_ = -1;
}

void ServerConnection::Tick(std::int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (closing_) {
    if (now_ms_ >= close_by_) abandoned_ = true;
    return;
  }
  // While rexd is not reading (the client's output or its requests are
  // waiting), the rest of a frame cannot arrive: its clock restarts.
  if (partial_since_ >= 0 && !want_read()) partial_since_ = now_ms_;
  if (!greeted_ && now_ms_ - opened_ms_ >= limits_.handshake_timeout_ms) {
    ProtocolError(0, 0,
                  Fail(Code::kTimedOut, fmt::format("no HELLO within {} ms of connecting",
                                                    limits_.handshake_timeout_ms)));
  } else if (partial_since_ >= 0 && now_ms_ - partial_since_ >= limits_.frame_timeout_ms) {
    ProtocolError(0, 0,
                  Fail(Code::kTimedOut, fmt::format("a frame begun {} ms ago is still incomplete",
                                                    now_ms_ - partial_since_)));
  } else if (over_since_ >= 0 && now_ms_ - over_since_ >= limits_.write_timeout_ms) {
    Overload(fmt::format("over {} bytes waited unread for {} ms", limits_.max_pending,
                         now_ms_ - over_since_));
  }
}

std::int64_t ServerConnection::NextDeadline() const {
  constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  if (closing_) return abandoned_ ? kNever : close_by_;
  std::int64_t next = kNever;
  if (!greeted_) next = std::min(next, opened_ms_ + limits_.handshake_timeout_ms);
  if (partial_since_ >= 0) next = std::min(next, partial_since_ + limits_.frame_timeout_ms);
  if (over_since_ >= 0) next = std::min(next, over_since_ + limits_.write_timeout_ms);
  return next;
}

std::int64_t ServerConnection::stalled_since() const {
  return pending().empty() ? std::numeric_limits<std::int64_t>::max() : progress_ms_;
}

bool ServerConnection::want_read() const {
  return !closing_ && pending().size() <= limits_.max_pending &&
         parser_.complete_bytes() < limits_.max_unserved;
}

}  // namespace ardus::rex
