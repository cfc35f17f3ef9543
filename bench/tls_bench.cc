// What TLS costs rexd per byte: 256 MiB (or argv[1] MiB) through an
// in-memory TLS 1.3 pair (src/tls/tls_session.h): the client encrypts, the
// server decrypts, on one thread, in 64 KiB writes (or argv[2] bytes: 200 is
// one small framed Notify event per record), against memcpy of the
// same bytes (cache-resident 64 KiB, and 64 MiB buffers that go to RAM).
// Prints one line per measurement and the ratios.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tls/tls_session.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const char* what, const std::string& message) {
  std::fprintf(stderr, "tls_bench: %s: %s\n", what, message.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ardus::tls;
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const std::size_t total = mib << 20;
  const std::size_t kWrite = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 64 * 1024;
  if (kWrite == 0 || kWrite > (1u << 24)) Die("usage", "tls_bench [MiB [write-bytes]]");
  const std::int64_t now = 1'800'000'000;

  auto self = MakeSelfSigned({.now_unix = now});
  if (!self.ok()) Die("certificate", self.error().message);
  auto server_ctx = TlsContext::Server({self.value().cert_pem, self.value().key_pem, ""});
  auto client_ctx =
      TlsContext::Client({.pin = self.value().spki_sha256, .server_name = "localhost"});
  if (!server_ctx.ok() || !client_ctx.ok()) Die("context", "cannot build");
  auto client = TlsSession::Start(client_ctx.value(), now);
  auto server = TlsSession::Start(server_ctx.value(), now);
  if (!client.ok() || !server.ok()) Die("start", "cannot start");
  TlsSession& c = client.value();
  TlsSession& s = server.value();

  std::vector<std::uint8_t> wire, plain, sink;
  for (int round = 0; round < 10 && !(c.established() && s.established()); ++round) {
    wire.clear();
    c.TakeOutput(wire);
    if (auto r = s.Receive(wire, plain); !r.ok()) Die("server handshake", r.error().message);
    wire.clear();
    s.TakeOutput(wire);
    if (auto r = c.Receive(wire, plain); !r.ok()) Die("client handshake", r.error().message);
  }
  if (!c.established()) Die("handshake", "did not complete");

  std::vector<std::uint8_t> block(kWrite);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::uint8_t>(i * 131 + 7);

  const std::size_t writes = total / kWrite;
  std::size_t received = 0, wire_bytes = 0;
  const auto tls_start = Clock::now();
  for (std::size_t i = 0; i < writes; ++i) {
    if (auto r = c.Send(block); !r.ok()) Die("send", r.error().message);
    wire.clear();
    wire_bytes += c.TakeOutput(wire);
    plain.clear();
    if (auto r = s.Receive(wire, plain); !r.ok()) Die("receive", r.error().message);
    received += plain.size();
  }
  const double tls_seconds = Seconds(tls_start);
  if (received != writes * kWrite || std::memcmp(plain.data(), block.data(), kWrite) != 0) {
    Die("check", "plaintext differs from what was sent");
  }

  sink.resize(kWrite);
  std::uint64_t checksum = 0;
  const auto copy_start = Clock::now();
  for (std::size_t sent = 0; sent < total; sent += kWrite) {
    std::memcpy(sink.data(), block.data(), kWrite);
    checksum += sink[sent % kWrite];
    block[0] = static_cast<std::uint8_t>(checksum);  // keep the copies from being elided
  }
  const double copy_seconds = Seconds(copy_start);

  // memcpy beyond the caches: 64 MiB buffers, as many passes as make `total`.
  constexpr std::size_t kBig = 64u << 20;
  std::vector<std::uint8_t> from(kBig, 1), to(kBig, 0);
  const auto big_start = Clock::now();
  for (std::size_t sent = 0; sent < total; sent += kBig) {
    std::memcpy(to.data(), from.data(), kBig);
    checksum += to[sent % kBig];
    from[0] = static_cast<std::uint8_t>(checksum);
  }
  const double big_seconds = Seconds(big_start);

  const double gib = static_cast<double>(total) / (1 << 30);
  std::printf("tls_bench: %zu MiB in %zu-byte writes, %.*s %.*s, wire overhead %.2f%%\n", mib,
              kWrite, static_cast<int>(c.version().size()), c.version().data(),
              static_cast<int>(c.cipher().size()), c.cipher().data(),
              100.0 * (static_cast<double>(wire_bytes) / static_cast<double>(writes * kWrite) - 1));
  std::printf("tls (encrypt + decrypt, one thread)  : %.3f s  %.2f GiB/s  %.3f us per write\n",
              tls_seconds, gib / tls_seconds, tls_seconds * 1e6 / static_cast<double>(writes));
  std::printf("memcpy, 64 KiB in cache             : %.3f s  %.2f GiB/s\n", copy_seconds,
              gib / copy_seconds);
  std::printf("memcpy, 64 MiB buffers (RAM)        : %.3f s  %.2f GiB/s  (checksum %llu)\n",
              big_seconds, gib / big_seconds, static_cast<unsigned long long>(checksum));
  std::printf("tls is %.0fx slower than cached memcpy, %.1fx slower than RAM memcpy\n",
              tls_seconds / copy_seconds, tls_seconds / big_seconds);
  return 0;
}
