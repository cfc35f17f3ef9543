// Notify as a REX service (TCP 116): each request's body decoded by its codec
// (notify/notify_requests.h), the Broker called, the reply encoded. Its
// pushes are the broker's deliveries (kEvent, preceded by kGap when events
// were lost) and type changes (kTypeChange). Sans-IO like the Broker.
//
// Commit stores nothing: it drops the turn's mutations. rexd's
// JournaledNotify (src/rexd/journaled_services.h) overrides it to write them
// to the NotifyJournal.
//
// Thread-safety: none; used by rexd's single event-loop thread.
#pragma once

#include <cstdint>

#include "notify/broker.h"
#include "services/service.h"

namespace ardus::services {

class NotifyService : public Service {
 public:
  explicit NotifyService(notify::Broker& broker) : broker_(broker) {}

  Handled Handle(std::int64_t now_ms, const Caller& caller, const rex::Frame& request) override;
  void Tick(std::int64_t now_ms) override { broker_.Tick(now_ms); }
  std::int64_t NextDeadline() const override { return broker_.NextDeadline(); }
  void DropOwner(std::uint64_t owner) override { broker_.DropOwner(owner); }
  void Reauthorize(const Caller&) override {}  // authz fills this in
  Status Commit() override;
  void TakePushes(PushSink& sink) override;

 protected:
  notify::Broker& broker() { return broker_; }

 private:
  notify::Broker& broker_;
};

}  // namespace ardus::services
