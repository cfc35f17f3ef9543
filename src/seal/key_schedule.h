// HKDF (RFC 5869, SHA-256, OpenSSL's EVP_KDF "HKDF") and the labelled expand
// ARDUS derives every key with: TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1)
// with the prefix "ardus2 " instead of "tls13 ":
//   info = length u16 || len u8 || "ardus2 " || label || len u8 || context
// docs/ardus-protocol.md ("Key schedule") lists the labels and contexts.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string_view>

#include "seal/types.h"

namespace ardus::seal {

// HKDF-Extract(salt, ikm) = HMAC-SHA-256(salt, ikm).
Key32 HkdfExtract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm);
// HKDF-Expand(secret, info, out.size()). Preconditions: out.size() <= 255 * 32.
void HkdfExpand(const Key32& secret, std::span<const std::uint8_t> info,
                std::span<std::uint8_t> out);
// Expand-Label as above. Preconditions: label at most 200 bytes, context at
// most 255, out at most 65535.
void ExpandLabel(const Key32& secret, std::string_view label, std::span<const std::uint8_t> context,
                 std::span<std::uint8_t> out);

}  // namespace ardus::seal
