#include "services/service.h"

#include <fmt/core.h>

#include "rex/body.h"

namespace ardus::services {

namespace {
constexpr std::string_view kForbiddenPrefix = "forbidden: ";
}  // namespace

Reply Acknowledge(const rex::Ack& a) {
  if (!a.ok()) return a.error();
  rex::BodyWriter w;
  w.Map(0);
  return w.Copy();
}

std::optional<rex::Error> Refuse(const Caller& caller, auth::Permission permission,
                                 std::string_view object) {
  auto checked = caller.identity->Check(permission, object);
  if (checked.ok()) return std::nullopt;
  // The code's name says "forbidden" already: the message says what is missing.
  std::string_view why = checked.error().message;
  if (why.starts_with(kForbiddenPrefix)) why.remove_prefix(kForbiddenPrefix.size());
  return rex::Fail(rex::Code::kForbidden, std::string(why));
}

std::optional<rex::Error> RefuseUnlessOwner(const Caller& caller, std::string_view owner,
                                            std::string_view what) {
  if (caller.identity->admin() || (!owner.empty() && owner == caller.identity->name())) {
    return std::nullopt;
  }
  return rex::Fail(rex::Code::kForbidden, fmt::format("{} belongs to another identity than '{}'",
                                                      what, caller.identity->name()));
}

}  // namespace ardus::services
