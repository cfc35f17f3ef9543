// ARDUS wire format: every constant and message layout, with encode/decode.
// docs/ardus-protocol.md specifies the same format in prose with worked
// examples; the two must change together.
//
// All integers are big-endian. Every datagram starts with the 8-byte common
// header: magic u16 (0xAD05), version u8 (1), type u8, session_id u32.
//
// Decoders are bounds-checked and total: any byte string yields either a
// message or a Status of kind kPeerProtocol (never a crash, never a read past
// the input). Decoded spans (DATA payload, NAK entries' source) point into the
// input buffer and are valid only while it lives.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace ardus::wire {

inline constexpr std::uint16_t kMagic = 0xAD05;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 8;

// IANA-registered ports.
inline constexpr std::uint16_t kDataPort = 1117;      // ardus-mtrns: multicast DATA
inline constexpr std::uint16_t kFeedbackPort = 1834;  // ardusuni: unicast feedback
inline constexpr std::uint16_t kControlPort = 1835;   // ardusmul: multicast announce/control

// Administratively scoped (RFC 2365) default groups.
inline constexpr const char* kDefaultControlGroup = "239.255.18.35";
inline constexpr const char* kDefaultDataGroup = "239.255.11.17";

// Bytes each datagram costs beyond its UDP payload: IPv4 + UDP headers (what
// pacing counts), plus the Ethernet header (what a link's byte counters count).
inline constexpr std::size_t kIpUdpHeaderBytes = 20 + 8;
inline constexpr std::size_t kEthernetIpUdpHeaderBytes = 14 + kIpUdpHeaderBytes;

// Largest datagram ardus ever sends or accepts (fits a 1500-byte MTU with IPv4+UDP).
inline constexpr std::size_t kMaxDatagram = 1472;
inline constexpr std::size_t kDataHeaderSize = kHeaderSize + 8;
inline constexpr std::uint16_t kDefaultSymbolSize = kMaxDatagram - kDataHeaderSize;  // 1456
inline constexpr std::uint16_t kMinSymbolSize = 64;
// Reed-Solomon over GF(2^8): at most 255 distinct symbols (ESIs 0..254) per block.
inline constexpr std::uint16_t kMaxEsi = 254;
// DATA with an ESI from here up carries a window repair symbol (window_code.h)
// of the repair window whose first block is DATA's block.
inline constexpr std::uint16_t kFirstWindowEsi = 256;
// Blocks per repair window (ANNOUNCE): 1 disables window repair. A window
// solve reads the whole window, so its size is bounded.
inline constexpr std::uint16_t kDefaultWindowBlocks = 16;
inline constexpr std::uint16_t kMaxWindowBlocks = 64;
inline constexpr std::uint16_t kMaxBlockSymbols = 224;
inline constexpr std::uint16_t kDefaultBlockSymbols = 200;
// NAK/ADV deficit value meaning "every symbol of the block" (k varies per block).
inline constexpr std::uint16_t kWholeBlock = 0xFFFF;
inline constexpr std::size_t kMaxReasonBytes = 512;

enum class Type : std::uint8_t {
  kAnnounce = 1,  // S -> control group
  kJoin = 2,      // R -> S unicast
  kData = 3,      // S -> data group
  kPoll = 4,      // S -> data group (behind the DATA it polls)
  kNak = 5,       // R -> S unicast
  kAdvert = 6,    // S -> control group (repair plan, lets receivers suppress NAKs)
  kStatus = 7,    // R -> S unicast heartbeat
  kDone = 8,      // R -> S unicast: receiver finished (ok or failed)
  kDoneAck = 9,   // S -> R unicast
  kEnd = 10,      // S -> control group: session over
};

struct Announce {
  std::uint32_t data_group = 0;  // IPv4, host order; multicast (224.0.0.0/4)
  std::uint16_t data_port = 0;
  std::uint16_t feedback_port = 0;
  std::uint16_t symbol_size = 0;
  std::uint16_t block_symbols = 0;  // K: most source symbols in one block
  std::uint64_t manifest_size = 0;
  std::array<std::uint8_t, 32> manifest_sha256{};
  std::uint64_t total_bytes = 0;                       // sum of file sizes, for progress
  std::uint64_t sent_at_ns = 0;                        // sender clock, echoed in JOIN for RTT
  std::uint16_t flags = 0;                             // kFlagRateAdaptive
  std::uint16_t window_blocks = kDefaultWindowBlocks;  // repair window grid, 1..kMaxWindowBlocks
};
// The sender adapts its rate to loss: receivers report loss promptly.
inline constexpr std::uint16_t kFlagRateAdaptive = 1;

struct Join {
  std::uint32_t receiver_id = 0;
  std::uint64_t echo_ns = 0;  // Announce::sent_at_ns being answered
};

struct Data {
  std::uint32_t block = 0;  // global block index
  std::uint16_t esi = 0;    // < k source, k..254 parity, >= kFirstWindowEsi window symbol
  std::uint16_t seq = 0;    // DATA datagram counter (wraps): receivers measure loss from gaps
  std::span<const std::uint8_t> symbol;
};

