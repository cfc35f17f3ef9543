#include "ardus/sender.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "ardus/repair_plan.h"
#include "ardus/window_code.h"

namespace ardus {
namespace {

constexpr std::size_t kCachedBlocks = 64;
constexpr int kParityRun = 6;  // parity rows computed together (ISA-L's widest kernel)
constexpr Duration kMaxGrtt = seconds(1);
constexpr Duration kCollectSlack = milliseconds(2);
constexpr std::uint32_t kLatePollId = 0;      // never sent in a POLL: ids start at 1
constexpr std::size_t kClosedPollsKept = 64;  // polls without repair remembered for late NAKs
// Late NAKs gather this long, so that the stragglers of a loaded group share
// one repair plan (testbed, N=8 at 5%: wire 1.13 when each was repaired at
// once, 1.12 batched), yet are repaired long before the final sweep.
constexpr Duration kLateCollection = milliseconds(50);
// Window symbols computed in one pass over the window: ISA-L's widest
// kernel, and about a millisecond of work, short enough not to stall pacing.
constexpr std::uint16_t kMaxWindowRun = 6;

RateConfig PacingFor(const SenderConfig& config) {
  RateConfig rate;
  rate.start_bps = double(config.rate_bps);
  rate.adaptive = config.rate_adaptive;
  rate.min_bps = double(config.rate_min_bps);
  rate.max_bps = double(config.rate_max_bps);
  rate.burst_bytes = double(config.batch_packets) * (config.symbol_size + 64.0);
  return rate;
}

}  // namespace

const char* ReceiverOutcomeName(ReceiverOutcome outcome) {
  switch (outcome) {
    case ReceiverOutcome::kActive:
      return "active";
    case ReceiverOutcome::kSucceeded:
      return "ok";
    case ReceiverOutcome::kFailed:
      return "failed";
    case ReceiverOutcome::kTimedOut:
      return "timed-out";
  }
  return "unknown";
}

Sender::Sender(SenderConfig config, Manifest manifest, ContentSource& source)
    : config_(config),
      manifest_(std::move(manifest)),
      manifest_bytes_(EncodeManifest(manifest_)),
      manifest_sha_(ComputeSha256(manifest_bytes_)),
      source_(source),
      rng_(config.seed),
      rate_(PacingFor(config)) {
  config_.window_blocks =
      std::clamp<std::uint32_t>(config_.window_blocks, 1, wire::kMaxWindowBlocks);
  std::vector<std::uint64_t> sizes{manifest_bytes_.size()};
  for (const auto& e : manifest_.entries) sizes.push_back(e.size);
  layout_ = Layout(std::move(sizes), config_.symbol_size, config_.block_symbols);
  if (!layout_.Valid()) {
    status_ = Status::Error(ErrorKind::kInvalidArgument, "content too large for one session");
    phase_ = Phase::kFinished;
  } else if (manifest_bytes_.size() > kMaxManifestBytes ||
             manifest_.entries.size() > kMaxManifestEntries) {
    // Receivers would refuse it: say so here rather than wait for no one.
    status_ = Status::Error(ErrorKind::kInvalidArgument,
                            "too many entries for one session (" +
                                std::to_string(manifest_.entries.size()) +
                                "; receivers take at most 1000000 and a 256 MiB manifest)");
    phase_ = Phase::kFinished;
  }
}

// ---- input -----------------------------------------------------------------

void Sender::OnDatagram(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram) {
  Result<wire::Packet> decoded = wire::Decode(datagram);
  if (!decoded.ok()) {
    ++stats_.malformed;
    return;
  }
  const wire::Packet& p = decoded.value();
  if (p.session_id != config_.session_id || phase_ == Phase::kFinished) {
    ++stats_.foreign;
    return;
  }
  if (const auto* join = std::get_if<wire::Join>(&p.body)) {
    OnJoin(now, from, *join);
  } else if (const auto* nak = std::get_if<wire::Nak>(&p.body)) {
    OnNak(now, from, *nak);
  } else if (const auto* status = std::get_if<wire::StatusMsg>(&p.body)) {
    if (Peer* peer = Touch(now, from, status->receiver_id)) {
      if (status->bytes_done > peer->bytes) peer->last_progress = now;
      peer->bytes = status->bytes_done;
      peer->data_received = status->data_received;
      peer->data_sent_at_status = data_sent_;
      peer->status_data_received = status->data_received;
      peer->status_heard = true;
      if (peer->outcome == ReceiverOutcome::kActive && phase_ == Phase::kTransferring &&
          rate_.OnCongestion(now, status->loss_ppm, grtt_)) {
        ++stats_.rate_decreases;
      }
    }
  } else if (const auto* done = std::get_if<wire::Done>(&p.body)) {
    OnDone(now, from, *done);
  } else {
    ++stats_.foreign;  // a sender-to-receiver type arriving at the sender
  }
}

Sender::Peer* Sender::Touch(Time now, const Endpoint& from, std::uint32_t receiver_id) {
  auto it = receivers_.find(receiver_id);
  if (it == receivers_.end()) {
    if (phase_ != Phase::kAnnouncing && phase_ != Phase::kTransferring) return nullptr;
    // Any feedback from an unknown receiver is an implicit join (its JOIN may
    // have been lost, or it joined late).
    Peer peer;
    peer.joined = now;
    peer.last_progress = now;
    peer.data_sent_at_join = data_sent_;
    it = receivers_.emplace(receiver_id, peer).first;
    next_expiry_ =
        std::min(next_expiry_, now + std::min(config_.receiver_timeout, config_.progress_timeout));
  }
  it->second.address = from;
  it->second.last_heard = now;
  return &it->second;
}

void Sender::OnJoin(Time now, const Endpoint& from, const wire::Join& join) {
  if (!Touch(now, from, join.receiver_id)) return;
  Time echoed{static_cast<std::int64_t>(join.echo_ns)};
  if (join.echo_ns != 0 && echoed <= now && now - echoed < kMaxGrtt) {
    grtt_ = std::max(grtt_, now - echoed);
  }
}

void Sender::OnNak(Time now, const Endpoint& from, const wire::Nak& nak) {
  ++stats_.naks;
  Peer* peer = Touch(now, from, nak.receiver_id);
  if (!peer || peer->outcome != ReceiverOutcome::kActive || nak.poll_id >= next_poll_id_) return;
  auto it = collections_.find(nak.poll_id);
  if (it == collections_.end()) {
    // Too late for its poll. If that poll drew repair, the same range is
    // polled again and the receiver answers that; if it drew none, nothing
    // else would ask about this range before the final sweep.
    if (!closed_without_repair_.count(nak.poll_id)) return;
    ++stats_.late_naks;
    it = LateCollection(now);
  }
  Collection& c = it->second;
  if (c.first_pass && !c.sampled && receivers_.size() > config_.margin_group_size) {
    PlanForGroup(c, nak);
  }
  const bool windows = PlansWindows();
  Report* report = windows ? &c.reports[nak.receiver_id] : nullptr;
  std::set<std::uint32_t> touched;  // windows whose plan this NAK may change
  std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::uint16_t>>> group_wants;
  for (const wire::NeedRange& need : nak.needs) {
    // Needs may reach before the polled range (a receiver that lost a POLL
    // answers for that window too); only blocks already sent are repaired,
    // and the range polled again after the repair grows to cover them.
    const std::uint32_t first = need.first;
    const auto end = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(std::uint64_t{need.first} + need.count, next_block_));
    if (first >= end) continue;
    c.first = std::min(c.first, first);
    c.end = std::max(c.end, end);
    for (std::uint32_t block = first; block < end; ++block) {
      std::uint16_t k = BlockK(block);
      std::uint16_t want = need.deficit == wire::kWholeBlock ? k : std::min(need.deficit, k);
      if (report) {
        report->deficits[block] = want;
        touched.insert(layout_.RepairWindow(block, config_.window_blocks).first);
        continue;
      }
      if (GroupPlansWindows()) {
        group_wants[layout_.RepairWindow(block, config_.window_blocks).first].emplace_back(block,
                                                                                           want);
        continue;
      }
      RaiseParity(c, block, want);
    }
  }
  for (const auto& [window, wants] : group_wants) {
    std::uint16_t held = 0;
    for (const wire::WindowNeed& w : nak.windows) {
      if (w.first == window) held = w.symbols;
    }
    PlanGroupWindow(c, window, wants, held);
  }
  if (!report) return;
  for (const wire::WindowNeed& w : nak.windows) report->held[w.first] = w.symbols;
  for (std::uint32_t first : touched) PlanWindow(c, first);
}

