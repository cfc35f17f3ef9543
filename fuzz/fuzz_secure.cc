// Fuzzes the authenticated decoder: a SecureSender and a SecureReceiver
// (each around its engine) complete a real handshake with seeded keys, then
// take a stream of records:
//   kind u8, length u16 (big-endian), bytes
//   kind % 4 == 0: the bytes to the receiver, from the sender's address;
//             1: the bytes to the sender, from the receiver's address;
//             2: bytes[0] is a type, the rest a body: sealed under the group
//                key (the harness knows it) and given to the receiver, so
//                inputs reach the engine through a valid tag;
//             3: the same under the receiver's own key, to the sender.
// Nothing may crash or read out of bounds, and raw bytes (kinds 0 and 1)
// carry no valid tag or signature, so they must never reach an engine: the
// harness traps if an engine's counters move on one.
//
// fuzz/make_corpus.py writes the seeds (its fuzz_secure section).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "ardus/secure_receiver.h"
#include "ardus/secure_sender.h"
#include "support/null_store.h"

namespace {

using namespace ardus;
using testing::NullStore;

const Endpoint kSenderAt{1, 1834};
const Endpoint kReceiverAt{2, 40000};
constexpr std::uint32_t kSession = 1, kReceiverId = 7;

class ZeroSource final : public ContentSource {
 public:
  Status Read(std::uint32_t, std::uint64_t, std::span<std::uint8_t> out) override {
    std::fill(out.begin(), out.end(), 0);
    return Status::Ok();
  }
};

Manifest SessionManifest() {
  Manifest m;
  m.entries.push_back({EntryType::kFile, "a", 0644, 0, 5000, {}});
  return m;
}

SenderConfig Config() {
  SenderConfig c;
  c.session_id = kSession;
  c.symbol_size = 64;
  c.block_symbols = 4;
  c.expected_receivers = 1;
  return c;
}

struct Session {
  ZeroSource source;
  NullStore store;
  seal::SeededRandom sender_random{1}, receiver_random{2};
  seal::Identity sender_identity = seal::Identity::Generate(sender_random);
  seal::Identity receiver_identity = seal::Identity::Generate(receiver_random);
  Sender sender{Config(), SessionManifest(), source};
  SecureSender secure_sender{sender, kSession, sender_identity, sender_random, {}};
  Receiver receiver{ReceiverConfig{kReceiverId, milliseconds(500)}, store};
  SecureReceiver secure_receiver{receiver, kReceiverId, receiver_identity, receiver_random, {}};
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(wire::kMaxDatagram);
  std::vector<std::uint8_t> announce;  // the first ANNOUNCE sent
  Time now{0};

  // Every group reaches this receiver: a join it asks for succeeds at once.
  void AnswerJoin() {
    if (secure_receiver.TakeJoinRequest()) secure_receiver.OnJoined(now, Status::Ok());
  }

