// The auth file (rexd --auth FILE): who may connect and what each may do.
// A line format meant to be written by hand; docs/rex-protocol.md,
// "Permissions", has the grammar and a worked example that
// tests/unit/auth_test.cc parses.
//
//   # '#' starts a comment, to the end of the line. Indentation is free.
//   identity camera-1                  # a name: letter first, then letters,
//     key 3b6a27bc...(64 hex)          #   digits, _ - . : /
//     cert-sha256 9f86d081...(64 hex)  # a client certificate's DER SHA-256
//     cert-subject CN=scanner,O=Example   # or its subject (RFC 2253), to line end
//     allow trader.export camera camera.*  # permission, then 1+ patterns
//     allow admin                      # admin takes no pattern
//   anonymous                          # unauthenticated connections
//     allow trader.query *
//
// An identity needs at least one credential; a credential names one
// identity only. `anonymous` has no credentials; without it, unauthenticated
// connections may do nothing.
//
// Reloading: ParseAuthFile builds a whole new snapshot or fails; AuthStore
// swaps it in only on success, so a reload that fails keeps the old one
// (rexd logs the error and goes on).
//
// Thread-safety: ParseAuthFile is pure. AuthStore is single-threaded (rexd's
// loop); the snapshots it hands out are immutable and shareable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/permissions.h"
#include "common/status.h"

namespace ardus::auth {

inline constexpr std::size_t kMaxAuthFileBytes = 1 << 20;
inline constexpr std::size_t kMaxAuthLineBytes = 4096;

struct ParseError {
  std::size_t line = 0;  // 1-based; 0 for the whole file (too large, not UTF-8)
  std::string message;   // what is wrong on that line and what is expected
  // kInvalidArgument, "auth file line 7: ..." (or kLimitExceeded when too large).
  Status ToStatus() const;
};

Result<std::shared_ptr<const AuthPolicy>, ParseError> ParseAuthFile(std::string_view text);

class AuthStore {
 public:
  explicit AuthStore(std::shared_ptr<const AuthPolicy> initial) : current_(std::move(initial)) {}

  // Parses `text`; on success it becomes current and the generation grows.
  // On failure the current snapshot stays and the error is returned.
  Result<std::uint64_t, ParseError> Reload(std::string_view text);

  const std::shared_ptr<const AuthPolicy>& current() const { return current_; }
  // Grows by one per successful reload: a connection that resolved its
  // identity at an older generation resolves it again.
  std::uint64_t generation() const { return generation_; }

 private:
  std::shared_ptr<const AuthPolicy> current_;
  std::uint64_t generation_ = 0;
};

}  // namespace ardus::auth
