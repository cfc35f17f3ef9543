// The two REX services with their journals: Commit writes the turn's
// mutations to the SQLite store (one transaction each) instead of dropping
// them. Everything else is the sans-IO service's. What a failed Commit means
// is in trader_journal.h and notify_journal.h.
//
// The engine and the journal are the caller's and must outlive the service.
// Thread-safety: none; rexd's event-loop thread.
#pragma once

#include "rexd/notify_journal.h"
#include "rexd/trader_journal.h"
#include "services/notify_service.h"
#include "services/trader_service.h"

namespace ardus::rexd {

class JournaledTrader final : public services::TraderService {
 public:
  JournaledTrader(trader::Trader& trader, TraderJournal& journal)
      : TraderService(trader), journal_(journal) {}
  Status Commit() override {
    return journal_.Commit(trader().TakeMutations(), trader().next_offer_id());
  }

 private:
  TraderJournal& journal_;
};

class JournaledNotify final : public services::NotifyService {
 public:
  JournaledNotify(notify::Broker& broker, NotifyJournal& journal)
      : NotifyService(broker), journal_(journal) {}
  Status Commit() override { return journal_.Commit(broker().TakeMutations(), broker()); }

 private:
  NotifyJournal& journal_;
};

}  // namespace ardus::rexd
