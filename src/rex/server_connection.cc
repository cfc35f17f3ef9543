#include "rex/server_connection.h"

#include <fmt/core.h>

#include "rex/body.h"

namespace ardus::rex {

ServerConnection::ServerConnection(std::string server_name, std::vector<std::string> services,
                                   ConnectionLimits limits)
    : server_name_(std::move(server_name)),
      services_(std::move(services)),
      limits_(limits),
      parser_(limits.max_body) {}

void ServerConnection::OnBytes(std::span<const std::uint8_t> bytes, std::vector<Frame>& requests) {
  if (closing_) return;
  parser_.Feed(bytes);
  Frame f;
  while (!closing_ && parser_.Next(&f)) {
    if (f.kind == Kind::kHello) {
      Hello(f);
    } else if (!greeted_) {
      ProtocolError(f.method, f.id, Fail(Code::kHandshakeRequired, "send HELLO first"));
    } else if (f.kind != Kind::kRequest) {
      ProtocolError(f.method, f.id,
                    Fail(Code::kBadFrame, "clients send only HELLO and REQUEST frames"));
    } else {
      requests.push_back(std::move(f));
    }
  }
  if (parser_.failed() && !closing_) ProtocolError(0, 0, parser_.error());
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
  w.Map(3);
  w.Key("version").Uint(kVersion);
  w.Key("server").Str(server_name_);
  w.Key("services").Array(static_cast<std::uint32_t>(services_.size()));
  for (const auto& s : services_) w.Str(s);
  AppendFrame(Kind::kHello, f.method, f.id, w.bytes(), out_);
}

void ServerConnection::ProtocolError(std::uint16_t method, std::uint32_t id, const Error& e) {
  AppendFrame(Kind::kError, method, id, ErrorBody(e), out_);
  closing_ = true;
}

void ServerConnection::Reply(const Frame& request, std::span<const std::uint8_t> body) {
  AppendFrame(Kind::kReply, request.method, request.id, body, out_);
}

void ServerConnection::ReplyError(const Frame& request, const Error& error) {
  AppendFrame(Kind::kError, request.method, request.id, ErrorBody(error), out_);
}

bool ServerConnection::Push(std::uint16_t method, std::uint32_t id,
                            std::span<const std::uint8_t> body) {
  if (closing_) return false;
  if (pending().size() + body.size() > 2 * limits_.max_pending) {
    ProtocolError(method, id,
                  Fail(Code::kOverloaded,
                       fmt::format("over {} bytes of pushes were waiting for this client to read",
                                   2 * limits_.max_pending)));
    return false;
  }
  AppendFrame(Kind::kPush, method, id, body, out_);
  return true;
}

void ServerConnection::Consumed(std::size_t n) {
  out_sent_ += n;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  } else if (out_sent_ > (1 << 20) && out_sent_ >= out_.size() / 2) {  // amortised O(1)
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_sent_));
    out_sent_ = 0;
  }
}

}  // namespace ardus::rex
