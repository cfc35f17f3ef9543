// The REX error-code table: one list shared by rexd, the rex CLI and
// docs/rex-protocol.md. A request that fails gets an ERROR frame carrying one
// of these codes, its name and a human message.
//
// Families (see docs/rex-protocol.md for what a caller does with each):
//   1-9   protocol: the peer broke the framing or the handshake (or failed
//         to authenticate);
//   10-49 request: the request was well formed but refused;
//   50-59 server: rexd could not do it (storage, internal fault).
//
// Thread-safety: constant tables and plain values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include "common/status.h"

namespace ardus::rex {

enum class Code : std::uint16_t {
  kBadFrame = 1,
  kHandshakeRequired = 2,
  kUnsupportedVersion = 3,
  kUnknownMethod = 4,
  kBadRequest = 5,
  kFrameTooLarge = 6,
  kOverloaded = 7,
  kTimedOut = 8,
  kUnauthenticated = 9,
  kUnknownType = 10,
  kDuplicateType = 11,
  kTypeInUse = 12,
  kInvalidType = 13,
  kForbidden = 14,
  kUnknownOffer = 20,
  kMissingProperty = 21,
  kPropertyTypeMismatch = 22,
  kUnknownProperty = 23,
  kReadonlyProperty = 24,
  kIllegalConstraint = 30,
  kIllegalPreference = 31,
  kLimitExceeded = 32,
  kUnknownIterator = 33,
  kIllegalPolicy = 34,
  kUnknownWatch = 40,
  kStorageFailed = 50,
  kInternal = 51,
};

struct CodeInfo {
  Code code;
  const char* name;     // stable snake_case name, printed by the CLI and in JSON
  const char* meaning;  // one line for docs and --help
};

std::span<const CodeInfo> AllCodes();
// The entry for `code`; an unknown number maps to kInternal's entry.
const CodeInfo& Info(Code code);
const char* CodeName(Code code);

// A refused request: the code plus a message for humans.
struct Error {
  Code code = Code::kInternal;
  std::string message;
};

// An operation with no value: accepted, or an Error.
struct Done {};
using Ack = Result<Done, Error>;
inline Ack Ok() { return Done{}; }
inline Error Fail(Code code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace ardus::rex
