// Name patterns in grants: which Trader types or Notify channels (or durable
// subscription names) a grant covers.
//
// A pattern is a glob: '*' matches any run of characters, '.' and ':'
// included, possibly empty; every other character matches itself. So
// `camera` is exactly that type, `camera*` also `camera.front` and `cameras`,
// `sensors.*` everything under `sensors.`, and `*` everything. The names
// patterns match (tcl/name.h) never contain '*', so no escaping exists. A
// prefix ("durable names starting with alice.") is written `alice.*`.
//
// Why glob and not NATS's `*`/`>` tokens: Trader type names mix separators
// ("IDL:example/Camera:1.0"), so there is no one token separator to cut on.
//
// Thread-safety: values.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ardus::auth {

inline constexpr std::size_t kMaxPatternBytes = 128;

class Pattern {
 public:
  // Errors (kInvalidArgument, message says why): empty, longer than
  // kMaxPatternBytes, or a character no name may contain (tcl/name.h:
  // letters, digits, '_', '-', '.', ':', '/') other than '*'.
  static Result<Pattern> Parse(std::string_view text);

  bool Matches(std::string_view name) const;
  const std::string& text() const { return text_; }

 private:
  explicit Pattern(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace ardus::auth
