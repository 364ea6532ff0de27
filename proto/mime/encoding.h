// Content and header encodings used when composing messages: UTF-8 validation, RFC 2047
// encoded-words, RFC 2045 quoted-printable and base64, line-ending normalization. Pure
// functions; choosing which encoding a part gets is compose.cc's job.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mta::mime {

// RFC 2047 §2: an encoded-word is at most 75 characters.
inline constexpr std::size_t kEncodedWordMax = 75;
// RFC 2045 §6.7 (5) and §6.8: encoded lines are at most 76 characters.
inline constexpr std::size_t kEncodedLineMax = 76;

// True if `text` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points
// above U+10FFFF).
bool is_utf8(std::string_view text);

// `text` (valid UTF-8, asserted) as RFC 2047 encoded-words in charset utf-8, separated by single
// spaces so append_folded can fold between them. Uses Q or B, whichever is shorter overall;
// Q keeps only letters, digits and "!*+-/" literal (the set RFC 2047 §5 (3) allows in a
// phrase), so the result is valid in Subject text and in display names alike. Words never
// split a UTF-8 sequence; each is at most kEncodedWordMax characters and the first at most
// `first_word_max` (>= 24), so it fits after the field name. Empty text gives "".
std::string encode_words(std::string_view text, std::size_t first_word_max = kEncodedWordMax);

// `text` with every line ending (CRLF, bare LF, bare CR) turned into CRLF.
std::string normalize_crlf(std::string_view text);

// Appends `text` (CRLF line endings) quoted-printable encoded (RFC 2045 §6.7): CRLF stays a
// hard line break, '=' and octets outside printable ASCII become =XX, whitespace before a line
// end is encoded, and soft breaks keep every line within kEncodedLineMax. The output never
// contains '=' followed by anything but two hex digits or a soft line break.
void append_quoted_printable(std::string& out, std::string_view text);

// Appends `bytes` base64 encoded (RFC 2045 §6.8) in lines of kEncodedLineMax characters, each
// ending in CRLF. Nothing for empty input.
void append_base64_lines(std::string& out, std::string_view bytes);

}  // namespace mta::mime