// A large group's parity for one block: the largest deficit heard, raised by
// its square root (see SenderConfig::margin_group_size), advertised.
void Sender::RaiseParity(Collection& c, std::uint32_t block, std::uint16_t want) {
  const std::uint16_t k = BlockK(block);
  if (receivers_.size() > config_.margin_group_size && want < k) {
    want = std::min<std::uint16_t>(
        k, want + static_cast<std::uint16_t>(std::ceil(std::sqrt(double(want)))));
  }
  std::uint16_t& planned = c.plan[block];
  if (want > planned) {
    planned = want;
    c.advert_due = true;
  }
}

// One large-group receiver's wants in one window: what they exceed the
// block parity planned by, less the window symbols it holds, becomes the
// window's plan if larger (advertised; plans only grow, since receivers
// silenced by an ADVERT count on it). Whole blocks, a window not yet sent
// whole, or a rest above wire::kMaxWindowDeficit go to parity instead.
void Sender::PlanGroupWindow(Collection& c, std::uint32_t first,
                             const std::vector<std::pair<std::uint32_t, std::uint16_t>>& wants,
                             std::uint16_t held) {
  const auto [start, end] = layout_.RepairWindow(first, config_.window_blocks);
  bool windowed = end - start > 1 && end <= next_block_;
  // Per block: what it lacks beyond the parity planned, the block, its want.
  std::vector<std::tuple<int, std::uint32_t, std::uint16_t>> beyond;
  int rest = -int{held};
  for (const auto& [block, want] : wants) {
    auto parity = c.plan.find(block);
    const int lacking = want - (parity == c.plan.end() ? 0 : parity->second);
    beyond.emplace_back(lacking, block, want);
    rest += std::max(0, lacking);
    windowed = windowed && want < BlockK(block);
  }
  if (!windowed) {
    for (const auto& [block, want] : wants) RaiseParity(c, block, want);
    return;
  }
  auto window_plan = c.window_plan.find(first);
  const int planned = window_plan == c.window_plan.end() ? 0 : window_plan->second;
  if (rest > wire::kMaxWindowDeficit) {
    // Parity for its blocks, most lacking first, until the window symbols
    // planned anyway cover the rest (one receiver at 10% among 40 at 1%:
    // wire 1.184 when parity covered all its blocks).
    const int covered = std::min<int>(planned, wire::kMaxWindowDeficit);
    std::sort(beyond.begin(), beyond.end(), std::greater<>());
    for (const auto& [lacking, block, want] : beyond) {
      if (rest <= covered || lacking <= 0) break;
      RaiseParity(c, block, want);
      rest -= lacking;
    }
    return;
  }
  if (rest > planned) {
    c.window_plan[first] = static_cast<std::uint16_t>(rest);
    c.advert_due = true;
  }
}

