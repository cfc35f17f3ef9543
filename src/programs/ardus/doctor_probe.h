// `ardus doctor --probe`: hosts multicast small probe datagrams on the
// control group and port and count each other's. Each probe carries the
// sender's tally of probes heard from every peer, so each host learns both
// directions. The format (docs/ardus-protocol.md, "Doctor probes"), all
// big-endian:
//   magic "ADPR" (4), version u8 (1), reserved u8 (0), entries u16,
//   sender u32 (random per run, nonzero), seq u32 (1, 2, ...),
//   entries x {peer u32, received u32, first_seq u32, last_seq u32}.
// The magic differs from ARDUS's 0xAD05, so receivers drop probes as a bad
// magic. Nothing is signed: a probe is a measurement, never an instruction.
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "programs/ardus/doctor_finding.h"

namespace ardus::doctor {

inline constexpr std::size_t kMaxProbePeers = 32;  // peers kept and reported

struct ProbeTally {
  std::uint32_t received = 0, first_seq = 0, last_seq = 0;
  // Probes the peer sent while we listened, judged by the sequence span.
  std::uint32_t expected() const { return received ? last_seq - first_seq + 1 : 0; }
};
struct Probe {
  std::uint32_t sender = 0, seq = 0;
  std::map<std::uint32_t, ProbeTally> heard;  // peer id -> tally of that peer's probes
};

std::vector<std::uint8_t> EncodeProbe(const Probe& probe);
// nullopt for anything not a well-formed probe: wrong magic or version,
// sender or seq 0, more than kMaxProbePeers entries, a length that does not
// match, received above the span, first_seq above last_seq.
std::optional<Probe> DecodeProbe(std::span<const std::uint8_t> bytes);

// What this host has heard, from whom, and what they heard from it.
class ProbeBook {
 public:
  explicit ProbeBook(std::uint32_t self) : self_(self) {}
  // Counts a probe; ignores our own (multicast loop), and new peers beyond
  // kMaxProbePeers (counted in ignored_peers()).
  void Add(const Probe& probe);
  // The probe to send next (seq `seq`), carrying our tallies.
  Probe Next(std::uint32_t seq) const;
  // Per-peer findings with loss both ways and a verdict telling a sender
  // side from a receiver side; `sent` is how many probes we sent.
  std::vector<Finding> Report(std::uint32_t sent,
                              const std::map<std::uint32_t, std::string>& names) const;
  std::size_t ignored_peers() const { return ignored_; }

 private:
  struct Peer {
    ProbeTally from_peer;                 // their probes we heard
    std::optional<ProbeTally> from_self;  // their latest tally of ours
    bool reported_any = false;            // their latest probe listed anyone
  };
  std::uint32_t self_;
  std::map<std::uint32_t, Peer> peers_;
  std::size_t ignored_ = 0;
};

}  // namespace ardus::doctor
