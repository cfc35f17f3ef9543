// Sender: the sans-IO engine that multicasts one session to many receivers.
//
// It announces the session, waits for receivers to join, sends every source
// symbol once in block order at a paced rate, and repairs losses with fresh
// Reed-Solomon parity: after each window of blocks it polls the group, the
// receivers answer (after a random backoff, suppressed by the sender's
// multicast repair plan) with how many symbols each block still lacks, and the
// sender repairs what the group lacks with new parity and window symbols
// (see SenderConfig::window_repair; late answers to a poll that drew no
// repair are gathered and repaired too). A final sweep poll
// repeats over all blocks until every receiver has reported DONE or has been
// silent past `receiver_timeout`, or without progress past `progress_timeout`
// (declared failed).
//
// Driving it: feed every datagram from the feedback socket to OnDatagram(),
// then call PollTransmit() until it returns nullopt, then wait until
// NextDeadline() or the next datagram. All times are caller-supplied; the
// engine reads no clock and opens no socket. It reads content only through
// the ContentSource it was given.
//
// Thread-safety: none; drive from one thread. The ContentSource must outlive
// the Sender.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ardus/fec.h"
#include "ardus/layout.h"
#include "ardus/manifest.h"
#include "ardus/rate_controller.h"
#include "ardus/store.h"
#include "ardus/transmit.h"
#include "ardus/wire.h"
#include "common/status.h"
#include "common/time.h"

