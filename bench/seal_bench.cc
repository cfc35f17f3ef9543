// The seal layer's per-packet cost (issue 17): PacketCipher sealing and
// opening datagrams of the sealed DATA size, against one EVP call over a
// whole 64 KiB buffer (the cipher's own speed with no per-call overhead).
//   usage: seal_bench [PACKETS [gcm|auth|raw|all]]   (default 200000 all)
// Prints ns per packet and GB/s of body for each case.
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "seal/packet_cipher.h"

using namespace ardus::seal;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kHeader = 20, kBody = 1436, kPacket = kHeader + kBody + kTagSize;

double Seconds(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

void Report(const char* what, double s, std::size_t packets, std::size_t body) {
  std::printf("%-44s %8.1f ns/packet %6.2f GB/s\n", what, s * 1e9 / double(packets),
              double(packets) * double(body) / s / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const std::string only = argc > 2 ? argv[2] : "all";
  TrafficKeys keys;
  for (std::size_t i = 0; i < keys.key.size(); ++i) keys.key[i] = std::uint8_t(i);
  // 64 packets, as one GSO batch: the working set the sender seals in turn.
  std::vector<std::uint8_t> batch(64 * kPacket, 0x5a), out(kBody);
  for (Protection p : {Protection::kSeal, Protection::kAuth}) {
    const char* name = p == Protection::kSeal ? "aes256-gcm" : "auth";
    if (only != "all" && only != (p == Protection::kSeal ? "gcm" : "auth")) continue;
    PacketCipher cipher(keys, p);
    auto t = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      std::span<std::uint8_t> pkt(batch.data() + (i % 64) * kPacket, kPacket);
      cipher.Seal(i + 1, pkt, kHeader, kBody);
    }
    char label[64];
    std::snprintf(label, sizeof label, "%s Seal (in place)", name);
    Report(label, Seconds(t), n, kBody);
    // Open needs genuine packets: seal 64, open them over and over.
    for (std::size_t i = 0; i < 64; ++i)
      cipher.Seal(i + 1, std::span(batch.data() + i * kPacket, kPacket), kHeader, kBody);
    t = Clock::now();
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::span<const std::uint8_t> pkt(batch.data() + (i % 64) * kPacket, kPacket);
      bad += !cipher.Open(i % 64 + 1, pkt, kHeader, out.data());
    }
    std::snprintf(label, sizeof label, "%s Open (into another buffer)", name);
    Report(label, Seconds(t), n, kBody);
    if (bad) std::printf("  %zu packets did not open!\n", bad);
    // The receiver's two ways to a block slot (200 symbols of a 285 KiB
    // block buffer, as a Receiver holds them): open into a scratch buffer
    // and copy the symbol, or open the 8 field bytes first and the symbol
    // straight into its slot.
    constexpr std::size_t kFields = 8, kSymbol = kBody - kFields, kSlots = 200;
    std::vector<std::uint8_t> block(kSlots * kSymbol), scratch(kBody);
    t = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      std::span<const std::uint8_t> pkt(batch.data() + (i % 64) * kPacket, kPacket);
      bad += !cipher.Open(i % 64 + 1, pkt, kHeader, scratch.data());
      std::memcpy(block.data() + (i % kSlots) * kSymbol, scratch.data() + kFields, kSymbol);
    }
    std::snprintf(label, sizeof label, "%s Open to scratch + copy to slot", name);
    Report(label, Seconds(t), n, kBody);
    t = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      std::span<const std::uint8_t> pkt(batch.data() + (i % 64) * kPacket, kPacket);
      bad += !(cipher.BeginOpen(i % 64 + 1, pkt, kHeader, kFields, scratch.data()) &&
               cipher.FinishOpen(pkt, kHeader, kFields, block.data() + (i % kSlots) * kSymbol));
    }
    std::snprintf(label, sizeof label, "%s BeginOpen fields + FinishOpen into slot", name);
    Report(label, Seconds(t), n, kBody);
    if (bad) std::printf("  %zu packets did not open!\n", bad);
  }
  if (only != "all" && only != "raw") return 0;
  // The cipher alone: one init, one update over 64 KiB at a time.
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::uint8_t iv[12] = {};
  std::vector<std::uint8_t> big(65536, 1);
  EVP_EncryptInit_ex2(ctx, gcm, keys.key.data(), iv, nullptr);
  int len = 0;
  const std::size_t rounds = n * kBody / big.size();
  auto t = Clock::now();
  for (std::size_t i = 0; i < rounds; ++i)
    EVP_EncryptUpdate(ctx, big.data(), &len, big.data(), int(big.size()));
  const double s = Seconds(t);
  Report("AES-256-GCM alone, 64 KiB per EVP call", s, rounds * big.size() / kBody, kBody);
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(gcm);
}
