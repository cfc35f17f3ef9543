#include "auth/auth_file.h"

#include <vector>

#include "common/utf8.h"
#include "tcl/name.h"

namespace ardus::auth {

// Builds one AuthPolicy line by line; the first problem ends the parse.
class AuthFileParser {
 public:
  Result<std::shared_ptr<const AuthPolicy>, ParseError> Parse(std::string_view text);

 private:
  enum class Section { kNone, kIdentity, kAnonymous };
  struct Origin {
    std::size_t line;  // where an identity or credential was declared
  };

  std::optional<ParseError> Line(std::string_view raw);
  std::optional<std::string> Directive(std::string_view content);
  std::optional<std::string> StartIdentity(const std::vector<std::string_view>& words);
  std::optional<std::string> StartAnonymous(const std::vector<std::string_view>& words);
  std::optional<std::string> AddCredential(CredentialKind kind, std::string_view value,
                                           std::string_view what);
  std::optional<std::string> Allow(const std::vector<std::string_view>& words);
  std::optional<ParseError> FinishIdentity();
  Identity& Current() {
    return section_ == Section::kAnonymous ? policy_->anonymous_ : policy_->identities_.back();
  }

  std::shared_ptr<AuthPolicy> policy_ = std::make_shared<AuthPolicy>();
  Section section_ = Section::kNone;
  std::size_t line_ = 0;
  std::size_t section_line_ = 0;
  bool section_has_credential_ = false;
  bool saw_anonymous_ = false;
  std::vector<std::size_t> identity_lines_;
  std::vector<std::size_t> credential_lines_;
};

namespace {

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    std::size_t end = at;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (end > at) words.push_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::string> Hex64(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::string hex;
  for (char c : text) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    hex += c;
  }
  return hex;
}

std::string KnownPermissions() {
  std::string list;
  for (Permission p : AllPermissions())
    list += (list.empty() ? "" : ", ") + std::string(PermissionName(p));
  return list;
}

const char* KindName(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kKey:
      return "key";
    case CredentialKind::kCertSha256:
      return "cert-sha256";
    case CredentialKind::kCertSubject:
      return "cert-subject";
  }
  return "?";
}

}  // namespace

Status ParseError::ToStatus() const {
  if (line == 0) return Status::Error(ErrorKind::kLimitExceeded, "auth file: " + message);
  return Status::Error(ErrorKind::kInvalidArgument,
                       "auth file line " + std::to_string(line) + ": " + message);
}

Result<std::shared_ptr<const AuthPolicy>, ParseError> AuthFileParser::Parse(std::string_view text) {
  if (text.size() > kMaxAuthFileBytes) {
    return ParseError{0, "larger than " + std::to_string(kMaxAuthFileBytes) + " bytes"};
  }
  while (!text.empty()) {
    ++line_;
    const std::size_t end = text.find('\n');
    std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (auto problem = Line(raw)) return *problem;
  }
  if (auto problem = FinishIdentity()) return *problem;
  return std::shared_ptr<const AuthPolicy>(std::move(policy_));
}

std::optional<ParseError> AuthFileParser::Line(std::string_view raw) {
  auto here = [this](std::string message) { return ParseError{line_, std::move(message)}; };
  if (raw.size() > kMaxAuthLineBytes)
    return here("longer than " + std::to_string(kMaxAuthLineBytes) + " bytes");
  if (!IsWellFormedUtf8(raw)) return here("not UTF-8");
  for (std::size_t at = 0; at < raw.size();) {
    auto c = NextCodePoint(raw, &at);
    if (c && *c != '\t' && IsControlCharacter(*c)) return here("holds a control character");
  }
  const std::string_view content = raw.substr(0, raw.find('#'));
  const auto words = Words(content);
  if (words.empty()) return std::nullopt;
  // A new section first closes the one before, whose error names its own line.
  if (words[0] == "identity" || words[0] == "anonymous") {
    if (auto unfinished = FinishIdentity()) return unfinished;
  }
  if (auto problem = Directive(content)) return here(std::move(*problem));
  return std::nullopt;
}

std::optional<std::string> AuthFileParser::Directive(std::string_view content) {
  const auto words = Words(content);
  const std::string_view directive = words[0];
  if (directive == "identity") return StartIdentity(words);
  if (directive == "anonymous") return StartAnonymous(words);
  if (directive == "allow") return Allow(words);
  const bool credential =
      directive == "key" || directive == "cert-sha256" || directive == "cert-subject";
  if (!credential) {
    return "unknown directive '" + Printable(directive) +
           "' (expected identity, anonymous, key, cert-sha256, cert-subject or allow)";
  }
  if (directive == "cert-subject") {
    const std::string_view subject = Trim(Trim(content).substr(directive.size()));
    if (subject.empty())
      return "cert-subject needs a subject, e.g. cert-subject CN=scanner,O=Example";
    return AddCredential(CredentialKind::kCertSubject, subject, directive);
  }
  if (words.size() != 2)
    return std::string(directive) + " takes one value: 64 hex digits (a SHA-256)";
  auto hex = Hex64(words[1]);
  if (!hex) {
    return std::string(directive) + " '" + Printable(words[1]) + "' is not 64 hex digits" +
           (directive == "key"
                ? " (the SHA-256 of the Ed25519 public key, as `rex keygen` prints it)"
                : " (the SHA-256 of the certificate's DER)");
  }
  return AddCredential(directive == "key" ? CredentialKind::kKey : CredentialKind::kCertSha256,
                       *hex, directive);
}

