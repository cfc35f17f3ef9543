// The Trader as a REX service (TCP 124): each request's body decoded by its
// codec (trader/trader_requests.h), the engine called, the reply encoded;
// watch events become kWatchEvent pushes. Sans-IO like the Trader itself.
//
// Commit stores nothing: it drops the turn's mutations. rexd's
// JournaledTrader (src/rexd/journaled_services.h) overrides it to write them
// to the TraderJournal.
//
// Thread-safety: none; used by rexd's single event-loop thread.
#pragma once

#include <cstdint>

#include "services/service.h"
#include "trader/trader.h"

namespace ardus::services {

class TraderService : public Service {
 public:
  explicit TraderService(trader::Trader& trader) : trader_(trader) {}

  Handled Handle(std::int64_t now_ms, const Caller& caller, const rex::Frame& request) override;
  void Tick(std::int64_t now_ms) override { trader_.Tick(now_ms); }
  std::int64_t NextDeadline() const override { return trader_.NextDeadline(); }
  void DropOwner(std::uint64_t owner) override { trader_.DropOwner(owner); }
  void Reauthorize(const Caller&) override {}  // authz fills this in
  Status Commit() override;
  void TakePushes(PushSink& sink) override;

 protected:
  trader::Trader& trader() { return trader_; }

 private:
  trader::Trader& trader_;
};

}  // namespace ardus::services