bool Sender::PlansWindows() const {
  return AnnouncedWindowBlocks() > 1 && receivers_.size() <= config_.margin_group_size;
}

bool Sender::GroupPlansWindows() const {
  return AnnouncedWindowBlocks() > 1 && receivers_.size() > config_.margin_group_size;
}

std::uint16_t Sender::AnnouncedWindowBlocks() const {
  if (!config_.window_repair) return 1;
  return static_cast<std::uint16_t>(config_.window_blocks);
}

// Plans one window from every report so far, by the rules of
// PlanReportedWindow (repair_plan.h): parity for all but the receiver that
// lacks most, window symbols for the rest.
//
// Why the second-worst: in the simulator at 5% loss (64 MiB), leaving the two
// worst short instead cut the wire only from 1.1132 to 1.1096 at N=8 and
// made it worse at N=4 (1.1084 to 1.1114), while receivers solved 1.7 to 2
// times as many window symbols, each a pass over the window's 3200 sources.
//
// No ADVERT goes out for these plans. In a small group nearly every receiver
// with losses NAKs anyway, since one receiver's deficits rarely cover another's
// whole window; and an advertised plan could never again lower a block's
// parity without adding as many window symbols, for whoever it silenced.
// Simulator, N=8 at 5%: wire 1.1175 with ADVERTs and that rule, 1.1172
// without (measured before receivers eliminated parity first).
void Sender::PlanWindow(Collection& c, std::uint32_t first) {
  const auto [start, end] = layout_.RepairWindow(first, config_.window_blocks);
  const std::size_t blocks = end - start;
  WindowReports reports;
  reports.windowed = blocks > 1 && end <= next_block_;
  for (std::uint32_t b = start; b < end; ++b) reports.ks.push_back(BlockK(b));
  for (auto& [id, report] : c.reports) {
    Deficits d(blocks, 0);
    bool any = false;
    for (auto it = report.deficits.lower_bound(start);
         it != report.deficits.end() && it->first < end; ++it) {
      d[it->first - start] = it->second;
      any = true;
    }
    if (!any) continue;
    auto h = report.held.find(start);
    reports.deficits.push_back(std::move(d));
    reports.held.push_back(h == report.held.end() ? 0 : h->second);
  }
  const WindowPlan plan = PlanReportedWindow(reports);
  for (std::size_t b = 0; b < blocks; ++b) {
    const auto block = start + static_cast<std::uint32_t>(b);
    if (plan.parity[b] == 0) {
      c.plan.erase(block);
    } else {
      c.plan[block] = plan.parity[b];
    }
  }
  if (plan.window > 0) {
    c.window_plan[start] = plan.window;
  } else {
    c.window_plan.erase(start);
  }
}

