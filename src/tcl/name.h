// Names shared by both services: service types, properties, channels and
// event types. They are restricted so that the constraint language can name
// them.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>

namespace ardus::tcl {

inline constexpr std::size_t kMaxNameBytes = 128;

// Names must be non-empty, at most kMaxNameBytes, and made of letters, digits,
// '_', '-', '.', ':' or '/', starting with a letter.
bool ValidName(const std::string& name);

}  // namespace ardus::tcl
