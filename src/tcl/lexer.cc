#include "tcl/lexer.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <unordered_map>

namespace ardus::tcl {

namespace {

Status LexError(int column, std::string what) {
  return Status::Error(ErrorKind::kInvalidArgument, fmt::format("column {}: {}", column, what));
}

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Tok KeywordOr(std::string_view word) {
  static const std::unordered_map<std::string_view, Tok> kWords = {
      {"min", Tok::kMin},     {"max", Tok::kMax},       {"with", Tok::kWith},
      {"first", Tok::kFirst}, {"random", Tok::kRandom}, {"exist", Tok::kExist},
      {"not", Tok::kNot},     {"and", Tok::kAnd},       {"or", Tok::kOr},
      {"in", Tok::kIn},       {"TRUE", Tok::kTrue},     {"FALSE", Tok::kFalse},
  };
  auto it = kWords.find(word);
  return it == kWords.end() ? Tok::kIdent : it->second;
}

// Scans digits[.digits][e[+-]digits] (or .digits...) starting at i.
Result<Token> LexNumber(std::string_view src, std::size_t& i, int column) {
  std::size_t start = i;
  bool is_float = false;
  while (i < src.size() && IsDigit(src[i])) ++i;
  if (i < src.size() && src[i] == '.') {
    is_float = true;
    ++i;
    if (i >= src.size() || !IsDigit(src[i])) return LexError(column, "digits expected after '.'");
    while (i < src.size() && IsDigit(src[i])) ++i;
  }
  if (i < src.size() && (src[i] == 'e' || src[i] == 'E')) {
    is_float = true;
    ++i;
    if (i < src.size() && (src[i] == '+' || src[i] == '-')) ++i;
    if (i >= src.size() || !IsDigit(src[i])) return LexError(column, "digits expected in exponent");
    while (i < src.size() && IsDigit(src[i])) ++i;
  }
  if (i < src.size() && (IsLetter(src[i]) || src[i] == '_')) {
    return LexError(column, "a number runs into a name; put a space between them");
  }
  std::string_view text = src.substr(start, i - start);
  Token t;
  t.column = column;
  if (is_float) {
    t.kind = Tok::kFloat;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), t.float_value);
    if (ec != std::errc() || !std::isfinite(t.float_value)) {
      return LexError(column, fmt::format("number '{}' is out of range", text));
    }
  } else {
    t.kind = Tok::kInt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
    if (ec != std::errc()) {
      return LexError(column, fmt::format("integer '{}' does not fit 64 bits", text));
    }
  }
  return t;
}

Result<Token> LexString(std::string_view src, std::size_t& i, int column) {
  Token t{Tok::kString, column};
  ++i;  // opening quote
  while (i < src.size()) {
    char c = src[i++];
    if (c == '\'') return t;
    if (c == '\\') {
      if (i >= src.size()) break;
      char next = src[i++];
      if (next != '\'' && next != '\\') {
        return LexError(static_cast<int>(i) - 1, "only \\' and \\\\ are escapes in strings");
      }
      c = next;
    }
    t.text.push_back(c);
  }
  return LexError(column, "unterminated string (missing closing ')");
}

// Two-character operators first, then one-character ones.
bool LexOperator(std::string_view src, std::size_t& i, Token& t) {
  auto two = src.substr(i, 2);
  static const std::pair<std::string_view, Tok> kTwo[] = {
      {"==", Tok::kEq}, {"!=", Tok::kNe}, {"<=", Tok::kLe}, {">=", Tok::kGe}};
  for (auto [s, k] : kTwo) {
    if (two == s) {
      t.kind = k;
      i += 2;
      return true;
    }
  }
  switch (src[i]) {
    case '<':
      t.kind = Tok::kLt;
      break;
    case '>':
      t.kind = Tok::kGt;
      break;
    case '+':
      t.kind = Tok::kPlus;
      break;
    case '-':
      t.kind = Tok::kMinus;
      break;
    case '*':
      t.kind = Tok::kStar;
      break;
    case '/':
      t.kind = Tok::kSlash;
      break;
    case '~':
      t.kind = Tok::kTilde;
      break;
    case '(':
      t.kind = Tok::kLParen;
      break;
    case ')':
      t.kind = Tok::kRParen;
      break;
    default:
      return false;
  }
  ++i;
  return true;
}

