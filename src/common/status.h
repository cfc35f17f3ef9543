// Status and Result<T>: how every ardus component reports failure.
//
// No exception crosses a component boundary. A function that can fail returns a
// Status (or Result<T> when it also produces a value). The ErrorKind keeps three
// families of failure apart, because callers must react to them differently:
//   - kPeerProtocol: a peer sent something malformed or out of place. Drop and
//     count it; never treat it as a local fault.
//   - kLocalIo, kNoSpace, kUnsafePath, kIntegrity, kTimeout, kInvalidArgument,
//     kCancelled (the user interrupted), kLimitExceeded (input larger or deeper
//     than a documented limit):
//     the local system or the user's input is at fault. Report the message to
//     the user; the operation failed, nothing half-done was published.
//   - kInternal: a programmer error (a broken invariant). Report and abort the
//     session; it is a bug to fix, not a condition to handle.
//
// Thread-safety: values; const methods may be called concurrently.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ardus {

enum class ErrorKind {
  kOk = 0,
  kPeerProtocol,
  kInvalidArgument,
  kLocalIo,
  kNoSpace,
  kUnsafePath,
  kIntegrity,
  kTimeout,
  kCancelled,
  kLimitExceeded,
  kInternal,
};

// Stable lower-case name of a kind, used in reports and JSON output.
const char* ErrorKindName(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(ErrorKind kind, std::string message) {
    return Status(kind, std::move(message));
  }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  // "kind: message", or "ok".
  std::string ToString() const;

 private:
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// Either a value or a non-ok Status. Precondition for value(): ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ardus
