#include "io/udp.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ardus::net {
namespace {

Status SysError(const std::string& what) {
  return Status::Error(ErrorKind::kLocalIo, what + ": " + strerror(errno));
}

sockaddr_in ToSockaddr(const Endpoint& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(e.ip);
  sa.sin_port = htons(e.port);
  return sa;
}

}  // namespace

Result<std::uint32_t> ParseIpv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) {
    return Status::Error(ErrorKind::kInvalidArgument, "'" + text + "' is not an IPv4 address");
  }
  return ntohl(a.s_addr);
}

std::string FormatIpv4(std::uint32_t ip) {
  return Endpoint{ip, 0}.ToString().substr(0, Endpoint{ip, 0}.ToString().rfind(':'));
}

Result<Interface> ResolveInterface(const std::string& text) {
  if (text.empty()) return Interface{};
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return SysError("cannot list interfaces");
  Result<std::uint32_t> as_addr = ParseIpv4(text);
  Interface found;
  bool matched = false;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    std::uint32_t addr = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    if (text == i->ifa_name || (as_addr.ok() && as_addr.value() == addr)) {
      found = Interface{addr, if_nametoindex(i->ifa_name)};
      matched = true;
      break;
    }
  }
  freeifaddrs(list);
  if (!matched) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "--interface '" + text + "': no such interface with an IPv4 address");
  }
  return found;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Result<UdpSocket> UdpSocket::Bind(std::uint32_t addr, std::uint16_t port, bool shared,
                                  std::string_view chosen_by) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SysError("cannot create UDP socket");
  UdpSocket sock(fd);
  int one = 1;
  if (shared) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = ToSockaddr({addr, port});
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::string where = Endpoint{addr, port}.ToString();
    if (errno == EACCES) {
      return Status::Error(ErrorKind::kLocalIo,
                           "cannot bind " + where +
                               ": permission denied (ports below 1024 need root; choose "
                               "another with " +
                               std::string(chosen_by) + ")");
    }
    if (errno == EADDRINUSE) {
      return Status::Error(ErrorKind::kLocalIo,
                           "cannot bind " + where +
                               ": already in use (by another program? choose another port "
                               "with " +
                               std::string(chosen_by) + ")");
    }
    return SysError("cannot bind " + where);
  }
  return sock;
}

Status UdpSocket::JoinGroup(std::uint32_t group, const Interface& iface) {
  ip_mreqn mreq{};
  mreq.imr_multiaddr.s_addr = htonl(group);
  mreq.imr_address.s_addr = htonl(iface.address);
  mreq.imr_ifindex = static_cast<int>(iface.index);
  if (setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
    return Status::Error(ErrorKind::kLocalIo, "cannot join multicast group " + FormatIpv4(group) +
                                                  ": " + strerror(errno) +
                                                  " (is there a multicast route? try --interface)");
  }
  return Status::Ok();
}

Status UdpSocket::SetMulticastOutput(const Interface& iface, int ttl, bool loop_to_host) {
  ip_mreqn mreq{};
  mreq.imr_address.s_addr = htonl(iface.address);
  mreq.imr_ifindex = static_cast<int>(iface.index);
  int loop = loop_to_host ? 1 : 0;
  if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0 ||
      setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
      setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
    return SysError("cannot set the multicast output interface");
  }
  return Status::Ok();
}

void UdpSocket::SetBuffers(int bytes) {
  // SO_*BUFFORCE (root) exceeds net.core.[rw]mem_max; otherwise take what is allowed.
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
}

