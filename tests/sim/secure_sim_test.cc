// Version 2 sessions in the simulator, and a third party on the link: it
// forges, tampers with and replays every message type, from its own address
// and from the sender's. Each must end as a counter and nothing else: every
// receiver still ends with byte-identical files and the sender reports them.
// Seeds are fixed; a failure names its scenario.
#include <gtest/gtest.h>

#include "ardus/wire.h"
#include "support/memory_content.h"
#include "support/simulator.h"

namespace ardus::testing {
namespace {

const Endpoint kAttacker{0x0A0000FE, 5555};

struct SimRun {
  std::vector<std::unique_ptr<MemoryStore>> stores;
  Manifest manifest;
  std::unique_ptr<Simulator> sim;
  SimResult result;
};

std::unique_ptr<SimRun> Prepare(std::size_t receivers, SimSecurity security, std::uint64_t seed = 1,
                                LinkModel link = {}, std::uint32_t session = 0x5EED0001,
                                std::uint32_t expected = 0) {
  auto run = std::make_unique<SimRun>();
  run->manifest = PatternManifest({300000, 77777});
  static PatternSource source;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < receivers; ++i) {
    run->stores.push_back(std::make_unique<MemoryStore>());
    SimReceiver r;
    r.store = run->stores.back().get();
    r.down = link;
    r.up = link;
    specs.push_back(r);
  }
  SenderConfig config;
  config.session_id = session;
  config.expected_receivers = expected ? expected : std::uint32_t(receivers);
  config.join_wait = seconds(2);
  run->sim = std::make_unique<Simulator>(seed, config, run->manifest, source, specs,
                                         ReceiverConfig{}, security);
  return run;
}

void Finish(SimRun& run) { run.result = run.sim->Run(seconds(120)); }

void ExpectIdentical(const SimRun& run, std::size_t receiver) {
  ASSERT_TRUE(run.result.receiver_results[receiver].ok())
      << "receiver " << receiver << ": " << run.result.receiver_results[receiver].ToString();
  PatternSource source;
  for (std::uint32_t f = 0; f < run.manifest.entries.size(); ++f) {
    std::vector<std::uint8_t> expected(run.manifest.entries[f].size);
    (void)source.Read(f, 0, expected);
    ASSERT_EQ(run.stores[receiver]->file(f), expected) << "receiver " << receiver << " file " << f;
  }
}

std::size_t Succeeded(const Sender& sender) {
  std::size_t ok = 0;
  for (const auto& r : sender.Reports()) ok += r.outcome == ReceiverOutcome::kSucceeded;
  return ok;
}

// Does `hay` contain the `n` bytes at `needle`?
bool Contains(std::span<const std::uint8_t> hay, const std::uint8_t* needle, std::size_t n) {
  return std::search(hay.begin(), hay.end(), needle, needle + n) != hay.end();
}

TEST(SecureSimulation, EncryptedAndAuthenticatedSessionsDeliverUnderLoss) {
  for (Encryption mode : {Encryption::kAes256Gcm, Encryption::kAuth}) {
    SCOPED_TRACE(EncryptionName(mode));
    LinkModel lossy;
    lossy.loss = 0.05;
    lossy.jitter = microseconds(300);
    auto run = Prepare(4, SimSecurity{mode}, 7, lossy);
    Finish(*run);
    ASSERT_TRUE(run->result.completed);
    EXPECT_EQ(Succeeded(run->sim->sender()), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      ExpectIdentical(*run, i);
      const SecureReceiver& r = run->sim->secure_receiver(i);
      EXPECT_EQ(r.encryption(), mode);
      EXPECT_EQ(r.sender_fingerprint(), run->sim->sender_identity().fingerprint());
      EXPECT_EQ(r.stats().tampered + r.stats().replayed, 0u);
      EXPECT_EQ(run->sim->secure_sender().ReceiverFingerprint(1000 + std::uint32_t(i)),
                run->sim->receiver_identity(i).fingerprint());
    }
    EXPECT_EQ(run->sim->secure_sender().stats().tampered, 0u);
  }
}

TEST(SecureSimulation, LateJoinerDuplicatesAndReorderingUnderEncryption) {
  // A receiver that starts mid-transfer joins on a later ANNOUNCE; links that
  // duplicate and reorder must not trip the replay windows on genuine data.
  auto run = std::make_unique<SimRun>();
  run->manifest = PatternManifest({8000000});  // 1.3 s at 50 Mbit/s: past an ANNOUNCE repeat
  static PatternSource source;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < 3; ++i) {
    run->stores.push_back(std::make_unique<MemoryStore>());
    SimReceiver r;
    r.store = run->stores.back().get();
    r.down.loss = 0.02;
    r.down.duplicate = 0.05;
    r.down.jitter = microseconds(800);
    r.up = r.down;
    if (i == 2) r.join_at = milliseconds(100);
    specs.push_back(r);
  }
  SenderConfig config;
  config.session_id = 0x5EED0002;
  config.expected_receivers = 2;
  config.rate_bps = 50'000'000;
  run->sim = std::make_unique<Simulator>(5, config, run->manifest, source, specs, ReceiverConfig{},
                                         SimSecurity{});
  Finish(*run);
  ASSERT_TRUE(run->result.completed);
  EXPECT_EQ(Succeeded(run->sim->sender()), 3u);
  std::uint64_t replayed = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    ExpectIdentical(*run, i);
    EXPECT_EQ(run->sim->secure_receiver(i).stats().tampered, 0u);
    replayed += run->sim->secure_receiver(i).stats().replayed;
  }
  EXPECT_GT(replayed, 0u);  // the duplicated datagrams, refused once each
}

