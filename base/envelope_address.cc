// canonical_address: a one-pass reader of the RFC 5321 §4.1.2 Mailbox grammar (the same one
// smtp::parse_command applies to paths) that writes the canonical spelling as it goes.
#include "base/envelope_address.h"

#include <cstring>
#include <optional>
#include <string>
#include <system_error>

#include "base/ascii.h"

namespace mta {
namespace {

Error fault(std::string detail) {
  return Error{std::make_error_code(std::errc::invalid_argument), std::move(detail)};
}

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// atext (RFC 5322 §3.2.3), ASCII part.
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// The length of the well-formed UTF-8 sequence at text[at] (a lead byte >= 0x80), or 0 when it
// is malformed, overlong, a surrogate, above U+10FFFF or a C1 control (U+0080 to U+009F).
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) {
    return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0;
  };
  const unsigned char lead = byte(0);
  const auto tail = [&](std::size_t i) { return (byte(i) & 0xC0) == 0x80; };
  if (lead >= 0xC2 && lead <= 0xDF) {
    if (!tail(1)) return 0;
    if (lead == 0xC2 && byte(1) <= 0x9F) return 0;  // C1 control
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!tail(1) || !tail(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!tail(1) || !tail(2) || !tail(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool is_space(unsigned char c) { return c == ' ' || c == '\t'; }
bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The fault with a byte outside any quoted string, for the caller's message.
std::string describe(unsigned char c) {
  if (is_space(c)) return c == ' ' ? "a space" : "a tab";
  if (is_control(c)) return "a control character";
  if (c == '<' || c == '>') return "angle brackets (give the bare address)";
  if (c == '"') return "an unbalanced quote";
  return std::string("'") + static_cast<char>(c) + "'";
}

// Dot-string = Atom *("." Atom), Atom = 1*atext (RFC 6531: UTF-8 counts as atext).
bool is_dot_string(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '.') {
      if (text[i - 1] == '.') return false;
      ++i;
    } else if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) return false;
      i += n;
    } else if (is_atext(c)) {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

// Reads the quoted local part at text[0] == '"' into its unescaped content; `end` is the index
// after the closing quote.
//   Quoted-string = DQUOTE *QcontentSMTP DQUOTE
//   QcontentSMTP = qtextSMTP / quoted-pairSMTP ; quoted-pairSMTP = %d92 %d32-126
//   qtextSMTP = %d32-33 / %d35-91 / %d93-126 (RFC 6531: / UTF8-non-ascii)
Result<std::string> read_quoted(std::string_view text, std::size_t& end) {
  std::string content;
  std::size_t i = 1;
  for (;;) {
    if (i >= text.size()) return unexpected(fault("an unbalanced quote"));
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') break;
    if (c == '\\') {
      const auto quoted = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
      if (quoted < 32 || quoted > 126) {
        return unexpected(fault(quoted == 0 ? "an unbalanced quote" : "a control character"));
      }
      content += static_cast<char>(quoted);
      i += 2;
    } else if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) return unexpected(fault("invalid UTF-8"));
      content.append(text.substr(i, n));
      i += n;
    } else if (is_control(c)) {
      return unexpected(fault("a control character"));
    } else {
      content += static_cast<char>(c);
      ++i;
    }
  }
  end = i + 1;
  if (!content.empty() && (is_space(content.front()) || is_space(content.back()))) {
    return unexpected(fault("white space at the edge of the quoted local part"));
  }
  return content;
}

// sub-domain = Let-dig [Ldh-str] ; Domain = sub-domain *("." sub-domain)
// (RFC 6531: U-labels, so UTF-8 counts as a letter)
std::optional<std::string> domain_fault(std::string_view domain) {
  if (domain.empty()) return "an empty domain";
  std::size_t label = 0;  // length of the current label
  for (std::size_t i = 0; i < domain.size();) {
    const auto c = static_cast<unsigned char>(domain[i]);
    if (c == '.') {
      if (label == 0 || domain[i - 1] == '-') return "an empty or malformed domain label";
      label = 0;
      ++i;
    } else if (c >= 0x80) {
      const std::size_t n = utf8_length(domain, i);
      if (n == 0) return "invalid UTF-8";
      label += n;
      i += n;
    } else if (is_alpha(c) || is_digit(c) || (c == '-' && label > 0)) {
      ++label;
      ++i;
    } else {
      return describe(c) + " in the domain";
    }
  }
  if (label == 0 || domain.back() == '-') return "an empty or malformed domain label";
  return std::nullopt;
}

// address-literal = "[" 1*dcontent "]", dcontent = %d33-90 / %d94-126 (checked loosely, as the
// command parser does: the literal is passed on, never routed on here).
bool is_address_literal(std::string_view domain) {
  if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return false;
  for (const char ch : domain.substr(1, domain.size() - 2)) {
    const auto c = static_cast<unsigned char>(ch);
    if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126))) return false;
  }
  return true;
}

}  // namespace

Result<std::string> canonical_address(std::string_view text) {
  if (text.empty()) return unexpected(fault("empty"));
  if (text.size() > kEnvelopeAddressBytesMax) {
    return unexpected(fault("longer than " + std::to_string(kEnvelopeAddressBytesMax) + " bytes"));
  }
  if (is_space(static_cast<unsigned char>(text.front()))) {
    return unexpected(fault("leading white space"));
  }
  if (is_space(static_cast<unsigned char>(text.back()))) {
    return unexpected(fault("trailing white space"));
  }
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;  // index of the '@' after the local part
  if (text.front() == '"') {
    std::size_t end = 0;
    auto content = read_quoted(text, end);
    if (!content) return unexpected(content.error());
    if (end >= text.size() || text[end] != '@') {
      return unexpected(fault(end >= text.size() ? "no '@' after the quoted local part"
                                                 : describe(static_cast<unsigned char>(text[end])) +
                                                       " after the quoted local part"));
    }
    at = end;
    if (is_dot_string(*content)) {
      out = std::move(*content);
    } else {
      out += '"';
      for (const char c : *content) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
  } else {
    at = text.rfind('@');
    if (at == std::string_view::npos) return unexpected(fault("no '@'"));
    const std::string_view local = text.substr(0, at);
    if (local.empty()) return unexpected(fault("an empty local part"));
    for (std::size_t i = 0; i < local.size(); ++i) {
      const auto c = static_cast<unsigned char>(local[i]);
      if (c >= 0x80 || is_atext(c) || c == '.') continue;
      if (c == '@' && i == 0) return unexpected(fault("a source route"));
      return unexpected(fault(describe(c) + " in the local part"));
    }
    if (!is_dot_string(local)) {
      return unexpected(
          fault(local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos
                    ? "a misplaced '.' in the local part"
                    : "invalid UTF-8 in the local part"));
    }
    out.assign(local);
  }
  const std::string_view domain = text.substr(at + 1);
  if (domain.empty()) return unexpected(fault("an empty domain"));
  if (domain.front() == '[') {
    if (!is_address_literal(domain)) return unexpected(fault("a malformed address literal"));
  } else if (auto bad = domain_fault(domain)) {
    return unexpected(fault(*bad));
  }
  out += '@';
  out += ascii_lowercase(domain);
  return out;
}

std::string suppression_key(std::string_view address) {
  if (auto canonical = canonical_address(address)) return ascii_lowercase(*canonical);
  std::string out;
  out.reserve(address.size());
  for (const char ch : address) {
    const auto c = static_cast<unsigned char>(ch);
    if (!is_space(c) && !is_control(c)) out += ascii_lower(ch);
  }
  return out;
}

}  // namespace mta
