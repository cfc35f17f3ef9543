#include "rex/error_code.h"

#include <array>

namespace ardus::rex {

namespace {

constexpr std::array<CodeInfo, 27> kCodes = {{
    {Code::kBadFrame, "bad_frame", "the frame header is malformed; the connection is closed"},
    {Code::kHandshakeRequired, "handshake_required", "a request came before HELLO"},
    {Code::kUnsupportedVersion, "unsupported_version", "no common REX version"},
    {Code::kUnknownMethod, "unknown_method", "the method number is not served here"},
    {Code::kBadRequest, "bad_request", "the body is not the map the method expects"},
    {Code::kFrameTooLarge, "frame_too_large", "the frame exceeds the size limit; closed"},
    {Code::kOverloaded, "overloaded",
     "the client did not read its output in time, or rexd is full; closed"},
    {Code::kTimedOut, "timed_out", "the handshake or a frame did not complete in time; closed"},
    {Code::kUnauthenticated, "unauthenticated",
     "the AUTH proof was refused (bad signature, unknown key, repeated or late); closed"},
    {Code::kUnknownType, "unknown_type", "no service type of that name"},
    {Code::kDuplicateType, "duplicate_type", "a service type of that name exists"},
    {Code::kTypeInUse, "type_in_use", "offers or subtypes of the type exist"},
    {Code::kInvalidType, "invalid_type", "the type definition is inconsistent"},
    {Code::kForbidden, "forbidden",
     "the identity lacks the permission, or does not own the object"},
    {Code::kUnknownOffer, "unknown_offer", "no offer with that id (withdrawn or expired)"},
    {Code::kMissingProperty, "missing_property", "a mandatory property is missing"},
    {Code::kPropertyTypeMismatch, "property_type_mismatch", "a value has the wrong type"},
    {Code::kUnknownProperty, "unknown_property", "the service type has no such property"},
    {Code::kReadonlyProperty, "readonly_property", "a readonly property cannot change"},
    {Code::kIllegalConstraint, "illegal_constraint", "the constraint does not parse or check"},
    {Code::kIllegalPreference, "illegal_preference", "the preference does not parse or check"},
    {Code::kLimitExceeded, "limit_exceeded", "a size, depth, step or count limit was hit"},
    {Code::kUnknownIterator, "unknown_iterator", "no open result iterator with that id"},
    {Code::kIllegalPolicy, "illegal_policy", "a policy value is out of range"},
    {Code::kUnknownWatch, "unknown_watch", "no watch with that id on this connection"},
    {Code::kStorageFailed, "storage_failed", "rexd could not make the change durable"},
    {Code::kInternal, "internal", "a bug in rexd; please report it"},
}};

}  // namespace

std::span<const CodeInfo> AllCodes() { return kCodes; }

const CodeInfo& Info(Code code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c;
  }
  return kCodes.back();
}

const char* CodeName(Code code) { return Info(code).name; }

}  // namespace ardus::rex
