// Receiver: the sans-IO engine that receives one session into a ContentStore.
//
// It waits for an ANNOUNCE, joins by unicast, collects DATA symbols and
// decodes a block as soon as it holds k distinct symbols. An incomplete
// block's symbols are held in memory, and the complete block goes to the store
// in one write, so decoding reads nothing back. Blocks are written in file
// order: one that completes while an earlier block of its file is incomplete
// stays in memory until that one completes, so the store can hash each file
// as it is written instead of reading it back. Past block_memory_limit, the
// source symbols of further blocks go straight to the store and are read back
// to decode; parity symbols are always held in memory. Object 0 (the
// manifest) is assembled in memory, checked against the announced SHA-256 and
// handed to ContentStore::Begin(). Each file is committed (verified and
// published by the store) when its last block completes.
//
// Window symbols (window_code.h) are held per repair window until, with the
// parity held for its incomplete blocks, there are as many equations as
// missing source symbols; then the window's system is solved at once, from
// the sources held in memory or read back from the store.
//
// On POLL it schedules a NAK after a random backoff listing, per block of the
// polled range (and of earlier ranges whose POLL it lost), how many symbols
// it still lacks, and per repair window with needs how many window symbols it
// holds; it leaves out blocks that the sender's ADVERT already plans to
// repair enough, and windows whose advertised window symbols cover what it
// lacks beyond that parity, and sends nothing if that leaves nothing. It heartbeats
// STATUS, reports DONE (ok, or failed with the store's error; again at once on
// a POLL while unacknowledged) and ends on DONE_ACK, or on END once it has
// reported. An END while it is still receiving fails the session, and DONE
// tells the sender so.
//
// Hostile input. The session is the first valid ANNOUNCE's, from its source
// address: any other datagram of the session from another address is counted
// as foreign and ignored. Every range, count and index a datagram carries is
// bounded by the session's layout before it is used; ranges are kept as
// ranges, never expanded block by block beyond the layout. Memory a peer can
// make it hold is bounded: the manifest is allocated as its blocks arrive
// (PagedBuffer), a decoded manifest is refused before any per-block state is
// built if the session exceeds max_session_blocks or the store's free space,
// and early DATA, incomplete blocks, parity and window symbols held, pending
// NAKs and the plans ADVERTs carry each have a limit below. A sender silent
// for quiet_timeout before its first DATA, or while the receiver reports,
// ends the session (a live sender repeats ANNOUNCE at least every second).
//
// Driving it: as for Sender. Datagrams from the control group, the data group
// and the unicast socket all go to OnDatagram(). The data group is known only
// from the ANNOUNCE, so the receiver asks for it: once per accepted session,
// TakeJoinRequest() hands out the group to join, and until OnJoined() answers,
// PollTransmit() holds back all it would send, its JOIN included, so that
// the sender learns of no receiver that cannot yet hear its DATA.
//
// Thread-safety: none. The ContentStore must outlive the Receiver.
#pragma once

#include <bitset>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ardus/fec.h"
#include "ardus/layout.h"
#include "ardus/loss_meter.h"
#include "ardus/manifest.h"
#include "ardus/paged_buffer.h"
#include "ardus/store.h"
#include "ardus/transmit.h"
#include "ardus/window_code.h"
#include "ardus/wire.h"
#include "common/status.h"
#include "common/time.h"

