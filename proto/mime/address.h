// Mailbox addresses as callers write them ("Ann Example <ann@example.com>" or
// "ann@example.com"): a strict parser for the RFC 5322 §3.4 mailbox forms that the HTTP API
// accepts, and the formatter compose() uses to write them into header fields.
// Groups, comments, quoted local parts and non-ASCII addresses (SMTPUTF8) are refused.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mta::mime {

// RFC 5321 §4.5.3.1: a path holds at most 256 octets with its angle brackets, the local part
// at most 64, a domain at most 255.
inline constexpr std::size_t kAddressBytesMax = 254;
inline constexpr std::size_t kLocalPartBytesMax = 64;
inline constexpr std::size_t kDomainBytesMax = 253;
// Nothing longer than one header line can be a mailbox.
inline constexpr std::size_t kMailboxBytesMax = 998;

struct Mailbox {
  std::string display_name;  // UTF-8, unquoted and unescaped; empty if none was given
  std::string address;       // addr-spec "local@domain", ASCII

  bool operator==(const Mailbox&) const = default;
};

// Parses one mailbox: `[display-name] "<" addr-spec ">"` or a bare addr-spec, with optional
// whitespace around the whole. The display name is either one quoted-string (backslash
// escapes allowed) or unquoted text of atext, '.', spaces and UTF-8; the local part is a
// dot-atom; the domain is dot-separated letter-digit-hyphen labels or a [domain-literal].
// Errors carry Errc::bad_address (Errc::invalid_utf8 for a malformed display name) and a
// detail saying what is wrong, e.g. "missing '>'".
Result<Mailbox> parse_mailbox(std::string_view text);

// The mailbox as header field text, always printable ASCII: the bare address when there is no
// display name, else `name <address>` where the name is written as atoms when it is plain
// words, as a quoted-string when it is other ASCII, and as RFC 2047 encoded-words when it has
// non-ASCII or control characters (or "=?"). The address itself is never encoded.
// `mailbox.display_name` must be valid UTF-8 (asserted); parse_mailbox guarantees it.
std::string format_mailbox(const Mailbox& mailbox);

}  // namespace mta::mime