TEST(SecureSimulation, LostKeyInfoIsRecoveredWithinARetryNotAnAnnounce) {
  // A receiver whose KEYINFO is lost repeats its JOIN within kJoinRetry, not
  // at the next ANNOUNCE, so the start (which waits for its key
  // confirmation) is delayed by about 50 ms, not by an ANNOUNCE gap.
  auto run = std::make_unique<SimRun>();
  run->manifest = PatternManifest({8000000});  // 1.3 s at 50 Mbit/s
  static PatternSource source;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < 2; ++i) {
    run->stores.push_back(std::make_unique<MemoryStore>());
    SimReceiver r;
    r.store = run->stores.back().get();
    if (i == 1) r.down.keyinfo_loss_until = milliseconds(20);
    specs.push_back(r);
  }
  SenderConfig config;
  config.session_id = 0x5EED0003;
  config.expected_receivers = 2;
  config.rate_bps = 50'000'000;
  run->sim = std::make_unique<Simulator>(9, config, run->manifest, source, specs, ReceiverConfig{},
                                         SimSecurity{});
  Finish(*run);
  ASSERT_TRUE(run->result.completed);
  EXPECT_EQ(Succeeded(run->sim->sender()), 2u);
  for (std::size_t i = 0; i < 2; ++i) ExpectIdentical(*run, i);
  EXPECT_GE(run->sim->secure_sender().stats().key_infos, 3u);  // 1 + the lost one + its retry
  EXPECT_LT(run->result.wire_ratio, 1.25);
  // The start waited for the key: past the lost KEYINFO, within a retry.
  ASSERT_TRUE(run->sim->sender().transfer_start().has_value());
  EXPECT_GE(*run->sim->sender().transfer_start(), Time(milliseconds(20)));
  EXPECT_LT(*run->sim->sender().transfer_start(), Time(milliseconds(80)));
}

// Issue 17. The netns_loss setting: four receivers, a sender at 400 Mbit/s.
// `keyinfo_loss_until` drops receiver 3's KEYINFOs until then; `loss` is
// every link's independent loss.
std::unique_ptr<SimRun> NetnsLike(std::uint64_t seed, std::uint64_t bytes, double loss,
                                  Duration keyinfo_loss_until) {
  auto run = std::make_unique<SimRun>();
  run->manifest = PatternManifest({bytes});
  static PatternSource source;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < 4; ++i) {
    run->stores.push_back(std::make_unique<MemoryStore>());
    SimReceiver r;
    r.store = run->stores.back().get();
    r.down.loss = loss;
    r.down.delay = microseconds(100);
    r.down.jitter = microseconds(100);
    r.up = r.down;
    if (i == 3) r.down.keyinfo_loss_until = keyinfo_loss_until;
    specs.push_back(r);
  }
  SenderConfig config;
  config.session_id = 0x5EED1700 + std::uint32_t(seed);
  config.expected_receivers = 4;
  config.rate_bps = 400'000'000;
  config.join_wait = seconds(20);
  run->sim =
      std::make_unique<Simulator>(seed, config, run->manifest, source, specs, ReceiverConfig{},
                                  SimSecurity{Encryption::kAes256Gcm, seed});
  run->sim->SetBottleneck(500'000'000, milliseconds(50));
  return run;
}

