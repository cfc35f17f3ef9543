// Per-packet protection with AES-256-GCM (OpenSSL 3 EVP), as QUIC does it
// (RFC 9001 §5.3): the nonce is the key's static 12-byte IV XOR the 64-bit
// packet number (left-padded with zeros), and the packet's clear header is the
// associated data. Two modes:
//   kSeal: the body is encrypted in place and a 16-byte tag appended;
//   kAuth: the body stays clear; the tag is GMAC over header and body (GCM
//          with the whole packet as associated data and no plaintext).
// A packet number must never repeat under one key: the caller counts them.
//
// The cipher is fetched and the key set once; each packet only re-initialises
// the IV, so sealing and opening allocate nothing. What OpenSSL 3.0 still
// costs per packet beyond AES and GHASH (its parameter lookups in init,
// final and the tag) is measured by bench/seal_bench.
//
// Thread-safety: none; one PacketCipher per thread and key.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "seal/types.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace ardus::seal {

enum class Protection { kSeal, kAuth };

struct TrafficKeys {
  Key32 key{};
  Iv iv{};
  bool operator==(const TrafficKeys&) const = default;
};

class PacketCipher {
 public:
  PacketCipher(const TrafficKeys& keys, Protection protection);
  ~PacketCipher();
  PacketCipher(PacketCipher&&) noexcept;
  PacketCipher& operator=(PacketCipher&&) noexcept;

  Protection protection() const { return protection_; }

  // Protects packet[0, header + body) in place: [0, header) is associated
  // data, [header, header + body) the body; writes the tag after it and
  // returns header + body + kTagSize. Precondition: packet.size() >= that.
  std::size_t Seal(std::uint64_t packet_number, std::span<std::uint8_t> packet, std::size_t header,
                   std::size_t body);
  // Checks a protected packet (header, body, tag) and writes its clear body
  // (packet.size() - header - kTagSize bytes) to `out`, which may be
  // packet.data() + header (in place). False when the packet is shorter than
  // header + tag or the tag does not match: then `out` holds garbage the
  // caller must not use.
  bool Open(std::uint64_t packet_number, std::span<const std::uint8_t> packet, std::size_t header,
            std::uint8_t* out);
  // Open in two steps, for a caller that learns from the first `head` clear
  // body bytes where the rest should go (the receiver decrypts a symbol
  // straight into its block): BeginOpen writes those bytes to head_out,
  // FinishOpen the rest of the body to rest_out, and checks the tag. Neither
  // output may be used unless FinishOpen returns true; BeginOpen returns
  // false (and FinishOpen must not be called) when the packet is shorter
  // than header + head + tag. Between the two no other call on this cipher.
  bool BeginOpen(std::uint64_t packet_number, std::span<const std::uint8_t> packet,
                 std::size_t header, std::size_t head, std::uint8_t* head_out);
  bool FinishOpen(std::span<const std::uint8_t> packet, std::size_t header, std::size_t head,
                  std::uint8_t* rest_out);

 private:
  void Nonce(std::uint64_t packet_number, std::uint8_t* nonce) const;
  Iv iv_;
  Protection protection_;
  bool auth_ok_ = false;  // kAuth: the tag checked in BeginOpen
  EVP_CIPHER_CTX* seal_ = nullptr;
  EVP_CIPHER_CTX* open_ = nullptr;
};

}  // namespace ardus::seal