// `$name`, `$.name` (ETCL dialect): an identifier token.
Result<Token> LexVariable(std::string_view src, std::size_t& i, int column) {
  ++i;  // '$'
  bool dotted = i < src.size() && src[i] == '.';
  if (dotted) ++i;
  std::size_t start = i;
  while (i < src.size() && (IsLetter(src[i]) || IsDigit(src[i]) || src[i] == '_')) ++i;
  if (i == start || !IsLetter(src[start])) {
    return LexError(column, "a field name must follow '$' or '$.'");
  }
  // Component paths: `$.u._d` names a part of field u (a union's discriminator).
  while (i + 1 < src.size() && src[i] == '.' && (IsLetter(src[i + 1]) || src[i + 1] == '_')) {
    ++i;
    while (i < src.size() && (IsLetter(src[i]) || IsDigit(src[i]) || src[i] == '_')) ++i;
  }
  std::string name(src.substr(start, i - start));
  static const char* kHeader[] = {"domain_name", "type_name", "event_name", "priority"};
  Token t{Tok::kIdent, column};
  t.text = name;
  if (!dotted) {
    for (const char* h : kHeader) {
      if (name == h) t.text = "$" + name;
    }
  }
  return t;
}

}  // namespace

Result<std::vector<Token>> Lex(std::string_view src, Dialect dialect) {
  if (src.size() > kMaxConstraintBytes) {
    return Status::Error(
        ErrorKind::kLimitExceeded,
        fmt::format("constraint is {} bytes; the limit is {}", src.size(), kMaxConstraintBytes));
  }
  std::vector<Token> out;
  std::size_t i = 0;
  while (true) {
    while (i < src.size() && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r'))
      ++i;
    int column = static_cast<int>(i) + 1;
    if (i >= src.size()) {
      out.push_back(Token{Tok::kEnd, column});
      return out;
    }
    char c = src[i];
    if (IsLetter(c)) {
      std::size_t start = i;
      while (i < src.size() && (IsLetter(src[i]) || IsDigit(src[i]) || src[i] == '_')) ++i;
      Token t{KeywordOr(src.substr(start, i - start)), column};
      if (t.kind == Tok::kIdent) t.text = std::string(src.substr(start, i - start));
      if (t.text == "default" && dialect == Dialect::kEtcl) {  // `default $.u`, else a name
        std::size_t next = src.find_first_not_of(" \t\r\n", i);
        if (next != std::string_view::npos && src[next] == '$') t.kind = Tok::kDefault;
      }
      out.push_back(std::move(t));
    } else if (IsDigit(c) || (c == '.' && i + 1 < src.size() && IsDigit(src[i + 1]))) {
      auto t = LexNumber(src, i, column);
      if (!t.ok()) return t.status();
      out.push_back(std::move(t).value());
    } else if (c == '$' && dialect == Dialect::kEtcl) {
      auto t = LexVariable(src, i, column);
      if (!t.ok()) return t.status();
      out.push_back(std::move(t).value());
    } else if (c == '\'') {
      auto t = LexString(src, i, column);
      if (!t.ok()) return t.status();
      out.push_back(std::move(t).value());
    } else {
      Token t{Tok::kEnd, column};
      if (!LexOperator(src, i, t)) {
        return LexError(column, fmt::format("unexpected character '{}'", c));
      }
      out.push_back(std::move(t));
    }
  }
}

const char* TokName(Tok t) {
  static constexpr const char* kNames[] = {
      "end of input", "identifier", "integer", "float",    "string",  "TRUE",      "FALSE", "'min'",
      "'max'",        "'with'",     "'first'", "'random'", "'exist'", "'default'", "'not'", "'and'",
      "'or'",         "'in'",       "'=='",    "'!='",     "'<'",     "'<='",      "'>'",   "'>='",
      "'+'",          "'-'",        "'*'",     "'/'",      "'~'",     "'('",       "')'"};
  return kNames[static_cast<int>(t)];
}

}  // namespace ardus::tcl
