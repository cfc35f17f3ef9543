// Ed25519 identities, their fingerprints, and X25519 key agreement (OpenSSL 3
// EVP). An identity's fingerprint is SHA-256 of its raw 32-byte public key,
// written as 64 lower-case hex digits; `openssl pkey -in KEY -pubout -outform
// DER | tail -c 32 | sha256sum` prints the same digits.
//
// Keys come from caller-supplied random bytes (RandomSource), never from the
// library's own generator, so runs replay from a seed. Key files are PEM
// (PKCS#8 private key, SubjectPublicKeyInfo public key), readable by the
// `openssl` command; reading and writing the files is the I/O layer's job
// (io/key_file.h), this layer only converts text.
//
// Thread-safety: const methods may be called from several threads at once
// (OpenSSL's EVP_PKEY is safe for concurrent signing); nothing else is.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "seal/random.h"
#include "seal/types.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ardus::seal {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

class Identity {
 public:
  // The identity whose private key is the 32-byte Ed25519 seed `seed`.
  static Identity FromSeed(const Key32& seed);
  static Identity Generate(RandomSource& random) { return FromSeed(random.Key()); }
  // From a PEM private key. Errors: kInvalidArgument "not a PEM private key"
  // or "not an Ed25519 key" (the caller names the file).
  static Result<Identity> FromPem(std::string_view pem);

  std::string PrivatePem() const;
  std::string PublicPem() const;
  const PublicKey& public_key() const { return public_; }
  Fingerprint fingerprint() const;
  // PureEdDSA over `message` (deterministic: same key and message, same bytes).
  Signature Sign(std::span<const std::uint8_t> message) const;

 private:
  Identity(PkeyPtr key, const PublicKey& pub) : key_(std::move(key)), public_(pub) {}
  PkeyPtr key_;
  PublicKey public_;
};

// True if `signature` is `key`'s Ed25519 signature of `message`.
bool Verify(const PublicKey& key, std::span<const std::uint8_t> message,
            const Signature& signature);

// From a PEM public key (a FILE.pub). Errors: kInvalidArgument.
Result<PublicKey> PublicKeyFromPem(std::string_view pem);

Fingerprint FingerprintOf(const PublicKey& key);
std::string FingerprintText(const Fingerprint& fingerprint);  // 64 lower-case hex digits
// Accepts 64 hex digits of either case, optionally split by ':'. Errors:
// kInvalidArgument naming what is wrong.
Result<Fingerprint> ParseFingerprint(std::string_view text);

// An X25519 key pair for one session (an ephemeral key).
class KeyExchange {
 public:
  static KeyExchange FromSeed(const Key32& seed);
  static KeyExchange Generate(RandomSource& random) { return FromSeed(random.Key()); }
  const PublicKey& public_key() const { return public_; }
  // The raw shared secret with `peer`. Errors: kPeerProtocol when `peer` is a
  // small-order point (the result would be all zeros).
  Result<Key32> Agree(const PublicKey& peer) const;

 private:
  KeyExchange(PkeyPtr key, const PublicKey& pub) : key_(std::move(key)), public_(pub) {}
  PkeyPtr key_;
  PublicKey public_;
};

}  // namespace ardus::seal
