// Status and Result<T, E>: how every ardus component reports failure.
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
#include <type_traits>
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

// Either a value or an error: a Status by default, or a protocol's own error
// type (REX's rex::Error carries a wire code). Precondition for value(): ok();
// for error(): !ok().
template <typename T, typename E = Status>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }
  // The Status, Ok() when a value is held.
  Status status() const requires std::is_same_v<E, Status> {
    return ok() ? Status::Ok() : std::get<1>(v_);
  }

 private:
  std::variant<T, E> v_;
};

}  // namespace ardus
