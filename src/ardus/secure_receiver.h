// SecureReceiver: runs a Receiver behind the version 2 envelope (wire.h,
// docs/ardus-protocol.md "Version 2"), driven exactly like a Receiver.
//   in:  an ANNOUNCE counts only if its sender is trusted (--trust; anyone
//        without it) and its signature verifies. It makes the session a
//        candidate: a fresh X25519 key, the per-receiver keys, a JOIN with
//        the receiver's proof. The first candidate whose KEYINFO opens (the
//        sender answers JOINs with the group secret, sealed under those keys)
//        is bound, and only then does the engine see its ANNOUNCE: a replayed
//        ANNOUNCE of a session no sender runs never gets a KEYINFO, so it
//        cannot tie the receiver up. Once bound, DATA, POLL, ADVERT, END
//        (group key) and DONE_ACK (own key) reach the engine only if they
//        open, once each (replay windows), in version 1 form, decrypted into
//        the engine's block buffer for DATA symbols (see OpenData), into a buffer
//        the engine copies from for the rest. Everything else is
//        counted in stats() and dropped.
//   out: JOIN, NAK, STATUS and DONE are sealed (or tagged) under the
//        receiver's own key. A candidate's JOIN also carries its identity,
//        exchange key and proof; once bound, the engine's JOIN goes without
//        them: it confirms the key, and only then does the sender count
//        this receiver (docs/ardus-protocol.md, "Handshake").
// Version 1 (plaintext) sessions are taken only with accept_plaintext and no
// trust list, and never once a protected session is bound.
//
// Sans-IO: the session's X25519 key comes from the RandomSource.
//
// Thread-safety: none. `engine`, `identity` must outlive it.
#pragma once

#include <array>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "ardus/receiver.h"
#include "ardus/security_stats.h"
#include "ardus/session_keys.h"
#include "seal/identity.h"
#include "seal/packet_cipher.h"
#include "seal/random.h"
#include "seal/replay_window.h"

namespace ardus {

struct SecureReceiverConfig {
  // Senders whose sessions are taken. nullopt: any sender (still encrypted).
  std::optional<std::set<seal::Fingerprint>> trust;
  bool accept_plaintext = false;  // version 1 sessions; ignored when trust is set
};

class SecureReceiver {
 public:
  // Precondition: receiver_id is `engine`'s configured receiver id.
  SecureReceiver(Receiver& engine, std::uint32_t receiver_id, const seal::Identity& identity,
                 seal::RandomSource& random, SecureReceiverConfig config);

  void OnDatagram(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram);
  std::optional<Transmit> PollTransmit(Time now, std::span<std::uint8_t> buf);
  Time NextDeadline() const;
  // The engine's join request and its answer (Receiver::TakeJoinRequest).
  std::optional<Endpoint> TakeJoinRequest() { return engine_.TakeJoinRequest(); }
  void OnJoined(Time now, Status status) { engine_.OnJoined(now, std::move(status)); }
  bool finished() const { return engine_.finished(); }

  const SecurityStats& stats() const { return stats_; }
  // The bound session's protection: nullopt before a session, kNone for a
  // version 1 one.
  std::optional<Encryption> encryption() const { return encryption_; }
  std::optional<seal::Fingerprint> sender_fingerprint() const { return sender_fingerprint_; }
  bool has_group_key() const { return group_.has_value(); }
  // While no session is bound: the sender of the latest session JOINed that
  // has not answered with a key (it may not --allow this receiver).
  std::optional<seal::Fingerprint> unanswered_sender() const {
    if (bound_ || candidates_.empty()) return std::nullopt;
    return candidates_.back().fingerprint;
  }
  // Identities of untrusted senders seen, each once, in order (at most 64).
  const std::vector<seal::Fingerprint>& untrusted_senders() const { return untrusted_; }

 private:
  // A verified session this receiver has JOINed, or the one it is bound to.
  struct Session {
    SessionContext context;
    std::array<std::uint8_t, 32> context_hash{};
    Endpoint source, feedback;  // where its datagrams come from; where JOINs go
    seal::Protection protection = seal::Protection::kSeal;
    Encryption encryption = Encryption::kAes256Gcm;
    seal::Fingerprint fingerprint{};
    seal::PacketCipher to_sender;    // r2s
    seal::PacketCipher from_sender;  // s2r: KEYINFO, DONE_ACK
    seal::ReplayWindow unicast_window;
    std::uint64_t next_packet = 1;
    wire::JoinCredentials credentials;
    std::array<std::uint8_t, wire::kHeaderSize + wire::kAnnounceBodySize> announce{};  // v1 form
    std::uint64_t echo_ns = 0;  // the latest ANNOUNCE's sent_at_ns
    Time echo_heard{0};         // when that ANNOUNCE arrived
    bool join_due = true;
    // A JOIN or its KEYINFO may be lost: the JOIN is repeated every
    // kJoinRetry, at most kJoinRetries times per ANNOUNCE, until KEYINFO opens.
    Time retry_at{0};
    int retries_left = 0;
  };
  static constexpr Duration kJoinRetry = std::chrono::milliseconds(50);
  static constexpr int kJoinRetries = 8;
  // Candidates kept at once: a real session's KEYINFO comes within a round
  // trip, so only a flood of distinct valid ANNOUNCEs can push it out.
  static constexpr std::size_t kMaxCandidates = 8;

  void OnPlaintext(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram);
  void OnAnnounce(Time now, const Endpoint& from, const wire::SealedHeader& h,
                  std::span<const std::uint8_t> datagram);
  void AddCandidate(const Endpoint& from, const SessionContext& context,
                    const wire::AnnounceTrailer& trailer, std::span<const std::uint8_t> body);
  void OnKeyInfo(Time now, const wire::SealedHeader& h, std::span<const std::uint8_t> datagram);
  void OnProtected(Time now, const Endpoint& from, const wire::SealedHeader& h,
                   std::span<const std::uint8_t> datagram);
  // DATA under the group key: decrypted into the engine's block buffer.
  void OpenData(Time now, const Endpoint& from, const wire::SealedHeader& h,
                std::span<const std::uint8_t> datagram);
  void ToEngine(Time now, const Endpoint& from, const wire::SealedHeader& h, std::size_t body);
  std::size_t EmitJoin(Session& s, Time now, std::span<std::uint8_t> buf);
  // A JOIN's echo of s.echo_ns, at `at`, plus the time since that ANNOUNCE
  // arrived: the sender's RTT sample must not include how long this receiver
  // held its answer (JOIN repeats, the wait for KEYINFO and the data group).
  static void AddHoldingTime(const Session& s, Time now, std::span<std::uint8_t, 8> at);
  // Seals the version 1 packet at buf + kSealedPlainOffset in place; a
  // candidate's JOIN (`credentials`) also carries s.credentials.
  std::size_t Protect(Session& s, std::span<std::uint8_t> buf, std::size_t v1_size,
                      bool credentials);

  Receiver& engine_;
  std::uint32_t receiver_id_;
  const seal::Identity& identity_;
  seal::RandomSource& random_;
  SecureReceiverConfig config_;

  std::optional<Encryption> encryption_;
  std::optional<seal::Fingerprint> sender_fingerprint_;
  std::deque<Session> candidates_;
  std::optional<Session> bound_;
  std::optional<seal::PacketCipher> group_;
  seal::ReplayWindow data_window_, control_window_;
  std::array<std::uint8_t, wire::kMaxDatagram> scratch_{};
  std::vector<seal::Fingerprint> untrusted_;
  SecurityStats stats_;
};

}  // namespace ardus