namespace ardus {

struct ReceiverConfig {
  std::uint32_t receiver_id = 1;           // nonzero, unique in the group (random)
  Duration heartbeat = milliseconds(500);  // STATUS interval while in a session
  // DONE is resent until acknowledged: first after done_retry, each wait
  // twice the last, at most done_retry_max; after done_attempts, give up.
  Duration done_retry = milliseconds(20);
  Duration done_retry_max = seconds(1);
  int done_attempts = 25;
  Duration sender_timeout = seconds(30);  // sender silence that fails the session
  // Sender silence that ends the session before its first DATA, or ends the
  // reporting of its outcome: a live sender repeats ANNOUNCE every 100 ms
  // while receivers join and every second during the transfer, so a forged
  // ANNOUNCE (or a sender gone after END) ties the receiver up only this long.
  Duration quiet_timeout = seconds(3);
  std::uint32_t max_nak_datagrams = 16;  // per poll; the rest waits for the next poll
  std::size_t early_data_limit = 4096;   // DATA held until the manifest decodes
  // A manifest laying out more blocks is refused (per-block state is a bit
  // per block: 32 MiB; 78 TB at the default block size).
  std::uint32_t max_session_blocks = 1u << 28;
  // Incomplete blocks with state (about 120 bytes each, beyond their
  // buffers): symbols of further blocks are dropped, as if lost.
  std::size_t max_incomplete_blocks = std::size_t{1} << 20;
  // Parity and window symbols held while their block or window is incomplete.
  // Beyond it, such a symbol for a block or window holding none is dropped, as
  // if lost; those already holding some still take more, so they complete.
  std::size_t repair_memory_limit = std::size_t{64} << 20;
  // Memory for incomplete blocks' source symbols (about 290 KB per block at
  // 200 x 1456 bytes). It covers the blocks awaiting repair at full rate; a
  // smaller budget costs read-backs, not correctness.
  std::size_t block_memory_limit = std::size_t{64} << 20;
  // With a rate-adaptive sender, a STATUS goes out as soon as loss over at
  // least 64 DATA datagrams exceeds this path's usual loss by 2 points, but
  // no more often than this.
  Duration loss_report_interval = milliseconds(20);
  std::set<std::uint32_t> ignore_sessions;  // sessions already finished here
  std::uint64_t seed = 1;                   // NAK backoff randomness; deterministic
};

class Receiver {
 public:
  enum class State { kIdle, kReceiving, kReporting, kFinished };

  Receiver(ReceiverConfig config, ContentStore& store);

  void OnDatagram(Time now, const Endpoint& from, std::span<const std::uint8_t> datagram);
  // As OnDatagram, for a packet its caller decoded (SecureReceiver, which
  // decrypts DATA symbols straight into SourceSlot()).
  void OnPacket(Time now, const Endpoint& from, const wire::Packet& packet);
  // Where source symbol `esi` of `block` (`size` bytes) will be kept when it
  // arrives: its slot in the block's buffer, while that buffer exists and
  // the symbol is not held yet; nullptr otherwise. Changes nothing. A caller
  // that decrypts a DATA packet may write its symbol there and then pass a
  // Data whose symbol is that slot: the engine then copies nothing. The slot
  // of a symbol not held is never read, so a packet that then fails to open
  // may leave anything in it.
  std::uint8_t* SourceSlot(std::uint32_t block, std::uint16_t esi, std::size_t size);
  // The data group (address and port) the session's DATA goes to, once per
  // accepted session, after the OnDatagram() that accepted its ANNOUNCE;
  // nullopt otherwise (also once the session failed before it was taken).
  std::optional<Endpoint> TakeJoinRequest();
  // The I/O layer's answer to the join request. Ok: what waited goes out at
  // the next PollTransmit(). An error fails this session alone, as Abandon()
  // does, with `status` as the reason DONE carries. No effect unless a join
  // is awaited.
  void OnJoined(Time now, Status status);
  // Fails the session for a local reason the engine cannot see (the sender's
  // feedback address cannot be reached): the store is aborted and DONE tells
  // the sender why. No effect unless receiving.
  void Abandon(Time now, Status reason);
  std::optional<Transmit> PollTransmit(Time now, std::span<std::uint8_t> buf);
  Time NextDeadline() const;

