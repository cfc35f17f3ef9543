// Drives a services::Service as rexd's loop does, without sockets: requests
// go in as frames, replies come back from Handle, and a turn ends with Commit
// and then TakePushes, whose pushes the harness keeps.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "rex/body.h"
#include "services/service.h"

namespace ardus::testing {

struct Pushed {
  std::uint64_t owner;
  std::uint16_t method;
  std::uint32_t id;
  std::vector<std::uint8_t> body;
};

class ServiceHarness final : public services::PushSink {
 public:
  explicit ServiceHarness(services::Service& service) : service_(service) {}

  // The identity `owner`'s requests come from from now on (it must outlive
  // the harness's use of it). Unset owners are an anonymous admin, as in
  // rexd without --auth.
  void SetIdentity(std::uint64_t owner, const auth::Identity* identity) {
    identities_[owner] = identity;
  }

  // One request from `owner`, its body as given.
  services::Handled Raw(std::uint64_t owner, std::uint16_t method, std::vector<std::uint8_t> body);
  // One request encoded by its protocol's codec.
  template <class Method, class Request>
  services::Handled Call(std::uint64_t owner, Method method, const Request& request) {
    return Raw(owner, static_cast<std::uint16_t>(method), rex::EncodeBody(request));
  }
  // One request whose body the caller wrote by hand (malformed ones, say).
  template <class Method>
  services::Handled Call(std::uint64_t owner, Method method, const rex::BodyWriter& body) {
    auto b = body.bytes();
    return Raw(owner, static_cast<std::uint16_t>(method), {b.begin(), b.end()});
  }
  // Commits, then collects the turn's pushes (kept in pushes()).
  Status EndTurn();
  // Moves the clock on and ticks the service.
  void Advance(std::int64_t ms);

  std::vector<Pushed> TakePushes() { return std::move(pushes_); }
  std::int64_t now() const { return now_; }

  void Push(std::uint64_t owner, std::uint16_t method, std::uint32_t id,
            std::span<const std::uint8_t> body) override {
    pushes_.push_back({owner, method, id, {body.begin(), body.end()}});
  }

 private:
  services::Service& service_;
  std::int64_t now_ = 1'700'000'000'000;  // Unix ms
  std::uint32_t next_id_ = 1;
  std::vector<Pushed> pushes_;
  std::map<std::uint64_t, const auth::Identity*> identities_;
};

// The reply's body, parsed; fails the test (via the returned error) if the
// request was refused.
Result<rex::BodyReader, rex::Error> ReplyBody(const services::Handled& h);

}  // namespace ardus::testing
