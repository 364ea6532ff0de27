// The one canonical form of an envelope address (the RFC 5321 §4.1.2 Mailbox of MAIL FROM and
// RCPT TO), and the key the suppression list compares. Every intake (SMTP MAIL/RCPT, the HTTP
// API's raw, structured and bulk messages, `outpost inject`) passes each address through
// canonical_address() and keeps only what it returns, so an address is queued, sent, VERP-
// encoded and looked up in one spelling. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mta {

// Longer than any SMTP command line could carry (RFC 5321 §4.5.3.1.4: 512 octets with the
// verb): nothing longer is an address. VERP return paths exceed the 64-octet local part.
inline constexpr std::size_t kEnvelopeAddressBytesMax = 500;

// Checks `text` against  Mailbox = Local-part "@" ( Domain / address-literal )  with
// Local-part = Dot-string / Quoted-string (RFC 6531: UTF-8 allowed, well-formed, no C1
// controls) and returns its canonical spelling:
// - the domain (or address literal) lower-cased (ASCII letters only; domains compare without
//   case, RFC 5321 §2.4);
// - the local part kept as written, case included (§2.4: it is the receiver's to interpret),
//   except that a quoted local part whose content is a valid Dot-string loses its quotes and a
//   quoted local part that needs them keeps only the escapes it must have (\" and \\): RFC 5321
//   §4.1.2 makes "ann"@x and ann@x the same mailbox, and they must not be two suppressions.
// Refused, with a detail naming the fault: white space or a control character anywhere outside
// a quoted local part (leading and trailing white space included), white space at either end
// of a quoted local part's content, an unbalanced quote, angle brackets, a source route, an
// empty local part or domain, a domain label that is not letter-digit-hyphen, invalid UTF-8,
// and anything over kEnvelopeAddressBytesMax. The error code is std::errc::invalid_argument.
Result<std::string> canonical_address(std::string_view text);

// What the suppression list stores and looks up: the canonical address with ASCII letters
// lower-cased in the local part too. RFC 5321 lets a receiver tell Ann@x from ann@x, but none
// of the large ones does, and matching them apart would let a sender reach a suppressed
// recipient by changing the case of one letter. Text that is not an address (a record from
// before canonical forms) is trimmed of white space and control characters and lower-cased.
std::string suppression_key(std::string_view address);

}  // namespace mta
