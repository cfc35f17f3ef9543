#include "ardus/session_keys.h"

#include <algorithm>

#include "ardus/wire.h"
#include "seal/key_schedule.h"

namespace ardus {
namespace {

std::array<std::uint8_t, 4> Be32(std::uint32_t v) {
  return {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)};
}

seal::TrafficKeys Expand(const seal::Key32& prk, std::string_view key_label,
                         std::string_view iv_label) {
  seal::TrafficKeys k;
  seal::ExpandLabel(prk, key_label, {}, k.key);
  seal::ExpandLabel(prk, iv_label, {}, k.iv);
  return k;
}

std::vector<std::uint8_t> Labelled(std::string_view label,
                                   std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::vector<std::uint8_t> m(label.begin(), label.end());
  m.push_back(0);
  for (auto p : parts) m.insert(m.end(), p.begin(), p.end());
  return m;
}

}  // namespace

const char* EncryptionName(Encryption e) {
  switch (e) {
    case Encryption::kNone:
      return "none";
    case Encryption::kAuth:
      return "auth";
    case Encryption::kAes256Gcm:
      return "aes256-gcm";
  }
  return "?";
}

std::optional<Encryption> ParseEncryption(std::string_view text) {
  for (Encryption e : {Encryption::kNone, Encryption::kAuth, Encryption::kAes256Gcm}) {
    if (text == EncryptionName(e)) return e;
  }
  return std::nullopt;
}

std::array<std::uint8_t, 32> SessionContext::Hash() const {
  const auto id = Be32(session_id);
  return seal::Sha256Of({id, sender_identity, sender_exchange, announce_digest});
}

std::array<std::uint8_t, 32> AnnounceDigest(std::span<const std::uint8_t> body) {
  std::array<std::uint8_t, wire::kAnnounceBodySize> copy{};
  std::copy_n(body.begin(), std::min(body.size(), copy.size()), copy.begin());
  std::fill_n(copy.begin() + wire::kAnnounceSentAtOffset, 8, 0);
  return seal::Sha256Of({copy});
}

seal::TrafficKeys GroupKeys(const seal::Key32& group_secret, const SessionContext& context) {
  const auto c = context.Hash();
  return Expand(seal::HkdfExtract(c, group_secret), "data key", "data iv");
}

PeerKeys DerivePeerKeys(const seal::Key32& shared_secret, const SessionContext& context,
                        std::uint32_t receiver_id, const seal::PublicKey& receiver_identity,
                        const seal::PublicKey& receiver_exchange) {
  const auto c = context.Hash();
  const auto id = Be32(receiver_id);
  const auto p = seal::Sha256Of({c, id, receiver_identity, receiver_exchange});
  const seal::Key32 prk = seal::HkdfExtract(p, shared_secret);
  return {Expand(prk, "r2s key", "r2s iv"), Expand(prk, "s2r key", "s2r iv")};
}

std::vector<std::uint8_t> JoinProofMessage(const SessionContext& context, std::uint32_t receiver_id,
                                           const seal::PublicKey& receiver_exchange) {
  const auto c = context.Hash();
  const auto id = Be32(receiver_id);
  return Labelled("ardus2 join", {c, id, receiver_exchange});
}

std::vector<std::uint8_t> AnnounceSignedMessage(std::span<const std::uint8_t> signed_bytes) {
  return Labelled("ardus2 announce", {signed_bytes});
}

}  // namespace ardus