// The first NAK of a large group's first-pass window: fold its deficits into
// the loss estimate, then plan every block of the window for the deficit
// that about one receiver in the group exceeds. Without this the plan grows
// one NAK at a time, and every receiver whose deficit tops it in any of the
// window's blocks NAKs: feedback grew with the logarithm of the group.
void Sender::PlanForGroup(Collection& c, const wire::Nak& nak) {
  std::uint64_t lost = 0, symbols = 0;
  const std::uint32_t end = std::min(c.end, next_block_);
  for (const wire::NeedRange& need : nak.needs) {
    // A late joiner's whole blocks say nothing of loss: wait for another NAK.
    if (need.deficit == wire::kWholeBlock) return;
    for (std::uint32_t b = std::max(need.first, c.first);
         b < std::min<std::uint64_t>(std::uint64_t{need.first} + need.count, end); ++b) {
      lost += std::min(need.deficit, BlockK(b));
    }
  }
  c.sampled = true;
  for (std::uint32_t block = c.first; block < end; ++block) symbols += BlockK(block);
  sampled_lost_ += lost;
  sampled_symbols_ += symbols;
  for (std::uint32_t block = c.first; block < end;) {
    const auto [start, stop] = layout_.RepairWindow(block, config_.window_blocks);
    if (GroupPlansWindows() && start == block && stop <= end && stop - start > 1 &&
        PlanGroupWindowAhead(c, start, stop)) {
      block = stop;
      continue;
    }
    if (std::uint16_t q = GroupDeficit(BlockK(block), SampledLoss(), receivers_.size()); q > 0) {
      c.plan[block] = std::max(c.plan[block], q);
    }
    ++block;
  }
  c.advert_due = true;
}

// A large group's first-pass plan for the window [start, end), from the
// sampled loss (repair_plan.h): parity most receivers use whole, and window
// symbols about one receiver in the group needs more than. Simulator, 64 MiB
// at 1%: wire 1.0559 at N=100 and 1.0585 at N=1000, against 1.0815 and
// 1.0932 with parity up to what about one receiver per block exceeds.
// False (nothing planned) when the window would need more than
// wire::kMaxWindowDeficit.
bool Sender::PlanGroupWindowAhead(Collection& c, std::uint32_t start, std::uint32_t end) {
  if (sampled_symbols_ == 0) return false;
  std::vector<std::uint16_t> ks;
  for (std::uint32_t block = start; block < end; ++block) ks.push_back(BlockK(block));
  const auto plan =
      EstimateGroupWindow(ks, SampledLoss(), receivers_.size(), wire::kMaxWindowDeficit);
  if (!plan) return false;
  for (std::uint32_t block = start; block < end; ++block) {
    if (const std::uint16_t q = plan->parity[block - start]; q > 0) {
      c.plan[block] = std::max(c.plan[block], q);
    }
  }
  if (plan->window > 0) c.window_plan[start] = std::max(c.window_plan[start], plan->window);
  return true;
}

double Sender::SampledLoss() const {
  return sampled_symbols_ == 0 ? 0
                               : std::min(0.5, double(sampled_lost_) / double(sampled_symbols_));
}

// Late NAKs for polls that drew no repair gather in collection 0 (never a
// POLL's id), then are repaired and polled again like any other. Without it,
// a receiver that fell behind its socket queue, alone in needing repair for a
// window, would wait for the final sweep, and its verified prefix with it.
std::map<std::uint32_t, Sender::Collection>::iterator Sender::LateCollection(Time now) {
  auto [it, fresh] = collections_.try_emplace(kLatePollId);
  if (fresh) {
    it->second.first = layout_.block_count();  // empty until OnNak widens it
    it->second.end = 0;
    it->second.closes_at = now + kLateCollection;
    it->second.next_advert = now;
  }
  return it;
}

void Sender::OnDone(Time now, const Endpoint& from, const wire::Done& done) {
  Peer* peer = Touch(now, from, done.receiver_id);
  if (!peer) return;
  if (peer->outcome == ReceiverOutcome::kActive) {
    peer->bytes = done.bytes_done;
    peer->data_received = done.data_received;
    Conclude(now, *peer,
             done.status == wire::DoneStatus::kOk ? ReceiverOutcome::kSucceeded
                                                  : ReceiverOutcome::kFailed,
             done.reason);
  }
  Queue(wire::DoneAck{done.receiver_id}, Destination::kPeer, from);  // re-ack duplicates too
}

// ---- timers ------------------------------------------------------------------

