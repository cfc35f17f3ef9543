// SecureSender: runs a Sender behind the version 2 envelope (wire.h,
// docs/ardus-protocol.md "Version 2"). It is driven exactly like a Sender
// (OnDatagram, PollTransmit, NextDeadline, finished) and stands between the
// engine and the driver:
//   out: the engine encodes each version 1 packet at buf + kSealedPlainOffset;
//        the envelope writes the version 2 header in front, signs ANNOUNCEs,
//        and seals (or, with Encryption::kAuth, tags) everything else in
//        place, with one reused cipher context per key and no allocation;
//   in:  a JOIN's proof is verified and its receiver checked against
//        --allow; the per-receiver keys are derived (X25519 + HKDF) and a
//        KEYINFO carrying the group secret, sealed under them, answers every
//        such (candidate's) JOIN. The engine never sees a candidate's JOIN:
//        it hears a receiver first from its key confirmation, the JOIN
//        without credentials a receiver sends once its KEYINFO opened (or
//        any NAK, STATUS, DONE), so it counts, and starts the transfer for,
//        only receivers that can read DATA. NAK, STATUS, DONE and that JOIN
//        open only under their receiver's key, once each (replay window).
//        Only what verifies reaches the engine, in version 1 form;
//        everything else is counted in stats() and dropped.
//
// Sans-IO: randomness (the session's X25519 key and group secret) comes from
// the RandomSource, once, in the constructor.
//
// Thread-safety: none. `engine`, `identity` must outlive it.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "ardus/security_stats.h"
#include "ardus/sender.h"
#include "ardus/session_keys.h"
#include "seal/identity.h"
#include "seal/packet_cipher.h"
#include "seal/random.h"
#include "seal/replay_window.h"

namespace ardus {

struct SecureSenderConfig {
  Encryption encryption = Encryption::kAes256Gcm;  // kAes256Gcm or kAuth
  // Closed group: only these receivers may join. nullopt: any receiver that
  // proves its key (UFTP's open group), each named by fingerprint.
  std::optional<std::set<seal::Fingerprint>> allow;
  std::size_t max_receivers = 4096;          // receivers with keys (each about 2 KB)
  std::size_t max_pending_key_infos = 1024;  // KEYINFOs queued at once
};

class SecureSender {
 public:
  // Preconditions: `engine`'s session id is `session_id`, its symbol size at
  // most wire::kSealedSymbolSize; config.encryption is not kNone.
  SecureSender(Sender& engine, std::uint32_t session_id, const seal::Identity& identity,
               seal::RandomSource& random, SecureSenderConfig config);

  void OnDatagram(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram);
  // As Sender::PollTransmit; buf holds at least wire::kMaxDatagram bytes.
  std::optional<Transmit> PollTransmit(Time now, std::span<std::uint8_t> buf);
  Time NextDeadline() const;
  bool finished() const { return engine_.finished(); }

  // Batch sealing, for a driver that sends in batches (net::Drive). While
  // on, PollTransmit hands out group packets (DATA, POLL, ADVERT, END) with
  // their envelope header and final size but a clear body, and SealDeferred()
  // seals all of them in one loop. The caller must call SealDeferred() before
  // it sends or reuses any buffer PollTransmit filled since the last call.
  // At most kMaxDeferred wait: beyond that a packet is sealed at once.
  static constexpr std::size_t kMaxDeferred = 64;
  void set_deferred_sealing(bool on) {
    SealDeferred();
    defer_ = on;
  }
  void SealDeferred();

  const SecurityStats& stats() const { return stats_; }
  Encryption encryption() const { return config_.encryption; }
  const seal::Identity& identity() const { return identity_; }
  // The identity a joined receiver proved; nullopt for an unknown id.
  std::optional<seal::Fingerprint> ReceiverFingerprint(std::uint32_t receiver_id) const;
  // Identities refused by --allow, each once, in order (at most 64 kept).
  const std::vector<seal::Fingerprint>& refused_receivers() const { return refused_; }

 private:
  struct Peer {
    seal::PublicKey identity{}, exchange{};
    seal::PacketCipher from_receiver;  // r2s
    seal::PacketCipher to_receiver;    // s2r, always sealed
    seal::ReplayWindow window;
    std::uint64_t next_packet = 1;
    // It has shown it holds the group key (a JOIN without credentials, or
    // any NAK, STATUS, DONE): from then on, and only then, the engine hears it.
    bool confirmed = false;
  };

  void OnJoin(Time now, const Endpoint& from, const wire::SealedHeader& h,
              std::span<const std::uint8_t> datagram);
  void OnFeedback(Time now, const Endpoint& from, const wire::SealedHeader& h,
                  std::span<const std::uint8_t> datagram);
  // Opens `datagram` (body after `header` bytes) into scratch_. False
  // (counted) if it does not verify, is a replay, or names another receiver.
  bool Open(const wire::SealedHeader& h, std::span<const std::uint8_t> datagram, std::size_t header,
            seal::PacketCipher& cipher, seal::ReplayWindow& window);
  // Hands the `body` bytes Open() left in scratch_ to the engine, in version 1 form.
  void ToEngine(Time now, const Endpoint& from, const wire::SealedHeader& h, std::size_t body);
  std::size_t Protect(std::span<std::uint8_t> buf, std::size_t v1_size);
  std::size_t SignAnnounce(std::span<std::uint8_t> buf, std::size_t body);
  std::size_t EmitKeyInfo(std::uint32_t receiver_id, Peer& peer, std::span<std::uint8_t> buf);
  void Refuse(const seal::Fingerprint& fingerprint);

  Sender& engine_;
  std::uint32_t session_;
  const seal::Identity& identity_;
  seal::KeyExchange exchange_;
  seal::Key32 group_secret_;
  SecureSenderConfig config_;
  std::optional<SessionContext> context_;  // from the first ANNOUNCE
  std::optional<seal::PacketCipher> group_;
  struct Deferred {
    std::uint8_t* packet;
    std::uint64_t packet_number;
    std::size_t body;
  };
  bool defer_ = false;
  std::array<Deferred, kMaxDeferred> deferred_{};
  std::size_t deferred_count_ = 0;
  std::uint64_t group_packet_ = 1;
  std::map<std::uint32_t, Peer> peers_;
  std::deque<std::pair<std::uint32_t, Endpoint>> key_infos_;  // receiver id, where to
  std::array<std::uint8_t, wire::kMaxDatagram> scratch_{};
  std::vector<seal::Fingerprint> refused_;
  SecurityStats stats_;
  Time now_{0};
};

}  // namespace ardus
