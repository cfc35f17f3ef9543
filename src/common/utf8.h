// UTF-8 where peers supply text: strict decoding (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), control characters, and a
// printable form for messages, so that a peer's bytes never reach a terminal
// or a JSON encoder raw.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ardus {

// Decodes the code point starting at text[*pos] and advances *pos past it.
// nullopt if the bytes there are not a well-formed UTF-8 sequence; *pos then
// advances by one byte. Precondition: *pos < text.size().
std::optional<char32_t> NextCodePoint(std::string_view text, std::size_t* pos);

bool IsWellFormedUtf8(std::string_view text);

// C0 controls (U+0000..U+001F), DEL (U+007F) and C1 controls (U+0080..U+009F):
// characters that move a terminal's cursor or change its state.
bool IsControlCharacter(char32_t c);

// `text` with each control character, each byte of an ill-formed sequence and
// each backslash escaped as \xNN (backslash as \\). The result is well-formed
// UTF-8 without control characters.
std::string Printable(std::string_view text);

}  // namespace ardus
