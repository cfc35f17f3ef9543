// MakeSelfSigned: a certificate and key for rexd's first run.
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/openssl_util.h"
#include "tls/tls_session.h"

namespace ardus::tls {
namespace {

Error Internal(const std::string& what) {
  return Error{Failure::kInternal, what + ": " + DrainErrors()};
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool added = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return added;
}

// A random positive 127-bit serial (RFC 5280: at most 20 octets, positive).
bool SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

std::string SubjectAltNames(const SelfSignedOptions& options) {
  std::string san;
  for (const auto& dns : options.dns_names) san += (san.empty() ? "" : ",") + ("DNS:" + dns);
  for (const auto& ip : options.ip_addresses) san += (san.empty() ? "" : ",") + ("IP:" + ip);
  return san;
}

}  // namespace

Result<SelfSigned, Error> MakeSelfSigned(const SelfSignedOptions& options) {
  if (options.dns_names.empty() && options.ip_addresses.empty()) {
    return Error{Failure::kBadConfig, "a certificate needs at least one DNS name or IP address"};
  }
  if (options.valid_days <= 0 || options.now_unix <= 0) {
    return Error{Failure::kBadConfig, "a certificate needs a current time and a positive lifetime"};
  }
  UniqueKey key(options.key_type == KeyType::kEd25519
                    ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                    : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Internal("key generation failed");
  UniqueX509 cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 || !SetRandomSerial(cert.get())) {
    return Internal("X509_new failed");
  }
  const std::int64_t not_before = options.now_unix - 3600;
  const std::int64_t not_after = options.now_unix + options.valid_days * 86400;
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)) == nullptr) {
    return Internal("cannot set the validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return Internal("cannot set the names or key");
  }
  if (!AddExtension(cert.get(), NID_subject_alt_name, SubjectAltNames(options))) {
    return Error{Failure::kBadConfig, "subjectAltName '" + SubjectAltNames(options) +
                                          "' is not valid: " + DrainErrors()};
  }
  if (!AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !AddExtension(cert.get(), NID_subject_key_identifier, "hash")) {
    return Internal("cannot add the extensions");
  }
  const EVP_MD* digest = options.key_type == KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), key.get(), digest) <= 0) return Internal("X509_sign failed");

  UniqueBio cert_bio(BIO_new(BIO_s_mem()));
  UniqueBio key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return Internal("PEM encoding failed");
  }
  return SelfSigned{BioText(cert_bio.get()), BioText(key_bio.get()), CertSha256(cert.get()),
                    SpkiSha256(cert.get())};
}

}  // namespace ardus::tls
