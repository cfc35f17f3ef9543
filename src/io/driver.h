// The I/O driver: runs a sans-IO engine (Sender or Receiver) over real UDP
// sockets until it finishes. Each turn it reads CLOCK_MONOTONIC, sends
// everything PollTransmit() hands out in sendmmsg batches, sleeps in ppoll()
// until the engine's next deadline (nanosecond precision, at most 100 ms so
// that `stop` is seen), the next datagram or a signal, drains every readable
// socket into OnDatagram(), answers the engine's join request if it made one
// (an engine with TakeJoinRequest(), as Receiver has), and calls on_turn.
//
// Thread-safety: runs on the calling thread; `stop` may be set from a signal
// handler or another thread.
#pragma once

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <optional>
#include <vector>

#include "ardus/transmit.h"
#include "common/status.h"
#include "common/time.h"
#include "io/udp.h"

namespace ardus::net {

Time MonotonicNow();  // CLOCK_MONOTONIC

// Where group destinations go.
struct Routes {
  Endpoint control;  // control group:port
  Endpoint data;     // data group:port
};

struct LoopHooks {
  std::function<std::vector<int>()> rx_fds;  // asked every turn: sockets may be added
  // The engine asks to receive the multicast group:port `group`: open a
  // socket for it (and add it to rx_fds) or say why not. The status goes
  // back to the engine (OnJoined); an error fails what asked, not the loop.
  // Unset: every join fails with kLocalIo.
  std::function<Status(const Endpoint& group)> join_group;
  // Progress, or a limit of the program's own; may be empty. An error ends
  // the loop with that status (e.g. kTimeout).
  std::function<Status(Time)> on_turn;
  const std::atomic<bool>* stop = nullptr;  // set it to end the loop with kCancelled
  // A send to `to` failed (the rest of that batch is lost too). Returns true
  // to go on as after a loss; unset or false ends the loop with the error.
  // Unicast replies go where a peer's datagram came from, which a peer can
  // forge: a sender's to its groups are the ones that must not fail.
  std::function<bool(const Status&, const Endpoint& to)> on_send_error;
};

inline bool GoesOn(const LoopHooks& hooks, const BatchSender& out, const Status& send_error) {
  return hooks.on_send_error && hooks.on_send_error(send_error, out.failed_destination());
}

// An engine that needs a group joined before it may speak asks between turns.
template <typename Engine>
void AnswerJoinRequest(Engine& engine, const LoopHooks& hooks) {
  if constexpr (requires { engine.TakeJoinRequest(); }) {
    if (std::optional<Endpoint> group = engine.TakeJoinRequest()) {
      engine.OnJoined(MonotonicNow(),
                      hooks.join_group
                          ? hooks.join_group(*group)
                          : Status::Error(ErrorKind::kLocalIo, "this program joins no groups"));
    }
  }
}

// An engine that seals in batches (SecureSender) seals each batch in one
// loop just before it is sent, unless ARDUS_NO_BATCH_SEAL=1 (for
// measurements): then each packet is sealed as it is handed out.
template <typename Engine>
void SealBatch(Engine& engine) {
  if constexpr (requires { engine.SealDeferred(); }) engine.SealDeferred();
}

template <typename Engine>
void StartBatchSealing(Engine& engine) {
  if constexpr (requires { engine.set_deferred_sealing(true); })
    engine.set_deferred_sealing(!std::getenv("ARDUS_NO_BATCH_SEAL"));
}

// Errors: kLocalIo from a socket, with the hint to act on (a failed send only
// when on_send_error does not take it; a failed receive always), kCancelled
// once `stop` is set, or the error on_turn returned.
template <typename Engine>
Status Drive(Engine& engine, const Routes& routes, int tx_fd, const LoopHooks& hooks) {
  BatchSender out;
  StartBatchSealing(engine);
  // Whatever way the loop ends, nothing may stay deferred into `out`'s
  // buffers: they go when it does.
  struct StopBatchSealing {
    Engine& engine;
    ~StopBatchSealing() {
      if constexpr (requires { engine.set_deferred_sealing(false); })
        engine.set_deferred_sealing(false);
    }
  } stop_batch_sealing{engine};
  while (!engine.finished()) {
    if (hooks.stop && hooks.stop->load())
      return Status::Error(ErrorKind::kCancelled, "interrupted");
    Time now = MonotonicNow();
    while (auto t = engine.PollTransmit(now, out.Next())) {
      Endpoint to = t->destination == Destination::kPeer        ? t->peer
                    : t->destination == Destination::kDataGroup ? routes.data
                                                                : routes.control;
      if (out.size() + 1 == BatchSender::kBatch) SealBatch(engine);  // Add sends a full batch
      if (Status s = out.Add(t->size, to, tx_fd); !s.ok() && !GoesOn(hooks, out, s)) return s;
    }
    SealBatch(engine);
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
    AnswerJoinRequest(engine, hooks);
    if (hooks.on_turn) {
      if (Status s = hooks.on_turn(MonotonicNow()); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace ardus::net
