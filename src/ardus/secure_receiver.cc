#include "ardus/secure_receiver.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"

namespace ardus {
namespace {

using wire::kSealedHeaderSize;
using wire::kSealedPlainOffset;

void PutPlainHeader(std::uint8_t* at, std::uint8_t type, std::uint32_t session) {
  ByteWriter w(std::span<std::uint8_t>(at, wire::kHeaderSize));
  w.u16(wire::kMagic);
  w.u8(wire::kVersion);
  w.u8(type);
  w.u32(session);
}

std::uint32_t Be32At(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

std::uint64_t Be64At(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

SecureReceiver::SecureReceiver(Receiver& engine, std::uint32_t receiver_id,
                               const seal::Identity& identity, seal::RandomSource& random,
                               SecureReceiverConfig config)
    : engine_(engine),
      receiver_id_(receiver_id),
      identity_(identity),
      random_(random),
      config_(std::move(config)) {}

// ---- input -------------------------------------------------------------------

void SecureReceiver::OnDatagram(Time now, const Endpoint& from,
                                std::span<const std::uint8_t> datagram) {
  if (wire::VersionOf(datagram) == wire::kVersion) return OnPlaintext(now, from, datagram);
  if (encryption_ == Encryption::kNone) {
    ++stats_.foreign;  // a protected datagram during a plaintext session
    return;
  }
  Result<wire::SealedHeader> header = wire::DecodeSealedHeader(datagram);
  if (!header.ok()) {
    ++stats_.malformed;
    return;
  }
  const wire::SealedHeader& h = header.value();
  if (static_cast<wire::Type>(h.type) == wire::Type::kAnnounce) {
    return OnAnnounce(now, from, h, datagram);
  }
  if (!bound_) {
    if (h.type == wire::kTypeKeyInfo && h.key_id == receiver_id_) {
      return OnKeyInfo(now, h, datagram);
    }
    ++stats_.unkeyed;  // no session yet: nothing of one can be opened
    return;
  }
  if (h.session_id != bound_->context.session_id) {
    ++stats_.foreign;
    return;
  }
  OnProtected(now, from, h, datagram);
}

void SecureReceiver::OnPlaintext(Time now, const Endpoint& from,
                                 std::span<const std::uint8_t> datagram) {
  // Once a protected session is bound, and whenever senders must prove who
  // they are, version 1 is refused: it would let anyone inject.
  if (!config_.accept_plaintext || config_.trust || bound_ || !candidates_.empty()) {
    ++stats_.plaintext;
    return;
  }
  engine_.OnDatagram(now, from, datagram);
  if (!encryption_ && engine_.state() != Receiver::State::kIdle) encryption_ = Encryption::kNone;
}

void SecureReceiver::OnAnnounce(Time now, const Endpoint& from, const wire::SealedHeader& h,
                                std::span<const std::uint8_t> datagram) {
  if (datagram.size() != wire::kSealedAnnounceSize || h.key_id != 0) {
    ++stats_.malformed;
    return;
  }
  const auto body = datagram.subspan(kSealedHeaderSize, wire::kAnnounceBodySize);
  Result<wire::AnnounceTrailer> trailer =
      wire::DecodeAnnounceTrailer(datagram.subspan(kSealedHeaderSize + wire::kAnnounceBodySize));
  if (!trailer.ok()) {
    ++stats_.malformed;
    return;
  }
  const wire::AnnounceTrailer& t = trailer.value();
  const seal::Fingerprint fingerprint = seal::FingerprintOf(t.identity);
  // The trust list first (a hash), the signature after (the costly part).
  if (config_.trust && !config_.trust->contains(fingerprint)) {
    ++stats_.untrusted;
    if (untrusted_.size() < 64 &&
        std::find(untrusted_.begin(), untrusted_.end(), fingerprint) == untrusted_.end()) {
      untrusted_.push_back(fingerprint);
    }
    return;
  }
  const SessionContext context{h.session_id, t.identity, t.exchange_key, AnnounceDigest(body)};
  const auto hash = context.Hash();
  if (bound_ && (h.session_id != bound_->context.session_id || hash != bound_->context_hash)) {
    ++stats_.foreign;  // another session announced meanwhile
    return;
  }
  const std::size_t signed_size = wire::kSealedAnnounceSize - t.signature.size();
  if (!seal::Verify(t.identity, AnnounceSignedMessage(datagram.first(signed_size)), t.signature)) {
    ++stats_.tampered;
    return;
  }
  if (bound_) {
    // The bound session's ANNOUNCEs repeat: the engine re-JOINs on them.
    bound_->echo_ns = Be64At(body.data() + wire::kAnnounceSentAtOffset);
    bound_->echo_heard = now;
    std::memcpy(scratch_.data() + kSealedHeaderSize, body.data(), body.size());
    PutPlainHeader(scratch_.data() + kSealedPlainOffset, h.type, h.session_id);
    engine_.OnDatagram(now, from,
                       std::span<const std::uint8_t>(scratch_.data() + kSealedPlainOffset,
                                                     wire::kHeaderSize + body.size()));
    return;
  }
  auto it = std::find_if(candidates_.begin(), candidates_.end(), [&](const Session& s) {
    return s.context.session_id == h.session_id && s.context_hash == hash && s.source == from;
  });
  if (it == candidates_.end()) {
    // Fields the engine would refuse make no candidate.
    std::array<std::uint8_t, wire::kHeaderSize + wire::kAnnounceBodySize> v1{};
    PutPlainHeader(v1.data(), h.type, h.session_id);
    std::memcpy(v1.data() + wire::kHeaderSize, body.data(), body.size());
    if (!wire::Decode(v1).ok()) {
      ++stats_.malformed;
      return;
    }
    AddCandidate(from, context, t, body);
    if (candidates_.empty() || candidates_.back().context_hash != hash) return;
    it = candidates_.end() - 1;
  }
  it->echo_ns = Be64At(body.data() + wire::kAnnounceSentAtOffset);
  it->echo_heard = now;
  PutPlainHeader(it->announce.data(), h.type, h.session_id);
  std::memcpy(it->announce.data() + wire::kHeaderSize, body.data(), body.size());
  it->join_due = true;
  it->retries_left = kJoinRetries;
}

void SecureReceiver::AddCandidate(const Endpoint& from, const SessionContext& context,
                                  const wire::AnnounceTrailer& t,
                                  std::span<const std::uint8_t> body) {
  const seal::KeyExchange exchange = seal::KeyExchange::Generate(random_);
  Result<seal::Key32> shared = exchange.Agree(context.sender_exchange);
  if (!shared.ok()) {
    ++stats_.tampered;  // a degenerate key: nothing could be protected
    return;
  }
  const PeerKeys keys = DerivePeerKeys(shared.value(), context, receiver_id_,
                                       identity_.public_key(), exchange.public_key());
  const bool auth = t.suite == wire::Suite::kAuth;
  const seal::Protection protection = auth ? seal::Protection::kAuth : seal::Protection::kSeal;
  const std::uint16_t feedback_port = std::uint16_t((body[6] << 8) | body[7]);
  Session s{context,
            context.Hash(),
            from,
            Endpoint{from.ip, feedback_port},
            protection,
            auth ? Encryption::kAuth : Encryption::kAes256Gcm,
            seal::FingerprintOf(t.identity),
            seal::PacketCipher(keys.to_sender, protection),
            seal::PacketCipher(keys.to_receiver, seal::Protection::kSeal),
            {},
            1,
            {},
            {},
            0,
            Time{0},
            true};
  s.credentials.identity = identity_.public_key();
  s.credentials.exchange_key = exchange.public_key();
  s.credentials.proof =
      identity_.Sign(JoinProofMessage(context, receiver_id_, exchange.public_key()));
  if (candidates_.size() >= kMaxCandidates) candidates_.pop_front();
  candidates_.push_back(std::move(s));
}

void SecureReceiver::OnKeyInfo(Time now, const wire::SealedHeader& h,
                               std::span<const std::uint8_t> datagram) {
  const std::size_t body = datagram.size() - kSealedHeaderSize - seal::kTagSize;
  for (auto it = candidates_.begin(); it != candidates_.end(); ++it) {
    if (it->context.session_id != h.session_id) continue;
    if (!it->unicast_window.MayAccept(h.packet_number)) continue;
    if (body != wire::kKeyInfoBodySize ||
        !it->from_sender.Open(h.packet_number, datagram, kSealedHeaderSize,
                              scratch_.data() + kSealedHeaderSize))
      continue;
    it->unicast_window.Accept(h.packet_number);
    seal::Key32 secret;
    std::memcpy(secret.data(), scratch_.data() + kSealedHeaderSize, secret.size());
    group_.emplace(GroupKeys(secret, it->context), it->protection);
    ++stats_.key_infos;
    bound_.emplace(std::move(*it));
    candidates_.clear();
    // Now the engine takes the session. Its JOIN, sent once it has joined
    // the data group, goes without credentials: the key confirmation after
    // which the sender counts this receiver.
    engine_.OnDatagram(now, bound_->source, bound_->announce);
    if (engine_.state() == Receiver::State::kIdle) {
      bound_.reset();  // the engine refused it (a session already received)
      group_.reset();
      return;
    }
    encryption_ = bound_->encryption;
    sender_fingerprint_ = bound_->fingerprint;
    return;
  }
  ++stats_.tampered;  // opened under no candidate's key
}

void SecureReceiver::OnProtected(Time now, const Endpoint& from, const wire::SealedHeader& h,
                                 std::span<const std::uint8_t> datagram) {
  const auto type = static_cast<wire::Type>(h.type);
  seal::PacketCipher* cipher = nullptr;
  seal::ReplayWindow* window = nullptr;
  if (h.key_id == 0 && (type == wire::Type::kData || type == wire::Type::kPoll)) {
    cipher = &*group_;
    window = &data_window_;  // both come from the data group's socket
  } else if (h.key_id == 0 && (type == wire::Type::kAdvert || type == wire::Type::kEnd)) {
    cipher = &*group_;
    window = &control_window_;
  } else if (h.key_id == receiver_id_ &&
             (type == wire::Type::kDoneAck || h.type == wire::kTypeKeyInfo)) {
    cipher = &bound_->from_sender;
    window = &bound_->unicast_window;
  } else {
    ++stats_.foreign;  // another receiver's unicast, or a receiver-to-sender type
    return;
  }
  if (!window->MayAccept(h.packet_number)) {
    ++stats_.replayed;
    return;
  }
  if (type == wire::Type::kData && h.key_id == 0) return OpenData(now, from, h, datagram);
  if (!cipher->Open(h.packet_number, datagram, kSealedHeaderSize,
                    scratch_.data() + kSealedHeaderSize)) {
    ++stats_.tampered;
    return;
  }
  window->Accept(h.packet_number);
  if (h.type == wire::kTypeKeyInfo) return;  // a repeat: the key is installed
  ToEngine(now, from, h, datagram.size() - kSealedHeaderSize - seal::kTagSize);
}

void SecureReceiver::OpenData(Time now, const Endpoint& from, const wire::SealedHeader& h,
                              std::span<const std::uint8_t> datagram) {
  // DATA's fields first: they name the symbol's slot in the engine's block
  // buffer, and the symbol is decrypted straight into it (no second copy).
  // They are not authenticated until FinishOpen, but they only choose where
  // the bytes go: a slot the engine never reads before it accepts its symbol.
  std::uint8_t* fields = scratch_.data() + kSealedHeaderSize;
  std::uint8_t* after_fields = fields + wire::kDataFieldsSize;
  if (!group_->BeginOpen(h.packet_number, datagram, kSealedHeaderSize, wire::kDataFieldsSize,
                         fields)) {
    ++stats_.tampered;  // too short to hold the fields and a tag
    return;
  }
  const std::size_t symbol_size =
      datagram.size() - kSealedHeaderSize - wire::kDataFieldsSize - seal::kTagSize;
  std::uint8_t* slot =
      engine_.SourceSlot(Be32At(fields), std::uint16_t((fields[4] << 8) | fields[5]), symbol_size);
  std::uint8_t* into = slot ? slot : after_fields;
  if (!group_->FinishOpen(datagram, kSealedHeaderSize, wire::kDataFieldsSize, into)) {
    ++stats_.tampered;
    return;
  }
  data_window_.Accept(h.packet_number);
  Result<wire::Data> data =
      wire::DecodeData(std::span<const std::uint8_t>(fields, wire::kDataFieldsSize),
                       std::span<const std::uint8_t>(into, symbol_size));
  if (!data.ok()) {
    // Authentic but malformed: the engine counts it, as any v1 packet.
    if (slot) std::memcpy(after_fields, slot, symbol_size);
    return ToEngine(now, from, h, wire::kDataFieldsSize + symbol_size);
  }
  engine_.OnPacket(now, from, wire::Packet{h.session_id, data.value()});
}

void SecureReceiver::ToEngine(Time now, const Endpoint& from, const wire::SealedHeader& h,
                              std::size_t body) {
  PutPlainHeader(scratch_.data() + kSealedPlainOffset, h.type, h.session_id);
  engine_.OnDatagram(now, from,
                     std::span<const std::uint8_t>(scratch_.data() + kSealedPlainOffset,
                                                   wire::kHeaderSize + body));
}

// ---- output ------------------------------------------------------------------

Time SecureReceiver::NextDeadline() const {
  Time t = engine_.NextDeadline();
  if (bound_) return t;
  for (const Session& s : candidates_) {
    if (s.join_due) return Time(0);
    if (s.retries_left > 0) t = std::min(t, s.retry_at);
  }
  return t;
}

std::optional<Transmit> SecureReceiver::PollTransmit(Time now, std::span<std::uint8_t> buf) {
  if (!bound_) {
    for (Session& s : candidates_) {
      if (!s.join_due && s.retries_left > 0 && now >= s.retry_at) {
        --s.retries_left;
        s.join_due = true;
      }
      if (!s.join_due) continue;
      s.join_due = false;
      s.retry_at = now + kJoinRetry;
      const std::size_t size = EmitJoin(s, now, buf);
      stats_.overhead_bytes += size - (wire::kHeaderSize + wire::kJoinBodySize);
      return Transmit{Destination::kPeer, s.feedback, size, false};
    }
    if (!candidates_.empty()) return std::nullopt;
    return engine_.PollTransmit(now, buf);  // idle, or a plaintext session
  }
  const std::size_t room = wire::kMaxDatagram - wire::kSealOverhead;
  while (auto t = engine_.PollTransmit(now, buf.subspan(kSealedPlainOffset, room))) {
    if (t->size < wire::kHeaderSize) continue;
    const std::size_t v1 = t->size;
    if (static_cast<wire::Type>(buf[kSealedPlainOffset + 3]) == wire::Type::kJoin &&
        v1 == wire::kHeaderSize + wire::kJoinBodySize) {
      AddHoldingTime(*bound_, now, buf.subspan(kSealedHeaderSize + 4).first<8>());
    }
    t->size = Protect(*bound_, buf, v1, false);
    stats_.overhead_bytes += t->size - v1;
    return t;
  }
  return std::nullopt;
}

std::size_t SecureReceiver::EmitJoin(Session& s, Time now, std::span<std::uint8_t> buf) {
  ByteWriter w(buf.subspan(kSealedPlainOffset, wire::kHeaderSize + wire::kJoinBodySize));
  w.u16(wire::kMagic);
  w.u8(wire::kVersion);
  w.u8(static_cast<std::uint8_t>(wire::Type::kJoin));
  w.u32(s.context.session_id);
  w.u32(receiver_id_);
  w.u64(s.echo_ns);
  AddHoldingTime(s, now, buf.subspan(kSealedHeaderSize + 4).first<8>());
  return Protect(s, buf, wire::kHeaderSize + wire::kJoinBodySize, true);
}

void SecureReceiver::AddHoldingTime(const Session& s, Time now, std::span<std::uint8_t, 8> at) {
  if (s.echo_ns == 0 || Be64At(at.data()) != s.echo_ns || now < s.echo_heard) return;
  const auto held = static_cast<std::uint64_t>((now - s.echo_heard).count());
  ByteWriter(at).u64(s.echo_ns + held);
}

std::size_t SecureReceiver::Protect(Session& s, std::span<std::uint8_t> buf, std::size_t v1_size,
                                    bool credentials) {
  const std::uint8_t type = buf[kSealedPlainOffset + 3];
  const std::size_t body = v1_size - wire::kHeaderSize;
  std::size_t header = kSealedHeaderSize;
  if (credentials) {
    // The credentials go between header and body: move the (12-byte) body.
    std::memmove(buf.data() + kSealedHeaderSize + wire::kJoinCredentialsSize,
                 buf.data() + kSealedHeaderSize, body);
    wire::EncodeJoinCredentials(s.credentials, buf.subspan(kSealedHeaderSize));
    header += wire::kJoinCredentialsSize;
  }
  const std::uint64_t pn = s.next_packet++;
  wire::EncodeSealedHeader({type, s.context.session_id, receiver_id_, pn}, buf);
  return s.to_sender.Seal(pn, buf, header, body);
}

}  // namespace ardus
