#include "tcl/name.h"

namespace ardus::tcl {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(name[0])) return false;
  for (char c : name) {
    bool ok = letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == ':' ||
              c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace ardus::tcl
