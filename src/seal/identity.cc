#include "seal/identity.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>

namespace ardus::seal {
namespace {

[[noreturn]] void OutOfMemory() { std::abort(); }

PublicKey RawPublic(EVP_PKEY* key) {
  PublicKey pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size()) OutOfMemory();
  return pub;
}

PkeyPtr RawPrivate(int type, const Key32& seed) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(type, nullptr, seed.data(), seed.size());
  if (!key) OutOfMemory();
  return PkeyPtr(key);
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Status NotAKey(const char* what) { return Status::Error(ErrorKind::kInvalidArgument, what); }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void PkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

std::array<std::uint8_t, 32> Sha256Of(std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::array<std::uint8_t, 32> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) OutOfMemory();
  for (auto part : parts) EVP_DigestUpdate(ctx, part.data(), part.size());
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

Identity Identity::FromSeed(const Key32& seed) {
  PkeyPtr key = RawPrivate(EVP_PKEY_ED25519, seed);
  PublicKey pub = RawPublic(key.get());
  return Identity(std::move(key), pub);
}

Result<Identity> Identity::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) OutOfMemory();
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return NotAKey("not a PEM private key");
  PkeyPtr owned(key);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) return NotAKey("not an Ed25519 key");
  PublicKey pub = RawPublic(key);
  return Identity(std::move(owned), pub);
}

std::string Identity::PrivatePem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    OutOfMemory();
  return BioText(bio.get());
}

std::string Identity::PublicPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) OutOfMemory();
  return BioText(bio.get());
}

Fingerprint Identity::fingerprint() const { return FingerprintOf(public_); }

Signature Identity::Sign(std::span<const std::uint8_t> message) const {
  Signature sig{};
  std::size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx, sig.data(), &len, message.data(), message.size()) != 1)
    OutOfMemory();
  EVP_MD_CTX_free(ctx);
  return sig;
}

bool Verify(const PublicKey& key, std::span<const std::uint8_t> message,
            const Signature& signature) {
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  if (!pkey) return false;  // not a valid point
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) OutOfMemory();
  bool ok =
      EVP_DigestVerifyInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, pkey.get(), nullptr) == 1 &&
      EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(), message.size()) ==
          1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Result<PublicKey> PublicKeyFromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) OutOfMemory();
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return NotAKey("not a PEM public key");
  PkeyPtr owned(key);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) return NotAKey("not an Ed25519 key");
  return RawPublic(key);
}

Fingerprint FingerprintOf(const PublicKey& key) { return Sha256Of({key}); }

std::string FingerprintText(const Fingerprint& fingerprint) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (std::uint8_t b : fingerprint) {
    text.push_back(kHex[b >> 4]);
    text.push_back(kHex[b & 15]);
  }
  return text;
}

Result<Fingerprint> ParseFingerprint(std::string_view text) {
  Fingerprint out{};
  std::size_t digits = 0;
  for (char c : text) {
    if (c == ':') continue;
    int v = HexDigit(c);
    if (v < 0) return NotAKey("a fingerprint is 64 hex digits (SHA-256 of the public key)");
    if (digits == 64) return NotAKey("fingerprint longer than 64 hex digits");
    out[digits / 2] = std::uint8_t(out[digits / 2] | (v << (digits % 2 ? 0 : 4)));
    ++digits;
  }
  if (digits != 64) return NotAKey("fingerprint shorter than 64 hex digits");
  return out;
}

KeyExchange KeyExchange::FromSeed(const Key32& seed) {
  PkeyPtr key = RawPrivate(EVP_PKEY_X25519, seed);
  PublicKey pub = RawPublic(key.get());
  return KeyExchange(std::move(key), pub);
}

Result<Key32> KeyExchange::Agree(const PublicKey& peer) const {
  PkeyPtr other(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!other) return Status::Error(ErrorKind::kPeerProtocol, "bad key-exchange public key");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr);
  if (!ctx) OutOfMemory();
  Key32 secret{};
  std::size_t len = secret.size();
  bool ok = EVP_PKEY_derive_init(ctx) == 1 &&
            EVP_PKEY_derive_set_peer_ex(ctx, other.get(), 1) == 1 &&
            EVP_PKEY_derive(ctx, secret.data(), &len) == 1 && len == secret.size();
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return Status::Error(ErrorKind::kPeerProtocol, "key exchange with a small-order key");
  return secret;
}

}  // namespace ardus::seal