bool UdpSocket::EnableReceiveCoalescing() {
  int one = 1;
  return setsockopt(fd_, IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0;
}

Result<Endpoint> UdpSocket::LocalEndpoint() const {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return SysError("getsockname");
  return Endpoint{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
}

BatchSender::BatchSender()
    : buffers_(kBatch * kSlot),
      sizes_(kBatch),
      addrs_(kBatch),
      gso_(!std::getenv("ARDUS_NO_GSO")) {}

Status BatchSender::Add(std::size_t size, const Endpoint& to, int fd) {
  sizes_[count_] = size;
  addrs_[count_] = ToSockaddr(to);
  ++count_;
  return full() ? Flush(fd) : Status::Ok();
}

std::size_t BatchSender::RunLength(std::size_t first) const {
  if (!gso_) return 1;
  const std::size_t segment = sizes_[first];
  std::size_t n = 1, bytes = segment;
  while (first + n < count_ && n < kMaxGsoSegments && bytes + sizes_[first + n] <= kMaxGsoBytes &&
         sizes_[first + n] <= segment &&
         addrs_[first + n].sin_addr.s_addr == addrs_[first].sin_addr.s_addr &&
         addrs_[first + n].sin_port == addrs_[first].sin_port) {
    bytes += sizes_[first + n];
    ++n;
    if (sizes_[first + n - 1] < segment) break;  // only the last segment may be short
  }
  return n;
}

Status BatchSender::Flush(int fd) {
  struct Message {
    std::size_t first, count;
  };
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  Message runs[kBatch];
  alignas(cmsghdr) char control[kBatch][CMSG_SPACE(sizeof(std::uint16_t))];
  std::size_t done = 0;
  while (done < count_) {
    std::size_t n = 0;
    for (std::size_t d = done; d < count_; d += runs[n++].count) {
      runs[n] = {d, RunLength(d)};
      for (std::size_t k = 0; k < runs[n].count; ++k) {
        iov[d + k] = {buffers_.data() + (d + k) * kSlot, sizes_[d + k]};
      }
      msgs[n] = {};
      msgs[n].msg_hdr.msg_name = &addrs_[d];
      msgs[n].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[n].msg_hdr.msg_iov = &iov[d];
      msgs[n].msg_hdr.msg_iovlen = runs[n].count;
      if (runs[n].count > 1) {
        // UDP GSO: the kernel cuts the payload into segments of this size.
        msgs[n].msg_hdr.msg_control = control[n];
        msgs[n].msg_hdr.msg_controllen = sizeof control[n];
        cmsghdr* c = CMSG_FIRSTHDR(&msgs[n].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        auto segment = static_cast<std::uint16_t>(sizes_[d]);
        std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
      }
    }
    int sent = sendmmsg(fd, msgs, static_cast<unsigned>(n), 0);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (runs[0].count > 1 &&
          (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOPROTOOPT)) {
        gso_ = false;  // this path cannot segment (e.g. a device without checksum offload)
        continue;
      }
      if (errno == ENOBUFS || errno == EAGAIN || errno == EPERM || errno == ECONNREFUSED) {
        dropped_ += runs[0].count;  // EPERM: a local firewall rule; the protocol treats it as loss
        done += runs[0].count;
        continue;
      }
      Endpoint to{ntohl(addrs_[done].sin_addr.s_addr), ntohs(addrs_[done].sin_port)};
      failed_ = to;
      count_ = 0;
      return Status::Error(ErrorKind::kLocalIo, "cannot send to " + to.ToString() + ": " +
                                                    strerror(errno) +
                                                    " (no route? choose one with --interface)");
    }
    for (int m = 0; m < sent; ++m) {
      for (std::size_t k = 0; k < runs[m].count; ++k) sent_bytes_ += sizes_[runs[m].first + k];
      done += runs[m].count;
    }
  }
  count_ = 0;
  return Status::Ok();
}

namespace {

// The segment size of a coalesced message, or 0 for a single datagram.
std::size_t CoalescedSegment(msghdr& h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int segment = 0;
      std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
      return segment > 0 ? static_cast<std::size_t>(segment) : 0;
    }
  }
  return 0;
}

}  // namespace

Status DrainSocket(
    int fd,
    const std::function<void(const Endpoint&, std::span<const std::uint8_t>)>& on_datagram) {
  // A slot holds the largest coalesced message. The stride is not a multiple
  // of 4 KiB, so that the slots' first lines do not share cache sets.
  constexpr std::size_t kBatch = 32, kSlot = 65536, kStride = kSlot + 1088, kEnough = 512;
  static thread_local std::vector<std::uint8_t> buffers(kBatch * kStride);
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_in from[kBatch];
  alignas(cmsghdr) char control[kBatch][CMSG_SPACE(sizeof(int))];
  // Bounded: under a continuous stream the socket is never empty, and the
  // engine must still get its turn to send heartbeats and NAKs.
  for (std::size_t read = 0; read < kEnough;) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      iov[i] = {buffers.data() + i * kStride, kSlot};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
      if (errno == EINTR || errno == ECONNREFUSED) continue;
      return SysError("cannot receive");
    }
    for (int i = 0; i < n; ++i) {
      Endpoint e{ntohl(from[i].sin_addr.s_addr), ntohs(from[i].sin_port)};
      std::span<const std::uint8_t> message{buffers.data() + static_cast<std::size_t>(i) * kStride,
                                            msgs[i].msg_len};
      std::size_t segment = CoalescedSegment(msgs[i].msg_hdr);
      if (segment == 0) segment = message.size();
      do {
        std::size_t take = std::min(segment, message.size());
        on_datagram(e, message.first(take));
        message = message.subspan(take);
        ++read;
      } while (!message.empty());
    }
    if (static_cast<std::size_t>(n) < kBatch) return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace ardus::net