void Sender::Advance(Time now) {
  if (started_ < Time(0)) {
    started_ = now;
    next_announce_ = now;
    announce_gap_ = std::min(config_.first_announce_gap, config_.announce_interval);
    rate_.Start(now);
  }
  rate_.Refill(now);
  now_ = now;

  if (phase_ == Phase::kAnnouncing || phase_ == Phase::kTransferring) {
    if (now >= next_announce_) {
      wire::Announce a;
      a.data_group = config_.data_group;
      a.data_port = config_.data_port;
      a.feedback_port = config_.feedback_port;
      a.symbol_size = config_.symbol_size;
      a.block_symbols = config_.block_symbols;
      a.manifest_size = manifest_bytes_.size();
      a.manifest_sha256 = manifest_sha_;
      a.total_bytes = manifest_.total_bytes();
      a.sent_at_ns = static_cast<std::uint64_t>(now.count());
      a.flags = config_.rate_adaptive ? wire::kFlagRateAdaptive : 0;
      a.window_blocks = AnnouncedWindowBlocks();
      Queue(a);
      if (phase_ == Phase::kAnnouncing) {
        next_announce_ = now + announce_gap_;
        announce_gap_ = std::min(2 * announce_gap_, config_.announce_interval);
      } else {
        next_announce_ = now + config_.late_announce_interval;
      }
    }
  }
  if (phase_ == Phase::kAnnouncing) {
    bool enough = config_.expected_receivers > 0 && receivers_.size() >= config_.expected_receivers;
    if (enough || now - started_ >= config_.join_wait) {
      if (receivers_.empty()) {
        Fail(Status::Error(ErrorKind::kTimeout, "no receiver joined within the wait"));
      } else {
        StartTransfer(now);
      }
    }
  }
  if (phase_ == Phase::kTransferring) {
    rate_.Adapt(now);
    for (auto& [id, c] : collections_) {
      if (c.advert_due && now >= c.next_advert) {
        Queue(PlanAdvert(id, c));
        c.advert_due = false;
        c.next_advert = now + Backoff() / 8;
      }
    }
    ClosePolls(now);
    ExpireReceivers(now);
    MaybeSweep(now);
    MaybeFinish(now);
  }
  if (phase_ == Phase::kEnding && ends_left_ > 0 && now >= next_end_) {
    Queue(wire::End{});
    --ends_left_;
    next_end_ = now + milliseconds(10);
  }
}

void Sender::StartTransfer(Time now) {
  phase_ = Phase::kTransferring;
  transfer_start_ = now;
  next_announce_ = now + config_.late_announce_interval;
  for (auto& [id, peer] : receivers_) peer.last_progress = now;  // waiting was not stalling
}

void Sender::Conclude(Time now, Peer& peer, ReceiverOutcome outcome, std::string reason) {
  peer.outcome = outcome;
  peer.reason = std::move(reason);
  peer.finished_at = now;
  peer.data_sent_at_done = data_sent_;
  ++receivers_finished_;
}

void Sender::ExpireReceivers(Time now) {
  if (now < next_expiry_) return;
  auto ms = [](Duration d) {
    return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + " ms";
  };
  next_expiry_ = kNever;
  for (auto& [id, peer] : receivers_) {
    if (peer.outcome != ReceiverOutcome::kActive) continue;
    const Time silent_at = peer.last_heard + config_.receiver_timeout;
    const Time stalled_at = peer.last_progress + config_.progress_timeout;
    if (now >= silent_at) {
      Conclude(now, peer, ReceiverOutcome::kTimedOut,
               "no response for " + ms(config_.receiver_timeout));
    } else if (now >= stalled_at) {
      Conclude(now, peer, ReceiverOutcome::kFailed,
               "no progress for " + ms(config_.progress_timeout) + " (" +
                   std::to_string(peer.bytes) + " bytes verified)");
    } else {
      next_expiry_ = std::min({next_expiry_, silent_at, stalled_at});
    }
  }
}

void Sender::MaybeFinish(Time now) {
  if (receivers_finished() < receivers_.size()) return;
  phase_ = Phase::kEnding;
  next_end_ = now;
}

// NAK timers are truncated exponentials with lambda = ln N + 1 (docs); the
// NAKs that fire before the first one's ADVERT arrives, a GRTT later, grow
// about as N^(GRTT / backoff). A backoff of (ln N + 1) GRTT bounds that by e.
Duration Sender::Backoff() const {
  const double grtts = std::max(4.0, std::log(double(receivers_.size())) + 1);
  return std::max(config_.min_backoff,
                  Duration(static_cast<std::int64_t>(grtts * double(grtt_.count()))));
}

void Sender::StartPoll(Time now, std::uint32_t first, std::uint32_t end, bool sweep,
                       bool first_pass) {
  std::uint32_t id = next_poll_id_++;
  Collection& c = collections_[id];
  c.first = first;
  c.end = end;
  c.sweep = sweep;
  c.first_pass = first_pass;
  c.closes_at = now + Backoff() + 2 * grtt_ + kCollectSlack;
  c.next_advert = now;  // the first plan goes out at once: it is what suppresses
  auto backoff_us = std::chrono::duration_cast<microseconds>(Backoff()).count();
  // On the data group, behind the DATA it asks about: a receiver reads each
  // group from its own socket, and a POLL on the control group overtakes
  // DATA still queued there, drawing NAKs for symbols already received.
  Queue(wire::Poll{id, first, end, static_cast<std::uint32_t>(backoff_us),
                   static_cast<std::uint32_t>(receivers_.size())},
        Destination::kDataGroup);
  ++stats_.polls;
}