// DATA a receiver dropped because it did not hold the group key yet.
std::uint64_t Unkeyed(SimRun& run) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < run.stores.size(); ++i)
    n += run.sim->secure_receiver(i).stats().unkeyed;
  return n;
}

TEST(SecureSimulation, LostKeyInfosDelayTheStartNotTheData) {
  // Issue 17: the sender counted a receiver from its first JOIN, before its
  // KEYINFO arrived. With that KEYINFO lost, the transfer started without
  // it; it missed the first 150 ms, the manifest among them, so it held only
  // 4096 early DATA, dropped the rest, and NAKed the manifest (a block before
  // its first DATA) only in the final sweep: most of the file went again in
  // sweep repair (wire 1.87 in the testbed). The sender must wait for the
  // receiver's key confirmation instead.
  constexpr std::uint64_t kSeed = 3;
  auto run = NetnsLike(kSeed, 16 << 20, 0, milliseconds(120));  // its first 3 KEYINFOs
  Finish(*run);
  ASSERT_TRUE(run->result.completed) << "seed " << kSeed;
  for (std::size_t i = 0; i < 4; ++i) ExpectIdentical(*run, i);
  EXPECT_EQ(Unkeyed(*run), 0u) << "DATA went out before a counted receiver had the key; seed "
                               << kSeed;
  const SenderStats& s = run->sim->sender().stats();
  // Lossless links: no repair beyond the manifest's extra parity, no sweep.
  EXPECT_LE(s.repair_symbols, SenderConfig{}.manifest_extra_symbols) << "seed " << kSeed;
  EXPECT_EQ(s.sweep_repair_symbols, 0u) << "seed " << kSeed;
  EXPECT_LT(run->result.wire_ratio, 1.07) << "seed " << kSeed;  // 1.061: the envelope's 28 bytes
  EXPECT_GE(run->sim->secure_sender().stats().key_infos, 7u) << "seed " << kSeed;  // 4 + 3 lost
}

TEST(SecureSimulation, AReceiverThatWaitedForItsKeyDoesNotInflateTheGroupRtt) {
  // The JOIN that confirms the key echoes an ANNOUNCE heard 50 ms or more
  // before (its KEYINFOs were lost). Taken as an RTT sample, that made the
  // GRTT 250 times the path's, and every poll's backoff with it: 1.15 to
  // 1.87 s instead of about 0.52 (0.40 without the lost KEYINFOs, plus the
  // 125 ms the start waits for this receiver's key).
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    auto run = NetnsLike(seed, 16 << 20, 0.05, milliseconds(120));
    Finish(*run);
    ASSERT_TRUE(run->result.completed) << "seed " << seed;
    for (std::size_t i = 0; i < 4; ++i) ExpectIdentical(*run, i);
    EXPECT_LT(run->result.end, Time(milliseconds(800))) << "seed " << seed;
    EXPECT_LT(run->result.wire_ratio, 1.2) << "seed " << seed;
  }
}

TEST(SecureSimulation, NoReceiverMissesDataForWantOfItsKeyUnderLoss) {
  // Issue 17 as the testbed met it, about one run in four: 5% loss on every
  // link loses a KEYINFO or a JOIN repeat now and then. Whatever is lost,
  // the transfer starts only once all four receivers hold the group key.
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto run = NetnsLike(seed, 8 << 20, 0.05, Duration{0});
    Finish(*run);
    ASSERT_TRUE(run->result.completed) << "seed " << seed;
    for (std::size_t i = 0; i < 4; ++i) ExpectIdentical(*run, i);
    EXPECT_EQ(Unkeyed(*run), 0u) << "seed " << seed;
    EXPECT_LT(run->result.wire_ratio, 1.2) << "seed " << seed;
  }
}

