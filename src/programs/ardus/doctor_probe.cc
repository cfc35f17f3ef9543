#include "programs/ardus/doctor_probe.h"

#include <cstdio>

namespace ardus::doctor {
namespace {

constexpr std::uint8_t kMagic[4] = {'A', 'D', 'P', 'R'};
constexpr std::size_t kHeader = 16, kEntry = 16;

void Put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(v >> shift));
}
std::uint32_t Get32(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t(b[at]) << 24 | std::uint32_t(b[at + 1]) << 16 |
         std::uint32_t(b[at + 2]) << 8 | b[at + 3];
}

std::string Percent(std::uint32_t got, std::uint32_t of) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", of ? 100.0 * (of - std::min(got, of)) / of : 100.0);
  return buf;
}

}  // namespace

std::vector<std::uint8_t> EncodeProbe(const Probe& probe) {
  std::vector<std::uint8_t> out(kMagic, kMagic + 4);
  out.push_back(1);
  out.push_back(0);
  const std::size_t n = std::min(probe.heard.size(), kMaxProbePeers);
  out.push_back(std::uint8_t(n >> 8));
  out.push_back(std::uint8_t(n));
  Put32(out, probe.sender);
  Put32(out, probe.seq);
  std::size_t written = 0;
  for (const auto& [peer, t] : probe.heard) {
    if (written++ == n) break;
    Put32(out, peer);
    Put32(out, t.received);
    Put32(out, t.first_seq);
    Put32(out, t.last_seq);
  }
  return out;
}

std::optional<Probe> DecodeProbe(std::span<const std::uint8_t> b) {
  if (b.size() < kHeader || !std::equal(kMagic, kMagic + 4, b.begin()) || b[4] != 1 || b[5] != 0)
    return std::nullopt;
  const std::size_t n = std::size_t(b[6]) << 8 | b[7];
  if (n > kMaxProbePeers || b.size() != kHeader + n * kEntry) return std::nullopt;
  Probe p;
  p.sender = Get32(b, 8);
  p.seq = Get32(b, 12);
  if (p.sender == 0 || p.seq == 0) return std::nullopt;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t at = kHeader + i * kEntry;
    ProbeTally t{Get32(b, at + 4), Get32(b, at + 8), Get32(b, at + 12)};
    if (t.first_seq > t.last_seq || t.received > t.expected() || Get32(b, at) == 0)
      return std::nullopt;
    if (!p.heard.emplace(Get32(b, at), t).second) return std::nullopt;  // duplicate peer
  }
  return p;
}

void ProbeBook::Add(const Probe& probe) {
  if (probe.sender == self_) return;
  auto it = peers_.find(probe.sender);
  if (it == peers_.end()) {
    if (peers_.size() >= kMaxProbePeers) {
      ++ignored_;
      return;
    }
    it = peers_.emplace(probe.sender, Peer{}).first;
  }
  Peer& peer = it->second;
  ProbeTally& t = peer.from_peer;
  if (t.received == 0) {
    t = {1, probe.seq, probe.seq};
  } else if (probe.seq < t.first_seq || probe.seq > t.last_seq) {
    // A duplicate inside the span is not counted twice only approximately;
    // probes are not retransmitted, so duplicates are rare.
    t.first_seq = std::min(t.first_seq, probe.seq);
    t.last_seq = std::max(t.last_seq, probe.seq);
    ++t.received;
  } else if (t.received < t.expected()) {
    ++t.received;
  }
  // The newest tally wins (sequence order tells newest).
  if (probe.seq == t.last_seq) {
    auto mine = probe.heard.find(self_);
    peer.from_self = mine == probe.heard.end() ? std::nullopt : std::optional(mine->second);
    peer.reported_any = !probe.heard.empty();
  }
}

Probe ProbeBook::Next(std::uint32_t seq) const {
  Probe p{self_, seq, {}};
  for (const auto& [id, peer] : peers_) p.heard.emplace(id, peer.from_peer);
  return p;
}

std::vector<Finding> ProbeBook::Report(std::uint32_t sent,
                                       const std::map<std::uint32_t, std::string>& names) const {
  std::vector<Finding> out;
  bool anyone_hears_me = false;
  for (const auto& [id, peer] : peers_) {
    anyone_hears_me |= peer.from_self.has_value() && peer.from_self->received > 0;
  }
  for (const auto& [id, peer] : peers_) {
    auto name = names.find(id);
    const std::string who = name != names.end() ? name->second : "peer";
    const ProbeTally& in = peer.from_peer;
    std::string detail = who + " -> me: " + std::to_string(in.received) + "/" +
                         std::to_string(in.expected()) + " (" +
                         Percent(in.received, in.expected()) + " loss); me -> " + who + ": ";
    Finding f{"probe " + who, Status::kOk, "", ""};
    if (peer.from_self) {
      detail += std::to_string(peer.from_self->received) + "/" +
                std::to_string(peer.from_self->expected()) + " (" +
                Percent(peer.from_self->received, peer.from_self->expected()) + " loss)";
      const bool lossy =
          in.received < in.expected() || peer.from_self->received < peer.from_self->expected();
      if (lossy) {
        f.status = Status::kWarn;
        f.fix = "loss on the path: check the switch (IGMP snooping), rate limits and rmem_max";
      }
    } else if (peer.reported_any) {
      detail += "0 of " + std::to_string(sent) + " (it hears other hosts)";
      f.status = Status::kFail;
      f.fix = anyone_hears_me
                  ? "the path from me to " + who + " drops multicast (a filter between, or at " +
                        who + ")"
                  : "sender side: nobody hears me, I hear others; check my output (firewall "
                    "output chain, route, interface)";
    } else {
      detail += "0 of " + std::to_string(sent) + " (it hears nobody)";
      f.status = Status::kFail;
      f.fix = "receiver side at " + who +
              ": it hears no host, I hear it; check its input "
              "firewall, rp_filter and group membership";
    }
    f.detail = detail;
    out.push_back(f);
  }
  if (peers_.empty()) {
    out.push_back({"probe", Status::kFail,
                   "heard no peer's probe in the window (sent " + std::to_string(sent) + ")",
                   "if other hosts ran --probe at the same time and heard me, this host's "
                   "receive side drops multicast (input firewall, rp_filter, membership); "
                   "else start --probe on another host"});
  }
  if (ignored_) {
    out.push_back({"probe", Status::kWarn,
                   std::to_string(ignored_) + " probes from peers beyond the first " +
                       std::to_string(kMaxProbePeers) + " ignored",
                   ""});
  }
  return out;
}

}  // namespace ardus::doctor