// A run of blocks [first, first+count) that each need `deficit` more symbols
// (kWholeBlock: all of them).
struct NeedRange {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::uint16_t deficit = 0;
  bool operator==(const NeedRange&) const = default;
};
inline constexpr std::size_t kNeedRangeSize = 10;

// Window repair for the repair window whose first block is `first`: in a NAK,
// the window symbols the receiver holds for it (a credit against its block
// needs); in an ADVERT, the window symbols the sender will send.
struct WindowNeed {
  std::uint32_t first = 0;
  std::uint16_t symbols = 0;
  bool operator==(const WindowNeed&) const = default;
};
inline constexpr std::size_t kWindowNeedSize = 6;
// The largest window deficit (symbols lacking beyond parity held) a receiver
// solves with window symbols; the sender repairs a larger one with parity.
inline constexpr std::uint16_t kMaxWindowDeficit = 128;

struct Poll {
  std::uint32_t poll_id = 0;
  std::uint32_t first_block = 0;  // range [first_block, end_block)
  std::uint32_t end_block = 0;
  std::uint32_t backoff_us = 0;  // answer within [0, backoff): see NakBackoff()
  std::uint32_t group_size = 0;  // receivers the sender knows: shapes the backoff
};

// The NAK delay for a uniform random draw `x` in [0, 1): a truncated
// exponential over [0, backoff) with lambda = ln(group_size) + 1. Few
// receivers answer early, so the sender's ADVERT reaches the rest before
// their timers fire and suppresses them (Nonnenmacher and Biersack, as NORM).
double NakBackoffFraction(double x, std::uint32_t group_size);

struct Nak {
  std::uint32_t receiver_id = 0;
  std::uint32_t poll_id = 0;
  std::vector<NeedRange> needs;
  std::vector<WindowNeed> windows;  // held window symbols, for windows with needs
};

struct Advert {
  std::uint32_t poll_id = 0;
  std::vector<NeedRange> planned;  // repair the sender will send for this poll
  std::vector<WindowNeed> windows;
};

struct StatusMsg {
  std::uint32_t receiver_id = 0;
  std::uint64_t bytes_done = 0;
  std::uint64_t data_received = 0;  // DATA datagrams accepted so far
  // DATA loss since the previous STATUS above this path's usual loss (the
  // minimum over recent heartbeat windows), parts per million: congestion.
  std::uint32_t loss_ppm = 0;
};

enum class DoneStatus : std::uint8_t { kOk = 0, kFailed = 1 };

struct Done {
  std::uint32_t receiver_id = 0;
  DoneStatus status = DoneStatus::kOk;
  std::uint64_t bytes_done = 0;
  std::uint64_t data_received = 0;
  std::string reason;  // empty when ok; at most kMaxReasonBytes
};

struct DoneAck {
  std::uint32_t receiver_id = 0;
};

struct End {};

using Body = std::variant<Announce, Join, Data, Poll, Nak, Advert, StatusMsg, Done, DoneAck, End>;

struct Packet {
  std::uint32_t session_id = 0;
  Body body;
};

// Decodes one datagram. Errors (kind kPeerProtocol): bad magic, unknown
// version, unknown type, truncated or oversized body, trailing bytes, invalid
// field values (the limits in docs/ardus-protocol.md, e.g. an ANNOUNCE whose
// data group is not multicast). The caller drops the datagram and counts it.
// Values within these limits may still lie outside a session's layout:
// engines bound them by their session state before use.
Result<Packet> Decode(std::span<const std::uint8_t> datagram);
// DATA's own fields (block, esi, seq: 8 bytes, after the version 1 header)
// and a symbol held elsewhere, with Decode's checks of a DATA body: a
// receiver that decrypts the symbol straight into its block decodes the
// fields apart. Errors as Decode.
Result<Data> DecodeData(std::span<const std::uint8_t> fields, std::span<const std::uint8_t> symbol);
inline constexpr std::size_t kDataFieldsSize = kDataHeaderSize - kHeaderSize;

// Encodes into `out` (at least kMaxDatagram bytes). Returns the size written,
// or 0 if the message does not fit (a programmer error: callers size NAK and
// ADVERT lists with MaxRangesPerDatagram()).
std::size_t Encode(const Packet& packet, std::span<std::uint8_t> out);

// Most entries, NeedRange and WindowNeed together, that a NAK or ADVERT can
// carry in one datagram: 142 in either version, so that a version 2 envelope
// (kSealOverhead) still fits kMaxDatagram.
std::size_t MaxRangesPerDatagram();