TEST(SecureSimulation, AReceiverWithoutItsKeyIsNeverCounted) {
  // Key confirmation comes before the engine counts a receiver: one whose
  // KEYINFOs are all lost has JOINed (the envelope keeps its keys) but is
  // neither waited for as joined, nor reported, nor timed out.
  auto run = std::make_unique<SimRun>();
  run->manifest = PatternManifest({300000});
  static PatternSource source;
  std::vector<SimReceiver> specs;
  for (std::size_t i = 0; i < 2; ++i) {
    run->stores.push_back(std::make_unique<MemoryStore>());
    SimReceiver r;
    r.store = run->stores.back().get();
    if (i == 1) r.down.keyinfo_loss_until = seconds(600);
    specs.push_back(r);
  }
  SenderConfig config;
  config.session_id = 0x5EED0004;
  config.expected_receivers = 2;
  config.join_wait = seconds(1);
  run->sim = std::make_unique<Simulator>(4, config, run->manifest, source, specs, ReceiverConfig{},
                                         SimSecurity{});
  Finish(*run);
  const Sender& sender = run->sim->sender();
  ASSERT_TRUE(sender.finished());
  ExpectIdentical(*run, 0);
  EXPECT_EQ(sender.receivers_joined(), 1u);
  ASSERT_EQ(sender.Reports().size(), 1u);
  EXPECT_EQ(sender.Reports()[0].receiver_id, 1000u);
  EXPECT_EQ(sender.Reports()[0].outcome, ReceiverOutcome::kSucceeded);
  EXPECT_TRUE(run->sim->secure_sender().ReceiverFingerprint(1001).has_value());  // it did JOIN
  EXPECT_FALSE(run->sim->secure_receiver(1).has_group_key());
  // The transfer waited the whole join_wait for the second receiver.
  ASSERT_TRUE(sender.transfer_start().has_value());
  EXPECT_GE(*sender.transfer_start(), Time(seconds(1)));
}

TEST(SecureSimulation, NoDatagramCarriesFileBytesWhenEncrypted) {
  // A 32-byte run of the file from every 4 KiB: in the clear under auth
  // (which proves the check can see them), nowhere under aes256-gcm.
  for (Encryption mode : {Encryption::kAes256Gcm, Encryption::kAuth}) {
    auto run = Prepare(2, SimSecurity{mode});
    PatternSource source;
    std::vector<std::vector<std::uint8_t>> probes;
    for (std::uint64_t off = 0; off + 32 < 300000; off += 4096) {
      probes.emplace_back(32);
      (void)source.Read(0, off, probes.back());
    }
    std::set<std::size_t> found;
    run->sim->observe = [&](Time, const Endpoint&, const Transmit&,
                            std::span<const std::uint8_t> bytes) {
      for (std::size_t i = 0; i < probes.size(); ++i) {
        if (Contains(bytes, probes[i].data(), probes[i].size())) found.insert(i);
      }
    };
    Finish(*run);
    ASSERT_TRUE(run->result.completed);
    if (mode == Encryption::kAes256Gcm) {
      EXPECT_EQ(found.size(), 0u);
    } else {
      EXPECT_GE(found.size(), probes.size() * 9 / 10);  // a few straddle two symbols
    }
  }
}

// The attacker copies what it sees and sends it back: as captured
// (replays), with one bit flipped (tampering), and under another
// receiver's key id (one receiver speaking for another).
TEST(SecureSimulation, ReplayedTamperedAndRedirectedDatagramsOnlyCount) {
  auto run = Prepare(3, SimSecurity{});
  Simulator& sim = *run->sim;
  std::map<std::uint8_t, int> copied;  // type -> copies made
  sim.observe = [&](Time now, const Endpoint& from, const Transmit& t,
                    std::span<const std::uint8_t> bytes) {
    const std::uint8_t type = bytes[3];
    if (copied[type]++ >= 3) return;
    std::vector<std::uint8_t> same(bytes.begin(), bytes.end());
    std::vector<std::uint8_t> flipped = same;
    flipped[flipped.size() / 2 + 10 < flipped.size() ? flipped.size() / 2 + 10 : 21] ^= 0x04;
    const bool from_sender = from == Simulator::sender_address();
    const int to = from_sender ? -2 : -1;
    // Spoofing the true source: the receivers' address check passes. The
    // flipped copy arrives before the original (links take 1 ms), so it
    // meets the tag check, not the replay window; the original must then
    // still be taken.
    sim.Inject(now, to, from, flipped);
    sim.Inject(now + milliseconds(3), to, from, same);
    if (!from_sender && (type == 5 || type == 7 || type == 8)) {
      // Receiver 1000's feedback relabelled as receiver 1001's.
      std::vector<std::uint8_t> other = same;
      other[11] = std::uint8_t(other[11] == 0xE8 ? 0xE9 : 0xE8);  // key_id low byte (1000/1001)
      sim.Inject(now + milliseconds(5), -1, from, other);
    }
    (void)t;
  };
  Finish(*run);
  ASSERT_TRUE(run->result.completed);
  EXPECT_EQ(Succeeded(sim.sender()), 3u);
  for (std::size_t i = 0; i < 3; ++i) ExpectIdentical(*run, i);
  const SecurityStats& s = sim.secure_sender().stats();
  EXPECT_GT(s.replayed, 0u);
  EXPECT_GT(s.tampered + s.conflicting, 0u);
  std::uint64_t replayed = 0, tampered = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    replayed += sim.secure_receiver(i).stats().replayed;
    tampered += sim.secure_receiver(i).stats().tampered;
  }
  EXPECT_GT(replayed, 0u);
  EXPECT_GT(tampered, 0u);
}

