// The receiver asks the I/O layer to join the announced data group: once per
// accepted session, before it says JOIN, and a join that fails fails the
// session alone, with the reason in DONE. Each test drives one Receiver by
// hand as a sender and an I/O layer would.
#include <gtest/gtest.h>

#include "ardus/receiver.h"
#include "support/memory_content.h"

namespace ardus::testing {
namespace {

const Endpoint kSender{0x0A000001, wire::kFeedbackPort};
const Endpoint kDataGroup{0xEFFF0B11, wire::kDataPort};
constexpr std::uint32_t kSession = 0x5EED0002;
constexpr std::uint32_t kReceiverId = 0xBEEF;

class JoinRequest : public ::testing::Test {
 protected:
  explicit JoinRequest(ReceiverConfig config = {}) {
    config.receiver_id = kReceiverId;
    receiver_ = std::make_unique<Receiver>(config, store_);
    manifest_ = EncodeManifest(PatternManifest({1000}));
  }
  wire::Announce Announcement() const {
    wire::Announce a;
    a.data_group = kDataGroup.ip;
    a.data_port = kDataGroup.port;
    a.feedback_port = kSender.port;
    a.symbol_size = wire::kDefaultSymbolSize;
    a.block_symbols = wire::kDefaultBlockSymbols;
    a.manifest_size = manifest_.size();
    a.manifest_sha256 = ComputeSha256(manifest_);
    return a;
  }
  void Send(wire::Body body, std::uint32_t session = kSession) {
    std::vector<std::uint8_t> buf(wire::kMaxDatagram);
    const std::size_t n = wire::Encode(wire::Packet{session, std::move(body)}, buf);
    ASSERT_GT(n, 0u);
    receiver_->OnDatagram(now_, kSender, {buf.data(), n});
  }
  // Everything the receiver sends at `now`, decoded.
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

  MemoryStore store_;
  std::vector<std::uint8_t> manifest_;
  std::unique_ptr<Receiver> receiver_;
  Time now_{seconds(1)};
};

TEST_F(JoinRequest, AskedOnceAndNothingSentUntilAnswered) {
  EXPECT_FALSE(receiver_->TakeJoinRequest());  // idle: no session to join
  Send(Announcement());
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
  std::optional<Endpoint> group = receiver_->TakeJoinRequest();
  ASSERT_TRUE(group);
  EXPECT_EQ(*group, kDataGroup);
  EXPECT_FALSE(receiver_->TakeJoinRequest());  // handed out once

  // Unanswered: no JOIN yet, and no deadline that would spin a driver.
  EXPECT_TRUE(Drain(now_ + milliseconds(10)).empty());
  EXPECT_GT(receiver_->NextDeadline(), now_);

  receiver_->OnJoined(now_, Status::Ok());
  std::vector<wire::Body> sent = Drain(now_);
  ASSERT_EQ(sent.size(), 1u);
  const auto* join = std::get_if<wire::Join>(&sent[0]);
  ASSERT_NE(join, nullptr);
  EXPECT_EQ(join->receiver_id, kReceiverId);
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
}

// A sender repeats ANNOUNCE while receivers join: each repeat is answered
// with a JOIN again (a JOIN may be lost), but asks no second join.
TEST_F(JoinRequest, RepeatedAnnounceAsksNoSecondJoin) {
  Send(Announcement());
  Send(Announcement());  // before the first request was answered
  ASSERT_TRUE(receiver_->TakeJoinRequest());
  EXPECT_FALSE(receiver_->TakeJoinRequest());
  receiver_->OnJoined(now_, Status::Ok());
  EXPECT_EQ(Drain(now_).size(), 2u);

  Send(Announcement());
  EXPECT_FALSE(receiver_->TakeJoinRequest());
  std::vector<wire::Body> sent = Drain(now_ + milliseconds(100));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<wire::Join>(sent[0]));
}

// The data group cannot be joined (no route, no such interface): that
// session fails, the store is aborted, and the sender learns why in DONE,
// after the JOIN that makes the receiver known to it.
TEST_F(JoinRequest, FailedJoinFailsTheSessionWithItsReasonInDone) {
  Send(Announcement());
  ASSERT_TRUE(receiver_->TakeJoinRequest());
  const Status failure = Status::Error(ErrorKind::kLocalIo,
                                       "cannot join multicast group 239.255.11.17: No such device");
  receiver_->OnJoined(now_, failure);
  EXPECT_EQ(receiver_->state(), Receiver::State::kReporting);
  EXPECT_EQ(receiver_->result().kind(), ErrorKind::kLocalIo);
  EXPECT_EQ(receiver_->result().message(), failure.message());
  EXPECT_TRUE(store_.aborted());

  std::vector<wire::Body> sent = Drain(now_);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<wire::Join>(sent[0]));
  const auto* done = std::get_if<wire::Done>(&sent[1]);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->status, wire::DoneStatus::kFailed);
  EXPECT_NE(done->reason.find("No such device"), std::string::npos) << done->reason;

  Send(wire::DoneAck{kReceiverId});
  EXPECT_TRUE(receiver_->finished());
  EXPECT_FALSE(receiver_->TakeJoinRequest());
}

// A session that failed before its request was taken needs no group: there
// is nothing to take, and JOIN and DONE go out unasked.
TEST_F(JoinRequest, SessionFailedBeforeTheJoinNeedsNone) {
  Send(Announcement());
  Send(wire::End{});
  EXPECT_EQ(receiver_->state(), Receiver::State::kReporting);
  EXPECT_FALSE(receiver_->TakeJoinRequest());
  std::vector<wire::Body> sent = Drain(now_);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<wire::Join>(sent[0]));
  const auto* done = std::get_if<wire::Done>(&sent[1]);
  ASSERT_NE(done, nullptr);
  EXPECT_NE(done->reason.find("ended by sender"), std::string::npos) << done->reason;
}

// An answer nobody asked for changes nothing: not while idle, and not a
// second answer once joined.
TEST_F(JoinRequest, UnaskedAnswersAreIgnored) {
  receiver_->OnJoined(now_, Status::Error(ErrorKind::kLocalIo, "unasked"));
  EXPECT_EQ(receiver_->state(), Receiver::State::kIdle);
  EXPECT_TRUE(receiver_->result().ok());

  Send(Announcement());
  ASSERT_TRUE(receiver_->TakeJoinRequest());
  receiver_->OnJoined(now_, Status::Ok());
  receiver_->OnJoined(now_, Status::Error(ErrorKind::kLocalIo, "unasked"));
  EXPECT_EQ(receiver_->state(), Receiver::State::kReceiving);
  EXPECT_FALSE(store_.aborted());
}

class RefusedSession : public JoinRequest {
 protected:
  static ReceiverConfig IgnoringIt() {
    ReceiverConfig config;
    config.ignore_sessions = {kSession};
    return config;
  }
  RefusedSession() : JoinRequest(IgnoringIt()) {}
};

// ANNOUNCEs that are not accepted (a session finished here, session 0, an
// impossible manifest size) ask for nothing and send nothing.
TEST_F(RefusedSession, AsksNoJoin) {
  Send(Announcement());
  Send(Announcement(), 0);
  wire::Announce tiny = Announcement();
  tiny.manifest_size = 4;
  Send(tiny, kSession + 1);
  EXPECT_EQ(receiver_->state(), Receiver::State::kIdle);
  EXPECT_EQ(receiver_->foreign(), 3u);
  EXPECT_FALSE(receiver_->TakeJoinRequest());
  EXPECT_TRUE(Drain(now_).empty());
}

}  // namespace
}  // namespace ardus::testing
