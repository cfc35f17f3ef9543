#include "common/status.h"

namespace ardus {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk:
      return "ok";
    case ErrorKind::kPeerProtocol:
      return "peer-protocol";
    case ErrorKind::kInvalidArgument:
      return "invalid-argument";
    case ErrorKind::kLocalIo:
      return "io";
    case ErrorKind::kNoSpace:
      return "no-space";
    case ErrorKind::kUnsafePath:
      return "unsafe-path";
    case ErrorKind::kIntegrity:
      return "integrity";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kLimitExceeded:
      return "limit-exceeded";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(ErrorKindName(kind_)) + ": " + message_;
}

}  // namespace ardus
