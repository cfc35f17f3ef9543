// The REX authentication exchange (docs/rex-protocol.md, "Authentication"):
// the bytes a client signs to prove its Ed25519 key, and the AUTH frame's
// body. Pure codecs; verifying the signature (OpenSSL) is the caller's job,
// so this layer stays free of crypto.
//
//   server HELLO reply  {..., "nonce": bin 32}   fresh per connection
//   client AUTH         {"key": bin 32, "signature": bin 64}
//   server AUTH         {"identity": "NAME"}      or ERROR unauthenticated, closed
//
// The signed message is domain-separated and length-framed:
//
//   "rex-auth-v1" 0x00              12 bytes, the label
//   nonce                           32 bytes, from the server's HELLO
//   len(service) service            1 byte + the service the client meant ("trader")
//   len(binding) binding            1 byte + the TLS channel binding (RFC 9266
//                                   exporter, 32 bytes), or 0 and nothing without TLS
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rex/body.h"
#include "rex/error_code.h"

namespace ardus::rex {

inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kAuthKeyBytes = 32;
inline constexpr std::size_t kAuthSignatureBytes = 64;
// Service names and channel bindings are length-framed in one byte.
inline constexpr std::size_t kMaxAuthFieldBytes = 255;
inline constexpr std::string_view kAuthLabel{"rex-auth-v1\0", 12};

using Nonce = std::array<std::uint8_t, kNonceBytes>;

// What the client signs. Precondition: service and channel_binding are at
// most kMaxAuthFieldBytes each (longer ones are cut there; no real service
// name or binding comes close).
std::vector<std::uint8_t> AuthMessage(std::span<const std::uint8_t, kNonceBytes> nonce,
                                      std::string_view service,
                                      std::span<const std::uint8_t> channel_binding);

// The client's AUTH body.
struct AuthRequest {
  std::array<std::uint8_t, kAuthKeyBytes> key{};  // raw Ed25519 public key
  std::array<std::uint8_t, kAuthSignatureBytes> signature{};
};
std::vector<std::uint8_t> EncodeAuthRequest(const AuthRequest& request);
// Errors: kUnauthenticated naming the field that is missing or not a binary
// of the right size (the server refuses and closes).
Result<AuthRequest, Error> DecodeAuthRequest(std::span<const std::uint8_t> body);

// The nonce of a server's HELLO reply. Error: kUnauthenticated when the
// server sent none (it does not authenticate clients) or a malformed one.
Result<Nonce, Error> HelloNonce(const BodyReader& hello);

}  // namespace ardus::rex
