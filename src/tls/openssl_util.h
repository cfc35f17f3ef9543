// Small OpenSSL helpers private to the tls layer: owning handles, PEM
// reading, fingerprints, error text.
//
// Thread-safety: pure functions (OpenSSL's error queue is per thread).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ardus::tls {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueKey = std::unique_ptr<EVP_PKEY, KeyFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;

// Every certificate in a PEM text, in order (empty when none parse).
std::vector<UniqueX509> ReadCertificates(const std::string& pem);
UniqueKey ReadPrivateKey(const std::string& pem);
// What a memory BIO holds.
std::string BioText(BIO* bio);

std::string Hex(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> Base64Decode(std::string_view text);
std::string Sha256Hex(std::span<const std::uint8_t> bytes);
std::string CertSha256(X509* cert);   // of the DER certificate
std::string SpkiSha256(X509* cert);   // of the DER SubjectPublicKeyInfo
std::string SubjectText(X509* cert);  // RFC 2253

// The thread's OpenSSL error queue as one line, emptied.
std::string DrainErrors();
// An alert's description ("certificate expired").
std::string AlertName(int alert);
// What an alert from the peer most likely means for the operator.
std::string AlertHint(int alert, bool we_are_server);

}  // namespace ardus::tls
