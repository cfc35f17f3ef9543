#include "ardus/secure_sender.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"

namespace ardus {
namespace {

using wire::kSealedHeaderSize;
using wire::kSealedPlainOffset;

seal::Protection ProtectionFor(Encryption e) {
  return e == Encryption::kAuth ? seal::Protection::kAuth : seal::Protection::kSeal;
}

bool IsGroupType(std::uint8_t type) {
  auto t = static_cast<wire::Type>(type);
  return t == wire::Type::kData || t == wire::Type::kPoll || t == wire::Type::kAdvert ||
         t == wire::Type::kEnd;
}

std::uint32_t Be32At(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

// The version 1 header the engines decode, written in front of a body.
void PutPlainHeader(std::uint8_t* at, std::uint8_t type, std::uint32_t session) {
  ByteWriter w(std::span<std::uint8_t>(at, wire::kHeaderSize));
  w.u16(wire::kMagic);
  w.u8(wire::kVersion);
  w.u8(type);
  w.u32(session);
}

}  // namespace

SecureSender::SecureSender(Sender& engine, std::uint32_t session_id, const seal::Identity& identity,
                           seal::RandomSource& random, SecureSenderConfig config)
    : engine_(engine),
      session_(session_id),
      identity_(identity),
      exchange_(seal::KeyExchange::Generate(random)),
      group_secret_(random.Key()),
      config_(std::move(config)) {}

std::optional<seal::Fingerprint> SecureSender::ReceiverFingerprint(std::uint32_t id) const {
  auto it = peers_.find(id);
  if (it == peers_.end()) return std::nullopt;
  return seal::FingerprintOf(it->second.identity);
}

Time SecureSender::NextDeadline() const {
  return key_infos_.empty() ? engine_.NextDeadline() : now_;
}

// ---- input -------------------------------------------------------------------

void SecureSender::OnDatagram(Time now, const Endpoint& from,
                              std::span<const std::uint8_t> datagram) {
  now_ = std::max(now_, now);
  if (wire::VersionOf(datagram) == wire::kVersion) {
    ++stats_.plaintext;
    return;
  }
  Result<wire::SealedHeader> header = wire::DecodeSealedHeader(datagram);
  if (!header.ok()) {
    ++stats_.malformed;
    return;
  }
  const wire::SealedHeader& h = header.value();
  if (h.session_id != session_ || h.key_id == 0) {
    ++stats_.foreign;
    return;
  }
  switch (static_cast<wire::Type>(h.type)) {
    case wire::Type::kJoin:
      return OnJoin(now, from, h, datagram);
    case wire::Type::kNak:
    case wire::Type::kStatus:
    case wire::Type::kDone:
      return OnFeedback(now, from, h, datagram);
    default:
      ++stats_.foreign;  // a sender-to-receiver type
  }
}

void SecureSender::OnJoin(Time now, const Endpoint& from, const wire::SealedHeader& h,
                          std::span<const std::uint8_t> datagram) {
  if (datagram.size() == wire::kSealedConfirmJoinSize) {
    // A bound receiver's JOIN: its KEYINFO opened (docs, "Handshake" 4).
    return OnFeedback(now, from, h, datagram);
  }
  constexpr std::size_t kClear = kSealedHeaderSize + wire::kJoinCredentialsSize;
  if (!context_ || datagram.size() != wire::kSealedCandidateJoinSize) {
    ++(context_ ? stats_.malformed : stats_.unkeyed);
    return;
  }
  const wire::JoinCredentials c = wire::DecodeJoinCredentials(
      datagram.subspan(kSealedHeaderSize).first<wire::kJoinCredentialsSize>());
  auto it = peers_.find(h.key_id);
  if (it != peers_.end()) {
    // A known receiver repeating its JOIN: same identity and key, or nothing.
    if (it->second.identity != c.identity || it->second.exchange != c.exchange_key) {
      ++stats_.conflicting;
      return;
    }
  } else {
    const seal::Fingerprint fingerprint = seal::FingerprintOf(c.identity);
    if (config_.allow && !config_.allow->contains(fingerprint)) {
      ++stats_.not_allowed;
      Refuse(fingerprint);
      return;
    }
    if (peers_.size() >= config_.max_receivers) {
      ++stats_.over_limit;
      return;
    }
    if (!seal::Verify(c.identity, JoinProofMessage(*context_, h.key_id, c.exchange_key), c.proof)) {
      ++stats_.tampered;
      return;
    }
    Result<seal::Key32> shared = exchange_.Agree(c.exchange_key);
    if (!shared.ok()) {
      ++stats_.tampered;
      return;
    }
    const PeerKeys keys =
        DerivePeerKeys(shared.value(), *context_, h.key_id, c.identity, c.exchange_key);
    Peer peer{c.identity,
              c.exchange_key,
              seal::PacketCipher(keys.to_sender, ProtectionFor(config_.encryption)),
              seal::PacketCipher(keys.to_receiver, seal::Protection::kSeal),
              {},
              1,
              false};
    // Keep the peer only if its JOIN's body opens too.
    if (!Open(h, datagram, kClear, peer.from_receiver, peer.window)) return;
    peers_.emplace(h.key_id, std::move(peer));
    if (key_infos_.size() < config_.max_pending_key_infos) key_infos_.emplace_back(h.key_id, from);
    return;
  }
  // A candidate's JOIN never reaches the engine: the receiver does not hold
  // the group key yet, and the engine would count it, and might start the
  // transfer, before it can read any DATA.
  if (Open(h, datagram, kClear, it->second.from_receiver, it->second.window) &&
      key_infos_.size() < config_.max_pending_key_infos) {
    key_infos_.emplace_back(h.key_id, from);
  }
}

// NAK, STATUS, DONE and a bound receiver's JOIN: whatever opens under a
// receiver's key without credentials comes from a receiver that holds the
// group key (a candidate sends nothing else), so it confirms the receiver
// and goes to the engine.
void SecureSender::OnFeedback(Time now, const Endpoint& from, const wire::SealedHeader& h,
                              std::span<const std::uint8_t> datagram) {
  auto it = peers_.find(h.key_id);
  if (it == peers_.end()) {
    ++stats_.unkeyed;  // forged, or feedback from a receiver whose JOIN was lost
    return;
  }
  Peer& peer = it->second;
  if (!Open(h, datagram, kSealedHeaderSize, peer.from_receiver, peer.window)) return;
  if (!peer.confirmed) {
    peer.confirmed = true;
    ++stats_.confirmed;
  }
  ToEngine(now, from, h, datagram.size() - kSealedHeaderSize - seal::kTagSize);
}

bool SecureSender::Open(const wire::SealedHeader& h, std::span<const std::uint8_t> datagram,
                        std::size_t header, seal::PacketCipher& cipher,
                        seal::ReplayWindow& window) {
  if (!window.MayAccept(h.packet_number)) {
    ++stats_.replayed;
    return false;
  }
  const std::size_t body = datagram.size() - header - seal::kTagSize;
  if (!cipher.Open(h.packet_number, datagram, header, scratch_.data() + kSealedHeaderSize)) {
    ++stats_.tampered;
    return false;
  }
  // Every receiver-to-sender body starts with the receiver id: it must be
  // the one whose key opened it, or one receiver could speak for another.
  if (body < 4 || Be32At(scratch_.data() + kSealedHeaderSize) != h.key_id) {
    ++stats_.tampered;
    return false;
  }
  window.Accept(h.packet_number);
  return true;
}

void SecureSender::ToEngine(Time now, const Endpoint& from, const wire::SealedHeader& h,
                            std::size_t body) {
  PutPlainHeader(scratch_.data() + kSealedPlainOffset, h.type, h.session_id);
  engine_.OnDatagram(now, from,
                     std::span<const std::uint8_t>(scratch_.data() + kSealedPlainOffset,
                                                   wire::kHeaderSize + body));
}

// ---- output ------------------------------------------------------------------

std::optional<Transmit> SecureSender::PollTransmit(Time now, std::span<std::uint8_t> buf) {
  now_ = std::max(now_, now);
  while (!key_infos_.empty()) {
    auto [id, to] = key_infos_.front();
    key_infos_.pop_front();
    auto it = peers_.find(id);
    if (it == peers_.end()) continue;
    Transmit t{Destination::kPeer, to, EmitKeyInfo(id, it->second, buf), false};
    return t;
  }
  const std::size_t room = wire::kMaxDatagram - wire::kSealOverhead;
  while (auto t = engine_.PollTransmit(now, buf.subspan(kSealedPlainOffset, room))) {
    if (t->size < wire::kHeaderSize) continue;  // nothing encoded: the engine's own error
    const std::size_t v1 = t->size;
    t->size = Protect(buf, v1);
    if (t->size == 0) continue;
    stats_.overhead_bytes += t->size - v1;
    return t;
  }
  return std::nullopt;
}

std::size_t SecureSender::Protect(std::span<std::uint8_t> buf, std::size_t v1_size) {
  const std::uint8_t type = buf[kSealedPlainOffset + 3];
  const std::size_t body = v1_size - wire::kHeaderSize;
  if (static_cast<wire::Type>(type) == wire::Type::kAnnounce) return SignAnnounce(buf, body);
  if (IsGroupType(type)) {
    if (!group_) return 0;  // nothing goes out before the first ANNOUNCE fixed the keys
    const std::uint64_t pn = group_packet_++;
    wire::EncodeSealedHeader({type, session_, 0, pn}, buf);
    if (defer_ && deferred_count_ < kMaxDeferred) {
      deferred_[deferred_count_++] = {buf.data(), pn, body};
      return kSealedHeaderSize + body + seal::kTagSize;
    }
    return group_->Seal(pn, buf, kSealedHeaderSize, body);
  }
  if (static_cast<wire::Type>(type) == wire::Type::kDoneAck && body >= 4) {
    const std::uint32_t id = Be32At(buf.data() + kSealedHeaderSize);
    auto it = peers_.find(id);
    if (it == peers_.end()) return 0;
    const std::uint64_t pn = it->second.next_packet++;
    wire::EncodeSealedHeader({type, session_, id, pn}, buf);
    return it->second.to_receiver.Seal(pn, buf, kSealedHeaderSize, body);
  }
  return 0;
}

void SecureSender::SealDeferred() {
  for (std::size_t i = 0; i < deferred_count_; ++i) {
    const Deferred& d = deferred_[i];
    group_->Seal(d.packet_number,
                 std::span<std::uint8_t>(d.packet, kSealedHeaderSize + d.body + seal::kTagSize),
                 kSealedHeaderSize, d.body);
  }
  deferred_count_ = 0;
}

std::size_t SecureSender::SignAnnounce(std::span<std::uint8_t> buf, std::size_t body) {
  if (body != wire::kAnnounceBodySize) return 0;
  const auto announce = buf.subspan(kSealedHeaderSize, body);
  if (!context_) {
    context_ = SessionContext{session_, identity_.public_key(), exchange_.public_key(),
                              AnnounceDigest(announce)};
    group_.emplace(GroupKeys(group_secret_, *context_), ProtectionFor(config_.encryption));
  }
  // ANNOUNCEs take numbers from the group's sequence, unused by any AEAD.
  wire::EncodeSealedHeader({std::uint8_t(wire::Type::kAnnounce), session_, 0, group_packet_++},
                           buf);
  wire::AnnounceTrailer trailer;
  trailer.suite =
      config_.encryption == Encryption::kAuth ? wire::Suite::kAuth : wire::Suite::kAes256Gcm;
  trailer.exchange_key = exchange_.public_key();
  trailer.identity = identity_.public_key();
  const auto trailer_at = buf.subspan(kSealedHeaderSize + body, wire::kAnnounceTrailerSize);
  wire::EncodeAnnounceTrailer(trailer, trailer_at);
  const std::size_t signed_size = wire::kSealedAnnounceSize - trailer.signature.size();
  trailer.signature = identity_.Sign(AnnounceSignedMessage(buf.first(signed_size)));
  wire::EncodeAnnounceTrailer(trailer, trailer_at);
  return wire::kSealedAnnounceSize;
}

std::size_t SecureSender::EmitKeyInfo(std::uint32_t id, Peer& peer, std::span<std::uint8_t> buf) {
  const std::uint64_t pn = peer.next_packet++;
  wire::EncodeSealedHeader({wire::kTypeKeyInfo, session_, id, pn}, buf);
  std::memcpy(buf.data() + kSealedHeaderSize, group_secret_.data(), group_secret_.size());
  ++stats_.key_infos;
  const std::size_t size =
      peer.to_receiver.Seal(pn, buf, kSealedHeaderSize, wire::kKeyInfoBodySize);
  stats_.overhead_bytes += size;
  return size;
}

void SecureSender::Refuse(const seal::Fingerprint& fingerprint) {
  if (refused_.size() < 64 &&
      std::find(refused_.begin(), refused_.end(), fingerprint) == refused_.end())
    refused_.push_back(fingerprint);
}

}  // namespace ardus