namespace ardus {

struct SenderConfig {
  std::uint32_t session_id = 1;  // nonzero; receivers ignore other sessions
  // Announced to receivers (IPv4, host order); must be multicast, or
  // receivers drop the ANNOUNCE as malformed.
  std::uint32_t data_group = 0xEFFF0B11;  // 239.255.11.17, wire::kDefaultDataGroup
  std::uint16_t data_port = wire::kDataPort;
  std::uint16_t feedback_port = wire::kFeedbackPort;
  std::uint16_t symbol_size = wire::kDefaultSymbolSize;
  std::uint16_t block_symbols = wire::kDefaultBlockSymbols;
  std::uint64_t rate_bps = 1'000'000'000;  // wire bits per second, IP/UDP headers included
  // Rate adaptation: rate_bps is only the starting rate. It grows 25% every
  // 20 ms until the first congestion report; after it, 5% every 20 ms up to
  // 90% of the rate that last caused congestion and 0.2% beyond; always only
  // while the rate is really used. A report of loss above a receiver's usual
  // loss cuts the rate that caused it, R, to R * max(0.5, (1 - loss) * 0.95)
  // (within 100 ms of a cut, only if that is 20% deeper). Bounded by
  // [rate_min, rate_max].
  bool rate_adaptive = false;
  std::uint64_t rate_min_bps = 10'000'000;
  std::uint64_t rate_max_bps = 100'000'000'000;
  std::uint32_t expected_receivers = 0;  // start once this many joined; 0: wait join_wait
  Duration join_wait = seconds(10);      // longest wait for receivers before sending
  // While receivers join, ANNOUNCE repeats first after first_announce_gap,
  // then at doubling gaps up to announce_interval: a lost ANNOUNCE or JOIN
  // (1% loss in a group of 100 loses one almost always) costs milliseconds,
  // not a whole interval.
  Duration first_announce_gap = milliseconds(5);
  Duration announce_interval = milliseconds(100);
  Duration late_announce_interval = seconds(1);  // during transfer, for late joiners
  Duration receiver_timeout = seconds(15);       // silence after which a receiver has failed
  // A receiver that keeps talking but has verified no new bytes for this long
  // (its data path is dead, or it cannot keep up) has failed too, so it
  // cannot hold the session open forever.
  Duration progress_timeout = seconds(60);
  Duration min_backoff = milliseconds(2);      // NAK backoff floor (scaled up by the group RTT)
  Duration sweep_interval = milliseconds(50);  // pause between sweeps that found nothing
  // Blocks per poll and repair window, 1..wire::kMaxWindowBlocks (clamped).
  std::uint32_t window_blocks = wire::kDefaultWindowBlocks;
  // Groups of up to margin_group_size: repair each block's parity only up to
  // what most reporting receivers lack, and the rest of every receiver's
  // deficit with window symbols (window_code.h). Larger groups: parity that
  // most receivers use whole, and advertised window symbols for the rest.
  // Off: parity only.
  bool window_repair = true;
  // Extra parity sent with each manifest block in the first pass: a receiver
  // that loses the manifest cannot place any file data until it is repaired.
  std::uint16_t manifest_extra_symbols = 4;
  // In groups larger than this, a first-pass window is planned at once from
  // the loss the first NAK of each window shows, for what about one receiver
  // exceeds (its window symbols, or with parity alone each block's deficit),
  // so the plan covers most receivers' deficits and their NAKs are
  // suppressed; a parity plan is raised by ceil(sqrt(planned)) symbols.
  std::uint32_t margin_group_size = 16;
  std::uint32_t batch_packets = 32;  // pacing releases packets in bursts of this many
  std::uint64_t seed = 1;            // for ADVERT jitter only; deterministic
};

enum class ReceiverOutcome { kActive, kSucceeded, kFailed, kTimedOut };
const char* ReceiverOutcomeName(ReceiverOutcome outcome);

struct ReceiverReport {
  std::uint32_t receiver_id = 0;
  Endpoint address;
  ReceiverOutcome outcome = ReceiverOutcome::kActive;
  std::uint64_t bytes = 0;
  Duration elapsed{0};  // join to DONE (or to being declared failed)
  // 1 - DATA received / DATA sent while it was joined: to its DONE if it
  // succeeded, else to its last STATUS; nullopt if it sent none.
  std::optional<double> loss;
  std::string reason;  // why it failed, as the receiver reported it
};

struct SenderStats {
  std::uint64_t source_symbols = 0;   // DATA datagrams carrying source symbols
  std::uint64_t repair_symbols = 0;   // DATA datagrams carrying repair symbols
  std::uint64_t window_symbols = 0;   // of repair_symbols, window symbols
  std::uint64_t control_packets = 0;  // ANNOUNCE, POLL, ADVERT, DONE_ACK, END
  std::uint64_t wire_bytes = 0;       // UDP payload bytes sent
  std::uint64_t naks = 0;             // NAK datagrams received
  std::uint64_t late_naks = 0;        // of those, answering a poll closed without repair
  std::uint64_t polls = 0;
  std::uint64_t sweep_repair_symbols = 0;  // of repair_symbols, sent for final sweeps
  std::uint64_t rate_decreases = 0;        // congestion responses (adaptive rate)

  std::uint64_t datagrams() const { return source_symbols + repair_symbols + control_packets; }
  // What the sender puts on an Ethernet link: payloads plus every header.
  std::uint64_t link_bytes() const {
    return wire_bytes + wire::kEthernetIpUdpHeaderBytes * datagrams();
  }
  std::uint64_t malformed = 0;  // datagrams dropped as undecodable
  std::uint64_t foreign = 0;    // datagrams of another session or unexpected type
};

class Sender {
 public:
  // Preconditions: config.session_id != 0, symbol_size and block_symbols in
  // the ranges of wire.h. `manifest` describes the content of `source`.
  // If the content is too large to lay out, or its manifest is over
  // kMaxManifestBytes or kMaxManifestEntries (receivers would refuse it),
  // status() is kInvalidArgument and finished() is true from the start.
  Sender(SenderConfig config, Manifest manifest, ContentSource& source);

  void OnDatagram(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram);
  // Encodes the next datagram due at `now` into `buf` (>= wire::kMaxDatagram
  // bytes). nullopt: nothing is due before NextDeadline().
  std::optional<Transmit> PollTransmit(Time now, std::span<std::uint8_t> buf);
  // When PollTransmit next has something to do (kNever once finished).
  Time NextDeadline() const;

