#include "engine_loop.h"

#include <xxhash.h>

#include <algorithm>
#include <memory>
#include <queue>
#include <random>

#include "support/memory_content.h"

namespace ardus::bench {
namespace {

const Endpoint kSender{0x0A000001, wire::kFeedbackPort};

Endpoint ReceiverAddress(std::size_t i) {
  return Endpoint{static_cast<std::uint32_t>(0x0A000100 + i), 40000};
}

ReceiverConfig ReceiverFor(const LoopConfig& config, std::size_t i) {
  ReceiverConfig rc;
  rc.receiver_id = static_cast<std::uint32_t>(1000 + i);
  rc.seed = config.seed * 7919 + i;
  rc.block_memory_limit = config.block_memory_limit;
  return rc;
}

struct InFlight {
  Time at;
  std::uint64_t order;  // ties at one time keep their send order
  int to;               // -1: the sender
  Endpoint from;
  std::vector<std::uint8_t> bytes;
  bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
};

class Loop {
 public:
  explicit Loop(const LoopConfig& config)
      : config_(config), rng_(config.seed), digest_(XXH3_createState()) {
    XXH3_64bits_reset(digest_);
    SenderConfig sc;
    sc.expected_receivers = static_cast<std::uint32_t>(config.receivers);
    sc.rate_bps = config.rate_bps;
    sc.rate_adaptive = config.rate_adaptive;
    sc.seed = config.seed;
    sender_ = std::make_unique<Sender>(sc, testing::PatternManifest({config.bytes}), source_);
    for (std::size_t i = 0; i < config.receivers; ++i) {
      stores_.push_back(std::make_unique<testing::MemoryStore>());
      receivers_.push_back(std::make_unique<Receiver>(ReceiverFor(config, i), *stores_.back()));
    }
  }
  ~Loop() { XXH3_freeState(digest_); }

  LoopResult Run() {
    std::vector<std::uint8_t> buf(wire::kMaxDatagram);
    Time now{0};
    while (now < config_.limit) {
      while (auto t = sender_->PollTransmit(now, buf)) FromSender(now, *t, buf);
      bool done = sender_->finished();
      for (std::size_t i = 0; i < receivers_.size(); ++i) {
        while (auto t = receivers_[i]->PollTransmit(now, buf)) {
          Record(now, static_cast<int>(i), {buf.data(), t->size});
          Deliver(now, -1, ReceiverAddress(i), {buf.data(), t->size});
        }
        done = done && receivers_[i]->finished();
      }
      if (done) {
        result_.completed = true;
        break;
      }
      Time next = sender_->NextDeadline();
      if (!flying_.empty()) next = std::min(next, flying_.top().at);
      for (const auto& r : receivers_) next = std::min(next, r->NextDeadline());
      if (next == kNever) break;
      now = std::max(next, now + Duration(1));
      while (!flying_.empty() && flying_.top().at <= now) Arrive();
    }
    result_.end = now;
    result_.digest = XXH3_64bits_digest(digest_);
    result_.stats = sender_->stats();
    result_.final_rate_bps = sender_->rate_bps();
    for (std::size_t i = 0; i < receivers_.size(); ++i) {
      Status s = receivers_[i]->result();
      if (s.ok() && stores_[i]->file(0).size() != config_.bytes) {
        s = Status::Error(ErrorKind::kIntegrity, "stored size differs");
      }
      result_.results.push_back(s);
    }
    return std::move(result_);
  }

 private:
  void Record(Time now, int origin, std::span<const std::uint8_t> bytes) {
    const std::int64_t header[2] = {now.count(), origin};
    XXH3_64bits_update(digest_, header, sizeof header);
    XXH3_64bits_update(digest_, bytes.data(), bytes.size());
    ++result_.datagrams;
  }

  void FromSender(Time now, const Transmit& t, std::span<const std::uint8_t> buf) {
    std::span<const std::uint8_t> bytes = buf.first(t.size);
    Record(now, -1, bytes);
    Time depart = now;
    if (config_.bottleneck_bps > 0) {
      const Time start = std::max(now, queue_free_at_);
      if (start - now > config_.max_queue) {
        ++result_.bottleneck_drops;
        return;
      }
      const double bits = (double(t.size) + wire::kEthernetIpUdpHeaderBytes) * 8;
      queue_free_at_ =
          start + Duration(static_cast<std::int64_t>(bits * 1e9 / double(config_.bottleneck_bps)));
      depart = queue_free_at_;
    }
    for (std::size_t i = 0; i < receivers_.size(); ++i) {
      if (t.destination == Destination::kPeer && !(t.peer == ReceiverAddress(i))) continue;
      Deliver(depart, static_cast<int>(i), kSender, bytes);
    }
  }

  void Deliver(Time now, int to, Endpoint from, std::span<const std::uint8_t> bytes) {
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < config_.loss) return;
    flying_.push({now + milliseconds(1), order_++, to, from, {bytes.begin(), bytes.end()}});
  }

  void Arrive() {
    InFlight f = flying_.top();
    flying_.pop();
    if (f.to < 0) {
      sender_->OnDatagram(f.at, f.from, f.bytes);
      return;
    }
    if (f.to == 0 && config_.record_first_receiver)
      result_.first_inbound.push_back({f.at, f.bytes});
    Receiver& receiver = *receivers_[static_cast<std::size_t>(f.to)];
    receiver.OnDatagram(f.at, f.from, f.bytes);
    if (receiver.TakeJoinRequest()) receiver.OnJoined(f.at, Status::Ok());  // every group reaches
  }

  LoopConfig config_;
  std::mt19937_64 rng_;
  XXH3_state_t* digest_;
  testing::PatternSource source_;
  std::unique_ptr<Sender> sender_;
  std::vector<std::unique_ptr<testing::MemoryStore>> stores_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> flying_;
  std::uint64_t order_ = 0;
  Time queue_free_at_{0};
  LoopResult result_;
};

}  // namespace

LoopResult RunLoop(const LoopConfig& config) { return Loop(config).Run(); }

Status ReplayFirstReceiver(const LoopConfig& config, const std::vector<Delivery>& inbound) {
  testing::MemoryStore store;
  Receiver receiver(ReceiverFor(config, 0), store);
  std::vector<std::uint8_t> buf(wire::kMaxDatagram);
  for (const Delivery& d : inbound) {
    while (receiver.PollTransmit(d.at, buf)) {
    }
    receiver.OnDatagram(d.at, kSender, d.bytes);
    if (receiver.TakeJoinRequest()) receiver.OnJoined(d.at, Status::Ok());
  }
  const Time last = inbound.empty() ? Time(0) : inbound.back().at;
  while (receiver.PollTransmit(last, buf)) {
  }
  if (!receiver.result().ok()) return receiver.result();
  if (receiver.state() == Receiver::State::kReceiving) {
    return Status::Error(ErrorKind::kInternal, "replay ended with the session incomplete");
  }
  return Status::Ok();
}

}  // namespace ardus::bench