  State state() const { return state_; }
  bool finished() const { return state_ == State::kFinished; }
  // After finished(): ok if every file was verified and published. Errors:
  // the store's (kNoSpace, kLocalIo, kUnsafePath, kIntegrity), kPeerProtocol
  // (bad manifest), kLimitExceeded (a session over max_session_blocks),
  // kTimeout (sender went silent), kLocalIo "session ended by sender before
  // completion", or the reason given to OnJoined() or Abandon().
  const Status& result() const { return result_; }
  std::uint32_t session_id() const { return session_; }
  const Endpoint& sender() const { return sender_; }  // its feedback address
  const wire::Announce& announce() const { return announce_; }
  const Manifest& manifest() const { return manifest_; }
  std::uint64_t bytes_done() const { return bytes_done_; }
  std::uint64_t data_received() const { return data_received_; }
  std::uint64_t malformed() const { return malformed_; }
  std::uint64_t foreign() const { return foreign_; }
  std::uint64_t duplicates() const { return duplicates_; }
  // Symbols dropped because a memory limit of ReceiverConfig was reached.
  std::uint64_t over_limit() const { return over_limit_; }
  // Bytes of manifest held while it is assembled.
  std::size_t manifest_memory() const { return manifest_bytes_.allocated(); }

 private:
  struct BlockState {
    std::bitset<256> seen;
    std::uint16_t have = 0;
    // Source symbol esi at esi * symbol_size; empty when written through.
    std::vector<std::uint8_t> source;
    std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> parity;
  };
  struct PendingNak {
    std::uint32_t poll_id = 0, first = 0, end = 0;  // end: within the layout once known
    Time fire_at{0};
    std::vector<wire::NeedRange> planned;                    // from ADVERTs, within [first, end)
    std::map<std::uint32_t, std::uint16_t> planned_windows;  // window -> window symbols
  };
  // Window symbols held for one repair window, by ESI.
  using WindowSymbols = std::map<std::uint16_t, std::vector<std::uint8_t>>;
  void OnAnnounce(Time now, const Endpoint& from, std::uint32_t session, const wire::Announce& a);
  void OnData(const wire::Data& d);
  void PlaceWindowSymbol(std::uint32_t first, std::uint16_t esi,
                         std::span<const std::uint8_t> symbol);
  Status TrySolveWindow(std::uint32_t first);
  Result<WindowProblem> DescribeWindow(std::uint32_t first, const WindowSymbols& held);
  Status AcceptRecovered(std::uint32_t block, const RecoveredBlock& recovered);
  std::size_t WindowDeficit(std::uint32_t start, std::uint32_t end) const;
  bool WindowMayNeedSolving(std::uint32_t block) const;
  void ReleaseOldestKept();  // precondition: kept_blocks_ not empty
  bool LossReportDue(Time now) const;
  void PlaceData(std::uint32_t block, std::uint16_t esi, std::span<const std::uint8_t> symbol);
  void OnPoll(Time now, const wire::Poll& p);
  void OnAdvert(const wire::Advert& a);
  Status AcceptSymbol(std::uint32_t block, const BlockInfo& info, std::uint16_t esi,
                      std::span<const std::uint8_t> symbol);
  bool RepairFits() const;  // one more parity or window symbol within repair_memory_limit
  void EraseWindow(std::map<std::uint32_t, WindowSymbols>::iterator it);
  std::size_t BuffersInUse() const;          // block buffers held, kept or waiting
  bool BlocksFit(std::size_t blocks) const;  // within block_memory_limit
  Status MakeRoomForBlock();
  std::unordered_map<std::uint32_t, BlockState>::iterator OpenBlock(std::uint32_t block);
  bool WriteMustWait(std::uint32_t block, const BlockInfo& info) const;
  Status WriteWaitingBlocks(std::uint32_t object);
  Status WriteOldestWaiting();  // precondition: unwritten_ not empty
  void ReleaseBuffer(std::uint32_t block, std::vector<std::uint8_t> buffer);
  std::vector<std::uint8_t>* CompletedInMemory(std::uint32_t block);
  Status CompleteBlock(std::uint32_t block, const BlockInfo& info, BlockState& st);
  Status DecodeInPlace(const BlockInfo& info, const BlockState& st, std::uint8_t* base,
                       std::span<const std::uint8_t> missing);
  Status WriteObject(std::uint32_t object, std::uint64_t offset, std::span<const std::uint8_t> d);
  Status ReadObject(std::uint32_t object, std::uint64_t offset, std::span<std::uint8_t> out);
  Status FinishObject(std::uint32_t object);
  Status SettlePrefix(std::uint32_t object);
  Status OnManifest();
  Status BuildSessionLayout();
  bool FromSender(const Endpoint& from) const;
  Time SilenceLimit() const;
  void FireNak(Time now, const PendingNak& pending);
  void Succeed(Time now);
  void Fail(Time now, Status status);
  void StartReporting(Time now);
  void Queue(wire::Body body);
  std::uint16_t Deficit(std::uint32_t block) const;

