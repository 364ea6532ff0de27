// UTF-8 validation, RFC 2047 encoded-words, quoted-printable and base64 encoders for compose().
// Encoders only: Outpost composes messages but never needs to decode these forms.
#include "proto/mime/encoding.h"

#include <array>
#include <cstdint>
#include <cstring>

#include "base/assert.h"

namespace mta::mime {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kQPrefix = "=?utf-8?Q?";
constexpr std::string_view kBPrefix = "=?utf-8?B?";
constexpr std::string_view kWordSuffix = "?=";
constexpr std::size_t kWordOverhead = 10 + 2;  // prefix and suffix, same length for Q and B

// Length of the UTF-8 sequence that starts with `lead` (1 for anything else: the caller has
// validated the text, so only well-formed sequences reach here).
std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

// RFC 2047 §5 (3): in a phrase an encoded-word may hold only these literally; the same set
// is safe in *text (Subject), so one encoder serves both.
bool is_q_literal(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' ||
         c == '*' || c == '+' || c == '-' || c == '/';
}

std::size_t q_length(std::string_view sequence) {
  std::size_t n = 0;
  for (char c : sequence) {
    unsigned char u = static_cast<unsigned char>(c);
    n += (is_q_literal(u) || u == ' ') ? 1 : 3;
  }
  return n;
}

void append_q(std::string& out, std::string_view bytes) {
  for (char c : bytes) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == ' ') {
      out += '_';  // RFC 2047 §4.2 (2)
    } else if (is_q_literal(u)) {
      out += c;
    } else {
      out += '=';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
}

std::size_t b_length(std::size_t bytes) { return (bytes + 2) / 3 * 4; }

void append_b(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  auto at = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += kBase64[v >> 18 & 63];
    out += kBase64[v >> 12 & 63];
    out += kBase64[v >> 6 & 63];
    out += kBase64[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = at(i) << 16;
    out += kBase64[v >> 18 & 63];
    out += kBase64[v >> 12 & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += kBase64[v >> 18 & 63];
    out += kBase64[v >> 12 & 63];
    out += kBase64[v >> 6 & 63];
    out += '=';
  }
}

bool is_continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

}  // namespace

// RFC 3629 §4:
//   UTF8-2 = %xC2-DF UTF8-tail
//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) / %xF4 %x80-8F 2( UTF8-tail )
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // Mostly-ASCII text: skip eight ASCII octets at a time.
    if (std::uint64_t word; i + 8 <= text.size()) {
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    unsigned char low = 0x80, high = 0xbf;  // bounds of the second octet
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    unsigned char second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return false;
    for (std::size_t k = 2; k < n; ++k) {
      if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return false;
    }
    i += n;
  }
  return true;
}

std::string encode_words(std::string_view text, std::size_t first_word_max) {
  MTA_ASSERT(is_utf8(text));
  MTA_ASSERT(first_word_max >= 24);  // room for one 4-octet character in Q
  MTA_ASSERT(first_word_max <= kEncodedWordMax);
  std::string out;
  if (text.empty()) return out;
  bool use_q = q_length(text) <= b_length(text.size());
  std::string_view prefix = use_q ? kQPrefix : kBPrefix;
  std::size_t word_max = first_word_max;
  std::size_t start = 0;  // first byte of the current word
  std::size_t i = 0;
  auto emit = [&](std::size_t end) {
    if (!out.empty()) out += ' ';
    out.append(prefix);
    std::string_view bytes = text.substr(start, end - start);
    if (use_q) {
      append_q(out, bytes);
    } else {
      append_b(out, bytes);
    }
    out.append(kWordSuffix);
    start = end;
    word_max = kEncodedWordMax;
  };
  while (i < text.size()) {
    std::size_t n = sequence_length(static_cast<unsigned char>(text[i]));
    std::size_t room = word_max - kWordOverhead;
    std::size_t encoded =
        use_q ? q_length(text.substr(start, i + n - start)) : b_length(i + n - start);
    // A single character always fits (at most 12 Q characters or 8 B ones), so a word that
    // cannot take the next character is never empty.
    if (encoded > room) {
      MTA_ASSERT(i > start);
      emit(i);
    }
    i += n;
  }
  emit(text.size());
  return out;
}

std::string normalize_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  std::size_t pos = 0;
  while (true) {
    // Not find_first_of: libstdc++ runs memchr over the set once per octet of text.
    std::size_t end = pos;
    while (end < text.size() && text[end] != '\r' && text[end] != '\n') ++end;
    out.append(text.substr(pos, end - pos));
    if (end == text.size()) break;
    out += "\r\n";
    pos = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  return out;
}

// RFC 2045 §6.7:
//   (1) any octet may be =XX (uppercase hex); (2) octets 33-60 and 62-126 may be literal;
//   (3) space and tab may be literal except at the end of an encoded line;
//   (4) a line break in the text is CRLF; (5) encoded lines are at most 76 characters, a
//   soft line break "=" CRLF ending a line that continues.
void append_quoted_printable(std::string& out, std::string_view text) {
  while (true) {
    std::size_t end = text.find("\r\n");
    std::string_view line = text.substr(0, end);
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::array<char, 3> token{};
      std::size_t token_size;
      bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      if (literal) {
        token[0] = static_cast<char>(c);
        token_size = 1;
      } else {
        token = {'=', kHex[c >> 4], kHex[c & 0xf]};
        token_size = 3;
      }
      // A token that does not end the line must leave room for the soft break's '='.
      if (column + token_size + (last ? 0 : 1) > kEncodedLineMax) {
        out += "=\r\n";
        column = 0;
      }
      out.append(token.data(), token_size);
      column += token_size;
    }
    if (end == std::string_view::npos) break;
    out += "\r\n";
    text.remove_prefix(end + 2);
  }
}

void append_base64_lines(std::string& out, std::string_view bytes) {
  constexpr std::size_t kBytesPerLine = kEncodedLineMax / 4 * 3;  // 57 octets -> 76 characters
  out.reserve(out.size() + b_length(bytes.size()) + bytes.size() / kBytesPerLine * 2 + 2);
  while (!bytes.empty()) {
    std::string_view chunk = bytes.substr(0, kBytesPerLine);
    append_b(out, chunk);
    out += "\r\n";
    bytes.remove_prefix(chunk.size());
  }
}

}  // namespace mta::mime
