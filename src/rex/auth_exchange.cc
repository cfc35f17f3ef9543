#include "rex/auth_exchange.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

namespace ardus::rex {

namespace {

void AppendFramed(std::span<const std::uint8_t> field, std::vector<std::uint8_t>& out) {
  std::size_t n = std::min(field.size(), kMaxAuthFieldBytes);
  std::size_t at = out.size();
  out.resize(at + 1 + n);
  out[at] = static_cast<std::uint8_t>(n);
  if (n) std::memcpy(out.data() + at + 1, field.data(), n);
}

// The binary at `key`, if it is exactly out.size() bytes.
bool FixedBin(const BodyReader& body, std::string_view key, std::span<std::uint8_t> out) {
  const msgpack::object* o = body.Find(key);
  if (!o || o->type != msgpack::type::BIN || o->via.bin.size != out.size()) return false;
  std::memcpy(out.data(), o->via.bin.ptr, out.size());
  return true;
}

}  // namespace

std::vector<std::uint8_t> AuthMessage(std::span<const std::uint8_t, kNonceBytes> nonce,
                                      std::string_view service,
                                      std::span<const std::uint8_t> channel_binding) {
  std::vector<std::uint8_t> out(kAuthLabel.size() + kNonceBytes);
  std::memcpy(out.data(), kAuthLabel.data(), kAuthLabel.size());
  std::memcpy(out.data() + kAuthLabel.size(), nonce.data(), kNonceBytes);
  AppendFramed({reinterpret_cast<const std::uint8_t*>(service.data()), service.size()}, out);
  AppendFramed(channel_binding, out);
  return out;
}

std::vector<std::uint8_t> EncodeAuthRequest(const AuthRequest& request) {
  BodyWriter w;
  w.Map(2);
  w.Key("key").Bin(request.key);
  w.Key("signature").Bin(request.signature);
  return w.Take();
}

Result<AuthRequest, Error> DecodeAuthRequest(std::span<const std::uint8_t> body) {
  auto parsed = BodyReader::Parse(body);
  if (!parsed.ok()) return Fail(Code::kUnauthenticated, "AUTH: " + parsed.error().message);
  AuthRequest r;
  if (!FixedBin(parsed.value(), "key", r.key)) {
    return Fail(Code::kUnauthenticated,
                fmt::format("AUTH: 'key' must be the raw Ed25519 public key, a binary of {} bytes",
                            kAuthKeyBytes));
  }
  if (!FixedBin(parsed.value(), "signature", r.signature)) {
    return Fail(Code::kUnauthenticated,
                fmt::format("AUTH: 'signature' must be an Ed25519 signature, a binary of {} bytes",
                            kAuthSignatureBytes));
  }
  return r;
}

Result<Nonce, Error> HelloNonce(const BodyReader& hello) {
  Nonce n;
  if (!hello.Find("nonce")) {
    return Fail(Code::kUnauthenticated,
                "the server's HELLO has no nonce: it does not authenticate clients");
  }
  if (!FixedBin(hello, "nonce", n)) {
    return Fail(Code::kUnauthenticated,
                fmt::format("the server's HELLO nonce is not a binary of {} bytes", kNonceBytes));
  }
  return n;
}

}  // namespace ardus::rex
