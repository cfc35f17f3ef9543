// UDP/IPv4 sockets for ardus: multicast membership and output interface,
// large buffers, and batched I/O with sendmmsg/recvmmsg.
//
// Every function that can fail returns a Status naming what failed and, where
// the user can act on it, which flag to use (e.g. --interface for a missing
// multicast route). Sockets are owned by UdpSocket (move-only, closed on
// destruction).
//
// Thread-safety: none; one socket per thread.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ardus/transmit.h"
#include "common/status.h"

namespace ardus::net {

// "a.b.c.d" to a host-order address. kInvalidArgument otherwise.
Result<std::uint32_t> ParseIpv4(const std::string& text);
std::string FormatIpv4(std::uint32_t ip);

// An interface given as a name ("lo", "eth0") or one of its IPv4 addresses.
struct Interface {
  std::uint32_t address = 0;  // INADDR_ANY when unspecified
  unsigned index = 0;         // 0 when unspecified
  bool specified() const { return address != 0 || index != 0; }
  bool loopback() const { return address >> 24 == 127; }
};
// Empty text: the kernel's default. Errors: kInvalidArgument naming the
// interface when no interface has that name or IPv4 address; kLocalIo when
// the interfaces cannot be listed.
Result<Interface> ResolveInterface(const std::string& text);

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds addr:port (host order). `shared` sets SO_REUSEADDR so several
  // receivers on one host can bind the same multicast group and port.
  // `chosen_by` names what picks the port, for the user to change it (e.g.
  // "--feedback-port"). Errors: kLocalIo; a port below 1024 without the
  // right to bind it, and a port in use, name `chosen_by`.
  static Result<UdpSocket> Bind(std::uint32_t addr, std::uint16_t port, bool shared,
                                std::string_view chosen_by);

  // Receives `group` on `iface` (the kernel's choice when unspecified).
  // Errors: kLocalIo, suggesting --interface.
  Status JoinGroup(std::uint32_t group, const Interface& iface);
  // Multicast leaves through `iface` with `ttl`. `loop_to_host` also
  // delivers every datagram to sockets on this host: needed when receivers
  // run here, and a second trip through the receive path per datagram when
  // none do. Errors: kLocalIo.
  Status SetMulticastOutput(const Interface& iface, int ttl, bool loop_to_host);
  // Asks for `bytes` of kernel buffer each way; as root beyond rmem_max.
  void SetBuffers(int bytes);
  // Lets the kernel hand over a run of same-flow datagrams as one (UDP_GRO),
  // where the interface coalesces them; DrainSocket splits them again. Saves
  // the per-datagram queueing and syscall work. Returns false where the
  // kernel has no UDP_GRO: datagrams then arrive one by one, as before.
  bool EnableReceiveCoalescing();
  Result<Endpoint> LocalEndpoint() const;  // the bound address; errors: kLocalIo
  int fd() const { return fd_; }

 private:
  explicit UdpSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Sends datagrams in batches with sendmmsg. Consecutive datagrams of one size
// to one destination (the last of a run may be shorter) go as one UDP GSO
// message (UDP_SEGMENT), so the stack is traversed once per run instead of
// once per datagram; the wire carries the same packets. Where the kernel
// refuses GSO it is switched off for good, and ARDUS_NO_GSO=1 in the
// environment switches it off for measurements. Datagrams the kernel refuses
// for lack of buffer (ENOBUFS, EAGAIN), by a local firewall rule (EPERM) or
// with ECONNREFUSED are dropped and counted: the protocol repairs them like
// any loss.
class BatchSender {
 public:
  static constexpr std::size_t kBatch = 64;
  BatchSender();
  // Buffer for the next datagram: 1500 bytes, more than any UDP payload of
  // one unfragmented Ethernet packet.
  std::span<std::uint8_t> Next() { return {buffers_.data() + count_ * kSlot, kSlot}; }
  // Commits the datagram just written into Next() (`size` at most 1500).
  // Flushes when full; errors as Flush().
  Status Add(std::size_t size, const Endpoint& to, int fd);
  // Errors: kLocalIo naming the destination a datagram could not be sent to
  // (failed_destination()); the rest of the batch is dropped.
  Status Flush(int fd);
  Endpoint failed_destination() const { return failed_; }
  bool full() const { return count_ == kBatch; }
  std::size_t size() const { return count_; }               // datagrams waiting
  std::uint64_t dropped() const { return dropped_; }        // datagrams
  std::uint64_t sent_bytes() const { return sent_bytes_; }  // UDP payload bytes
  bool gso() const { return gso_; }  // false once the kernel refused it, or by ARDUS_NO_GSO

 private:
  static constexpr std::size_t kSlot = 1500;
  // Linux before 6.9 accepts at most 64 segments; a UDP payload tops at 65507.
  static constexpr std::size_t kMaxGsoSegments = 64, kMaxGsoBytes = 65507;
  // How many datagrams from `first` on can share one GSO message.
  std::size_t RunLength(std::size_t first) const;
  std::vector<std::uint8_t> buffers_;
  std::vector<std::size_t> sizes_;
  std::vector<sockaddr_in> addrs_;
  bool gso_;
  std::size_t count_ = 0;
  std::uint64_t dropped_ = 0, sent_bytes_ = 0;
  Endpoint failed_;
};

// Reads the datagrams waiting on `fd` (non-blocking, in recvmmsg batches,
// until the socket is empty or about 512 datagrams were read, so the caller's
// loop keeps turning) and calls `on_datagram(from, bytes)` for each. A
// coalesced message (UDP_GRO) is split into its datagrams. Errors: kLocalIo
// on a socket failure other than "nothing waiting".
Status DrainSocket(
    int fd, const std::function<void(const Endpoint&, std::span<const std::uint8_t>)>& on_datagram);

}  // namespace ardus::net
