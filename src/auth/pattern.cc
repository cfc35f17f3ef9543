#include "auth/pattern.h"

namespace ardus::auth {
namespace {

bool NameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || c == '/';
}

}  // namespace

Result<Pattern> Pattern::Parse(std::string_view text) {
  if (text.empty()) return Status::Error(ErrorKind::kInvalidArgument, "empty pattern");
  if (text.size() > kMaxPatternBytes) {
    return Status::Error(ErrorKind::kInvalidArgument,
                         "pattern longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  }
  for (char c : text) {
    if (c != '*' && !NameCharacter(c)) {
      return Status::Error(
          ErrorKind::kInvalidArgument,
          "pattern '" + std::string(text) +
              "' has a character no name may hold (names use letters, digits, _ - . : /; "
              "'*' matches any run of them)");
    }
  }
  return Pattern(std::string(text));
}

// Iterative glob: on a mismatch, retry from the last '*' one character later.
// At most |pattern| x |name| steps, both bounded by 128 bytes.
bool Pattern::Matches(std::string_view name) const {
  std::size_t p = 0, n = 0;
  std::size_t star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < text_.size() && text_[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < text_.size() && text_[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < text_.size() && text_[p] == '*') ++p;
  return p == text_.size();
}

}  // namespace ardus::auth
