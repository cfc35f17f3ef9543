// A closed loop of one Sender and N Receivers in virtual time, for
// measurements that must be comparable across refactors of the engines: every
// datagram any engine emits goes into one XXH3 digest together with its
// virtual send time and its origin, so two builds that behave the same print
// the same digest, and any change of behaviour changes it.
//
// Independent seeded loss on every link, 1 ms one-way delay, and optionally a
// bottleneck on the sender's link (a queue of at most `max_queue`; beyond it
// a datagram is dropped for everyone), which is what drives the adaptive rate.
//
// Thread-safety: none; one call runs one session start to end.
#pragma once

#include <cstdint>
#include <vector>

#include "ardus/receiver.h"
#include "ardus/sender.h"

namespace ardus::bench {

struct LoopConfig {
  std::uint64_t seed = 41;
  std::size_t receivers = 4;
  double loss = 0.05;  // each link, each way
  std::uint64_t bytes = 8u << 20;
  std::uint64_t rate_bps = 1'000'000'000;
  bool rate_adaptive = false;
  std::uint64_t bottleneck_bps = 0;  // 0: none
  Duration max_queue = milliseconds(50);
  Time limit = seconds(600);
  std::size_t block_memory_limit =
      ReceiverConfig{}.block_memory_limit;  // 0: window solves read back
  bool record_first_receiver = false;       // keep what receiver 0 is handed
};

struct Delivery {
  Time at;
  std::vector<std::uint8_t> bytes;
};

struct LoopResult {
  bool completed = false;  // every engine finished before `limit`
  Time end{0};             // virtual time when the last engine finished
  std::uint64_t digest = 0;
  std::uint64_t datagrams = 0;  // emitted by all engines
  std::uint64_t bottleneck_drops = 0;
  SenderStats stats;
  double final_rate_bps = 0;
  std::vector<Status> results;          // per receiver
  std::vector<Delivery> first_inbound;  // receiver 0's, when recorded
};

// The session's content is PatternSource's for one file of `bytes`; every
// receiver stores into its own MemoryStore and must verify every byte.
LoopResult RunLoop(const LoopConfig& config);

// Feeds a recorded inbound sequence into a fresh Receiver (receiver 0's
// config) and returns its result: the receiver's work alone, replayed.
Status ReplayFirstReceiver(const LoopConfig& config, const std::vector<Delivery>& inbound);

}  // namespace ardus::bench