  bool finished() const { return phase_ == Phase::kFinished; }
  // Non-ok when the session could not run: kTimeout (no receiver joined),
  // kLocalIo (source unreadable), kInvalidArgument (content too large).
  const Status& status() const { return status_; }
  std::vector<ReceiverReport> Reports() const;
  const SenderStats& stats() const { return stats_; }
  std::size_t receivers_joined() const { return receivers_.size(); }
  std::size_t receivers_finished() const { return receivers_finished_; }
  std::uint64_t bytes_sent_first_pass() const;  // of total_bytes(), for progress
  // When the join wait ended and the transfer began; nullopt before.
  std::optional<Time> transfer_start() const;
  const Manifest& manifest() const { return manifest_; }
  double rate_bps() const { return rate_.rate_bps(); }  // the current sending rate

 private:
  enum class Phase { kAnnouncing, kTransferring, kEnding, kFinished };

  struct Peer {
    Endpoint address;
    ReceiverOutcome outcome = ReceiverOutcome::kActive;
    Time joined{0}, last_heard{0}, finished_at{0};
    Time last_progress{0};  // when bytes last grew (or the transfer started)
    std::uint64_t data_sent_at_join = 0, data_sent_at_done = 0, data_sent_at_status = 0;
    std::uint64_t bytes = 0, data_received = 0, status_data_received = 0;
    bool status_heard = false;
    std::string reason;
  };

  // What one receiver's NAKs for a collection said.
  struct Report {
    std::map<std::uint32_t, std::uint16_t> deficits;  // block -> symbols lacking
    std::map<std::uint32_t, std::uint16_t> held;      // window -> window symbols held
  };

  // One poll's feedback collection and the repair planned from it.
  struct Collection {
    std::uint32_t first = 0, end = 0;
    bool sweep = false;
    bool first_pass = false;  // the window's first poll: no repair sent for it yet
    bool sampled = false;     // its first NAK went into the loss estimate
    Time closes_at{0};
    std::map<std::uint32_t, std::uint16_t> plan;         // block -> parity symbols
    std::map<std::uint32_t, std::uint16_t> window_plan;  // window's first block -> symbols
    std::map<std::uint32_t, Report> reports;             // by receiver (window repair only)
    bool advert_due = false;
    Time next_advert{0};
  };

  // Repair symbols still to send for one closed poll; when they are all out,
  // the same range is polled again.
  struct RepairBatch {
    std::uint32_t first = 0, end = 0;
    bool sweep = false;
    std::deque<std::pair<std::uint32_t, std::uint16_t>> blocks;   // block, symbols left
    std::deque<std::pair<std::uint32_t, std::uint16_t>> windows;  // first block, symbols left
  };

  // The last run of window symbols computed: symbols [first_esi, first_esi +
  // count) of the window at `first`, symbol_size bytes each.
  struct WindowRun {
    std::uint32_t first = 0;
    std::uint16_t first_esi = 0;
    std::uint16_t count = 0;
    std::vector<std::uint8_t> symbols;
  };

  struct CachedBlock {
    std::vector<std::uint8_t> symbols;  // 255 * symbol_size: sources then parity
    int parity_rows = 0;                // parity ESIs k..k+parity_rows-1 are computed
  };

  void Advance(Time now);
  void StartTransfer(Time now);
  void ExpireReceivers(Time now);
  void MaybeFinish(Time now);
  void ClosePolls(Time now);
  std::map<std::uint32_t, Collection>::iterator LateCollection(Time now);
  void StartPoll(Time now, std::uint32_t first, std::uint32_t end, bool sweep,
                 bool first_pass = false);
  void PlanForGroup(Collection& c, const wire::Nak& nak);
  bool PlanGroupWindowAhead(Collection& c, std::uint32_t start, std::uint32_t end);
  void PlanGroupWindow(Collection& c, std::uint32_t first,
                       const std::vector<std::pair<std::uint32_t, std::uint16_t>>& wants,
                       std::uint16_t held);
  void RaiseParity(Collection& c, std::uint32_t block, std::uint16_t want);
  bool PlansWindows() const;
  bool GroupPlansWindows() const;
  void PlanWindow(Collection& c, std::uint32_t first);
  double SampledLoss() const;  // loss in large groups' first NAKs, at most 0.5
  void MaybeSweep(Time now);

