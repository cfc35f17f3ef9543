#include "auth/permissions.h"

#include <openssl/evp.h>

#include "common/utf8.h"

namespace ardus::auth {
namespace {

struct PermissionInfo {
  Permission permission;
  const char* name;
  const char* noun;
};

constexpr std::array<PermissionInfo, kPermissionCount> kPermissions = {{
    {Permission::kAddType, "trader.add_type", "type"},
    {Permission::kRemoveType, "trader.remove_type", "type"},
    {Permission::kExport, "trader.export", "type"},
    {Permission::kModify, "trader.modify", "type"},
    {Permission::kWithdraw, "trader.withdraw", "type"},
    {Permission::kRenew, "trader.renew", "type"},
    {Permission::kQuery, "trader.query", "type"},
    {Permission::kWatch, "trader.watch", "type"},
    {Permission::kPublish, "notify.publish", "channel"},
    {Permission::kSubscribe, "notify.subscribe", "channel"},
    {Permission::kDurable, "notify.durable", "durable name"},
    {Permission::kCreateChannel, "notify.create_channel", "channel"},
    {Permission::kAdmin, "admin", ""},
}};

constexpr std::array<Permission, kPermissionCount> kAll = [] {
  std::array<Permission, kPermissionCount> all{};
  for (std::size_t i = 0; i < kPermissionCount; ++i) all[i] = kPermissions[i].permission;
  return all;
}();

const PermissionInfo& InfoOf(Permission permission) {
  return kPermissions[static_cast<std::size_t>(permission)];
}

}  // namespace

const char* PermissionName(Permission permission) { return InfoOf(permission).name; }
const char* ObjectNoun(Permission permission) { return InfoOf(permission).noun; }
std::span<const Permission> AllPermissions() { return kAll; }

std::optional<Permission> PermissionFromName(std::string_view name) {
  for (const auto& info : kPermissions) {
    if (name == info.name) return info.permission;
  }
  return std::nullopt;
}

void Identity::Grant(Permission permission, Pattern pattern) {
  if (permission == Permission::kAdmin) {
    admin_ = true;
    return;
  }
  patterns_[static_cast<std::size_t>(permission)].push_back(std::move(pattern));
}

Result<Allowed, Refusal> Identity::Check(Permission permission, std::string_view object) const {
  if (admin_) return Allowed{};
  if (permission != Permission::kAdmin) {
    for (const auto& pattern : patterns(permission)) {
      if (pattern.Matches(object)) return Allowed{};
    }
  }
  Refusal refusal{permission, name_, permission == Permission::kAdmin ? "" : std::string(object),
                  ""};
  refusal.message =
      "forbidden: identity '" + Printable(name_) + "' lacks " + PermissionName(permission);
  if (permission != Permission::kAdmin) {
    refusal.message +=
        std::string(" on ") + ObjectNoun(permission) + " '" + Printable(object) + "'";
  }
  return refusal;
}

std::string KeyFingerprint(std::span<const std::uint8_t, 32> raw_public_key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(raw_public_key.data(), raw_public_key.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 15];
  }
  return hex;
}

std::shared_ptr<const AuthPolicy> AuthPolicy::Open() {
  auto policy = std::make_shared<AuthPolicy>();
  policy->anonymous_.GrantAdmin();
  return policy;
}

const Identity* AuthPolicy::Find(CredentialKind kind, std::string_view value) const {
  for (const auto& credential : credentials_) {
    if (credential.kind == kind && credential.value == value)
      return &identities_[credential.identity];
  }
  return nullptr;
}

const Identity* AuthPolicy::FindByCertificate(std::string_view sha256,
                                              std::string_view subject) const {
  if (const Identity* by_fingerprint = Find(CredentialKind::kCertSha256, sha256))
    return by_fingerprint;
  return Find(CredentialKind::kCertSubject, subject);
}

const Identity* AuthPolicy::FindByName(std::string_view name) const {
  for (const auto& identity : identities_) {
    if (identity.name() == name) return &identity;
  }
  return nullptr;
}

const Identity& AuthPolicy::Nobody() {
  static const Identity nobody("(removed)");  // no identity name holds parentheses
  return nobody;
}

}  // namespace ardus::auth