// DATA is decrypted straight into its slot of the receiver's block buffer,
// before its tag is checked. A tampered copy must leave nothing behind:
// arriving first, the genuine symbol replaces it (or, where the link lost
// that, repair does); arriving after, it must not touch the held symbol.
TEST(SecureSimulation, TamperedDataDecryptedIntoItsSlotLeavesNoTrace) {
  for (Encryption mode : {Encryption::kAes256Gcm, Encryption::kAuth}) {
    SCOPED_TRACE(EncryptionName(mode));
    LinkModel lossy;
    lossy.loss = 0.05;
    auto run = Prepare(3, SimSecurity{mode}, 11, lossy);
    Simulator& sim = *run->sim;
    int flipped = 0;
    sim.observe = [&](Time now, const Endpoint& from, const Transmit&,
                      std::span<const std::uint8_t> bytes) {
      if (from != Simulator::sender_address() ||
          bytes[3] != static_cast<std::uint8_t>(wire::Type::kData) ||
          bytes.size() < wire::kSealedHeaderSize + wire::kDataFieldsSize + 64)
        return;
      for (std::size_t i = 0; i < 3; ++i)
        if (!sim.secure_receiver(i).has_group_key()) return;  // it would count as unkeyed
      std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
      copy[wire::kSealedHeaderSize + wire::kDataFieldsSize + 40] ^= 0x01;  // in the symbol
      sim.Inject(now, -2, from, copy);  // links take 1 ms: the copy comes first
      // And one after the genuine symbol is held, under a packet number
      // never used (the replay window would refuse the same one).
      copy[16] ^= 0x01;
      sim.Inject(now + milliseconds(3), -2, from, copy);
      ++flipped;
    };
    Finish(*run);
    ASSERT_TRUE(run->result.completed);
    EXPECT_EQ(Succeeded(sim.sender()), 3u);
    std::uint64_t tampered = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      ExpectIdentical(*run, i);
      tampered += sim.secure_receiver(i).stats().tampered;
    }
    EXPECT_GT(flipped, 40);
    // Each receiver refuses every copy that reached it (the link loses some).
    EXPECT_GT(tampered, std::uint64_t(flipped) * 2 * 3 * 8 / 10);
  }
}

// Forgeries from a third party that holds no session key: each type, with a
// valid-looking header (the victims' session and ids) and random body and tag.
std::vector<std::uint8_t> Forged(std::uint8_t type, std::uint32_t session, std::uint32_t key_id,
                                 std::uint64_t pn, std::size_t size) {
  std::vector<std::uint8_t> d(size, 0x5A);
  wire::EncodeSealedHeader({type, session, key_id, pn}, d);
  for (std::size_t i = wire::kSealedHeaderSize; i < size; ++i) d[i] = std::uint8_t(i * 37 + pn);
  return d;
}

