// BatchSender over real loopback sockets: runs of datagrams go out as UDP
// GSO sends and must arrive as the same datagrams, in order, with the same
// sizes, with and without GSO.
#include "net/udp.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace ardus::net {
namespace {

constexpr std::uint32_t kLoopback = 0x7f000001;

struct Received {
  std::size_t size;
  std::uint8_t tag;
};

std::vector<Received> SendAndReceive(const std::vector<std::size_t>& sizes, bool want_gso) {
  auto rx = UdpSocket::Bind(kLoopback, 0, false);
  auto tx = UdpSocket::Bind(kLoopback, 0, false);
  EXPECT_TRUE(rx.ok() && tx.ok());
  rx.value().SetBuffers(4 << 20);
  Endpoint to = rx.value().LocalEndpoint().value();
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

}  // namespace
}  // namespace ardus::net
