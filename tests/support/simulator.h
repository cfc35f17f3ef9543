// A deterministic network simulator in virtual time: one Sender, N Receivers,
// each receiver behind its own seeded link model (independent or bursty loss,
// delay with jitter that reorders, duplication), late joiners and receivers
// that go silent. The same seed gives the same run, packet for packet.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ardus/receiver.h"
#include "ardus/secure_receiver.h"
#include "ardus/secure_sender.h"
#include "ardus/sender.h"
#include "seal/identity.h"
#include "seal/random.h"

namespace ardus::testing {

struct LinkModel {
  double loss = 0;           // independent drop probability
  double burst_enter = 0;    // Gilbert-Elliott: P(good -> bad) per packet
  double burst_exit = 0.25;  // P(bad -> good) per packet
  double burst_loss = 1.0;   // drop probability while bad
  Duration delay = milliseconds(1);
  Duration jitter{0};              // uniform extra delay in [0, jitter): reorders packets
  double duplicate = 0;            // probability a packet is delivered twice
  double poll_loss = 0;            // drop probability for POLL datagrams, on top of `loss`
  Duration keyinfo_loss_until{0};  // every KEYINFO sent before this is dropped
};

struct SimReceiver {
  ContentStore* store = nullptr;  // not owned
  LinkModel down;                 // sender -> receiver
  LinkModel up;                   // receiver -> sender
  Time join_at{0};                // before this it hears nothing (not yet started)
  Time silent_at = kNever;        // from this time on it neither hears nor says anything
  Time deaf_at = kNever;          // from this time on it hears nothing but still talks
};

// Runs the session under the version 2 envelope (SecureSender and
// SecureReceiver around the engines). Identities and session keys come from
// seeded generators: sender seed `key_seed`, receiver i `key_seed + 1 + i`.
struct SimSecurity {
  Encryption encryption = Encryption::kAes256Gcm;
  std::uint64_t key_seed = 1;
  std::optional<std::set<seal::Fingerprint>> allow;  // SecureSenderConfig::allow
  std::optional<std::set<seal::Fingerprint>> trust;  // every receiver's --trust
  // Receivers i whose identity seed is replaced (e.g. to be outside --allow).
  std::map<std::size_t, std::uint64_t> receiver_key_seeds;
};

struct SimResult {
  bool completed = false;  // sender finished and every live receiver finished
  Time end{0};             // all quiet: the sender's END repeats included
  Time all_finished{0};    // the sender has heard the outcome of every receiver
  std::vector<Status> receiver_results;
  std::uint64_t feedback_datagrams = 0;  // receiver -> sender, all types
  std::uint64_t nak_datagrams = 0;
  std::uint64_t bottleneck_drops = 0;
  double wire_ratio = 0;  // sender's bytes on an Ethernet link / payload bytes
};

class Simulator {
 public:
  Simulator(std::uint64_t seed, SenderConfig sender_config, Manifest manifest,
            ContentSource& source, std::vector<SimReceiver> receivers,
            ReceiverConfig receiver_template = {},
            std::optional<SimSecurity> security = std::nullopt);
  SimResult Run(Time limit);
  // A shared bottleneck on the sender's link: datagrams queue behind each
  // other at `bps` (Ethernet, IP and UDP headers counted); one that would
  // wait longer than `max_queue` is dropped for everyone, as tc tbf does.
  void SetBottleneck(std::uint64_t bps, Duration max_queue) {
    bottleneck_bps_ = bps;
    max_queue_ = max_queue;
  }
  Sender& sender() { return *sender_; }
  Receiver& receiver(std::size_t i) { return *receivers_[i].engine; }
  // With security: the envelopes, and the identities (seeded).
  SecureSender& secure_sender() { return *secure_sender_; }
  SecureReceiver& secure_receiver(std::size_t i) { return *receivers_[i].secure; }
  const seal::Identity& sender_identity() const { return *sender_identity_; }
  const seal::Identity& receiver_identity(std::size_t i) const { return *receivers_[i].identity; }
  static Endpoint sender_address();
  Endpoint receiver_address(std::size_t i) const { return receivers_[i].address; }

  // A third party: delivers `bytes` at `at` from `from` to the sender (to =
  // -1), to receiver `to`, or to every receiver (to = -2), outside any link
  // model.
  void Inject(Time at, int to, Endpoint from, std::vector<std::uint8_t> bytes);
  // Called with every datagram the sender (from = sender_address()) or a
  // receiver sends, as it leaves: what an on-link observer captures.
  std::function<void(Time, const Endpoint& from, const Transmit&, std::span<const std::uint8_t>)>
      observe;

 private:
  struct Node {
    SimReceiver spec;
    std::unique_ptr<Receiver> engine;
    std::unique_ptr<seal::Identity> identity;
    std::unique_ptr<seal::SeededRandom> random;
    std::unique_ptr<SecureReceiver> secure;
    Endpoint address;
    bool bad = false;  // Gilbert-Elliott state of the down link
    bool up_bad = false;
  };
  struct Event {
    Time at;
    std::uint64_t seq;
    int to;  // -1: sender; else receiver index
    Endpoint from;
    std::vector<std::uint8_t> bytes;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  bool Alive(const Node& n, Time now) const {
    return now >= n.spec.join_at && now < n.spec.silent_at;
  }
  void Send(Time now, const LinkModel& link, bool& bad, int to, Endpoint from,
            std::span<const std::uint8_t> bytes);
  std::optional<Transmit> SenderPoll(Time now, std::span<std::uint8_t> buf);
  std::optional<Transmit> NodePoll(Node& n, Time now, std::span<std::uint8_t> buf);
  Time NodeDeadline(const Node& n) const;
  void Deliver(const Event& e);

  std::mt19937_64 rng_;
  std::unique_ptr<Sender> sender_;
  std::unique_ptr<seal::Identity> sender_identity_;
  std::unique_ptr<seal::SeededRandom> sender_random_;
  std::unique_ptr<SecureSender> secure_sender_;
  std::vector<Node> receivers_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t seq_ = 0;
  std::uint64_t bottleneck_bps_ = 0;
  Duration max_queue_{0};
  Time queue_free_at_{0};
};

}  // namespace ardus::testing
