// Fuzzes the receiver engine with a stream of datagrams: input is split into
// length-prefixed datagrams fed to one Receiver (after a valid ANNOUNCE), so
// DATA, POLL, ADVERT and END reach the engine's state machine, not only the
// decoder. Nothing may crash or read out of bounds.
#include <cstdint>
#include <map>
#include <vector>

#include "ardus/receiver.h"

namespace {
class NullStore final : public ardus::ContentStore {
 public:
  ardus::Status Begin(const ardus::Manifest&) override { return ardus::Status::Ok(); }
  ardus::Status Write(std::uint32_t, std::uint64_t, std::span<const std::uint8_t>) override {
    return ardus::Status::Ok();
  }
  ardus::Status Read(std::uint32_t, std::uint64_t, std::span<std::uint8_t> out) override {
    std::fill(out.begin(), out.end(), 0);
    return ardus::Status::Ok();
  }
  ardus::Status Commit(std::uint32_t) override { return ardus::Status::Ok(); }
  ardus::Status Finish() override { return ardus::Status::Ok(); }
  void Abort() override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ardus;
  NullStore store;
  ReceiverConfig config;
  Receiver receiver(config, store);
  wire::Announce a;
  a.data_port = a.feedback_port = 1;
  a.symbol_size = 64;
  a.block_symbols = 4;
  a.manifest_size = 200;
  std::vector<std::uint8_t> buf(wire::kMaxDatagram);
  std::size_t n = wire::Encode(wire::Packet{1, a}, buf);
  Time now{0};
  receiver.OnDatagram(now, {1, 1}, {buf.data(), n});
  std::size_t pos = 0;
  while (pos + 2 <= size) {
    std::size_t len = (std::size_t{data[pos]} << 8 | data[pos + 1]) % (wire::kMaxDatagram + 1);
    pos += 2;
    len = std::min(len, size - pos);
    std::vector<std::uint8_t> dgram(data + pos, data + pos + len);
    if (dgram.size() >= 8) {  // steer most inputs into this session
      dgram[0] = 0xAD, dgram[1] = 0x05, dgram[2] = 1;
      dgram[4] = dgram[5] = dgram[6] = 0, dgram[7] = 1;
    }
    pos += len;
    now += milliseconds(1);
    receiver.OnDatagram(now, {1, 1}, dgram);
    while (receiver.PollTransmit(now, buf)) {
    }
  }
  return 0;
}