  void OnJoin(Time now, const Endpoint& from, const wire::Join& join);
  void OnNak(Time now, const Endpoint& from, const wire::Nak& nak);
  void OnDone(Time now, const Endpoint& from, const wire::Done& done);
  Peer* Touch(Time now, const Endpoint& from, std::uint32_t receiver_id);
  void Conclude(Time now, Peer& peer, ReceiverOutcome outcome, std::string reason);

  std::size_t EmitControl(std::span<std::uint8_t> buf);
  std::size_t EmitSymbol(std::uint32_t block, std::uint16_t esi, std::uint16_t run,
                         std::span<std::uint8_t> buf);
  const std::uint8_t* WindowSymbol(std::uint32_t first, std::uint16_t esi, std::uint16_t run);
  bool NextRepair(Time now, std::uint32_t* block, std::uint16_t* esi, std::uint16_t* run);
  bool NextSource(std::uint32_t* block, std::uint16_t* esi);
  CachedBlock* LoadBlock(std::uint32_t block, std::uint16_t esi);
  void Queue(wire::Body body, Destination dest = Destination::kControlGroup, Endpoint peer = {});
  void Fail(Status status);
  Duration Backoff() const;
  std::uint16_t BlockK(std::uint32_t block) const { return layout_.Block(block).k; }
  wire::Advert PlanAdvert(std::uint32_t poll_id, const Collection& c) const;
  std::uint16_t AnnouncedWindowBlocks() const;

  SenderConfig config_;
  Manifest manifest_;
  std::vector<std::uint8_t> manifest_bytes_;
  Sha256 manifest_sha_{};
  ContentSource& source_;
  Layout layout_;
  FecCodec fec_;
  std::mt19937_64 rng_;

  Phase phase_ = Phase::kAnnouncing;
  Status status_;
  Duration announce_gap_{0};  // the next gap between ANNOUNCEs while joining
  Time started_{-1}, next_announce_{0}, transfer_start_{-1}, next_end_{0}, next_sweep_{0};
  int ends_left_ = 3;

  std::map<std::uint32_t, Peer> receivers_;
  Duration grtt_ = milliseconds(0);

  // First pass cursor.
  std::uint32_t next_block_ = 0;
  std::uint16_t next_esi_ = 0;
  std::uint32_t window_start_ = 0;

  std::uint32_t next_poll_id_ = 1;
  std::map<std::uint32_t, Collection> collections_;  // by poll id
  std::set<std::uint32_t> closed_without_repair_;    // recent poll ids whose plan was empty
  // Source symbols lost / covered in the first NAK of each first-pass window:
  // the timer picks that receiver at random, so it samples the group's loss.
  std::uint64_t sampled_lost_ = 0, sampled_symbols_ = 0;
  std::deque<RepairBatch> repairs_;
  std::unordered_map<std::uint32_t, std::uint16_t> next_repair_esi_;
  std::unordered_map<std::uint32_t, std::uint16_t> next_window_esi_;  // by window's first block
  WindowRun window_run_;
  bool sweep_active_ = false;

  struct Pending {
    wire::Body body;
    Destination destination;
    Endpoint peer;
  };
  std::deque<Pending> control_;

  std::map<std::uint32_t, CachedBlock> cache_;
  std::deque<std::uint32_t> cache_order_;

  std::size_t receivers_finished_ = 0;  // receivers no longer kActive
  // No active receiver can time out before this (a lower bound: feedback only
  // pushes deadlines later), so the expiry scan runs only when it is due.
  Time next_expiry_ = kNever;

  RateController rate_;
  Time now_{0};  // of the last Advance: the engine's present
  std::uint64_t data_sent_ = 0;
  SenderStats stats_;
};

}  // namespace ardus
