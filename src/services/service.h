// What rexd serves on one port: a REX service behind one interface. The
// server (src/rexd/server.h) runs any set of them, one loop turn at a time:
//
//   Handle each request it hands out fairly → Tick → Commit → (only if the
//   commit succeeded) TakePushes → write.
//
// A service is sans-IO: it takes `now_ms` (Unix milliseconds: lease and
// retention deadlines are wall-clock) and bytes, and hands out reply bodies
// and pushes already encoded. It owns no socket, clock or file; Commit is
// where a durable store joins in, supplied by the I/O layer (rexd's
// Journaled* services override it).
//
// Owners are the server's connection ids: unique across every service, never
// reused while the server runs.
//
// Thread-safety: none; one thread (rexd's event loop) calls everything.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "auth/permissions.h"
#include "common/status.h"
#include "rex/error_code.h"
#include "rex/frame.h"

namespace ardus::services {

// A reply body, or the error to answer with (the server sends ERROR).
using Reply = Result<std::vector<std::uint8_t>, rex::Error>;

// Who sent a request: the connection, and the identity it authenticated as
// (rexd without --auth: an anonymous admin). `identity` is never null and is
// valid during the call only: a service that must remember who did something
// (an offer's owner, a durable subscription's) keeps identity->name().
struct Caller {
  std::uint64_t owner = 0;
  const auth::Identity* identity = nullptr;
};

// One served request.
struct Handled {
  Reply reply;
  // What serving it cost beyond a plain request: the evaluation steps the
  // engine spent (the server's fair queueing charges them to the owner).
  std::uint64_t work = 0;
};

// Where a service hands its pushes. `body` is valid during the call only.
class PushSink {
 public:
  virtual void Push(std::uint64_t owner, std::uint16_t method, std::uint32_t id,
                    std::span<const std::uint8_t> body) = 0;

 protected:
  ~PushSink() = default;
};

class Service {
 public:
  virtual ~Service() = default;

  // Serves one request (kind kRequest; the server checked the framing) from
  // `caller`. A reply's error is the client's problem, reported to
  // it: kBadRequest for a body or field that does not decode,
  // kUnknownMethod for a method this service does not have, else what the
  // engine refused. Changes made here reach no client before Commit.
  virtual Handled Handle(std::int64_t now_ms, const Caller& caller, const rex::Frame& request) = 0;
  // Expires what has timed out (leases, retention, undelivered events).
  virtual void Tick(std::int64_t now_ms) = 0;
  // The earliest `now_ms` at which Tick has work (INT64_MAX if none).
  virtual std::int64_t NextDeadline() const = 0;
  // Connection `owner` is closing: forget its iterators, watches,
  // subscriptions and queues now.
  virtual void DropOwner(std::uint64_t owner) = 0;
  // This connection's identity changed (auth file reloaded): drop its
  // watches, subscriptions and durable attachments that it may no longer hold.
  virtual void Reauthorize(const Caller& caller) = 0;
  // Makes the turn's changes durable. Error: the store failed; the turn's
  // outcome is unknown and the engine's state is lost (rexd answers the turn
  // storage_failed and exits to reload). TraderService and NotifyService
  // store nothing: their Commit drops the turn's changes (tests, fuzzers).
  virtual Status Commit() = 0;
  // Hands every push the turn produced (watch events, deliveries, ...) to
  // `sink`, in order. Called only after a successful Commit.
  virtual void TakePushes(PushSink& sink) = 0;
};

// The reply to a request that returns nothing but success or an error: an
// empty map.
Reply Acknowledge(const rex::Ack& a);

}  // namespace ardus::services
