// A sliding replay window over 64-bit packet numbers (as IPsec and DTLS keep
// one, RFC 4303 §3.4.3 / RFC 6347 §4.1.2.6, with RFC 6479's ring of words):
// it accepts each number once, and none more than kSize below the highest
// accepted. Packet number 0 is never accepted (senders start at 1).
//
// Check with MayAccept() before the (costly) tag check and Accept() only
// after the tag verified, so forged packets cannot move the window.
//
// Thread-safety: none.
#pragma once

#include <array>
#include <cstdint>

namespace ardus::seal {

class ReplayWindow {
 public:
  // Multicast data arrives from one socket in order, but a control datagram
  // read from another socket can lag behind the data queued meanwhile (a
  // 64 MiB socket buffer holds 45,000 datagrams); per-type windows keep that
  // apart, and 4096 numbers cover reordering on the path.
  static constexpr std::uint64_t kSize = 4096;

  bool MayAccept(std::uint64_t packet_number) const;
  void Accept(std::uint64_t packet_number);  // precondition: MayAccept(packet_number)
  std::uint64_t highest() const { return highest_; }

 private:
  // One word more than kSize needs: the oldest and the newest word of the
  // window never share a slot (RFC 6479 §2).
  static constexpr std::size_t kWords = kSize / 64 + 1;
  bool Seen(std::uint64_t n) const { return (bits_[(n / 64) % kWords] >> (n % 64)) & 1; }
  std::array<std::uint64_t, kWords> bits_{};
  std::uint64_t highest_ = 0;
};

}  // namespace ardus::seal