  void Exchange() {
    for (int round = 0; round < 4; ++round) {
      while (auto t = secure_sender.PollTransmit(now, buf)) {
        if (announce.empty() && buf[3] == 1) announce.assign(buf.begin(), buf.begin() + t->size);
        if (t->destination != Destination::kDataGroup || round > 0)
          secure_receiver.OnDatagram(now, kSenderAt, {buf.data(), t->size});
        AnswerJoin();
      }
      while (auto t = secure_receiver.PollTransmit(now, buf)) {
        secure_sender.OnDatagram(now, kReceiverAt, {buf.data(), t->size});
      }
      now += milliseconds(1);
    }
  }
};

// What the harness re-derives from the seeds to seal as a peer would.
struct Keys {
  std::optional<seal::PacketCipher> group, feedback;
};

Keys DeriveKeys(const Session& s) {
  seal::SeededRandom sender_random(1), receiver_random(2);
  (void)seal::Identity::Generate(sender_random);
  const seal::KeyExchange sender_exchange = seal::KeyExchange::Generate(sender_random);
  const seal::Key32 group_secret = sender_random.Key();
  (void)seal::Identity::Generate(receiver_random);
  const seal::KeyExchange receiver_exchange = seal::KeyExchange::Generate(receiver_random);
  const SessionContext context{
      kSession, s.sender_identity.public_key(), sender_exchange.public_key(),
      AnnounceDigest(
          std::span(s.announce).subspan(wire::kSealedHeaderSize, wire::kAnnounceBodySize))};
  Keys k;
  k.group.emplace(GroupKeys(group_secret, context), seal::Protection::kSeal);
  Result<seal::Key32> shared = receiver_exchange.Agree(sender_exchange.public_key());
  if (!shared.ok()) __builtin_trap();
  const PeerKeys peer =
      DerivePeerKeys(shared.value(), context, kReceiverId, s.receiver_identity.public_key(),
                     receiver_exchange.public_key());
  k.feedback.emplace(peer.to_sender, seal::Protection::kSeal);
  return k;
}

std::vector<std::uint8_t> Seal(seal::PacketCipher& cipher, std::uint32_t key_id, std::uint64_t pn,
                               std::span<const std::uint8_t> input) {
  const std::size_t body = std::min(input.size() - 1, wire::kMaxDatagram - wire::kSealOverhead - 8);
  std::vector<std::uint8_t> d(wire::kSealedHeaderSize + body + wire::kTagSize);
  wire::EncodeSealedHeader({input[0], kSession, key_id, pn}, d);
  std::copy_n(input.begin() + 1, body, d.begin() + wire::kSealedHeaderSize);
  cipher.Seal(pn, d, wire::kSealedHeaderSize, body);
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Session s;
  s.Exchange();
  if (!s.secure_receiver.has_group_key() || s.announce.empty()) __builtin_trap();  // harness bug
  Keys keys = DeriveKeys(s);
  std::uint64_t group_pn = std::uint64_t{1} << 40, feedback_pn = std::uint64_t{1} << 40;
  std::size_t pos = 0;
  while (pos + 3 <= size) {
    const std::uint8_t kind = data[pos] % 4;
    std::size_t len = (std::size_t{data[pos + 1]} << 8 | data[pos + 2]) % (wire::kMaxDatagram + 1);
    pos += 3;
    len = std::min(len, size - pos);
    const std::span<const std::uint8_t> bytes(data + pos, len);
    pos += len;
    s.now += milliseconds(1);
    if (kind == 0) {
      const auto before = std::make_tuple(s.receiver.malformed(), s.receiver.foreign(),
                                          s.receiver.data_received(), s.receiver.duplicates());
      s.secure_receiver.OnDatagram(s.now, kSenderAt, bytes);
      if (before != std::make_tuple(s.receiver.malformed(), s.receiver.foreign(),
                                    s.receiver.data_received(), s.receiver.duplicates()))
        __builtin_trap();  // unauthenticated bytes reached the receiver engine
    } else if (kind == 1) {
      const SenderStats before = s.sender.stats();
      s.secure_sender.OnDatagram(s.now, kReceiverAt, bytes);
      const SenderStats& after = s.sender.stats();
      if (after.malformed != before.malformed || after.foreign != before.foreign ||
          after.naks != before.naks)
        __builtin_trap();  // unauthenticated bytes reached the sender engine
    } else if (!bytes.empty() && kind == 2) {
      s.secure_receiver.OnDatagram(s.now, kSenderAt, Seal(*keys.group, 0, group_pn++, bytes));
    } else if (!bytes.empty()) {
      s.secure_sender.OnDatagram(s.now, kReceiverAt,
                                 Seal(*keys.feedback, kReceiverId, feedback_pn++, bytes));
    }
    s.AnswerJoin();
    while (s.secure_sender.PollTransmit(s.now, s.buf)) {
    }
    while (s.secure_receiver.PollTransmit(s.now, s.buf)) {
    }
  }
  return 0;
}
