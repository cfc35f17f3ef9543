#include "services/service.h"

#include <fmt/core.h>

#include "rex/body.h"

namespace ardus::services {

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
  return rex::Fail(rex::Code::kForbidden, checked.error().message);
}

std::optional<rex::Error> RefuseUnlessOwner(const Caller& caller, std::string_view owner,
                                            std::string_view what) {
  if (caller.identity->admin() || (!owner.empty() && owner == caller.identity->name())) {
    return std::nullopt;
  }
  return rex::Fail(rex::Code::kForbidden,
                   fmt::format("forbidden: {} belongs to another identity than '{}'", what,
                               caller.identity->name()));
}

}  // namespace ardus::services
