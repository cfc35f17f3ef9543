// Fixed-size byte strings of the seal layer: keys, public keys, signatures,
// fingerprints. Plain values; copying one copies its bytes.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace ardus::seal {

using Key32 = std::array<std::uint8_t, 32>;        // a secret: seed, shared secret, key
using PublicKey = std::array<std::uint8_t, 32>;    // Ed25519 or X25519 public key, raw
using Signature = std::array<std::uint8_t, 64>;    // Ed25519 signature
using Fingerprint = std::array<std::uint8_t, 32>;  // SHA-256 of a raw Ed25519 public key
using Iv = std::array<std::uint8_t, 12>;           // AES-GCM static IV
using Tag = std::array<std::uint8_t, 16>;          // AES-GCM tag

inline constexpr std::size_t kTagSize = 16;

// SHA-256 of the concatenation of `parts`.
std::array<std::uint8_t, 32> Sha256Of(std::initializer_list<std::span<const std::uint8_t>> parts);

}  // namespace ardus::seal
