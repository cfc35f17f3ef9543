// Lexer for the trader constraint language (OMG TCL, as in TAO's
// constraint.l): keywords, TRUE/FALSE, numbers, quoted strings, identifiers,
// operators. Every token records its 1-based column for error messages.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ardus::tcl {

enum class Tok : std::uint8_t {
  kEnd,
  kIdent,
  kInt,
  kFloat,
  kString,
  kTrue,
  kFalse,
  // keywords
  kMin,
  kMax,
  kWith,
  kFirst,
  kRandom,
  kExist,
  kDefault,  // ETCL dialect, before '$': ETCL's union test
  kNot,
  kAnd,
  kOr,
  kIn,
  // operators
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kTilde,
  kLParen,
  kRParen,
};

struct Token {
  Tok kind = Tok::kEnd;
  int column = 0;    // 1-based
  std::string text;  // identifier name or decoded string literal
  std::int64_t int_value = 0;
  double float_value = 0;
};

// Which language a constraint is written in, chosen by the caller: the OMG
// Trading service's TCL, or ETCL, the OMG Notification service's extension of
// it, which adds run-time variables: `$.field` and `$field` name an event's
// field, and `$domain_name`, `$type_name`, `$event_name`, `$priority` its
// header. They lex as identifiers: "field", or "$domain_name" for the header
// names. The Trader uses kTrader; Notify's filters use kEtcl.
enum class Dialect : std::uint8_t { kTrader, kEtcl };

// Constraints longer than this are refused before lexing (limit_exceeded).
inline constexpr std::size_t kMaxConstraintBytes = 8192;

// Splits `src` into tokens ending with kEnd. Errors are kInvalidArgument with
// "column N: ..." messages: an unterminated string, an integer that does not
// fit 64 bits, an unknown character.
Result<std::vector<Token>> Lex(std::string_view src, Dialect dialect = Dialect::kTrader);

// How a token kind is written, for messages ("'=='", "identifier").
const char* TokName(Tok t);

}  // namespace ardus::tcl
