#include "ardus/wire.h"

#include <algorithm>
#include <cmath>

#include "common/bytes.h"

namespace ardus::wire {
namespace {

Status Malformed(const char* what) {
  return Status::Error(ErrorKind::kPeerProtocol, std::string("malformed packet: ") + what);
}

constexpr std::size_t kNakFixed = kHeaderSize + 4 + 4 + 2 + 2;
constexpr std::size_t kAdvertFixed = kHeaderSize + 4 + 2 + 2;

// ---- per-type body codecs -------------------------------------------------

void Put(ByteWriter& w, const Announce& a) {
  w.u32(a.data_group);
  w.u16(a.data_port);
  w.u16(a.feedback_port);
  w.u16(a.symbol_size);
  w.u16(a.block_symbols);
  w.u64(a.manifest_size);
  w.bytes(a.manifest_sha256);
  w.u64(a.total_bytes);
  w.u64(a.sent_at_ns);
  w.u16(a.flags);
  w.u16(a.window_blocks);
}
bool Get(ByteReader& r, Announce& a) {
  return r.u32(&a.data_group) && r.u16(&a.data_port) && r.u16(&a.feedback_port) &&
         r.u16(&a.symbol_size) && r.u16(&a.block_symbols) && r.u64(&a.manifest_size) &&
         r.copy(a.manifest_sha256.data(), 32) && r.u64(&a.total_bytes) && r.u64(&a.sent_at_ns) &&
         r.u16(&a.flags) && r.u16(&a.window_blocks);
}
Status Check(const Announce& a) {
  if (a.symbol_size < kMinSymbolSize || a.symbol_size > kMaxDatagram - kDataHeaderSize)
    return Malformed("announce symbol size out of range");
  if (a.block_symbols == 0 || a.block_symbols > kMaxBlockSymbols)
    return Malformed("announce block size out of range");
  if (a.data_port == 0 || a.feedback_port == 0) return Malformed("announce port 0");
  if ((a.data_group >> 28) != 0xE) return Malformed("announce data group not multicast");
  if (a.window_blocks == 0 || a.window_blocks > kMaxWindowBlocks)
    return Malformed("announce window blocks out of range");
  return Status::Ok();
}

void Put(ByteWriter& w, const Join& j) {
  w.u32(j.receiver_id);
  w.u64(j.echo_ns);
}
bool Get(ByteReader& r, Join& j) { return r.u32(&j.receiver_id) && r.u64(&j.echo_ns); }

void Put(ByteWriter& w, const Data& d) {
  w.u32(d.block);
  w.u16(d.esi);
  w.u16(d.seq);
  w.bytes(d.symbol);
}
bool Get(ByteReader& r, Data& d) {
  if (!(r.u32(&d.block) && r.u16(&d.esi) && r.u16(&d.seq))) return false;
  d.symbol = r.rest();
  return r.bytes(d.symbol.size(), &d.symbol);
}
Status Check(const Data& d) {
  if (d.esi > kMaxEsi && d.esi < kFirstWindowEsi) return Malformed("data esi 255");
  if (d.symbol.size() < kMinSymbolSize) return Malformed("data symbol too short");
  return Status::Ok();
}

void Put(ByteWriter& w, const Poll& p) {
  w.u32(p.poll_id);
  w.u32(p.first_block);
  w.u32(p.end_block);
  w.u32(p.backoff_us);
  w.u32(p.group_size);
}
bool Get(ByteReader& r, Poll& p) {
  return r.u32(&p.poll_id) && r.u32(&p.first_block) && r.u32(&p.end_block) &&
         r.u32(&p.backoff_us) && r.u32(&p.group_size);
}
Status Check(const Poll& p) {
  if (p.end_block < p.first_block) return Malformed("poll range reversed");
  return Status::Ok();
}

void PutRanges(ByteWriter& w, const std::vector<NeedRange>& ranges) {
  w.u16(ranges.size());
  for (const NeedRange& n : ranges) {
    w.u32(n.first);
    w.u32(n.count);
    w.u16(n.deficit);
  }
}
bool GetRanges(ByteReader& r, std::vector<NeedRange>& ranges) {
  std::uint16_t n;
  if (!r.u16(&n) || r.remaining() < std::size_t{n} * kNeedRangeSize) return false;
  ranges.resize(n);
  for (NeedRange& x : ranges) {
    if (!(r.u32(&x.first) && r.u32(&x.count) && r.u16(&x.deficit))) return false;
  }
  return true;
}
void PutWindows(ByteWriter& w, const std::vector<WindowNeed>& windows) {
  w.u16(windows.size());
  for (const WindowNeed& x : windows) {
    w.u32(x.first);
    w.u16(x.symbols);
  }
}
bool GetWindows(ByteReader& r, std::vector<WindowNeed>& windows) {
  std::uint16_t n;
  if (!r.u16(&n) || r.remaining() < std::size_t{n} * kWindowNeedSize) return false;
  windows.resize(n);
  for (WindowNeed& x : windows) {
    if (!(r.u32(&x.first) && r.u16(&x.symbols))) return false;
  }
  return true;
}
Status CheckEntries(const std::vector<NeedRange>& ranges, const std::vector<WindowNeed>& windows) {
  for (const NeedRange& x : ranges) {
    if (x.count == 0 || x.deficit == 0) return Malformed("empty need range");
    if (x.first + std::uint64_t{x.count} > 0xFFFFFFFFull) return Malformed("need range overflow");
  }
  for (const WindowNeed& x : windows) {
    if (x.symbols == 0) return Malformed("empty window entry");
  }
  return Status::Ok();
}

void Put(ByteWriter& w, const Nak& n) {
  w.u32(n.receiver_id);
  w.u32(n.poll_id);
  PutRanges(w, n.needs);
  PutWindows(w, n.windows);
}
bool Get(ByteReader& r, Nak& n) {
  return r.u32(&n.receiver_id) && r.u32(&n.poll_id) && GetRanges(r, n.needs) &&
         GetWindows(r, n.windows);
}
Status Check(const Nak& n) { return CheckEntries(n.needs, n.windows); }

void Put(ByteWriter& w, const Advert& a) {
  w.u32(a.poll_id);
  PutRanges(w, a.planned);
  PutWindows(w, a.windows);
}
bool Get(ByteReader& r, Advert& a) {
  return r.u32(&a.poll_id) && GetRanges(r, a.planned) && GetWindows(r, a.windows);
}
Status Check(const Advert& a) { return CheckEntries(a.planned, a.windows); }

void Put(ByteWriter& w, const StatusMsg& s) {
  w.u32(s.receiver_id);
  w.u64(s.bytes_done);
  w.u64(s.data_received);
  w.u32(s.loss_ppm);
}
bool Get(ByteReader& r, StatusMsg& s) {
  return r.u32(&s.receiver_id) && r.u64(&s.bytes_done) && r.u64(&s.data_received) &&
         r.u32(&s.loss_ppm);
}

void Put(ByteWriter& w, const Done& d) {
  w.u32(d.receiver_id);
  w.u8(static_cast<std::uint8_t>(d.status));
  w.u64(d.bytes_done);
  w.u64(d.data_received);
  std::size_t n = std::min(d.reason.size(), kMaxReasonBytes);
  w.u16(n);
  w.bytes(std::string_view(d.reason).substr(0, n));
}
bool Get(ByteReader& r, Done& d) {
  std::uint8_t status;
  std::uint16_t n;
  if (!(r.u32(&d.receiver_id) && r.u8(&status) && r.u64(&d.bytes_done) && r.u64(&d.data_received) &&
        r.u16(&n)))
    return false;
  d.status = static_cast<DoneStatus>(status);
  std::span<const std::uint8_t> text;
  if (n > kMaxReasonBytes || !r.bytes(n, &text)) return false;
  d.reason.assign(text.begin(), text.end());
  return status <= 1;
}

void Put(ByteWriter& w, const DoneAck& a) { w.u32(a.receiver_id); }
bool Get(ByteReader& r, DoneAck& a) { return r.u32(&a.receiver_id); }

void Put(ByteWriter&, const End&) {}
bool Get(ByteReader&, End&) { return true; }

template <typename T>
Status Check(const T&) {
  return Status::Ok();
}

template <typename T>
Result<Packet> DecodeBody(ByteReader& r, std::uint32_t session) {
  T body;
  if (!Get(r, body) || !r.ok()) return Malformed("truncated body");
  if (r.remaining() != 0) return Malformed("trailing bytes");
  if (Status s = Check(body); !s.ok()) return s;
  return Packet{session, std::move(body)};
}

}  // namespace

Result<Data> DecodeData(std::span<const std::uint8_t> fields,
                        std::span<const std::uint8_t> symbol) {
  ByteReader r(fields);
  Data d;
  if (!(r.u32(&d.block) && r.u16(&d.esi) && r.u16(&d.seq))) return Malformed("truncated body");
  if (r.remaining() != 0) return Malformed("trailing bytes");
  d.symbol = symbol;
  if (Status s = Check(d); !s.ok()) return s;
  return d;
}

Result<Packet> Decode(std::span<const std::uint8_t> datagram) {
  if (datagram.size() > kMaxDatagram) return Malformed("oversized datagram");
  ByteReader r(datagram);
  std::uint16_t magic;
  std::uint8_t version, type;
  std::uint32_t session;
  if (!(r.u16(&magic) && r.u8(&version) && r.u8(&type) && r.u32(&session)))
    return Malformed("short header");
  if (magic != kMagic) return Malformed("bad magic");
  if (version != kVersion) {
    return Status::Error(ErrorKind::kPeerProtocol,
                         "unsupported protocol version " + std::to_string(version));
  }
  switch (static_cast<Type>(type)) {
    case Type::kAnnounce:
      return DecodeBody<Announce>(r, session);
    case Type::kJoin:
      return DecodeBody<Join>(r, session);
    case Type::kData:
      return DecodeBody<Data>(r, session);
    case Type::kPoll:
      return DecodeBody<Poll>(r, session);
    case Type::kNak:
      return DecodeBody<Nak>(r, session);
    case Type::kAdvert:
      return DecodeBody<Advert>(r, session);
    case Type::kStatus:
      return DecodeBody<StatusMsg>(r, session);
    case Type::kDone:
      return DecodeBody<Done>(r, session);
    case Type::kDoneAck:
      return DecodeBody<DoneAck>(r, session);
    case Type::kEnd:
      return DecodeBody<End>(r, session);
  }
  return Malformed("unknown type");
}

std::size_t Encode(const Packet& packet, std::span<std::uint8_t> out) {
  ByteWriter w(out.first(std::min(out.size(), kMaxDatagram)));
  w.u16(kMagic);
  w.u8(kVersion);
  w.u8(packet.body.index() + 1);  // Body alternatives are declared in Type order
  w.u32(packet.session_id);
  std::visit([&w](const auto& body) { Put(w, body); }, packet.body);
  return w.ok() ? w.size() : 0;
}

double NakBackoffFraction(double x, std::uint32_t group_size) {
  const double lambda = std::log(std::max<double>(group_size, 1)) + 1.0;
  return std::log(x * (std::exp(lambda) - 1.0) + 1.0) / lambda;
}

std::size_t MaxRangesPerDatagram() {
  return (kMaxDatagram - kSealOverhead - std::max(kNakFixed, kAdvertFixed)) / kNeedRangeSize;
}

std::uint8_t VersionOf(std::span<const std::uint8_t> datagram) {
  if (datagram.size() < 3 || ((datagram[0] << 8) | datagram[1]) != kMagic) return 0;
  return datagram[2];
}

Result<SealedHeader> DecodeSealedHeader(std::span<const std::uint8_t> datagram) {
  if (datagram.size() > kMaxDatagram) return Malformed("oversized datagram");
  if (datagram.size() < kSealedHeaderSize + kTagSize) return Malformed("short sealed datagram");
  ByteReader r(datagram);
  std::uint16_t magic;
  std::uint8_t version;
  SealedHeader h;
  r.u16(&magic);
  r.u8(&version);
  r.u8(&h.type);
  r.u32(&h.session_id);
  r.u32(&h.key_id);
  r.u64(&h.packet_number);
  if (magic != kMagic) return Malformed("bad magic");
  if (version != kSealedVersion) {
    return Status::Error(ErrorKind::kPeerProtocol,
                         "unsupported protocol version " + std::to_string(version));
  }
  if (h.type == 0 || h.type > kTypeKeyInfo) return Malformed("unknown type");
  if (h.packet_number == 0) return Malformed("packet number 0");
  return h;
}

void EncodeSealedHeader(const SealedHeader& h, std::span<std::uint8_t> out) {
  ByteWriter w(out.first(kSealedHeaderSize));
  w.u16(kMagic);
  w.u8(kSealedVersion);
  w.u8(h.type);
  w.u32(h.session_id);
  w.u32(h.key_id);
  w.u64(h.packet_number);
}

Result<AnnounceTrailer> DecodeAnnounceTrailer(std::span<const std::uint8_t> trailer) {
  if (trailer.size() != kAnnounceTrailerSize) return Malformed("announce trailer size");
  AnnounceTrailer t;
  if (trailer[0] != std::uint8_t(Suite::kAes256Gcm) && trailer[0] != std::uint8_t(Suite::kAuth))
    return Malformed("unknown suite");
  t.suite = static_cast<Suite>(trailer[0]);
  std::copy_n(trailer.begin() + 1, 32, t.exchange_key.begin());
  std::copy_n(trailer.begin() + 33, 32, t.identity.begin());
  std::copy_n(trailer.begin() + 65, 64, t.signature.begin());
  return t;
}

void EncodeAnnounceTrailer(const AnnounceTrailer& t, std::span<std::uint8_t> out) {
  out[0] = static_cast<std::uint8_t>(t.suite);
  std::copy(t.exchange_key.begin(), t.exchange_key.end(), out.begin() + 1);
  std::copy(t.identity.begin(), t.identity.end(), out.begin() + 33);
  std::copy(t.signature.begin(), t.signature.end(), out.begin() + 65);
}

JoinCredentials DecodeJoinCredentials(std::span<const std::uint8_t, kJoinCredentialsSize> b) {
  JoinCredentials c;
  std::copy_n(b.begin(), 32, c.identity.begin());
  std::copy_n(b.begin() + 32, 32, c.exchange_key.begin());
  std::copy_n(b.begin() + 64, 64, c.proof.begin());
  return c;
}

void EncodeJoinCredentials(const JoinCredentials& c, std::span<std::uint8_t> out) {
  std::copy(c.identity.begin(), c.identity.end(), out.begin());
  std::copy(c.exchange_key.begin(), c.exchange_key.end(), out.begin() + 32);
  std::copy(c.proof.begin(), c.proof.end(), out.begin() + 64);
}

}  // namespace ardus::wire