TEST(SecureSimulation, ThirdPartyForgeriesOfEveryTypeOnlyCount) {
  const std::uint32_t session = 0x5EED0001;
  auto run = Prepare(2, SimSecurity{}, 3, {}, session);
  Simulator& sim = *run->sim;
  // A third party with its own identity: it can sign, but not as the sender.
  seal::SeededRandom attacker_random(999);
  const seal::Identity attacker = seal::Identity::Generate(attacker_random);
  const Endpoint sender = Simulator::sender_address();
  for (int k = 0; k < 40; ++k) {
    const Time at = milliseconds(1 + 7 * k);
    const std::uint64_t pn = 1 + std::uint64_t(k) * 97;
    // To the sender: JOIN, NAK, STATUS, DONE under real receivers' ids.
    for (std::uint8_t type : {2, 5, 7, 8}) {
      sim.Inject(at, -1, kAttacker, Forged(type, session, 1000 + k % 2, pn, 180));
      sim.Inject(at, -1, sim.receiver_address(k % 2), Forged(type, session, 1000 + k % 2, pn, 60));
    }
    // To the receivers, as the sender: DATA, POLL, ADVERT, END, DONE_ACK, KEYINFO.
    for (std::uint8_t type : {3, 4, 6, 10}) {
      sim.Inject(at, -2, sender, Forged(type, session, 0, pn + 1000000, type == 3 ? 1464 : 64));
    }
    sim.Inject(at, 0, sender, Forged(9, session, 1000, pn, 40));
    sim.Inject(at, 0, sender, Forged(wire::kTypeKeyInfo, session, 1000, pn, 68));
    // ANNOUNCE: the real one's fields under the attacker's signature; and a
    // version 1 ANNOUNCE (plaintext is refused).
    std::vector<std::uint8_t> announce(wire::kSealedAnnounceSize, 0);
    wire::EncodeSealedHeader({1, session, 0, pn}, announce);
    wire::AnnounceTrailer t;
    t.identity = attacker.public_key();
    wire::EncodeAnnounceTrailer(t, std::span(announce).subspan(92));
    sim.Inject(at, -2, sender, announce);
    std::vector<std::uint8_t> v1(80, 0);
    v1[0] = 0xAD, v1[1] = 0x05, v1[2] = 1, v1[3] = 1;
    sim.Inject(at, -2, sender, v1);
  }
  Finish(*run);
  ASSERT_TRUE(run->result.completed);
  EXPECT_EQ(Succeeded(sim.sender()), 2u);
  EXPECT_EQ(sim.sender().receivers_joined(), 2u);  // no forged receiver
  for (std::size_t i = 0; i < 2; ++i) ExpectIdentical(*run, i);
  const SecurityStats& s = sim.secure_sender().stats();
  EXPECT_GT(s.tampered + s.conflicting + s.unkeyed + s.malformed, 0u);
  for (std::size_t i = 0; i < 2; ++i) {
    const SecurityStats& r = sim.secure_receiver(i).stats();
    EXPECT_GT(r.tampered + r.unkeyed, 0u) << i;
    EXPECT_GT(r.plaintext, 0u) << i;
  }
}

TEST(SecureSimulation, UntrustedSenderIsRefusedAndNamed) {
  seal::SeededRandom other(4242);
  SimSecurity security;
  security.trust = std::set<seal::Fingerprint>{seal::Identity::Generate(other).fingerprint()};
  auto run = Prepare(2, security);
  Finish(*run);
  EXPECT_FALSE(run->sim->sender().status().ok());  // no receiver joined
  EXPECT_EQ(run->sim->sender().receivers_joined(), 0u);
  for (std::size_t i = 0; i < 2; ++i) {
    const SecureReceiver& r = run->sim->secure_receiver(i);
    EXPECT_GT(r.stats().untrusted, 0u);
    ASSERT_EQ(r.untrusted_senders().size(), 1u);
    EXPECT_EQ(r.untrusted_senders()[0], run->sim->sender_identity().fingerprint());
    EXPECT_EQ(run->sim->receiver(i).state(), Receiver::State::kIdle);
  }
}

TEST(SecureSimulation, TrustedSenderIsTaken) {
  SimSecurity security;
  seal::SeededRandom same(security.key_seed);  // the simulator's sender identity
  security.trust = std::set<seal::Fingerprint>{seal::Identity::Generate(same).fingerprint()};
  auto run = Prepare(2, security);
  Finish(*run);
  ASSERT_TRUE(run->result.completed);
  for (std::size_t i = 0; i < 2; ++i) ExpectIdentical(*run, i);
}

