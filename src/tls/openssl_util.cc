#include "tls/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <climits>

namespace ardus::tls {

std::vector<UniqueX509> ReadCertificates(const std::string& pem) {
  std::vector<UniqueX509> certs;
  if (pem.size() > INT_MAX) return certs;
  UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    certs.emplace_back(cert);
  ERR_clear_error();  // the read past the last certificate
  return certs;
}

UniqueKey ReadPrivateKey(const std::string& pem) {
  if (pem.size() > INT_MAX) return nullptr;
  UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return UniqueKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string Hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 1024) return std::nullopt;
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

std::string Sha256Hex(std::span<const std::uint8_t> bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) return "";
  return Hex({digest, size});
}

namespace {
template <typename Encode>
std::string DerSha256(Encode encode) {
  unsigned char* der = nullptr;
  const int size = encode(&der);
  if (size <= 0) return "";
  std::string hex = Sha256Hex({der, static_cast<std::size_t>(size)});
  OPENSSL_free(der);
  return hex;
}
}  // namespace

std::string CertSha256(X509* cert) {
  return DerSha256([cert](unsigned char** out) { return i2d_X509(cert, out); });
}

std::string SpkiSha256(X509* cert) {
  return DerSha256(
      [cert](unsigned char** out) { return i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), out); });
}

std::string SubjectText(X509* cert) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0)
    return "";
  return BioText(bio.get());
}

std::string DrainErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(e, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? "no OpenSSL detail" : text;
}

std::string AlertName(int alert) {
  // OpenSSL 3.0 has no text for TLS 1.3's certificate_required.
  if (alert == SSL_AD_CERTIFICATE_REQUIRED) return "certificate required";
  return SSL_alert_desc_string_long(alert);
}

std::string AlertHint(int alert, bool we_are_server) {
  const char* us = we_are_server ? "our (server) certificate" : "our client certificate";
  switch (alert) {
    case SSL_AD_CERTIFICATE_EXPIRED:
      return std::string(" (") + us + " has expired, or the peer's clock is wrong)";
    case SSL_AD_UNKNOWN_CA:
      return std::string(" (the peer does not trust the CA that signed ") + us + ")";
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_CERTIFICATE_UNKNOWN:
      return std::string(" (the peer refused ") + us +
             ": wrong host name, or outside its validity dates?)";
    case SSL_AD_HANDSHAKE_FAILURE:
      return std::string(" (the peer refused ") + us +
             ", e.g. its key does not match the peer's pin)";
    case SSL_AD_CERTIFICATE_REQUIRED:
      return " (this server requires a client certificate: mutual TLS)";
    case SSL_AD_PROTOCOL_VERSION:
      return " (the peer does not speak TLS 1.3)";
    default:
      return "";
  }
}

}  // namespace ardus::tls
