#include "ardus/receiver.h"

#include <algorithm>
#include <queue>
#include <utility>

#include "ardus/window_code.h"

namespace ardus {
namespace {
constexpr std::size_t kMaxPendingNaks = 64;
constexpr std::size_t kMaxWindowSymbolsHeld = 255;  // per window
// ADVERT entries kept per pending NAK; beyond, the NAK is merely suppressed less.
constexpr std::size_t kMaxPlannedEntries = 1024;

// The parity ADVERTs plan for each block, looked up for blocks in increasing
// order: the largest deficit among the planned ranges holding the block.
class PlannedParity {
 public:
  explicit PlannedParity(std::vector<wire::NeedRange> ranges) : ranges_(std::move(ranges)) {
    std::sort(ranges_.begin(), ranges_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  // Precondition: `block` is at least the last one asked about.
  std::uint16_t At(std::uint32_t block) {
    for (; next_ < ranges_.size() && ranges_[next_].first <= block; ++next_) {
      const wire::NeedRange& r = ranges_[next_];
      active_.push({r.deficit, std::uint64_t{r.first} + r.count});
    }
    while (!active_.empty() && active_.top().second <= block) active_.pop();
    return active_.empty() ? 0 : active_.top().first;
  }

 private:
  std::vector<wire::NeedRange> ranges_;
  std::size_t next_ = 0;
  // Ranges begun, by deficit; ended ones leave when they reach the top.
  std::priority_queue<std::pair<std::uint16_t, std::uint64_t>> active_;
};
}  // namespace

Receiver::Receiver(ReceiverConfig config, ContentStore& store)
    : config_(std::move(config)),
      store_(store),
      rng_(config_.seed),
      loss_(config_.loss_report_interval) {}

// ---- input -----------------------------------------------------------------

void Receiver::OnDatagram(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram) {
  now_ = std::max(now_, now);
  Result<wire::Packet> decoded = wire::Decode(datagram);
  if (!decoded.ok()) {
    ++malformed_;
    return;
  }
  OnPacket(now, from, decoded.value());
}

std::uint8_t* Receiver::SourceSlot(std::uint32_t block, std::uint16_t esi, std::size_t size) {
  if (state_ != State::kReceiving || size != announce_.symbol_size ||
      block >= layout_.block_count() || block_done_[block] || esi >= layout_.Block(block).k)
    return nullptr;
  auto it = blocks_.find(block);
  if (it == blocks_.end() || it->second.source.empty() || it->second.seen[esi]) return nullptr;
  return it->second.source.data() + std::size_t{esi} * size;
}

void Receiver::OnPacket(Time now, const Endpoint& from, const wire::Packet& p) {
  now_ = std::max(now_, now);
  if (state_ == State::kFinished) return;
  if (state_ == State::kIdle) {
    if (const auto* a = std::get_if<wire::Announce>(&p.body)) {
      OnAnnounce(now, from, p.session_id, *a);
    } else {
      ++foreign_;
    }
    return;
  }
  // Only the announcing sender speaks for the session: anyone else's END,
  // DATA or POLL is not its (a spoofed source address still passes; see the
  // spec's Security section).
  if (p.session_id != session_ || !FromSender(from)) {
    ++foreign_;
    return;
  }
  last_from_sender_ = now;
  if (const auto* a = std::get_if<wire::Announce>(&p.body)) {
    if (!seen_data_) Queue(wire::Join{config_.receiver_id, a->sent_at_ns});  // JOIN may be lost
    return;
  }
  if (const auto* d = std::get_if<wire::Data>(&p.body)) {
    if (state_ == State::kReceiving) OnData(*d);
  } else if (const auto* poll = std::get_if<wire::Poll>(&p.body)) {
    if (state_ == State::kReceiving) OnPoll(now, *poll);
    // DONE not yet acknowledged and the sender still polling: say it again
    // now rather than at the next retry; the session's end waits for it.
    if (state_ == State::kReporting) next_done_ = std::min(next_done_, now);
  } else if (const auto* advert = std::get_if<wire::Advert>(&p.body)) {
    OnAdvert(*advert);
  } else if (const auto* ack = std::get_if<wire::DoneAck>(&p.body)) {
    if (state_ == State::kReporting && ack->receiver_id == config_.receiver_id) {
      state_ = State::kFinished;
    }
  } else if (std::holds_alternative<wire::End>(p.body)) {
    if (state_ == State::kReceiving) {
      // The sender gave up on this receiver, or someone forged its END:
      // either way DONE tells it the session failed here, and why.
      Fail(now, Status::Error(ErrorKind::kLocalIo, "session ended by sender before completion"));
    } else {
      state_ = State::kFinished;  // it has our outcome, or has given up waiting for it
    }
  } else {
    ++foreign_;  // a receiver-to-sender type
  }
}

bool Receiver::FromSender(const Endpoint& from) const { return from == sender_source_; }

std::optional<Endpoint> Receiver::TakeJoinRequest() { return std::exchange(join_request_, {}); }

void Receiver::OnJoined(Time now, Status status) {
  if (!awaiting_join_) return;
  awaiting_join_ = false;
  join_request_.reset();
  if (!status.ok()) Fail(now, std::move(status));
}

void Receiver::Abandon(Time now, Status reason) { Fail(now, std::move(reason)); }

void Receiver::OnAnnounce(Time now, const Endpoint& from, std::uint32_t session,
                          const wire::Announce& a) {
  if (session == 0 || config_.ignore_sessions.count(session) || a.manifest_size < 8 ||
      a.manifest_size > kMaxManifestBytes) {
    ++foreign_;
    return;
  }
  session_ = session;
  announce_ = a;
  sender_ = Endpoint{from.ip, a.feedback_port};
  sender_source_ = from;
  layout_ = Layout({a.manifest_size}, a.symbol_size, a.block_symbols);
  manifest_bytes_ = PagedBuffer(a.manifest_size);  // memory as it arrives, not as announced
  block_done_.assign(layout_.block_count(), false);
  blocks_left_ = {layout_.blocks_of(0)};
  state_ = State::kReceiving;
  last_from_sender_ = now;
  next_heartbeat_ = now + config_.heartbeat;
  join_request_ = Endpoint{a.data_group, a.data_port};
  awaiting_join_ = true;
  Queue(wire::Join{config_.receiver_id, a.sent_at_ns});  // held until OnJoined()
}

bool Receiver::LossReportDue(Time now) const {
  return (announce_.flags & wire::kFlagRateAdaptive) && loss_.Alarm() &&
         now - last_status_ >= config_.loss_report_interval;
}

void Receiver::OnData(const wire::Data& d) {
  seen_data_ = true;
  // Blocks before the first one heard (a late joiner's) wait for the sweep.
  if (!polled_upto_) polled_upto_ = d.block;
  ++data_received_;
  loss_.OnSequence(now_, d.seq);
  if (d.symbol.size() != announce_.symbol_size) {
    ++malformed_;
    return;
  }
  if (d.block >= layout_.block_count()) {
    if (!have_manifest_ && early_.size() < config_.early_data_limit && d.esi <= wire::kMaxEsi) {
      early_.push_back({d.block, d.esi, {d.symbol.begin(), d.symbol.end()}});
    }
    return;  // otherwise: repaired later, like a loss
  }
  if (d.esi >= wire::kFirstWindowEsi) {
    PlaceWindowSymbol(d.block, d.esi, d.symbol);
  } else {
    PlaceData(d.block, d.esi, d.symbol);
  }
}

void Receiver::PlaceData(std::uint32_t block, std::uint16_t esi,
                         std::span<const std::uint8_t> symbol) {
  if (state_ != State::kReceiving) return;
  if (block_done_[block]) {
    ++duplicates_;
    return;
  }
  BlockInfo info = layout_.Block(block);
  if (Status s = AcceptSymbol(block, info, esi, symbol); !s.ok()) return Fail(now_, s);
  if (windows_.empty()) return;
  // A parity symbol or a completed block may be what a held window lacked.
  const std::uint32_t first = layout_.RepairWindow(block, announce_.window_blocks).first;
  if (windows_.count(first)) {
    if (Status s = TrySolveWindow(first); !s.ok()) Fail(now_, s);
  }
}

void Receiver::PlaceWindowSymbol(std::uint32_t first, std::uint16_t esi,
                                 std::span<const std::uint8_t> symbol) {
  if (state_ != State::kReceiving) return;
  const auto [start, end] = layout_.RepairWindow(first, announce_.window_blocks);
  if (start != first) {
    ++malformed_;  // window symbols name their window by its first block
    return;
  }
  if (std::all_of(block_done_.begin() + start, block_done_.begin() + end,
                  [](bool done) { return done; })) {
    ++duplicates_;
    return;
  }
  auto window = windows_.find(start);
  if (window == windows_.end()) {
    if (!RepairFits()) {
      ++over_limit_;
      return;
    }
    window = windows_.try_emplace(start).first;
  }
  WindowSymbols& held = window->second;
  if (held.count(esi) || held.size() >= kMaxWindowSymbolsHeld) {
    ++duplicates_;
    return;
  }
  held.emplace(esi, std::vector<std::uint8_t>(symbol.begin(), symbol.end()));
  repair_bytes_ += symbol.size();
  if (Status s = TrySolveWindow(start); !s.ok()) Fail(now_, s);
}

bool Receiver::RepairFits() const {
  return repair_bytes_ + announce_.symbol_size <= config_.repair_memory_limit;
}

void Receiver::EraseWindow(std::map<std::uint32_t, WindowSymbols>::iterator it) {
  repair_bytes_ -= it->second.size() * announce_.symbol_size;
  windows_.erase(it);
}

// Symbols the window's incomplete blocks lack beyond the parity they hold.
std::size_t Receiver::WindowDeficit(std::uint32_t start, std::uint32_t end) const {
  std::size_t deficit = 0;
  for (std::uint32_t b = start; b < end; ++b) {
    if (block_done_[b]) continue;
    auto it = blocks_.find(b);
    deficit += it == blocks_.end() ? layout_.Block(b).k : layout_.Block(b).k - it->second.have;
  }
  return deficit;
}

// The solver's view of the window at `first`: each block's sources in an
// incomplete or kept block's buffer, or read back from the store into
// window_sources_, zero-padded either way, with the parity and window
// symbols held. Valid until those buffers change.
Result<WindowProblem> Receiver::DescribeWindow(std::uint32_t first, const WindowSymbols& held) {
  const std::size_t s = announce_.symbol_size;
  const auto [start, end] = layout_.RepairWindow(first, announce_.window_blocks);
  std::size_t window_symbols = 0;
  for (std::uint32_t b = start; b < end; ++b) window_symbols += layout_.Block(b).k;
  window_sources_.resize(window_symbols * s);
  std::uint8_t* buffer = window_sources_.data();
  WindowProblem problem;
  problem.first_block = start;
  problem.symbol_size = s;
  for (std::uint32_t b = start; b < end; ++b) {
    const BlockInfo info = layout_.Block(b);
    WindowBlock& block = problem.blocks.emplace_back();
    block.k = info.k;
    auto it = blocks_.find(b);
    const bool incomplete = !block_done_[b];
    if (incomplete && it != blocks_.end()) {
      block.present = it->second.seen;
      for (const auto& [esi, symbol] : it->second.parity)
        block.parity.push_back({esi, symbol.data()});
    } else if (!incomplete) {
      block.present.set();
    }
    if (incomplete && it != blocks_.end() && !it->second.source.empty()) {
      block.sources = it->second.source.data();
    } else if (std::vector<std::uint8_t>* done = CompletedInMemory(b)) {
      std::fill(done->begin() + std::ptrdiff_t(info.bytes), done->end(), 0);
      block.sources = done->data();
    } else {
      if (Status r = ReadObject(info.object, info.offset, {buffer, info.bytes}); !r.ok()) return r;
      std::fill(buffer + info.bytes, buffer + info.k * s, 0);
      block.sources = buffer;
    }
    buffer += info.k * s;
  }
  for (const auto& [esi, symbol] : held) problem.window_symbols.push_back({esi, symbol.data()});
  return problem;
}

// Solves the window once it holds as many window symbols as its incomplete
// blocks lack beyond their parity (window_code.h), and completes those
// blocks with the recovered symbols. Window symbols that turn out redundant
// are dropped; if too few are left, the next NAK asks for more.
Status Receiver::TrySolveWindow(std::uint32_t first) {
  auto held = windows_.find(first);
  const auto [start, end] = layout_.RepairWindow(first, announce_.window_blocks);
  const std::size_t deficit = WindowDeficit(start, end);
  if (deficit == 0) {
    EraseWindow(held);
    return Status::Ok();
  }
  // Counted first: describing the window may read it back from the store.
  if (deficit > wire::kMaxWindowDeficit || held->second.size() < deficit) return Status::Ok();
  Result<WindowProblem> problem = DescribeWindow(first, held->second);
  if (!problem.ok()) return problem.status();
  Result<WindowSolution> solved = SolveWindow(problem.value(), fec_);
  if (!solved.ok()) return solved.status();
  const WindowSolution& solution = solved.value();
  for (std::uint16_t esi : solution.redundant) held->second.erase(esi);
  repair_bytes_ -= solution.redundant.size() * announce_.symbol_size;
  if (!solution.solved) return Status::Ok();
  EraseWindow(held);
  for (const RecoveredBlock& r : solution.recovered) {
    if (Status st = AcceptRecovered(start + static_cast<std::uint32_t>(r.block), r); !st.ok())
      return st;
  }
  return Status::Ok();
}

// Completes a block from its recovered sources. Its parity is set aside
// first (the solve used it), so the block completes without a decode.
Status Receiver::AcceptRecovered(std::uint32_t block, const RecoveredBlock& recovered) {
  const std::size_t s = announce_.symbol_size;
  auto it = blocks_.find(block);
  if (it != blocks_.end()) {
    it->second.have = static_cast<std::uint16_t>(it->second.have - it->second.parity.size());
    repair_bytes_ -= it->second.parity.size() * s;
    it->second.parity.clear();
  }
  const BlockInfo info = layout_.Block(block);
  for (std::size_t j = 0; j < recovered.esis.size(); ++j) {
    std::span<const std::uint8_t> symbol(recovered.symbols.data() + j * s, s);
    if (Status st = AcceptSymbol(block, info, recovered.esis[j], symbol); !st.ok()) return st;
  }
  return Status::Ok();
}

std::size_t Receiver::BuffersInUse() const {
  return held_blocks_ + kept_blocks_.size() + unwritten_.size();
}

bool Receiver::BlocksFit(std::size_t blocks) const {
  const std::size_t bytes = std::size_t{announce_.block_symbols} * announce_.symbol_size;
  return blocks * bytes <= config_.block_memory_limit;
}

// Frees a block buffer for a new incomplete block when memory is short:
// first a kept block's, then a waiting block's (written out of order). Not
// when incomplete blocks alone fill the budget: the new one is written
// through then anyway.
Status Receiver::MakeRoomForBlock() {
  if (!BlocksFit(held_blocks_ + 1)) return Status::Ok();
  while (!BlocksFit(BuffersInUse() + 1)) {
    if (!kept_blocks_.empty()) {
      ReleaseOldestKept();
    } else if (Status s = WriteOldestWaiting(); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

std::unordered_map<std::uint32_t, Receiver::BlockState>::iterator Receiver::OpenBlock(
    std::uint32_t block) {
  auto [it, inserted] = blocks_.try_emplace(block);
  if (!inserted) return it;
  if (BlocksFit(BuffersInUse() + 1)) {
    ++held_blocks_;
    if (spare_blocks_.empty()) {
      it->second.source.resize(std::size_t{announce_.block_symbols} * announce_.symbol_size);
    } else {
      it->second.source = std::move(spare_blocks_.back());
      spare_blocks_.pop_back();
    }
  }
  return it;
}

// Whether a window solve may yet read this completed block: only while an
// earlier block of its window is incomplete. Keeping every block instead
// cycled each new block through a buffer last touched 32 blocks ago: out of
// cache, and at 0% loss (no solves at all) receivers used about 8% more CPU
// (testbed, N=4, three alternated pairs).
bool Receiver::WindowMayNeedSolving(std::uint32_t block) const {
  if (announce_.window_blocks <= 1) return false;
  for (std::uint32_t b = layout_.RepairWindow(block, announce_.window_blocks).first; b < block;
       ++b) {
    if (!block_done_[b]) return true;
  }
  return false;
}

void Receiver::ReleaseOldestKept() {
  spare_blocks_.push_back(std::move(kept_blocks_.front().second));
  kept_blocks_.pop_front();
}

// Where a completed block's buffer goes once the block is written.
void Receiver::ReleaseBuffer(std::uint32_t block, std::vector<std::uint8_t> buffer) {
  if (WindowMayNeedSolving(block)) {
    kept_blocks_.emplace_back(block, std::move(buffer));
    if (kept_blocks_.size() > 2 * std::size_t{announce_.window_blocks}) ReleaseOldestKept();
  } else {
    spare_blocks_.push_back(std::move(buffer));
  }
}

// A completed block's buffer, kept or waiting to be written; null if none.
std::vector<std::uint8_t>* Receiver::CompletedInMemory(std::uint32_t block) {
  for (auto& [kept, buffer] : kept_blocks_) {
    if (kept == block) return &buffer;
  }
  auto waiting = unwritten_.find(block);
  return waiting == unwritten_.end() ? nullptr : &waiting->second;
}

// A completed block waits for the earlier blocks of its file, so that the
// file reaches the store in order. The manifest is assembled in memory.
bool Receiver::WriteMustWait(std::uint32_t block, const BlockInfo& info) const {
  return info.object > 0 && first_open_[info.object] < block;
}

// Writes, in order, the waiting blocks that the file's complete prefix now
// reaches.
Status Receiver::WriteWaitingBlocks(std::uint32_t object) {
  auto it = unwritten_.lower_bound(layout_.first_block(object));
  while (it != unwritten_.end() && it->first < first_open_[object]) {
    const BlockInfo info = layout_.Block(it->first);
    if (Status w = WriteObject(object, info.offset, {it->second.data(), info.bytes}); !w.ok())
      return w;
    ReleaseBuffer(it->first, std::move(it->second));
    it = unwritten_.erase(it);
  }
  return Status::Ok();
}

Status Receiver::WriteOldestWaiting() {
  auto oldest = unwritten_.begin();
  const BlockInfo info = layout_.Block(oldest->first);
  if (Status w = WriteObject(info.object, info.offset, {oldest->second.data(), info.bytes});
      !w.ok())
    return w;
  spare_blocks_.push_back(std::move(oldest->second));
  unwritten_.erase(oldest);
  return Status::Ok();
}

// Symbols beyond a memory limit are dropped as if lost: the next NAK asks
// for them again.
Status Receiver::AcceptSymbol(std::uint32_t block, const BlockInfo& info, std::uint16_t esi,
                              std::span<const std::uint8_t> symbol) {
  const bool parity = esi >= info.k;
  auto it = blocks_.find(block);
  if (it == blocks_.end()) {
    if (blocks_.size() >= config_.max_incomplete_blocks || (parity && !RepairFits())) {
      ++over_limit_;
      return Status::Ok();
    }
    if (Status s = MakeRoomForBlock(); !s.ok()) return s;
    it = OpenBlock(block);
  } else if (parity && it->second.parity.empty() && !RepairFits()) {
    ++over_limit_;
    return Status::Ok();
  }
  BlockState& st = it->second;
  if (st.seen[esi]) {
    ++duplicates_;
    return Status::Ok();
  }
  st.seen.set(esi);
  ++st.have;
  const std::size_t s = announce_.symbol_size;
  if (parity) {
    st.parity.emplace_back(static_cast<std::uint8_t>(esi),
                           std::vector<std::uint8_t>(symbol.begin(), symbol.end()));
    repair_bytes_ += s;
  } else if (!st.source.empty()) {
    std::uint8_t* slot = st.source.data() + std::size_t{esi} * s;
    if (symbol.data() != slot)
      std::copy(symbol.begin(), symbol.end(), slot);  // else decrypted there
  } else {
    std::uint64_t at = std::uint64_t{esi} * s;
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(s, info.bytes - at));
    if (Status w = WriteObject(info.object, info.offset + at, symbol.first(len)); !w.ok()) return w;
  }
  return st.have >= info.k ? CompleteBlock(block, info, st) : Status::Ok();
}

// Rebuilds the missing source symbols into their slots of `base` (k slots of
// symbol_size), from every source symbol held there plus enough parity.
Status Receiver::DecodeInPlace(const BlockInfo& info, const BlockState& st, std::uint8_t* base,
                               std::span<const std::uint8_t> missing) {
  const std::size_t s = announce_.symbol_size;
  std::vector<std::uint8_t> esis;
  std::vector<const std::uint8_t*> received;
  for (int i = 0; i < info.k; ++i) {
    if (!st.seen[i]) continue;
    esis.push_back(static_cast<std::uint8_t>(i));
    received.push_back(base + std::size_t(i) * s);
  }
  for (std::size_t i = 0; esis.size() < info.k; ++i) {
    esis.push_back(st.parity[i].first);
    received.push_back(st.parity[i].second.data());
  }
  std::vector<std::uint8_t*> out;
  for (std::uint8_t m : missing) out.push_back(base + std::size_t{m} * s);
  return fec_.Decode(info.k, s, esis, received, missing, out);
}

Status Receiver::CompleteBlock(std::uint32_t block, const BlockInfo& info, BlockState& st) {
  const std::size_t s = announce_.symbol_size;
  std::vector<std::uint8_t> missing;
  for (int i = 0; i < info.k; ++i) {
    if (!st.seen[i]) missing.push_back(static_cast<std::uint8_t>(i));
  }
  if (!st.source.empty()) {  // held: decode in memory, then write the block once
    if (!missing.empty()) {
      if (Status d = DecodeInPlace(info, st, st.source.data(), missing); !d.ok()) return d;
    }
    if (WriteMustWait(block, info)) {
      unwritten_.emplace(block, std::move(st.source));
    } else {
      if (Status w = WriteObject(info.object, info.offset, {st.source.data(), info.bytes}); !w.ok())
        return w;
      ReleaseBuffer(block, std::move(st.source));
    }
    --held_blocks_;
  } else if (!missing.empty()) {  // written through: read back in one piece, write the rest
    std::vector<std::uint8_t> readback(std::size_t{info.k} * s, 0);
    if (Status r = ReadObject(info.object, info.offset, {readback.data(), info.bytes}); !r.ok())
      return r;
    if (Status d = DecodeInPlace(info, st, readback.data(), missing); !d.ok()) return d;
    for (std::uint8_t m : missing) {
      std::uint64_t at = std::uint64_t{m} * s;
      auto len = static_cast<std::size_t>(std::min<std::uint64_t>(s, info.bytes - at));
      if (Status w = WriteObject(info.object, info.offset + at, {readback.data() + at, len});
          !w.ok())
        return w;
    }
  }
  block_done_[block] = true;
  while (first_incomplete_ < block_done_.size() && block_done_[first_incomplete_]) {
    ++first_incomplete_;
  }
  repair_bytes_ -= st.parity.size() * s;
  blocks_.erase(block);  // `st` is dangling from here on
  if (info.object > 0) {
    bytes_done_ += info.bytes;
    if (Status s = SettlePrefix(info.object); !s.ok()) return s;
  }
  if (--blocks_left_[info.object] == 0) return FinishObject(info.object);
  return Status::Ok();
}

Status Receiver::WriteObject(std::uint32_t object, std::uint64_t offset,
                             std::span<const std::uint8_t> d) {
  if (object == 0) {
    manifest_bytes_.Write(offset, d);
    return Status::Ok();
  }
  return store_.Write(object - 1, offset, d);
}

Status Receiver::ReadObject(std::uint32_t object, std::uint64_t offset,
                            std::span<std::uint8_t> out) {
  if (object == 0) {
    manifest_bytes_.Read(offset, out);
    return Status::Ok();
  }
  return store_.Read(object - 1, offset, out);
}

// Tells the store how much of the object is final: everything before its
// first incomplete block. Blocks mostly complete in order, so this advances.
Status Receiver::SettlePrefix(std::uint32_t object) {
  std::uint32_t& open = first_open_[object];
  const std::uint32_t end = layout_.first_block(object) + layout_.blocks_of(object);
  const std::uint32_t before = open;
  while (open < end && block_done_[open]) ++open;
  if (open == before) return Status::Ok();
  if (Status w = WriteWaitingBlocks(object); !w.ok()) return w;
  const std::uint64_t upto = open < end ? layout_.Block(open).offset : layout_.object_size(object);
  return store_.Settle(object - 1, upto);
}

Status Receiver::FinishObject(std::uint32_t object) {
  if (object == 0) return OnManifest();
  if (Status s = store_.Commit(object - 1); !s.ok()) return s;
  if (--objects_left_ == 0) {
    if (Status s = store_.Finish(); !s.ok()) return s;
    Succeed(now_);
  }
  return Status::Ok();
}

Status Receiver::OnManifest() {
  const std::vector<std::uint8_t> bytes = manifest_bytes_.Take();
  if (ComputeSha256(bytes) != announce_.manifest_sha256) {
    return Status::Error(ErrorKind::kIntegrity, "manifest digest does not match the announce");
  }
  Result<Manifest> m = DecodeManifest(bytes);
  if (!m.ok()) return m.status();
  manifest_ = std::move(m).value();
  if (Status s = BuildSessionLayout(); !s.ok()) return s;
  have_manifest_ = true;
  // Ranges heard before the manifest decoded end within the layout now.
  const std::uint32_t blocks = layout_.block_count();
  for (PendingNak& pending : naks_) pending.end = std::min(pending.end, blocks);
  if (polled_upto_) polled_upto_ = std::min(*polled_upto_, blocks);

  objects_left_ = 1;  // a hold, released below, so Finish runs exactly once
  for (const auto& e : manifest_.entries) objects_left_ += e.type == EntryType::kFile;
  for (std::uint32_t i = 0; i < manifest_.entries.size(); ++i) {
    if (manifest_.entries[i].type == EntryType::kFile && blocks_left_[i + 1] == 0) {
      if (Status s = FinishObject(i + 1); !s.ok()) return s;
    }
  }
  std::vector<EarlyData> early = std::move(early_);
  early_.clear();
  for (const EarlyData& e : early) {
    if (e.block < layout_.block_count()) PlaceData(e.block, e.esi, e.symbol);
  }
  if (state_ != State::kReceiving) return Status::Ok();  // placing failed the session
  if (--objects_left_ == 0) {
    if (Status s = store_.Finish(); !s.ok()) return s;
    Succeed(now_);
  }
  return Status::Ok();
}

// The whole session's layout from the manifest. The store's Begin (which
// checks free space) and the layout's size both come before any per-block
// or per-object state is built: a peer's 10^15-byte entry is refused, not
// allocated for.
Status Receiver::BuildSessionLayout() {
  std::vector<std::uint64_t> sizes{announce_.manifest_size};
  for (const auto& e : manifest_.entries) sizes.push_back(e.size);
  Layout layout(std::move(sizes), announce_.symbol_size, announce_.block_symbols);
  if (!layout.Valid() || layout.block_count() > config_.max_session_blocks) {
    const std::uint64_t total = manifest_.total_bytes();
    return Status::Error(
        ErrorKind::kLimitExceeded,
        "session too large: " +
            (total == UINT64_MAX ? std::string("over 2^64") : std::to_string(total)) +
            " bytes in more than " + std::to_string(config_.max_session_blocks) + " blocks");
  }
  if (Status s = store_.Begin(manifest_); !s.ok()) return s;
  layout_ = std::move(layout);
  block_done_.resize(layout_.block_count(), false);
  blocks_left_.resize(layout_.object_count());
  first_open_.resize(layout_.object_count());
  for (std::uint32_t o = 1; o < layout_.object_count(); ++o) {
    blocks_left_[o] = layout_.blocks_of(o);
    first_open_[o] = layout_.first_block(o);
  }
  return Status::Ok();
}

void Receiver::OnPoll(Time now, const wire::Poll& p) {
  if (naks_.size() >= kMaxPendingNaks) naks_.pop_front();
  PendingNak pending;
  pending.poll_id = p.poll_id;
  // Until the manifest decodes the session's block count is unknown; the
  // range is cut to the layout then (OnManifest), and FireNak reads only
  // blocks the layout has.
  pending.end = have_manifest_ ? std::min(p.end_block, layout_.block_count()) : p.end_block;
  // A lost POLL must not leave its window to the final sweep: answer for
  // every block since the end of the last range polled.
  pending.first = std::min({p.first_block, polled_upto_.value_or(p.first_block), pending.end});
  polled_upto_ = std::max(polled_upto_.value_or(0), pending.end);
  double x = std::uniform_real_distribution<double>(0, 1)(rng_);
  pending.fire_at = now + Duration(static_cast<std::int64_t>(
                              wire::NakBackoffFraction(x, p.group_size) * p.backoff_us * 1e3));
  naks_.push_back(std::move(pending));
}

// Keeps the plan as ranges, cut to the poll's range and the layout, and a
// bounded number of them: a range over 2^32 blocks costs one entry.
void Receiver::OnAdvert(const wire::Advert& a) {
  for (PendingNak& pending : naks_) {
    if (pending.poll_id != a.poll_id) continue;
    const std::uint64_t end = std::min(pending.end, layout_.block_count());
    for (const wire::NeedRange& r : a.planned) {
      const std::uint64_t first = std::max<std::uint64_t>(r.first, pending.first);
      const std::uint64_t stop = std::min<std::uint64_t>(std::uint64_t{r.first} + r.count, end);
      if (first >= stop || pending.planned.size() >= kMaxPlannedEntries) continue;
      pending.planned.push_back(
          {static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(stop - first), r.deficit});
    }
    for (const wire::WindowNeed& w : a.windows) {
      if (w.first < pending.first || w.first >= end ||
          layout_.RepairWindow(w.first, announce_.window_blocks).first != w.first) {
        continue;  // not a window of this poll's range
      }
      auto planned = pending.planned_windows.find(w.first);
      if (planned != pending.planned_windows.end()) {
        planned->second = std::max(planned->second, w.symbols);
      } else if (pending.planned_windows.size() < kMaxPlannedEntries) {
        pending.planned_windows.emplace(w.first, w.symbols);
      }
    }
  }
}

// When silence from the sender ends the session: soon before its first
// DATA (a forged ANNOUNCE) and once reporting (the sender ended), else after
// sender_timeout.
Time Receiver::SilenceLimit() const {
  const bool transferring = state_ == State::kReceiving && seen_data_;
  return last_from_sender_ + (transferring ? config_.sender_timeout : config_.quiet_timeout);
}

std::uint16_t Receiver::Deficit(std::uint32_t block) const {
  auto it = blocks_.find(block);
  if (it == blocks_.end()) return wire::kWholeBlock;
  return static_cast<std::uint16_t>(layout_.Block(block).k - it->second.have);
}

void Receiver::FireNak(Time now, const PendingNak& pending) {
  (void)now;
  std::vector<wire::NeedRange> needs;
  std::vector<wire::WindowNeed> windows;  // window symbols held for windows with needs
  // What the NAK datagrams can carry: collecting more would be work thrown away.
  const std::size_t per = wire::MaxRangesPerDatagram();
  const std::size_t most = per * config_.max_nak_datagrams;
  const std::uint32_t end = std::min(pending.end, layout_.block_count());
  PlannedParity planned(pending.planned);
  for (std::uint32_t b = std::max(pending.first, first_incomplete_);
       b < end && needs.size() < most;) {
    const auto [first, stop] = layout_.RepairWindow(b, announce_.window_blocks);
    const std::size_t listed = needs.size();
    std::size_t rest = 0;  // symbols lacking beyond the advertised parity
    for (; b < std::min(stop, end); ++b) {
      if (block_done_[b]) continue;
      const std::uint16_t deficit = Deficit(b);
      const std::uint16_t need = deficit == wire::kWholeBlock ? layout_.Block(b).k : deficit;
      const std::uint16_t parity = planned.At(b);
      if (parity >= need) continue;  // the advertised repair covers this block
      rest += need - parity;
      if (needs.size() > listed && needs.back().first + needs.back().count == b &&
          needs.back().deficit == deficit) {
        ++needs.back().count;
      } else {
        needs.push_back({b, 1, deficit});
      }
    }
    if (needs.size() == listed) continue;
    auto held = windows_.find(first);
    const std::size_t holding = held == windows_.end() ? 0 : held->second.size();
    auto window_plan = pending.planned_windows.find(first);
    if (window_plan != pending.planned_windows.end() && rest <= window_plan->second + holding) {
      needs.resize(listed);  // the advertised window symbols cover the rest
      continue;
    }
    if (holding > 0) windows.push_back({first, static_cast<std::uint16_t>(holding)});
  }

  // The window entries ride in the first datagram, the ranges fill the rest.
  if (windows.size() > per / 2) windows.resize(per / 2);
  for (std::size_t i = 0, sent = 0; i < needs.size() && sent < config_.max_nak_datagrams; ++sent) {
    const std::size_t n = std::min(needs.size() - i, per - windows.size());
    std::vector<wire::NeedRange> chunk(needs.begin() + static_cast<std::ptrdiff_t>(i),
                                       needs.begin() + static_cast<std::ptrdiff_t>(i + n));
    Queue(wire::Nak{config_.receiver_id, pending.poll_id, std::move(chunk), std::move(windows)});
    windows.clear();
    i += n;
  }
}

// ---- outcome -----------------------------------------------------------------

void Receiver::Succeed(Time now) { StartReporting(now); }

void Receiver::Fail(Time now, Status status) {
  if (state_ != State::kReceiving) return;
  store_.Abort();
  result_ = std::move(status);
  StartReporting(now);
}

// From here on the receiver only reports result_ in DONE until acknowledged.
void Receiver::StartReporting(Time now) {
  state_ = State::kReporting;
  join_request_.reset();  // a failed session needs no data group; its JOIN and DONE go out
  awaiting_join_ = false;
  done_ = wire::Done{config_.receiver_id,
                     result_.ok() ? wire::DoneStatus::kOk : wire::DoneStatus::kFailed, bytes_done_,
                     data_received_, result_.ok() ? "" : result_.ToString()};
  done_attempts_left_ = config_.done_attempts;
  done_wait_ = config_.done_retry;
  next_done_ = now;
  naks_.clear();
  windows_.clear();
  blocks_.clear();
  held_blocks_ = 0;
  repair_bytes_ = 0;
  early_.clear();
  spare_blocks_.clear();
  kept_blocks_.clear();
  unwritten_.clear();
}

void Receiver::Queue(wire::Body body) { out_.push_back(std::move(body)); }

std::optional<Transmit> Receiver::PollTransmit(Time now, std::span<std::uint8_t> buf) {
  now_ = std::max(now_, now);
  if ((state_ == State::kReceiving || state_ == State::kReporting) && now >= SilenceLimit()) {
    Fail(now,
         Status::Error(ErrorKind::kTimeout,
                       seen_data_ ? "sender went silent" : "sender went silent before any data"));
    state_ = State::kFinished;  // nobody to tell
  }
  if (state_ == State::kReceiving) {
    const bool heartbeat = now >= next_heartbeat_;
    const bool alarm = LossReportDue(now);
    if (heartbeat || alarm) {
      Queue(wire::StatusMsg{config_.receiver_id, bytes_done_, data_received_,
                            loss_.TakeExcessPpm(now, alarm)});
      last_status_ = now;
      next_heartbeat_ = now + config_.heartbeat;
    }
    while (!naks_.empty()) {
      auto due =
          std::find_if(naks_.begin(), naks_.end(), [&](auto& n) { return n.fire_at <= now; });
      if (due == naks_.end()) break;
      FireNak(now, *due);
      naks_.erase(due);
    }
  }
  if (state_ == State::kReporting && now >= next_done_) {
    if (done_attempts_left_-- > 0) {
      Queue(done_);
      next_done_ = now + done_wait_;
      done_wait_ = std::min(config_.done_retry_max, 2 * done_wait_);
    } else {
      state_ = State::kFinished;  // the sender never acknowledged; we are done anyway
    }
  }
  if (out_.empty() || state_ == State::kIdle || awaiting_join_) return std::nullopt;
  Transmit t{Destination::kPeer, sender_, 0, false};
  t.size = wire::Encode(wire::Packet{session_, std::move(out_.front())}, buf);
  out_.pop_front();
  return t;
}

Time Receiver::NextDeadline() const {
  if (state_ == State::kFinished || state_ == State::kIdle) return kNever;
  if (!out_.empty() && !awaiting_join_) return now_;
  Time t = SilenceLimit();
  if (state_ == State::kReceiving) {
    t = std::min(t, next_heartbeat_);
    for (const auto& n : naks_) t = std::min(t, n.fire_at);
  } else {
    t = std::min(t, next_done_);
  }
  return t;
}

}  // namespace ardus
