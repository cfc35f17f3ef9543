#include "trader/service_type.h"

#include <fmt/core.h>

namespace ardus::trader {

namespace {

bool ValidPropertyName(const std::string& name) {
  if (!tcl::ValidName(name)) return false;
  for (char c : name) {
    if (c == '-' || c == '.' || c == ':' || c == '/') return false;  // must lex as one identifier
  }
  return true;
}

// Whether `child` may redeclare `parent`'s property.
bool Compatible(const PropertyDef& parent, const PropertyDef& child) {
  return parent.type == child.type && (!parent.mandatory || child.mandatory) &&
         (!parent.readonly || child.readonly);
}

}  // namespace

rex::Ack TypeRepository::Add(ServiceType type) {
  using rex::Code;
  if (!tcl::ValidName(type.name)) {
    return rex::Fail(Code::kInvalidType, fmt::format("'{}' is not a valid type name", type.name));
  }
  if (types_.count(type.name)) {
    return rex::Fail(Code::kDuplicateType, fmt::format("type '{}' exists", type.name));
  }
  if (type.properties.size() > kMaxPropertiesPerType) {
    return rex::Fail(Code::kLimitExceeded,
                     fmt::format("more than {} properties", kMaxPropertiesPerType));
  }
  std::map<std::string, PropertyDef> all;
  for (const auto& super : type.supers) {
    if (!types_.count(super)) {
      return rex::Fail(Code::kUnknownType, fmt::format("super-type '{}' does not exist", super));
    }
    for (const auto& [name, def] : flattened_.at(super)) {
      auto [it, fresh] = all.emplace(name, def);
      if (!fresh && !(it->second.type == def.type)) {
        return rex::Fail(Code::kInvalidType,
                         fmt::format("super-types disagree on the type of '{}'", name));
      }
      it->second.mandatory |= def.mandatory;
      it->second.readonly |= def.readonly;
    }
  }
  std::set<std::string> declared;
  for (const auto& p : type.properties) {
    if (!ValidPropertyName(p.name)) {
      return rex::Fail(
          Code::kInvalidType,
          fmt::format("'{}' is not a valid property name (letters, digits, _)", p.name));
    }
    if (!declared.insert(p.name).second) {
      return rex::Fail(Code::kInvalidType, fmt::format("property '{}' declared twice", p.name));
    }
    auto inherited = all.find(p.name);
    if (inherited != all.end() && !Compatible(inherited->second, p)) {
      return rex::Fail(Code::kInvalidType,
                       fmt::format("'{}' redeclares inherited property '{}' with a different type "
                                   "or a weaker mode",
                                   type.name, p.name));
    }
    all[p.name] = p;
  }
  flattened_[type.name] = std::move(all);
  types_.emplace(type.name, std::move(type));
  return rex::Ok();
}

rex::Ack TypeRepository::Remove(const std::string& name, bool in_use) {
  using rex::Code;
  if (!types_.count(name)) {
    return rex::Fail(Code::kUnknownType, fmt::format("type '{}' does not exist", name));
  }
  if (in_use) {
    return rex::Fail(Code::kTypeInUse,
                     fmt::format("offers of '{}' exist; withdraw them first", name));
  }
  for (const auto& [other, t] : types_) {
    for (const auto& s : t.supers) {
      if (s == name) {
        return rex::Fail(Code::kTypeInUse,
                         fmt::format("type '{}' is a super-type of '{}'", name, other));
      }
    }
  }
  types_.erase(name);
  flattened_.erase(name);
  return rex::Ok();
}

const ServiceType* TypeRepository::Find(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> TypeRepository::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : types_) out.push_back(name);
  return out;
}

const std::map<std::string, PropertyDef>& TypeRepository::Flattened(const std::string& name) const {
  return flattened_.at(name);
}

std::set<std::string> TypeRepository::WithSubtypes(const std::string& name) const {
  std::set<std::string> out{name};
  bool grew = true;
  while (grew) {  // types are few; a fixpoint over them is simple and fast enough
    grew = false;
    for (const auto& [other, t] : types_) {
      if (out.count(other)) continue;
      for (const auto& s : t.supers) {
        if (out.count(s)) {
          out.insert(other);
          grew = true;
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace ardus::trader