void Sender::ClosePolls(Time now) {
  for (auto it = collections_.begin(); it != collections_.end();) {
    Collection& c = it->second;
    if (now < c.closes_at) {
      ++it;
      continue;
    }
    const bool empty = c.plan.empty() && c.window_plan.empty();
    if (empty) {
      if (c.sweep) next_sweep_ = now + config_.sweep_interval;
    } else {
      RepairBatch batch{c.first, c.end, c.sweep, {}, {}};
      for (const auto& [block, count] : c.plan) batch.blocks.emplace_back(block, count);
      for (const auto& [first, count] : c.window_plan) batch.windows.emplace_back(first, count);
      repairs_.push_back(std::move(batch));
    }
    if (empty && it->first != kLatePollId) {
      closed_without_repair_.insert(it->first);
      if (closed_without_repair_.size() > kClosedPollsKept) {
        closed_without_repair_.erase(closed_without_repair_.begin());
      }
    }
    it = collections_.erase(it);
  }
}

void Sender::MaybeSweep(Time now) {
  bool first_pass_done = next_block_ >= layout_.block_count();
  if (first_pass_done && collections_.empty() && repairs_.empty() && now >= next_sweep_ &&
      receivers_finished() < receivers_.size()) {
    StartPoll(now, 0, layout_.block_count(), true);
  }
}

wire::Advert Sender::PlanAdvert(std::uint32_t poll_id, const Collection& c) const {
  wire::Advert a{poll_id, {}, {}};
  const std::size_t max = wire::MaxRangesPerDatagram();
  for (const auto& [first, count] : c.window_plan) {
    if (a.windows.size() < max / 2) a.windows.push_back({first, count});
  }
  for (const auto& [block, count] : c.plan) {
    if (!a.planned.empty() && a.planned.back().first + a.planned.back().count == block &&
        a.planned.back().deficit == count) {
      ++a.planned.back().count;
    } else if (a.planned.size() + a.windows.size() < max) {
      a.planned.push_back({block, 1, count});
    } else {
      break;  // receivers needing more than the advert shows will simply NAK
    }
  }
  return a;
}

// ---- output ------------------------------------------------------------------

void Sender::Queue(wire::Body body, Destination dest, Endpoint peer) {
  control_.push_back(Pending{std::move(body), dest, peer});
}

void Sender::Fail(Status status) {
  status_ = std::move(status);
  phase_ = Phase::kEnding;
  ends_left_ = receivers_.empty() ? 0 : 3;
}

std::optional<Transmit> Sender::PollTransmit(Time now, std::span<std::uint8_t> buf) {
  if (phase_ == Phase::kFinished) return std::nullopt;
  Advance(now);
  if (!control_.empty()) {
    Pending& pending = control_.front();
    Transmit t{pending.destination, pending.peer, 0, false};
    t.size = wire::Encode(wire::Packet{config_.session_id, std::move(pending.body)}, buf);
    control_.pop_front();
    rate_.OnSent(t.size);
    stats_.wire_bytes += t.size;
    ++stats_.control_packets;
    return t;
  }
  if (phase_ == Phase::kEnding && ends_left_ == 0) phase_ = Phase::kFinished;
  if (phase_ != Phase::kTransferring) return std::nullopt;
  const double cost = double(wire::kDataHeaderSize + config_.symbol_size + wire::kIpUdpHeaderBytes);
  if (!rate_.Affords(cost)) return std::nullopt;

  std::uint32_t block;
  std::uint16_t esi, run = 1;
  bool repair = NextRepair(now, &block, &esi, &run);
  if (!repair && !NextSource(&block, &esi)) {
    // The repair queue may have just drained into a new poll.
    return control_.empty() ? std::nullopt : PollTransmit(now, buf);
  }
  std::size_t size = EmitSymbol(block, esi, run, buf);
  if (size == 0) return std::nullopt;  // Fail() was called; END goes out next
  rate_.OnSent(size);
  stats_.wire_bytes += size;
  ++data_sent_;
  ++(repair || esi >= BlockK(block) ? stats_.repair_symbols : stats_.source_symbols);
  if (esi >= wire::kFirstWindowEsi) ++stats_.window_symbols;
  if (!repair && next_esi_ == 0) {  // a block's first pass just ended
    const bool last = next_block_ >= layout_.block_count();
    if (last || next_block_ - window_start_ >= config_.window_blocks) {
      StartPoll(now, window_start_, next_block_, false, true);
      window_start_ = next_block_;
    }
  }
  return Transmit{Destination::kDataGroup, {}, size, true};
}

bool Sender::NextSource(std::uint32_t* block, std::uint16_t* esi) {
  if (next_block_ >= layout_.block_count()) return false;
  *block = next_block_;
  *esi = next_esi_;
  const std::uint16_t k = BlockK(next_block_);
  const bool manifest = next_block_ < layout_.blocks_of(0);
  const std::uint16_t first_pass =
      manifest ? std::min<std::uint16_t>(k + config_.manifest_extra_symbols, wire::kMaxEsi + 1) : k;
  if (++next_esi_ == first_pass) {
    if (manifest) next_repair_esi_[next_block_] = first_pass > wire::kMaxEsi ? 0 : first_pass;
    next_esi_ = 0;
    ++next_block_;
  }
  return true;
}