TEST(SecureSimulation, ReceiverOutsideAllowIsRefusedAndNamed) {
  SimSecurity security;
  security.allow = std::set<seal::Fingerprint>{};
  for (std::size_t i = 0; i < 2; ++i) {
    seal::SeededRandom r(security.key_seed + 1 + i);
    security.allow->insert(seal::Identity::Generate(r).fingerprint());
  }
  auto run = Prepare(3, security, 1, {}, 0x5EED0001, 2);
  Finish(*run);
  Simulator& sim = *run->sim;
  EXPECT_EQ(Succeeded(sim.sender()), 2u);
  EXPECT_EQ(sim.sender().receivers_joined(), 2u);
  ExpectIdentical(*run, 0);
  ExpectIdentical(*run, 1);
  EXPECT_GT(sim.secure_sender().stats().not_allowed, 0u);
  ASSERT_EQ(sim.secure_sender().refused_receivers().size(), 1u);
  EXPECT_EQ(sim.secure_sender().refused_receivers()[0], sim.receiver_identity(2).fingerprint());
  // Never keyed, so never in the session; it knows whom it asked.
  EXPECT_EQ(sim.receiver(2).state(), Receiver::State::kIdle);
  EXPECT_FALSE(run->stores[2]->finished());
  EXPECT_FALSE(sim.secure_receiver(2).has_group_key());
  EXPECT_EQ(sim.secure_receiver(2).unanswered_sender(), sim.sender_identity().fingerprint());
}

TEST(SecureSimulation, DatagramsOfAnEarlierSessionAreRefused) {
  // Session A, captured whole; then session B (same session id, even: the
  // worst case of a 32-bit collision) gets all of A's datagrams replayed.
  std::vector<std::pair<bool, std::vector<std::uint8_t>>> captured;  // from sender?, bytes
  {
    auto a = Prepare(2, SimSecurity{Encryption::kAes256Gcm, 11});
    a->sim->observe = [&](Time, const Endpoint& from, const Transmit&,
                          std::span<const std::uint8_t> bytes) {
      captured.emplace_back(from == Simulator::sender_address(),
                            std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    };
    Finish(*a);
    ASSERT_TRUE(a->result.completed);
  }
  auto b = Prepare(2, SimSecurity{Encryption::kAes256Gcm, 12});
  Simulator& sim = *b->sim;
  Time at = microseconds(100);
  for (const auto& [from_sender, bytes] : captured) {
    if (from_sender) {
      sim.Inject(at, -2, Simulator::sender_address(), bytes);
    } else {
      sim.Inject(at, -1, sim.receiver_address(0), bytes);
    }
    at += microseconds(20);
  }
  Finish(*b);
  ASSERT_TRUE(b->result.completed);
  ExpectIdentical(*b, 0);
  ExpectIdentical(*b, 1);
  EXPECT_EQ(sim.sender().receivers_joined(), 2u);
  std::uint64_t refused = sim.secure_sender().stats().refused();
  for (std::size_t i = 0; i < 2; ++i) refused += sim.secure_receiver(i).stats().refused();
  EXPECT_GE(refused, captured.size());
}

TEST(SecureSimulation, TamperedAnnounceAndManifestAreRefused) {
  // The real ANNOUNCE with the manifest's SHA-256 changed, or its manifest
  // DATA changed in flight: neither opens, and the session goes on.
  auto run = Prepare(2, SimSecurity{});
  Simulator& sim = *run->sim;
  int announces = 0, manifest_data = 0;
  sim.observe = [&](Time now, const Endpoint& from, const Transmit&,
                    std::span<const std::uint8_t> bytes) {
    if (from != Simulator::sender_address()) return;
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    if (bytes[3] == 1 && announces++ < 5) {
      copy[20 + 20 + 3] ^= 0xFF;  // manifest_sha256, inside the signed body
      sim.Inject(now, -2, from, copy);
    }
    if (bytes[3] == 3 && manifest_data++ < 3) {  // the first DATA carry object 0
      copy[40] ^= 0x01;
      sim.Inject(now, -2, from, copy);
    }
  };
  Finish(*run);
  ASSERT_TRUE(run->result.completed);
  for (std::size_t i = 0; i < 2; ++i) {
    ExpectIdentical(*run, i);
    EXPECT_GE(sim.secure_receiver(i).stats().tampered, 1u);
  }
}

}  // namespace
}  // namespace ardus::testing