std::optional<std::string> AuthFileParser::StartIdentity(
    const std::vector<std::string_view>& words) {
  if (words.size() != 2) return "identity takes one name: identity NAME";
  const std::string name(words[1]);
  if (name == "anonymous") return "'anonymous' is reserved: write the line 'anonymous' on its own";
  if (!tcl::ValidName(name)) {
    return "identity name '" + Printable(name) +
           "' is not valid (a letter first, then letters, digits, _ - . : /; at most 128 bytes)";
  }
  for (std::size_t i = 0; i < policy_->identities_.size(); ++i) {
    if (policy_->identities_[i].name() == name) {
      return "identity '" + name + "' is already declared on line " +
             std::to_string(identity_lines_[i]);
    }
  }
  policy_->identities_.emplace_back(name);
  identity_lines_.push_back(line_);
  section_ = Section::kIdentity;
  section_line_ = line_;
  section_has_credential_ = false;
  return std::nullopt;
}

std::optional<std::string> AuthFileParser::StartAnonymous(
    const std::vector<std::string_view>& words) {
  if (words.size() != 1) return "'anonymous' stands alone on its line";
  if (saw_anonymous_) return "'anonymous' is declared twice";
  saw_anonymous_ = true;
  section_ = Section::kAnonymous;
  section_line_ = line_;
  return std::nullopt;
}

std::optional<std::string> AuthFileParser::AddCredential(CredentialKind kind,
                                                         std::string_view value,
                                                         std::string_view what) {
  if (section_ == Section::kNone) {
    return "'" + std::string(what) + "' outside an identity: start one with 'identity NAME'";
  }
  if (section_ == Section::kAnonymous)
    return "anonymous has no credentials ('" + std::string(what) + "')";
  for (std::size_t i = 0; i < policy_->credentials_.size(); ++i) {
    const auto& other = policy_->credentials_[i];
    if (other.kind == kind && other.value == value) {
      return std::string(KindName(kind)) + " already names identity '" +
             policy_->identities_[other.identity].name() + "' (line " +
             std::to_string(credential_lines_[i]) + ")";
    }
  }
  policy_->credentials_.push_back({kind, std::string(value), policy_->identities_.size() - 1});
  credential_lines_.push_back(line_);
  section_has_credential_ = true;
  return std::nullopt;
}

std::optional<std::string> AuthFileParser::Allow(const std::vector<std::string_view>& words) {
  if (section_ == Section::kNone)
    return "'allow' outside an identity: start one with 'identity NAME' or 'anonymous'";
  if (words.size() < 2) return "allow needs a permission: allow PERMISSION PATTERN...";
  auto permission = PermissionFromName(words[1]);
  if (!permission) {
    return "unknown permission '" + Printable(words[1]) + "' (known: " + KnownPermissions() + ")";
  }
  if (*permission == Permission::kAdmin) {
    if (words.size() != 2) return "admin takes no pattern: it allows everything";
    Current().GrantAdmin();
    return std::nullopt;
  }
  if (words.size() < 3) {
    return std::string(PermissionName(*permission)) + " needs at least one " +
           ObjectNoun(*permission) + " pattern (use * for all)";
  }
  for (std::size_t i = 2; i < words.size(); ++i) {
    auto pattern = Pattern::Parse(words[i]);
    if (!pattern.ok()) return pattern.error().message();
    Current().Grant(*permission, std::move(pattern).value());
  }
  return std::nullopt;
}

std::optional<ParseError> AuthFileParser::FinishIdentity() {
  if (section_ == Section::kIdentity && !section_has_credential_) {
    return ParseError{section_line_,
                      "identity '" + policy_->identities_.back().name() +
                          "' has no key, cert-sha256 or cert-subject: nobody could be it"};
  }
  return std::nullopt;
}

Result<std::shared_ptr<const AuthPolicy>, ParseError> ParseAuthFile(std::string_view text) {
  return AuthFileParser().Parse(text);
}

Result<std::uint64_t, ParseError> AuthStore::Reload(std::string_view text) {
  auto parsed = ParseAuthFile(text);
  if (!parsed.ok()) return parsed.error();
  current_ = std::move(parsed).value();
  return ++generation_;
}

}  // namespace ardus::auth
