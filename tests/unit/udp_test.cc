// BatchSender and DrainSocket over real loopback sockets: runs of datagrams
// go out as UDP GSO sends and must arrive as the same datagrams, in order,
// with the same sizes: with and without GSO, and when the receiving socket
// takes each run as one coalesced message (UDP_GRO) that DrainSocket splits.
#include "io/udp.h"

#include <gtest/gtest.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace ardus::net {
namespace {

constexpr std::uint32_t kLoopback = 0x7f000001;

struct Received {
  std::size_t size;
  std::uint8_t tag;
};

// Sends `sizes` from a fresh socket to `rx`, datagram i filled with byte i.
void SendTagged(const std::vector<std::size_t>& sizes, const UdpSocket& rx, bool want_gso) {
  auto tx = UdpSocket::Bind(kLoopback, 0, false, "");
  ASSERT_TRUE(tx.ok());
  Endpoint to = rx.LocalEndpoint().value();
  BatchSender out;
  std::size_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto buf = out.Next();
    std::fill(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(sizes[i]),
              static_cast<std::uint8_t>(i));
    EXPECT_TRUE(out.Add(sizes[i], to, tx.value().fd()).ok());
    total += sizes[i];
  }
  EXPECT_TRUE(out.Flush(tx.value().fd()).ok());
  EXPECT_EQ(out.sent_bytes(), total);
  EXPECT_EQ(out.dropped(), 0u);
  EXPECT_EQ(out.gso(), want_gso);  // loopback takes GSO (Linux 4.18 and later)
}

std::vector<Received> SendAndReceive(const std::vector<std::size_t>& sizes, bool want_gso,
                                     bool coalesce = false) {
  auto rx = UdpSocket::Bind(kLoopback, 0, false, "");
  EXPECT_TRUE(rx.ok());
  rx.value().SetBuffers(4 << 20);
  if (coalesce) {
    EXPECT_TRUE(rx.value().EnableReceiveCoalescing());
  }
  SendTagged(sizes, rx.value(), want_gso);
  std::vector<Received> got;
  EXPECT_TRUE(DrainSocket(rx.value().fd(), [&](const Endpoint&, std::span<const std::uint8_t> d) {
                got.push_back({d.size(), d.empty() ? std::uint8_t{0} : d[0]});
              }).ok());
  return got;
}

// Same-size runs, a short datagram that must end a run, a larger one that
// must start a new one, and more than one GSO message's worth (64 segments).
std::vector<std::size_t> Sizes() {
  std::vector<std::size_t> sizes = {1000, 1000, 1000, 1000, 1000, 600, 1000, 1000, 1200};
  sizes.resize(2 * BatchSender::kBatch - 1, 1472);  // a full batch and most of another
  return sizes;
}

void ExpectSame(const std::vector<std::size_t>& sizes, const std::vector<Received>& got) {
  ASSERT_EQ(got.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(got[i].size, sizes[i]) << "datagram " << i;
    EXPECT_EQ(got[i].tag, static_cast<std::uint8_t>(i)) << "datagram " << i;
  }
}

TEST(BatchSender, GsoRunsArriveAsTheSameDatagrams) {
  unsetenv("ARDUS_NO_GSO");
  ExpectSame(Sizes(), SendAndReceive(Sizes(), true));
}

TEST(BatchSender, WithoutGsoTheSameDatagramsArrive) {
  setenv("ARDUS_NO_GSO", "1", 1);
  ExpectSame(Sizes(), SendAndReceive(Sizes(), false));
  unsetenv("ARDUS_NO_GSO");
}

// The premise of the next test: loopback hands a GSO run to a socket that
// asked for UDP_GRO as one message, with the segment size alongside.
TEST(DrainSocket, LoopbackDeliversAGsoRunAsOneMessageWhenAsked) {
  unsetenv("ARDUS_NO_GSO");
  auto rx = UdpSocket::Bind(kLoopback, 0, false, "");
  ASSERT_TRUE(rx.ok());
  ASSERT_TRUE(rx.value().EnableReceiveCoalescing());
  SendTagged({1000, 1000, 700}, rx.value(), true);
  std::vector<std::uint8_t> buffer(65536);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  iovec iov{buffer.data(), buffer.size()};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = sizeof control;
  ASSERT_EQ(recvmsg(rx.value().fd(), &h, MSG_DONTWAIT), 2700);
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cmsg_level, SOL_UDP);
  EXPECT_EQ(c->cmsg_type, UDP_GRO);
  int segment = 0;
  std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
  EXPECT_EQ(segment, 1000);
}

TEST(DrainSocket, CoalescedRunsAreSplitIntoTheSameDatagrams) {
  unsetenv("ARDUS_NO_GSO");
  ExpectSame(Sizes(), SendAndReceive(Sizes(), true, true));
}

}  // namespace
}  // namespace ardus::net
