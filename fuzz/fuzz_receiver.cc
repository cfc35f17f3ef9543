// Fuzzes the receiver engine with a stream of datagrams from its sender.
//
// Each input drives two receivers through the same datagrams: one that first
// got a valid ANNOUNCE and the whole manifest (so POLL, ADVERT, DATA and END
// meet a real layout: a directory, files of 1 and 20 blocks, an empty file),
// and one that got only the ANNOUNCE (the paths before the manifest decodes).
//
// Input: datagrams, each a big-endian u16 length then that many bytes. The
// header of a datagram of 8 bytes or more is rewritten to this session's
// (magic, version, session id; the type byte is kept), so that most inputs
// reach the engine's state machine, not only the decoder. A length of 0
// advances time by a second instead (timers: NAK backoff, heartbeats, the
// sender timeouts); every other datagram advances it by 1 ms.
//
// Nothing may crash, read out of bounds or allocate without bound. The
// harness is deterministic and keeps no state between inputs; it builds with
// g++ as well (the replay in ctest) and with clang's libFuzzer.
//
// fuzz/make_receiver_corpus.py writes the seed corpus in this format.
#include <cstdint>
#include <vector>

#include "ardus/receiver.h"
#include "support/null_store.h"

namespace {

using namespace ardus;
using testing::NullStore;

constexpr std::uint32_t kSession = 1;
const Endpoint kSender{1, 1};

// The session both receivers join: small symbols and blocks, so that a few
// datagrams cover whole blocks and windows. make_receiver_corpus.py mirrors it.
Manifest SessionManifest() {
  Manifest m;
  m.entries.push_back({EntryType::kDirectory, "d", 0755, 0, 0, {}});
  m.entries.push_back({EntryType::kFile, "d/a", 0644, 0, 5000, {}});
  m.entries.push_back({EntryType::kFile, "b", 04755, 0, 100, {}});
  m.entries.push_back({EntryType::kFile, "e", 0600, 0, 0, {}});
  return m;
}

wire::Announce SessionAnnounce(const std::vector<std::uint8_t>& manifest) {
  wire::Announce a;
  a.data_group = 0xEFFF0B11;
  a.data_port = a.feedback_port = 1;
  a.symbol_size = 64;
  a.block_symbols = 4;
  a.window_blocks = 4;
  a.manifest_size = manifest.size();
  a.manifest_sha256 = ComputeSha256(manifest);
  a.total_bytes = 5100;
  a.flags = wire::kFlagRateAdaptive;
  return a;
}

struct Run {
  NullStore store;
  Receiver receiver{ReceiverConfig{}, store};
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(wire::kMaxDatagram);

  void Send(Time now, const wire::Packet& packet) {
    const std::size_t n = wire::Encode(packet, buf);
    std::vector<std::uint8_t> datagram(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    Deliver(now, datagram);
  }
  void Deliver(Time now, std::span<const std::uint8_t> datagram) {
    receiver.OnDatagram(now, kSender, datagram);
    if (receiver.TakeJoinRequest()) receiver.OnJoined(now, Status::Ok());
    Tick(now);
  }
  void Tick(Time now) {
    while (receiver.PollTransmit(now, buf)) {
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> manifest = EncodeManifest(SessionManifest());
  const wire::Announce announce = SessionAnnounce(manifest);
  Run with_manifest, without_manifest;
  Time now{0};
  for (Run* run : {&with_manifest, &without_manifest}) run->Send(now, {kSession, announce});
  for (std::uint16_t esi = 0; esi * std::size_t{announce.symbol_size} < manifest.size(); ++esi) {
    std::vector<std::uint8_t> symbol(announce.symbol_size, 0);
    for (std::size_t i = 0; i < symbol.size() && esi * symbol.size() + i < manifest.size(); ++i) {
      symbol[i] = manifest[esi * symbol.size() + i];
    }
    with_manifest.Send(now, {kSession, wire::Data{0, esi, esi, symbol}});
  }
  if (with_manifest.receiver.manifest().entries.empty()) __builtin_trap();  // a harness bug

  std::size_t pos = 0;
  while (pos + 2 <= size) {
    std::size_t len = (std::size_t{data[pos]} << 8 | data[pos + 1]) % (wire::kMaxDatagram + 1);
    pos += 2;
    len = std::min(len, size - pos);
    std::vector<std::uint8_t> datagram(data + pos, data + pos + len);
    pos += len;
    if (datagram.empty()) {
      now += seconds(1);
      for (Run* run : {&with_manifest, &without_manifest}) run->Tick(now);
      continue;
    }
    if (datagram.size() >= 8) {  // steer most inputs into this session
      datagram[0] = 0xAD, datagram[1] = 0x05, datagram[2] = 1;
      datagram[4] = datagram[5] = datagram[6] = 0, datagram[7] = kSession;
    }
    now += milliseconds(1);
    for (Run* run : {&with_manifest, &without_manifest}) run->Deliver(now, datagram);
  }
  return 0;
}
