#include "support/test_certs.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace ardus::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test_certs: %s failed\n", what);
    std::abort();
  }
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "extension");
  X509_EXTENSION_free(ext);
}

std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(bio, cert) == 1, "PEM cert");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, std::int64_t from, std::int64_t until,
              long serial) {
  X509* cert = X509_new();
  Check(cert != nullptr && X509_set_version(cert, X509_VERSION_3) == 1, "X509_new");
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  Check(ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(from)) != nullptr,
        "notBefore");
  Check(ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(until)) != nullptr, "notAfter");
  X509_NAME* name = X509_get_subject_name(cert);
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) == 1,
        "CN");
  Check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("ardus test"), -1, -1,
                                   0) == 1,
        "O");
  Check(X509_set_pubkey(cert, key) == 1, "pubkey");
  return cert;
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Check(key != nullptr, "keygen");
  return key;
}

}  // namespace

TestCert MakeTestCa(const std::string& cn, std::int64_t now_unix) {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, cn, now_unix - 1000 * 86400LL, now_unix + 3650 * 86400LL, 1);
  Check(X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1, "issuer");
  AddExt(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(cert, cert, NID_subject_key_identifier, "hash");
  Check(X509_sign(cert, key, EVP_sha256()) > 0, "sign CA");
  TestCert out{Pem(cert), Pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TestCert MakeTestLeaf(const TestCert& ca, const LeafOptions& options) {
  BIO* cbio = BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size()));
  X509* ca_cert = PEM_read_bio_X509(cbio, nullptr, nullptr, nullptr);
  BIO_free(cbio);
  BIO* kbio = BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size()));
  EVP_PKEY* ca_key = PEM_read_bio_PrivateKey(kbio, nullptr, nullptr, nullptr);
  BIO_free(kbio);
  Check(ca_cert != nullptr && ca_key != nullptr, "read CA");

  static long serial = 100;
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, options.cn, options.not_before_unix, options.not_after_unix, ++serial);
  Check(X509_set_issuer_name(cert, X509_get_subject_name(ca_cert)) == 1, "issuer");
  AddExt(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert, ca_cert, NID_key_usage, "critical,digitalSignature");
  AddExt(cert, ca_cert, NID_ext_key_usage, options.client ? "clientAuth" : "serverAuth");
  if (!options.dns_names.empty()) {
    std::string san;
    for (const auto& dns : options.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    AddExt(cert, ca_cert, NID_subject_alt_name, san);
  }
  Check(X509_sign(cert, ca_key, EVP_sha256()) > 0, "sign leaf");
  TestCert out{Pem(cert), Pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  X509_free(ca_cert);
  EVP_PKEY_free(ca_key);
  return out;
}

}  // namespace ardus::testing
