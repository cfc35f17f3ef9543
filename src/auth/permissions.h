// The permission model for rexd's Trader and Notify (issue 18): identities
// with names and grants, and the check that answers "may this identity do
// this to that name?" with ok or a `forbidden` refusal naming what is
// missing. Pure and sans-IO; rexd will ask it before each request
// (docs/rex-protocol.md, "Permissions").
//
// Status: a building block. rexd does not call it yet.
//
// Thread-safety: Identity and AuthPolicy are immutable after construction
// and may be read from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/pattern.h"
#include "common/status.h"

namespace ardus::auth {

// What a grant allows. Every one but kAdmin covers names matching a pattern:
// service types for trader.*, channels for notify.publish, subscribe and
// create_channel, durable subscription names for notify.durable.
enum class Permission : std::uint8_t {
  kAddType,        // trader.add_type: add a service type
  kRemoveType,     // trader.remove_type
  kExport,         // trader.export: export an offer of the type
  kModify,         // trader.modify: change an offer's properties
  kWithdraw,       // trader.withdraw
  kRenew,          // trader.renew: refresh an offer's lease
  kQuery,          // trader.query: see offers of the type
  kWatch,          // trader.watch: watch offers of the type
  kPublish,        // notify.publish: publish on the channel
  kSubscribe,      // notify.subscribe: subscribe to the channel
  kDurable,        // notify.durable: make or attach to a durable subscription of that name
  kCreateChannel,  // notify.create_channel
  kAdmin,          // admin: everything, on every name
};
inline constexpr std::size_t kPermissionCount = 13;

// "trader.export", "notify.durable", "admin".
const char* PermissionName(Permission permission);
std::optional<Permission> PermissionFromName(std::string_view name);
// What the pattern of a permission names: "type", "channel", "durable name".
const char* ObjectNoun(Permission permission);
std::span<const Permission> AllPermissions();

// A `forbidden` refusal: the missing permission, on what, for whom.
struct Refusal {
  Permission missing = Permission::kAdmin;
  std::string identity;
  std::string object;   // empty for kAdmin
  std::string message;  // "forbidden: identity 'bob' lacks trader.export on type 'camera'"
};

struct Allowed {};

// An identity: a name and its grants.
class Identity {
 public:
  Identity() = default;
  explicit Identity(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  bool admin() const { return admin_; }
  void Grant(Permission permission, Pattern pattern);
  void GrantAdmin() { admin_ = true; }
  const std::vector<Pattern>& patterns(Permission permission) const {
    return patterns_[static_cast<std::size_t>(permission)];
  }

  // Ok when admin, or when a grant of `permission` has a pattern matching
  // `object` (ignored for kAdmin). Else the refusal, whose message names
  // the identity, the permission and the object (escaped for display).
  Result<Allowed, Refusal> Check(Permission permission, std::string_view object) const;

 private:
  std::string name_;
  bool admin_ = false;
  std::array<std::vector<Pattern>, kPermissionCount> patterns_;
};

// Who may present themselves, and how.
enum class CredentialKind : std::uint8_t {
  kKey,          // `key`: Ed25519 public key fingerprint (KeyFingerprint)
  kCertSha256,   // `cert-sha256`: SHA-256 of a client certificate's DER (tls
                 // PeerCertificate::sha256)
  kCertSubject,  // `cert-subject`: a client certificate's subject, RFC 2253
                 // (PeerCertificate::subject)
};

// Lower-case hex SHA-256 of a raw 32-byte Ed25519 public key: how the auth
// file names a key. (The identity library is expected to print the same
// fingerprint; docs/rex-protocol.md states the assumption.)
std::string KeyFingerprint(std::span<const std::uint8_t, 32> raw_public_key);

// One auth file's worth of identities: an immutable snapshot. A connection
// keeps its credential and re-resolves it against the current snapshot, so
// a reload that removes a grant takes effect on its next check.
class AuthPolicy {
 public:
  // No --auth: everyone, authenticated or not, may do everything (rexd's
  // behaviour before issue 18).
  static std::shared_ptr<const AuthPolicy> Open();

  // The identity a credential names, or nullptr (an unknown credential).
  const Identity* Find(CredentialKind kind, std::string_view value) const;
  // For a verified client certificate: by fingerprint, then by subject.
  const Identity* FindByCertificate(std::string_view sha256, std::string_view subject) const;
  const Identity* FindByName(std::string_view name) const;
  // What unauthenticated connections may do: the file's `anonymous` entry,
  // or nothing when it has none.
  const Identity& anonymous() const { return anonymous_; }
  // An identity named "(removed)" with no grants: what a connection whose
  // credential a reload removed holds (not anonymous's grants: being
  // removed must not widen what a connection may do).
  static const Identity& Nobody();
  std::span<const Identity> identities() const { return identities_; }

 private:
  friend class AuthFileParser;
  struct Credential {
    CredentialKind kind;
    std::string value;
    std::size_t identity;  // index into identities_
  };
  std::vector<Identity> identities_;
  std::vector<Credential> credentials_;
  Identity anonymous_{"anonymous"};
};

}  // namespace ardus::auth
