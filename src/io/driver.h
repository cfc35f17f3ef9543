// The I/O driver: runs a sans-IO engine (Sender or Receiver) over real UDP
// sockets until it finishes. Each turn it reads CLOCK_MONOTONIC, drains every
// readable socket into OnDatagram(), sends everything PollTransmit() hands
// out in sendmmsg batches, and sleeps in ppoll() until the engine's next
// deadline (nanosecond precision) or the next datagram.
//
// Thread-safety: runs on the calling thread; `stop` may be set from a signal
// handler or another thread.
#pragma once

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <functional>
#include <vector>

#include "ardus/transmit.h"
#include "common/status.h"
#include "common/time.h"
#include "io/udp.h"

namespace ardus::net {

Time MonotonicNow();

// Where group destinations go.
struct Routes {
  Endpoint control;  // control group:port
  Endpoint data;     // data group:port
};

struct LoopHooks {
  std::function<std::vector<int>()> rx_fds;  // asked every turn: sockets may be added
  std::function<void(Time)> on_turn;         // progress, socket set-up; may be empty
  const std::atomic<bool>* stop = nullptr;   // set it to end the loop with kCancelled
  // A send to `to` failed (the rest of that batch is lost too). Returns true
  // to go on as after a loss; unset or false ends the loop with the error.
  // Unicast replies go where a peer's datagram came from, which a peer can
  // forge: a sender's to its groups are the ones that must not fail.
  std::function<bool(const Status&, const Endpoint& to)> on_send_error;
};

inline bool GoesOn(const LoopHooks& hooks, const BatchSender& out, const Status& send_error) {
  return hooks.on_send_error && hooks.on_send_error(send_error, out.failed_destination());
}

// Errors: kLocalIo from a socket (with the hint to act on; sends only unless
// on_send_error takes them), kCancelled.
template <typename Engine>
Status Drive(Engine& engine, const Routes& routes, int tx_fd, const LoopHooks& hooks) {
  BatchSender out;
  while (!engine.finished()) {
    if (hooks.stop && hooks.stop->load())
      return Status::Error(ErrorKind::kCancelled, "interrupted");
    Time now = MonotonicNow();
    while (auto t = engine.PollTransmit(now, out.Next())) {
      Endpoint to = t->destination == Destination::kPeer        ? t->peer
                    : t->destination == Destination::kDataGroup ? routes.data
                                                                : routes.control;
      if (Status s = out.Add(t->size, to, tx_fd); !s.ok() && !GoesOn(hooks, out, s)) return s;
    }
    if (Status s = out.Flush(tx_fd); !s.ok() && !GoesOn(hooks, out, s)) return s;
    if (engine.finished()) break;

    std::vector<int> fds = hooks.rx_fds();
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    Duration wait = std::clamp<Duration>(engine.NextDeadline() - MonotonicNow(), Duration(0),
                                         milliseconds(100));
    timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000),
                static_cast<long>(wait.count() % 1'000'000'000)};
    ppoll(pfds.data(), pfds.size(), &ts, nullptr);
    for (const pollfd& p : pfds) {
      if (!(p.revents & POLLIN)) continue;
      Time at = MonotonicNow();
      Status s = DrainSocket(p.fd, [&](const Endpoint& from, std::span<const std::uint8_t> bytes) {
        engine.OnDatagram(at, from, bytes);
      });
      if (!s.ok()) return s;
    }
    if (hooks.on_turn) hooks.on_turn(MonotonicNow());
  }
  return Status::Ok();
}

}  // namespace ardus::net