// ---- Version 2: the protected envelope (docs/ardus-protocol.md, "Version 2")
//
// A version 2 datagram is a 20-byte clear header, the message body (the same
// body as version 1, protected), and a 16-byte AES-256-GCM tag:
//   magic u16, version u8 (2), type u8, session_id u32, key_id u32,
//   packet_number u64
// key_id is 0 for the sender's group traffic (DATA, POLL, ADVERT, END,
// ANNOUNCE) and the receiver's id for everything between the sender and one
// receiver (JOIN, NAK, STATUS, DONE, DONE_ACK, KEYINFO). The header is the
// associated data; the nonce is the key's IV XOR packet_number.
// ANNOUNCE is signed instead (AnnounceTrailer); JOIN carries JoinCredentials
// in clear between header and body; KEYINFO carries the wrapped group secret.
inline constexpr std::uint8_t kSealedVersion = 2;
inline constexpr std::size_t kSealedHeaderSize = 20;
inline constexpr std::size_t kTagSize = 16;
// Where a version 1 packet (its 8-byte header) lies inside a version 2 one,
// so that engines encode and decode bodies in place.
inline constexpr std::size_t kSealedPlainOffset = kSealedHeaderSize - kHeaderSize;  // 12
inline constexpr std::size_t kSealOverhead = kSealedPlainOffset + kTagSize;         // 28
// The largest symbol a version 2 DATA carries: 1472 - 20 - 8 - 16.
inline constexpr std::uint16_t kSealedSymbolSize = kDefaultSymbolSize - kSealOverhead;  // 1428
inline constexpr std::uint8_t kTypeKeyInfo = 11;  // version 2 only: S -> R unicast
// Offset of sent_at_ns in an ANNOUNCE body (the one field that changes
// between a session's ANNOUNCEs; keys bind to the others).
inline constexpr std::size_t kAnnounceBodySize = 72;
inline constexpr std::size_t kAnnounceSentAtOffset = 60;

struct SealedHeader {
  std::uint8_t type = 0;
  std::uint32_t session_id = 0;
  std::uint32_t key_id = 0;
  std::uint64_t packet_number = 0;
};
// Errors (kPeerProtocol): shorter than a header and a tag, oversized, bad
// magic, version not 2, type outside 1..11, packet_number 0.
Result<SealedHeader> DecodeSealedHeader(std::span<const std::uint8_t> datagram);
// Writes the 20 header bytes at out[0..20). Precondition: out.size() >= 20.
void EncodeSealedHeader(const SealedHeader& header, std::span<std::uint8_t> out);

// The version of a datagram (its third byte), 0 if it is shorter than that or
// its magic is wrong.
std::uint8_t VersionOf(std::span<const std::uint8_t> datagram);

// Protection suite, in a version 2 ANNOUNCE.
enum class Suite : std::uint8_t { kAes256Gcm = 1, kAuth = 2 };

// After a version 2 ANNOUNCE's body: the suite, the sender's X25519 key for
// this session, its Ed25519 identity, and its signature over
// "ardus2 announce" 0x00 || every byte of the datagram before the signature.
struct AnnounceTrailer {
  Suite suite = Suite::kAes256Gcm;
  std::array<std::uint8_t, 32> exchange_key{};
  std::array<std::uint8_t, 32> identity{};
  std::array<std::uint8_t, 64> signature{};
};
inline constexpr std::size_t kAnnounceTrailerSize = 1 + 32 + 32 + 64;
inline constexpr std::size_t kSealedAnnounceSize =
    kSealedHeaderSize + kAnnounceBodySize + kAnnounceTrailerSize;  // 221
// Errors (kPeerProtocol): wrong size, unknown suite.
Result<AnnounceTrailer> DecodeAnnounceTrailer(std::span<const std::uint8_t> trailer);
void EncodeAnnounceTrailer(const AnnounceTrailer& trailer, std::span<std::uint8_t> out);

// Between a version 2 JOIN's header and its protected body: the receiver's
// Ed25519 identity, its X25519 key for this session, and its signature
// proving both (docs/ardus-protocol.md, "Handshake").
struct JoinCredentials {
  std::array<std::uint8_t, 32> identity{};
  std::array<std::uint8_t, 32> exchange_key{};
  std::array<std::uint8_t, 64> proof{};
};
inline constexpr std::size_t kJoinCredentialsSize = 32 + 32 + 64;
// A JOIN's version 1 body (receiver_id u32, echo_ns u64). Version 2 has two
// JOINs: a candidate's, with credentials (kSealedCandidateJoinSize), and a
// bound receiver's confirmation, without (kSealedConfirmJoinSize): only a
// receiver whose KEYINFO opened sends the short one.
inline constexpr std::size_t kJoinBodySize = 12;
inline constexpr std::size_t kSealedCandidateJoinSize =
    kSealedHeaderSize + kJoinCredentialsSize + kJoinBodySize + kTagSize;  // 176
inline constexpr std::size_t kSealedConfirmJoinSize =
    kSealedHeaderSize + kJoinBodySize + kTagSize;  // 48
JoinCredentials DecodeJoinCredentials(std::span<const std::uint8_t, kJoinCredentialsSize> bytes);
void EncodeJoinCredentials(const JoinCredentials& c, std::span<std::uint8_t> out);
// A KEYINFO's body: the 32-byte group secret, always encrypted.
inline constexpr std::size_t kKeyInfoBodySize = 32;

}  // namespace ardus::wire
