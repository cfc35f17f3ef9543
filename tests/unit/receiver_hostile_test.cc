// The receiver engine against datagrams a hostile sender, or a third party on
// the link, would send: ranges and counts far beyond the session's layout,
// forged END, a unicast data group, huge sizes, a huge announced manifest and
// then silence. Each test drives one Receiver by hand as a sender would.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "ardus/receiver.h"
#include "support/memory_content.h"
#include "support/null_store.h"

// The largest single allocation since the last reset: the tests assert that
// what a peer announces is not allocated before it is checked.
namespace {
std::atomic<std::size_t> g_largest_allocation{0};
}  // namespace

// Out of line, so that the compiler does not see malloc meet delete.
__attribute__((noinline)) void* operator new(std::size_t n) {
  std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ardus::testing {
namespace {

const Endpoint kSender{0x0A000001, wire::kFeedbackPort};
const Endpoint kStranger{0x0A000063, wire::kFeedbackPort};
constexpr std::uint32_t kSession = 0x5EED0001;
constexpr std::size_t kSymbol = wire::kDefaultSymbolSize;

// A disk of 1 TB free: large sessions fit, absurd ones do not.
NullStore OneTerabyteFree() {
  NullStore s;
  s.free_bytes = std::uint64_t{1} << 40;
  return s;
}

class HostileInput : public ::testing::Test {
 protected:
  // One file of `size` bytes: blocks 1.. after the manifest's block 0.
  void Start(Manifest manifest, ReceiverConfig config = {}) {
    manifest_ = std::move(manifest);
    manifest_bytes_ = EncodeManifest(manifest_);
    config.receiver_id = 0xBEEF;
    receiver_ = std::make_unique<Receiver>(config, store_);
    Send(Announcement(manifest_bytes_.size(), ComputeSha256(manifest_bytes_)));
  }
  static wire::Announce Announcement(std::uint64_t manifest_size, const Sha256& sha) {
    wire::Announce a;
    a.data_group = 0xEFFF0B11;
    a.data_port = wire::kDataPort;
    a.feedback_port = wire::kFeedbackPort;
    a.symbol_size = kSymbol;
    a.block_symbols = wire::kDefaultBlockSymbols;
    a.manifest_size = manifest_size;
    a.manifest_sha256 = sha;
    return a;
  }
  // The manifest's source symbols, as DATA for block 0 (it fits one block).
  void SendManifest() {
    for (std::size_t esi = 0; esi * kSymbol < manifest_bytes_.size(); ++esi) {
      std::vector<std::uint8_t> symbol(kSymbol, 0);
      const std::size_t n = std::min(kSymbol, manifest_bytes_.size() - esi * kSymbol);
      std::copy_n(manifest_bytes_.begin() + static_cast<std::ptrdiff_t>(esi * kSymbol), n,
                  symbol.begin());
      SendData(0, static_cast<std::uint16_t>(esi), symbol);
    }
  }
  void SendData(std::uint32_t block, std::uint16_t esi, std::span<const std::uint8_t> symbol,
                Endpoint from = kSender) {
    Send(wire::Data{block, esi, seq_++, symbol}, from);
  }
  void Send(wire::Body body, Endpoint from = kSender, std::uint32_t session = kSession) {
    std::vector<std::uint8_t> buf(wire::kMaxDatagram);
    const std::size_t n = wire::Encode(wire::Packet{session, std::move(body)}, buf);
    ASSERT_GT(n, 0u);
    receiver_->OnDatagram(now_, from, {buf.data(), n});
    if (receiver_->TakeJoinRequest()) receiver_->OnJoined(now_, Status::Ok());
  }
  // Everything the receiver sends until `now`, decoded.
  std::vector<wire::Body> Drain(Time now) {
    now_ = now;
    std::vector<wire::Body> out;
    std::vector<std::uint8_t> buf(wire::kMaxDatagram);
    while (auto t = receiver_->PollTransmit(now_, buf)) {
      EXPECT_EQ(t->peer, kSender);
      out.push_back(wire::Decode({buf.data(), t->size}).value().body);
    }
    return out;
  }
  template <typename T>
  static std::vector<T> Only(const std::vector<wire::Body>& bodies) {
    std::vector<T> out;
    for (const auto& b : bodies) {
      if (const T* t = std::get_if<T>(&b)) out.push_back(*t);
    }
    return out;
  }

  NullStore store_ = OneTerabyteFree();
  Manifest manifest_;
  std::vector<std::uint8_t> manifest_bytes_;
  std::unique_ptr<Receiver> receiver_;
  Time now_{0};
  std::uint16_t seq_ = 0;
};

// Issue 15, 2: a POLL for blocks [0, 2^32-1) and an ADVERT over that range
// ended in std::bad_alloc, the ADVERT expanded block by block. Both before
// and after the manifest decodes, the NAK must name only blocks the session
// has, and the plan must cost nothing.
TEST_F(HostileInput, RangesBeyondTheLayoutAreCutToIt) {
  for (bool manifest_first : {true, false}) {
    SCOPED_TRACE(manifest_first ? "after the manifest" : "before the manifest");
    Start(PatternManifest({2'000'000}));  // blocks 1..7
    if (manifest_first) SendManifest();
    g_largest_allocation = 0;
    Send(wire::Poll{7, 0, 0xFFFFFFFF, 0, 1});
    Send(wire::Advert{7, {{0, 0xFFFFFFFE, 1}}, {{0xFFFFFFF0, 5}, {0, 9}}});
    if (!manifest_first) SendManifest();
    std::vector<wire::Nak> naks = Only<wire::Nak>(Drain(now_ + milliseconds(1)));
    EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 20);
    ASSERT_EQ(receiver_->state(), Receiver::State::kReceiving);
    ASSERT_EQ(naks.size(), 1u);
    EXPECT_EQ(naks[0].needs, (std::vector<wire::NeedRange>{{1, 7, wire::kWholeBlock}}));
  }
}

// Overlapping planned ranges: a block is covered by the largest deficit any
// of them plans for it.
TEST_F(HostileInput, AdvertisedPlansAreTheLargestCoveringRange) {
  Start(PatternManifest({2'000'000}));
  SendManifest();
  const Layout layout({manifest_bytes_.size(), 2'000'000}, kSymbol, wire::kDefaultBlockSymbols);
  std::vector<std::uint8_t> symbol(kSymbol, 0);
  for (std::uint32_t b = 1; b <= 4; ++b) {  // each lacks 5 symbols (file data is never checked)
    for (std::uint16_t esi = 5; esi < layout.Block(b).k; ++esi) SendData(b, esi, symbol);
  }
  Send(wire::Poll{9, 1, 5, 0, 1});
  Send(wire::Advert{9, {{1, 4, 3}, {2, 1, 6}, {4, 1, 5}}, {}});
  std::vector<wire::Nak> naks = Only<wire::Nak>(Drain(now_ + milliseconds(1)));
  ASSERT_EQ(naks.size(), 1u);
  EXPECT_EQ(naks[0].needs, (std::vector<wire::NeedRange>{{1, 1, 5}, {3, 1, 5}}));
}

// DATA naming blocks and windows far beyond the layout, and every ESI.
TEST_F(HostileInput, DataIndexesBeyondTheLayoutAreBounded) {
  Start(PatternManifest({2'000'000}));
  std::vector<std::uint8_t> symbol(kSymbol, 7);
  for (std::uint32_t block : {0xFFFFFFFFu, 0xFFFFFFF0u, 9u, 1u}) {
    for (std::uint16_t esi : {0, 199, 254, 256, 0xFFFF}) SendData(block, esi, symbol);
  }
  SendManifest();
  for (std::uint32_t block : {0xFFFFFFFFu, 0xFFFFFFF0u, 9u, 3u, 1u}) {
    for (std::uint16_t esi : {0, 199, 254, 256, 0xFFFF}) SendData(block, esi, symbol);
  }
  Drain(now_ + milliseconds(1));
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
  EXPECT_GT(receiver_->malformed(), 0u);  // window symbols naming no window start
}

// Issue 15, 4 (engine): an ANNOUNCE whose data group is not multicast is
// malformed: dropped, counted, and no JOIN.
TEST_F(HostileInput, AnnounceWithAUnicastDataGroupIsMalformed) {
  receiver_ = std::make_unique<Receiver>(ReceiverConfig{}, store_);
  wire::Announce a = Announcement(100, {});
  a.data_group = 0x0A000001;  // 10.0.0.1
  Send(a);
  EXPECT_EQ(receiver_->malformed(), 1u);
  EXPECT_EQ(receiver_->state(), Receiver::State::kIdle);
  EXPECT_TRUE(Drain(now_).empty());
  a.data_group = 0xEFFF0B11;
  Send(a);
  EXPECT_EQ(Only<wire::Join>(Drain(now_)).size(), 1u);
}

// Issue 15, 5: an END while receiving made the receiver finish without a
// DONE, so the sender waited out its timeout. DONE now says the session
// failed and why; and only the announcing sender's END counts.
TEST_F(HostileInput, EndBeforeCompletionIsReportedInDone) {
  Start(PatternManifest({2'000'000}));
  SendManifest();
  Drain(now_ + milliseconds(1));
  Send(wire::End{}, kStranger);  // a third party's END is not the sender's
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
  EXPECT_EQ(receiver_->foreign(), 1u);
  Send(wire::End{});
  std::vector<wire::Done> done = Only<wire::Done>(Drain(now_ + milliseconds(1)));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, wire::DoneStatus::kFailed);
  EXPECT_NE(done[0].reason.find("ended by sender"), std::string::npos) << done[0].reason;
  EXPECT_EQ(store_.aborts, 1);
  Send(wire::DoneAck{0xBEEF});
  EXPECT_TRUE(receiver_->finished());
}

// Everything but the announcing sender's datagrams is foreign: a third
// party's DATA, POLL and ADVERT change nothing.
TEST_F(HostileInput, OnlyTheAnnouncingSenderSpeaksForTheSession) {
  Start(PatternManifest({1000}));
  for (std::size_t esi = 0; esi * kSymbol < manifest_bytes_.size(); ++esi) {
    SendData(0, static_cast<std::uint16_t>(esi), std::vector<std::uint8_t>(kSymbol, 0), kStranger);
  }
  Send(wire::Poll{1, 0, 2, 0, 1}, kStranger);
  Send(wire::DoneAck{0xBEEF}, kStranger);
  EXPECT_EQ(receiver_->foreign(), manifest_bytes_.size() / kSymbol + 3);
  EXPECT_EQ(receiver_->data_received(), 0u);
  EXPECT_TRUE(Only<wire::Nak>(Drain(now_ + milliseconds(1))).empty());
  EXPECT_EQ(store_.begins, 0);
}

// Issue 15, 6: a 10^15-byte entry made the receiver build a bit per block
// (430 MB) before the store's free-space check refused it. Sessions over the
// block limit are refused on their layout alone; others by the store, before
// any per-block state exists.
TEST_F(HostileInput, HugeEntriesAreRefusedBeforeAllocating) {
  const std::pair<std::uint64_t, const char*> cases[] = {
      {1'000'000'000'000'000, "session too large"},
      {std::uint64_t{1} << 50, "session too large"},
      {~std::uint64_t{0}, "session too large"},
      {50'000'000'000'000, "bytes free"},  // 1.7e8 blocks: 21 MB of state, 1 TB free
  };
  for (const auto& [size, reason] : cases) {
    SCOPED_TRACE(size);
    Manifest m = PatternManifest({1000});
    m.entries[0].size = size;
    store_.begins = 0;
    Start(m);
    g_largest_allocation = 0;
    SendManifest();
    EXPECT_LT(g_largest_allocation.load(), std::size_t{8} << 20);
    std::vector<wire::Done> done = Only<wire::Done>(Drain(now_ + milliseconds(1)));
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, wire::DoneStatus::kFailed);
    EXPECT_NE(done[0].reason.find(reason), std::string::npos) << done[0].reason;
    EXPECT_EQ(store_.begins, std::string(reason) == "bytes free" ? 1 : 0);
  }
}

// Issue 15, 8: an ANNOUNCE for a 256 MiB manifest allocated it all at once,
// and silence then held the receiver for the 30 s sender timeout. Memory
// now follows what arrives, and a sender silent before any DATA is given up
// after quiet_timeout.
TEST_F(HostileInput, AnnouncedManifestCostsOnlyWhatArrives) {
  receiver_ = std::make_unique<Receiver>(ReceiverConfig{}, store_);
  g_largest_allocation = 0;
  Send(Announcement(kMaxManifestBytes, {}));
  EXPECT_EQ(Only<wire::Join>(Drain(now_)).size(), 1u);
  EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 20);
  EXPECT_EQ(receiver_->manifest_memory(), 0u);
  // The manifest's last block, complete: the pages it covers, no more.
  const Layout layout({kMaxManifestBytes}, kSymbol, wire::kDefaultBlockSymbols);
  const BlockInfo last = layout.Block(layout.block_count() - 1);
  for (std::uint16_t esi = 0; esi < last.k; ++esi) {
    SendData(layout.block_count() - 1, esi, std::vector<std::uint8_t>(kSymbol, 1));
  }
  EXPECT_GT(receiver_->manifest_memory(), 0u);
  EXPECT_LE(receiver_->manifest_memory(), last.bytes + 2 * PagedBuffer::kPageBytes);
  EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 20);
  // Silence: DATA was heard, so the usual timeout applies to this one.
  Drain(now_ + seconds(29));
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
  Drain(now_ + seconds(2));
  EXPECT_TRUE(receiver_->finished());

  receiver_ = std::make_unique<Receiver>(ReceiverConfig{}, store_);
  now_ = Time(0);
  Send(Announcement(kMaxManifestBytes, {}));
  EXPECT_LE(receiver_->NextDeadline(), now_ + seconds(3));
  Drain(now_ + milliseconds(2900));
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
  Drain(now_ + milliseconds(200));
  ASSERT_TRUE(receiver_->finished());
  EXPECT_EQ(receiver_->result().kind(), ErrorKind::kTimeout);
}