  ReceiverConfig config_;
  ContentStore& store_;
  FecCodec fec_;
  std::mt19937_64 rng_;

  State state_ = State::kIdle;
  Status result_;
  std::uint32_t session_ = 0;
  wire::Announce announce_;
  Endpoint sender_;                       // its feedback address
  Endpoint sender_source_;                // where its datagrams come from: the ANNOUNCE's source
  std::optional<Endpoint> join_request_;  // asked, not yet taken
  bool awaiting_join_ = false;            // asked, not yet answered: nothing goes out
  Time last_from_sender_{0}, next_heartbeat_{0}, next_done_{0};
  int done_attempts_left_ = 0;
  Duration done_wait_{0};
  bool seen_data_ = false;

  Layout layout_;  // manifest-only until the manifest decodes, then complete
  bool have_manifest_ = false;
  PagedBuffer manifest_bytes_;  // object 0 as it arrives
  Manifest manifest_;
  std::vector<bool> block_done_;
  std::vector<std::uint32_t> blocks_left_;  // per object
  std::vector<std::uint32_t> first_open_;   // per object: its first block not yet done
  std::uint32_t first_incomplete_ = 0;      // every block before it is done
  std::size_t objects_left_ = 0;
  std::unordered_map<std::uint32_t, BlockState> blocks_;
  std::size_t held_blocks_ = 0;                          // blocks_ with a source buffer
  std::size_t repair_bytes_ = 0;                         // parity and window symbols held
  std::vector<std::vector<std::uint8_t>> spare_blocks_;  // released buffers, reused
  // Completed blocks' buffers, oldest first, kept within block_memory_limit
  // while an earlier block of their window is incomplete: a window solve
  // reads them instead of the store (a read-back of the whole window was a
  // copy of everything solved).
  std::deque<std::pair<std::uint32_t, std::vector<std::uint8_t>>> kept_blocks_;
  // Completed blocks not yet written, because an earlier block of their file
  // is incomplete. Within block_memory_limit; when it runs short, the oldest
  // is written out of order (the store then reads it back to hash it).
  std::map<std::uint32_t, std::vector<std::uint8_t>> unwritten_;
  std::deque<PendingNak> naks_;
  std::map<std::uint32_t, WindowSymbols> windows_;  // by window's first block
  std::vector<std::uint8_t> window_sources_;        // read-back buffer for a window solve
  std::optional<std::uint32_t> polled_upto_;        // end of the furthest range polled (or heard)
  // DATA for blocks beyond the manifest, which cannot be placed until it decodes.
  struct EarlyData {
    std::uint32_t block;
    std::uint16_t esi;
    std::vector<std::uint8_t> symbol;
  };
  std::vector<EarlyData> early_;

  std::deque<wire::Body> out_;
  wire::Done done_;
  std::uint64_t bytes_done_ = 0, data_received_ = 0;
  std::uint64_t malformed_ = 0, foreign_ = 0, duplicates_ = 0, over_limit_ = 0;
  LossMeter loss_;
  Time last_status_{0};
  Time now_{0};
};

}  // namespace ardus
