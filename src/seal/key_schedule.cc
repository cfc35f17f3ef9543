#include "seal/key_schedule.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdlib>
#include <vector>

namespace ardus::seal {
namespace {

void Hkdf(int mode, std::span<const std::uint8_t> key, std::span<const std::uint8_t> salt,
          std::span<const std::uint8_t> info, std::span<std::uint8_t> out) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  if (!ctx) std::abort();
  char digest[] = "SHA256";
  OSSL_PARAM params[6];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(key.data()), key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx, out.data(), out.size(), params) != 1) std::abort();
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
}

}  // namespace

Key32 HkdfExtract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm) {
  Key32 prk{};
  // RFC 5869: an absent salt is HashLen zeros.
  const Key32 zeros{};
  Hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm,
       salt.empty() ? std::span<const std::uint8_t>(zeros) : salt, {}, prk);
  return prk;
}

void HkdfExpand(const Key32& secret, std::span<const std::uint8_t> info,
                std::span<std::uint8_t> out) {
  Hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, {}, info, out);
}

void ExpandLabel(const Key32& secret, std::string_view label, std::span<const std::uint8_t> context,
                 std::span<std::uint8_t> out) {
  static constexpr std::string_view kPrefix = "ardus2 ";
  std::vector<std::uint8_t> info;
  info.push_back(std::uint8_t(out.size() >> 8));
  info.push_back(std::uint8_t(out.size()));
  info.push_back(std::uint8_t(kPrefix.size() + label.size()));
  info.insert(info.end(), kPrefix.begin(), kPrefix.end());
  info.insert(info.end(), label.begin(), label.end());
  info.push_back(std::uint8_t(context.size()));
  info.insert(info.end(), context.begin(), context.end());
  HkdfExpand(secret, info, out);
}

}  // namespace ardus::seal