// A sender waiting for receivers repeats ANNOUNCE; that is not silence, for
// however long it waits (--wait may be longer than the sender timeout).
TEST_F(HostileInput, RepeatedAnnouncesKeepAWaitingSessionAlive) {
  Start(PatternManifest({1000}));
  for (int i = 0; i < 400; ++i) {  // 40 s
    Drain(now_ + milliseconds(100));
    Send(Announcement(manifest_bytes_.size(), ComputeSha256(manifest_bytes_)));
  }
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
}

// Parity held beyond repair_memory_limit: dropped for blocks holding none,
// still taken by a block that holds some (so that it can complete).
TEST_F(HostileInput, ParityBeyondTheRepairBudgetIsDropped) {
  ReceiverConfig config;
  config.repair_memory_limit = 4 * kSymbol;
  Start(PatternManifest({2'000'000}), config);
  SendManifest();
  std::vector<std::uint8_t> symbol(kSymbol, 0);
  for (std::uint32_t b = 1; b <= 7; ++b) SendData(b, 200, symbol);  // 4 held, 3 dropped
  EXPECT_EQ(receiver_->over_limit(), 3u);
  SendData(1, 201, symbol);  // block 1 holds parity already: taken
  EXPECT_EQ(receiver_->over_limit(), 3u);
  for (std::uint16_t esi = 256; esi < 260; ++esi)
    SendData(1, esi, symbol);  // a new window: dropped
  EXPECT_EQ(receiver_->over_limit(), 7u);
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
}

}  // namespace
}  // namespace ardus::testing
