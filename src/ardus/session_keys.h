// The ARDUS version 2 key schedule and signed transcripts (docs/ardus-
// protocol.md, "Key schedule"), on the seal layer's primitives.
//
//   C  = SHA-256(session_id u32 || sender identity || sender exchange key ||
//                SHA-256(ANNOUNCE body with sent_at_ns zeroed))
//   group:   prk = HKDF-Extract(salt C, group secret);
//            key = Expand-Label(prk, "data key", "", 32), iv = (.., "data iv", "", 12)
//   receiver r: P = SHA-256(C || receiver_id u32 || r's identity || r's exchange key)
//            prk = HKDF-Extract(salt P, X25519(sender exchange, r's exchange))
//            "r2s key"/"r2s iv": r's JOIN, NAK, STATUS, DONE
//            "s2r key"/"s2r iv": KEYINFO and DONE_ACK to r
//   JOIN proof = Ed25519 by r's identity over
//            "ardus2 join" 0x00 || C || receiver_id u32 || r's exchange key
//   ANNOUNCE signature = Ed25519 by the sender over
//            "ardus2 announce" 0x00 || the datagram up to the signature
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "seal/identity.h"
#include "seal/packet_cipher.h"
#include "seal/types.h"

namespace ardus {

// The sender's --encrypt: what a session's datagrams get.
enum class Encryption { kNone, kAuth, kAes256Gcm };
const char* EncryptionName(Encryption e);  // "none", "auth", "aes256-gcm"
std::optional<Encryption> ParseEncryption(std::string_view text);

struct SessionContext {
  std::uint32_t session_id = 0;
  seal::PublicKey sender_identity{};
  seal::PublicKey sender_exchange{};
  std::array<std::uint8_t, 32> announce_digest{};  // of the body, sent_at_ns zeroed

  std::array<std::uint8_t, 32> Hash() const;  // C above
};

// SHA-256 of an ANNOUNCE body (wire::kAnnounceBodySize bytes) with sent_at_ns
// zeroed. Precondition: body.size() == wire::kAnnounceBodySize.
std::array<std::uint8_t, 32> AnnounceDigest(std::span<const std::uint8_t> body);

seal::TrafficKeys GroupKeys(const seal::Key32& group_secret, const SessionContext& context);

struct PeerKeys {
  seal::TrafficKeys to_sender;    // r2s
  seal::TrafficKeys to_receiver;  // s2r
};
PeerKeys DerivePeerKeys(const seal::Key32& shared_secret, const SessionContext& context,
                        std::uint32_t receiver_id, const seal::PublicKey& receiver_identity,
                        const seal::PublicKey& receiver_exchange);

std::vector<std::uint8_t> JoinProofMessage(const SessionContext& context, std::uint32_t receiver_id,
                                           const seal::PublicKey& receiver_exchange);
std::vector<std::uint8_t> AnnounceSignedMessage(std::span<const std::uint8_t> signed_bytes);

}  // namespace ardus
