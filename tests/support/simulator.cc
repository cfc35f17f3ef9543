#include "support/simulator.h"

#include <algorithm>

namespace ardus::testing {
namespace {
const Endpoint kSenderAddress{0x0A000001, wire::kFeedbackPort};
}  // namespace

Simulator::Simulator(std::uint64_t seed, SenderConfig sender_config, Manifest manifest,
                     ContentSource& source, std::vector<SimReceiver> receivers,
                     ReceiverConfig receiver_template, std::optional<SimSecurity> security)
    : rng_(seed) {
  sender_config.seed = seed;
  if (security) {
    sender_config.symbol_size = std::min(sender_config.symbol_size, wire::kSealedSymbolSize);
  }
  sender_ = std::make_unique<Sender>(sender_config, std::move(manifest), source);
  if (security) {
    sender_random_ = std::make_unique<seal::SeededRandom>(security->key_seed);
    sender_identity_ = std::make_unique<seal::Identity>(seal::Identity::Generate(*sender_random_));
    secure_sender_ = std::make_unique<SecureSender>(
        *sender_, sender_config.session_id, *sender_identity_, *sender_random_,
        SecureSenderConfig{security->encryption, security->allow});
  }
  for (std::size_t i = 0; i < receivers.size(); ++i) {
    ReceiverConfig rc = receiver_template;
    rc.receiver_id = static_cast<std::uint32_t>(1000 + i);
    rc.seed = seed * 7919 + i;
    Node node;
    node.spec = receivers[i];
    node.engine = std::make_unique<Receiver>(rc, *receivers[i].store);
    node.address = Endpoint{static_cast<std::uint32_t>(0x0A000100 + i), 40000};
    if (security) {
      auto seed = security->receiver_key_seeds.find(i);
      node.random = std::make_unique<seal::SeededRandom>(
          seed != security->receiver_key_seeds.end() ? seed->second : security->key_seed + 1 + i);
      node.identity = std::make_unique<seal::Identity>(seal::Identity::Generate(*node.random));
      node.secure = std::make_unique<SecureReceiver>(*node.engine, rc.receiver_id, *node.identity,
                                                     *node.random,
                                                     SecureReceiverConfig{security->trust, false});
    }
    receivers_.push_back(std::move(node));
  }
}

void Simulator::Send(Time now, const LinkModel& link, bool& bad, int to, Endpoint from,
                     std::span<const std::uint8_t> bytes) {
  std::uniform_real_distribution<double> u(0, 1);
  if (link.burst_enter > 0) bad = bad ? u(rng_) >= link.burst_exit : u(rng_) < link.burst_enter;
  if (u(rng_) < link.loss || (bad && u(rng_) < link.burst_loss)) return;
  const bool poll = bytes.size() > 3 && bytes[3] == static_cast<std::uint8_t>(wire::Type::kPoll);
  if (poll && u(rng_) < link.poll_loss) return;  // byte 3: the type (docs/ardus-protocol.md)
  if (bytes.size() > 3 && bytes[3] == wire::kTypeKeyInfo && now < Time(link.keyinfo_loss_until))
    return;
  int copies = u(rng_) < link.duplicate ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    Duration extra{0};
    if (link.jitter.count() > 0) {
      extra =
          Duration(std::uniform_int_distribution<std::int64_t>(0, link.jitter.count() - 1)(rng_));
    }
    events_.push(Event{now + link.delay + extra, seq_++, to, from,
                       std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
  }
}

Endpoint Simulator::sender_address() { return kSenderAddress; }

void Simulator::Inject(Time at, int to, Endpoint from, std::vector<std::uint8_t> bytes) {
  if (to == -2) {
    for (std::size_t i = 0; i < receivers_.size(); ++i)
      events_.push(Event{at, seq_++, int(i), from, bytes});
    return;
  }
  events_.push(Event{at, seq_++, to, from, std::move(bytes)});
}

std::optional<Transmit> Simulator::SenderPoll(Time now, std::span<std::uint8_t> buf) {
  return secure_sender_ ? secure_sender_->PollTransmit(now, buf) : sender_->PollTransmit(now, buf);
}

std::optional<Transmit> Simulator::NodePoll(Node& n, Time now, std::span<std::uint8_t> buf) {
  return n.secure ? n.secure->PollTransmit(now, buf) : n.engine->PollTransmit(now, buf);
}

Time Simulator::NodeDeadline(const Node& n) const {
  return n.secure ? n.secure->NextDeadline() : n.engine->NextDeadline();
}

void Simulator::Deliver(const Event& e) {
  if (e.to < 0) {
    if (secure_sender_) {
      secure_sender_->OnDatagram(e.at, e.from, e.bytes);
    } else {
      sender_->OnDatagram(e.at, e.from, e.bytes);
    }
    return;
  }
  Node& n = receivers_[e.to];
  if (!Alive(n, e.at) || e.at >= n.spec.deaf_at) return;
  if (n.secure) {
    n.secure->OnDatagram(e.at, e.from, e.bytes);
  } else {
    n.engine->OnDatagram(e.at, e.from, e.bytes);
  }
  // The simulated network has every group: a join succeeds at once.
  if (n.engine->TakeJoinRequest()) n.engine->OnJoined(e.at, Status::Ok());
}

SimResult Simulator::Run(Time limit) {
  SimResult result;
  std::vector<std::uint8_t> buf(wire::kMaxDatagram);
  Time now{0};
  while (now < limit) {
    while (auto t = SenderPoll(now, buf)) {
      if (observe) observe(now, kSenderAddress, *t, {buf.data(), t->size});
      Time depart = now;
      if (bottleneck_bps_ > 0) {
        Time start = std::max(now, queue_free_at_);
        if (start - now > max_queue_) {
          ++result.bottleneck_drops;
          continue;
        }
        queue_free_at_ = start + Duration(static_cast<std::int64_t>(
                                     (double(t->size) + double(wire::kEthernetIpUdpHeaderBytes)) *
                                     8e9 / double(bottleneck_bps_)));
        depart = queue_free_at_;
      }
      std::span<const std::uint8_t> bytes(buf.data(), t->size);
      for (std::size_t i = 0; i < receivers_.size(); ++i) {
        Node& n = receivers_[i];
        bool addressed = t->destination != Destination::kPeer || t->peer == n.address;
        if (addressed && Alive(n, now))
          Send(depart, n.spec.down, n.bad, int(i), kSenderAddress, bytes);
      }
    }
    bool all_done = sender_->finished();
    for (Node& n : receivers_) {
      if (!Alive(n, now)) continue;
      while (auto t = NodePoll(n, now, buf)) {
        if (observe) observe(now, n.address, *t, {buf.data(), t->size});
        ++result.feedback_datagrams;
        if (buf[3] == static_cast<std::uint8_t>(wire::Type::kNak)) ++result.nak_datagrams;
        Send(now, n.spec.up, n.up_bad, -1, n.address, {buf.data(), t->size});
      }
      all_done = all_done && n.engine->finished();
    }
    if (all_done) {
      result.completed = true;
      break;
    }

    Time next = secure_sender_ ? secure_sender_->NextDeadline() : sender_->NextDeadline();
    if (!events_.empty()) next = std::min(next, events_.top().at);
    for (Node& n : receivers_) {
      if (now < n.spec.join_at)
        next = std::min(next, n.spec.join_at);
      else if (Alive(n, now))
        next = std::min(next, NodeDeadline(n));
    }
    if (next == kNever) break;  // nothing can ever happen again
    now = std::max(next, now + Duration(1));
    while (!events_.empty() && events_.top().at <= now) {
      Event e = events_.top();
      events_.pop();
      Deliver(e);
    }
    if (result.all_finished == Time(0) && sender_->receivers_finished() == receivers_.size()) {
      result.all_finished = now;
    }
  }
  result.end = now;
  for (Node& n : receivers_) result.receiver_results.push_back(n.engine->result());
  const SenderStats& s = sender_->stats();
  double payload = double(sender_->manifest().total_bytes());
  const double overhead = secure_sender_ ? double(secure_sender_->stats().overhead_bytes) : 0;
  if (payload > 0) result.wire_ratio = (double(s.link_bytes()) + overhead) / payload;
  return result;
}

}  // namespace ardus::testing