bool Sender::NextRepair(Time now, std::uint32_t* block, std::uint16_t* esi, std::uint16_t* run) {
  while (!repairs_.empty()) {
    RepairBatch& batch = repairs_.front();
    if (batch.blocks.empty() && !batch.windows.empty()) {
      auto& [first, left] = batch.windows.front();
      auto [it, fresh] = next_window_esi_.try_emplace(first, wire::kFirstWindowEsi);
      *block = first;
      *esi = it->second;
      *run = left;
      if (it->second < 0xFFFF) ++it->second;  // 65280 symbols per window: never in practice
      if (batch.sweep) ++stats_.sweep_repair_symbols;
      if (--left == 0) batch.windows.pop_front();
      return true;
    }
    if (batch.blocks.empty()) {
      // Every repair symbol for this poll is out: ask again.
      StartPoll(now, batch.first, batch.end, batch.sweep);
      repairs_.pop_front();
      continue;
    }
    auto& [b, left] = batch.blocks.front();
    auto [it, fresh] = next_repair_esi_.try_emplace(b, BlockK(b));
    *block = b;
    *esi = it->second;
    // Parity first, then wrap to the source symbols and round again.
    it->second = it->second >= wire::kMaxEsi ? 0 : it->second + 1;
    if (batch.sweep) ++stats_.sweep_repair_symbols;
    if (--left == 0) batch.blocks.pop_front();
    return true;
  }
  return false;
}

Sender::CachedBlock* Sender::LoadBlock(std::uint32_t block, std::uint16_t esi) {
  auto it = cache_.find(block);
  const std::size_t s = config_.symbol_size;
  const BlockInfo info = layout_.Block(block);
  if (it != cache_.end()) {
    // Least recently used goes first: a window symbol needs all of its
    // window's blocks at once, and must not evict one it already holds.
    // (The first pass and most repair hit the newest block: no search.)
    if (cache_order_.back() != block) {
      cache_order_.erase(std::find(cache_order_.begin(), cache_order_.end(), block));
      cache_order_.push_back(block);
    }
  } else {
    std::vector<std::uint8_t> buffer;  // the evicted block's, when there is one
    if (cache_order_.size() >= kCachedBlocks) {
      auto old = cache_.find(cache_order_.front());
      buffer = std::move(old->second.symbols);
      cache_.erase(old);
      cache_order_.pop_front();
    }
    buffer.resize(std::size_t{FecCodec::kSymbolsPerBlock} * s);
    // The last source symbol's padding must be zeros, as receivers assume.
    std::fill(buffer.begin() + static_cast<std::ptrdiff_t>(info.bytes),
              buffer.begin() + static_cast<std::ptrdiff_t>(info.k * s), 0);
    it = cache_.emplace(block, CachedBlock{std::move(buffer)}).first;
    cache_order_.push_back(block);
    std::span<std::uint8_t> dst(it->second.symbols.data(), info.bytes);
    if (info.object == 0) {
      std::copy_n(manifest_bytes_.begin() + info.offset, info.bytes, dst.begin());
    } else if (Status st = source_.Read(info.object - 1, info.offset, dst); !st.ok()) {
      cache_.erase(it);
      cache_order_.pop_back();
      Fail(st);
      return nullptr;
    }
  }
  CachedBlock& cb = it->second;
  const int row = int{esi} - info.k;  // parity row wanted, if any
  if (row >= cb.parity_rows) {
    // Repair asks for ascending ESIs: compute a run of six rows, which costs
    // ISA-L one pass over the sources, rather than all 255 - k at once.
    const int end = std::min(FecCodec::kSymbolsPerBlock - info.k,
                             std::max(row + 1, cb.parity_rows + kParityRun));
    std::vector<const std::uint8_t*> src(info.k);
    std::vector<std::uint8_t*> parity(static_cast<std::size_t>(end - cb.parity_rows));
    for (int i = 0; i < info.k; ++i) src[i] = cb.symbols.data() + i * s;
    for (std::size_t i = 0; i < parity.size(); ++i) {
      parity[i] = cb.symbols.data() + (info.k + cb.parity_rows + i) * s;
    }
    fec_.Encode(info.k, s, src, parity, cb.parity_rows);
    cb.parity_rows = end;
  }
  return &cb;
}

