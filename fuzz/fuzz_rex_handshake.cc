// Fuzzes the REX handshake as rexd runs it: HELLO, the AUTH exchange
// (rex/auth_exchange.h) with rexd's checks (an Ed25519 signature over the
// connection's nonce, service and channel binding; the key looked up in an
// auth file), and the requests after it, in any order and any split, with
// time moving so that the handshake timeout is crossed.
//
// Input: data[0] is flags (bit 0: a TLS channel binding; bit 1: the auth
// file has an anonymous entry; bits 4-7: how many 50 ms pass after each
// segment, so the 2 s handshake timeout falls anywhere); the rest is what the client sends, split
// into TCP segments at points its own bytes choose. The nonce and the one
// listed key are fixed (the key's seed is 00 01 .. 1f, as in the doc's worked
// example; the nonce 80 81 .. 9f), so seeds can carry valid proofs
// (fuzz/make_handshake_corpus.py writes them).
//
// Checked beyond "no crash": the authenticator runs at most once per
// connection; a connection is authenticated only if it accepted a proof; no
// request is handed out after the connection starts closing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/auth_file.h"
#include "rex/auth_exchange.h"
#include "rex/body.h"
#include "rex/server_connection.h"
#include "seal/identity.h"

namespace {

using namespace ardus;

rex::Nonce FixedNonce() {
  rex::Nonce n;
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(0x80 + i);
  return n;
}

std::shared_ptr<const auth::AuthPolicy> Policy(bool anonymous) {
  seal::Key32 seed;
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i);
  std::string text = "identity fuzz\n  key " +
                     seal::FingerprintText(seal::Identity::FromSeed(seed).fingerprint()) +
                     "\n  allow admin\n";
  if (anonymous) text += "anonymous\n  allow trader.query *\n";
  return auth::ParseAuthFile(text).value();
}

// rexd's Server::Authenticate, without the logging.
class Checker final : public rex::Authenticator {
 public:
  Checker(const auth::AuthPolicy& policy, std::vector<std::uint8_t> binding)
      : policy_(policy), binding_(std::move(binding)) {}
  Result<std::string, rex::Error> Authenticate(const rex::AuthAttempt& a) override {
    if (++calls > 1) __builtin_trap();  // ServerConnection must refuse a second AUTH itself
    auto message = rex::AuthMessage(a.nonce, "trader", binding_);
    if (!seal::Verify(a.request.key, message, a.request.signature)) {
      return rex::Fail(rex::Code::kUnauthenticated, "the signature does not verify");
    }
    const auth::Identity* id =
        policy_.Find(auth::CredentialKind::kKey, auth::KeyFingerprint(a.request.key));
    if (!id) return rex::Fail(rex::Code::kUnauthenticated, "not in the auth file");
    accepted = true;
    return id->name();
  }
  int calls = 0;
  bool accepted = false;

 private:
  const auth::AuthPolicy& policy_;
  std::vector<std::uint8_t> binding_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto with_anonymous = Policy(true);
  static const auto without_anonymous = Policy(false);
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::vector<std::uint8_t> binding;
  if (flags & 1) binding.assign(32, 0x5a);
  Checker checker(flags & 2 ? *with_anonymous : *without_anonymous, binding);
  rex::ConnectionLimits limits{.max_body = 4096, .max_pending = 1 << 16};
  limits.max_unserved = 1 << 13;
  limits.handshake_timeout_ms = 2000;
  std::int64_t now = 0;
  rex::ServerConnection conn("fuzz", {"trader"}, limits, now);
  conn.OfferAuthentication(FixedNonce(), checker);
  std::size_t pos = 1;
  while (pos < size) {
    std::uint8_t control = data[pos];
    std::size_t n = std::min<std::size_t>(size - pos, 1 + control % 61);
    conn.OnBytes(now, {data + pos, n});
    pos += n;
    rex::Frame r;
    while (conn.NextRequest(&r)) {
      if (conn.closing()) __builtin_trap();
      rex::BodyWriter w;
      w.Map(0);
      conn.Reply(r, w.bytes());
    }
    if (conn.authenticated() && !checker.accepted) __builtin_trap();
    now += 50 * (flags >> 4);
    conn.Tick(now);
    conn.Consumed(conn.pending().size(), now);
    if (conn.finished()) break;
  }
  return 0;
}
