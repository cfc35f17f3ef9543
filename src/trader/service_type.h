// Service types and the repository that holds them.
//
// A service type names a kind of service and the typed properties its offers
// carry. A type may name super-types: it inherits their properties, and a
// query for a super-type also returns offers of its subtypes. A subtype may
// redeclare an inherited property only with the same value type and a mode
// at least as strict (mandatory stays mandatory, readonly stays readonly).
//
// Thread-safety: none; owned by the Trader, which is single-threaded.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rex/error_code.h"
#include "tcl/name.h"
#include "tcl/value.h"

namespace ardus::trader {

struct PropertyDef {
  std::string name;
  tcl::PropertyType type;
  bool mandatory = false;
  bool readonly = false;
};

struct ServiceType {
  std::string name;
  std::vector<std::string> supers;
  std::vector<PropertyDef> properties;  // declared here, not inherited
};

// Limits on what one definition may declare.
inline constexpr std::size_t kMaxPropertiesPerType = 256;

class TypeRepository {
 public:
  // Errors: kDuplicateType; kUnknownType (a super-type is unknown);
  // kInvalidType (bad name, repeated property, conflicting redeclaration).
  rex::Ack Add(ServiceType type);
  // Errors: kUnknownType; kTypeInUse if `in_use` or a subtype names it.
  rex::Ack Remove(const std::string& name, bool in_use);

  const ServiceType* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

  // Every property of `name`, inherited ones included, by property name.
  // Precondition: Find(name) != nullptr.
  const std::map<std::string, PropertyDef>& Flattened(const std::string& name) const;
  // `name` and all its transitive subtypes.
  std::set<std::string> WithSubtypes(const std::string& name) const;

 private:
  std::map<std::string, ServiceType> types_;
  std::map<std::string, std::map<std::string, PropertyDef>> flattened_;
};

}  // namespace ardus::trader