std::size_t Sender::EmitSymbol(std::uint32_t block, std::uint16_t esi, std::uint16_t run,
                               std::span<std::uint8_t> buf) {
  const std::size_t s = config_.symbol_size;
  const std::uint8_t* symbol = nullptr;
  if (esi >= wire::kFirstWindowEsi) {
    symbol = WindowSymbol(block, esi, run);
  } else if (CachedBlock* cb = LoadBlock(block, esi)) {
    symbol = cb->symbols.data() + esi * s;
  }
  if (!symbol) return 0;
  wire::Data d{block, esi, static_cast<std::uint16_t>(data_sent_),
               std::span<const std::uint8_t>(symbol, s)};
  return wire::Encode(wire::Packet{config_.session_id, d}, buf);
}

// Window symbol `esi` of the window at `first`. Computes it with the next
// run - 1 (up to kMaxWindowRun): one pass over the window's sources serves
// them all.
const std::uint8_t* Sender::WindowSymbol(std::uint32_t first, std::uint16_t esi,
                                         std::uint16_t run) {
  const std::size_t s = config_.symbol_size;
  WindowRun& w = window_run_;
  if (w.first != first || esi < w.first_esi || esi >= w.first_esi + w.count) {
    const auto [start, end] = layout_.RepairWindow(first, config_.window_blocks);
    std::vector<const std::uint8_t*> sources;
    for (std::uint32_t b = start; b < end; ++b) {
      CachedBlock* cb = LoadBlock(b, 0);
      if (!cb) return nullptr;
      for (std::uint16_t i = 0; i < BlockK(b); ++i) sources.push_back(cb->symbols.data() + i * s);
    }
    w.first = first;
    w.first_esi = esi;
    w.count = static_cast<std::uint16_t>(
        std::clamp<int>(run, 1, std::min<int>(kMaxWindowRun, 0x10000 - esi)));
    w.symbols.resize(w.count * s);
    std::vector<std::uint8_t*> out;
    for (std::size_t i = 0; i < w.count; ++i) out.push_back(w.symbols.data() + i * s);
    EncodeWindowSymbols(first, esi, s, sources, out);
  }
  return w.symbols.data() + (esi - w.first_esi) * s;
}

Time Sender::NextDeadline() const {
  if (phase_ == Phase::kFinished) return kNever;
  if (!control_.empty() || (phase_ == Phase::kEnding && ends_left_ == 0)) return now_;
  Time t = kNever;
  if (phase_ == Phase::kAnnouncing) {
    t = std::min({next_announce_, started_ + config_.join_wait});
  } else if (phase_ == Phase::kEnding) {
    t = next_end_;
  } else if (phase_ == Phase::kTransferring) {
    t = next_announce_;
    for (const auto& [id, c] : collections_) {
      t = std::min(t, c.closes_at);
      if (c.advert_due) t = std::min(t, c.next_advert);
    }
    t = std::min(t, next_expiry_);
    bool first_pass_done = next_block_ >= layout_.block_count();
    if (first_pass_done && collections_.empty() && repairs_.empty()) {
      t = std::min(t, std::max(next_sweep_, now_));
    }
    if (!first_pass_done || !repairs_.empty()) {
      t = std::min(t, rate_.NextBurst());  // most of a burst of batch_packets affordable
    }
  }
  return t;
}

// ---- reporting -----------------------------------------------------------------

std::uint64_t Sender::bytes_sent_first_pass() const {
  if (next_block_ >= layout_.block_count()) return manifest_.total_bytes();
  std::uint64_t done = 0;
  BlockInfo info = layout_.Block(next_block_);
  for (std::uint32_t o = 1; o < info.object; ++o) done += layout_.object_size(o);
  return info.object > 0 ? done + info.offset : 0;
}

std::optional<Time> Sender::transfer_start() const {
  if (transfer_start_ < Time(0)) return std::nullopt;
  return transfer_start_;
}

std::vector<ReceiverReport> Sender::Reports() const {
  std::vector<ReceiverReport> out;
  for (const auto& [id, peer] : receivers_) {
    ReceiverReport r;
    r.receiver_id = id;
    r.address = peer.address;
    r.outcome = peer.outcome;
    r.bytes = peer.bytes;
    const bool active = peer.outcome == ReceiverOutcome::kActive;
    r.elapsed = (active ? now_ : peer.finished_at) - std::max(peer.joined, transfer_start_);
    // A receiver that verified everything counted DATA until its DONE. One
    // that failed stopped counting when it failed, which is heard only later
    // (a receiver refusing the manifest hears a few datagrams, then the
    // sender's next RTT of them): measure it to its last STATUS, or not at all.
    const bool done = peer.outcome == ReceiverOutcome::kSucceeded;
    if (done || peer.status_heard) {
      const std::uint64_t sent =
          (done ? peer.data_sent_at_done : peer.data_sent_at_status) - peer.data_sent_at_join;
      const std::uint64_t received = done ? peer.data_received : peer.status_data_received;
      if (sent > 0 && received <= sent) r.loss = 1.0 - double(received) / double(sent);
    }
    r.reason = peer.reason;
    out.push_back(r);
  }
  return out;
}

}  // namespace ardus
