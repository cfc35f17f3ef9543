// InspectCertificate: what rexd checks in --tls-cert before serving it.
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "tls/openssl_util.h"
#include "tls/tls_session.h"

namespace ardus::tls {
namespace {

std::string TimeText(const ASN1_TIME* time) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), time) != 1) return "?";
  return BioText(bio.get());
}

}  // namespace

Result<CertificateInfo, Error> InspectCertificate(const std::string& cert_pem,
                                                  std::int64_t now_unix) {
  auto chain = ReadCertificates(cert_pem);
  if (chain.empty()) return Error{Failure::kBadConfig, "no PEM certificate found"};
  X509* cert = chain[0].get();
  CertificateInfo info{CertSha256(cert), SpkiSha256(cert), SubjectText(cert),
                       TimeText(X509_get0_notAfter(cert))};
  time_t now = static_cast<time_t>(now_unix);
  // X509_cmp_time: -1 if the time is before `now`, 1 after, 0 on error.
  if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0) {
    return Error{Failure::kBadConfig,
                 "the certificate (" + info.subject + ") expired on " + info.not_after};
  }
  if (X509_cmp_time(X509_get0_notBefore(cert), &now) >= 0) {
    return Error{Failure::kBadConfig, "the certificate (" + info.subject + ") is not valid until " +
                                          TimeText(X509_get0_notBefore(cert)) +
                                          " (check the clock)"};
  }
  return info;
}

}  // namespace ardus::tls
