// compose(): builds a complete RFC 5322 / MIME message from structured fields, as the HTTP
// injection API receives them (issue 8). Pure: bytes out, no I/O, no clock reads, no
// randomness; the caller supplies Date, Message-ID and the boundary seed. Signing, queueing and
// envelope recipients (Bcc) are the caller's business.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace mta::mime {

struct Attachment {
  std::string filename;      // UTF-8; RFC 2231 encoded when needed; empty = no filename
  std::string content_type;  // "type/subtype"; empty = application/octet-stream
  std::string content;       // raw bytes, already base64-decoded by the caller
};

struct Composition {
  std::string from;                 // "Ann Example <ann@example.com>" or "ann@example.com"
  std::vector<std::string> to, cc;  // same forms (bcc never appears in the header)
  std::string reply_to, subject, text, html;                 // UTF-8; empty = absent
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields, in order
  std::vector<Attachment> attachments;
  std::string message_id;     // full "<...>" value; empty = caller adds later
  Clock::WallTime date{};     // zero = no Date field (the caller adds one)
  std::string boundary_seed;  // makes boundaries unique and reproducible in tests
};

// The message, CRLF line endings, 7-bit, every line <= 998 octets, ending in CRLF.
//
// Structure: text only -> text/plain; html only -> text/html; both -> multipart/alternative
// (text first); with attachments -> multipart/mixed holding that body (if any) and then each
// attachment (Content-Disposition: attachment, base64). Text parts are charset=utf-8, their
// line endings normalized to CRLF, 7bit when every line is ASCII without control characters
// and at most 998 octets, else quoted-printable. A single-part body that does not end in a
// line break gets one. Header fields: Date, From, Reply-To, To, Cc, Subject, Message-ID, the
// caller's extra fields in order, MIME-Version, Content-Type, Content-Transfer-Encoding.
// Display names, the Subject and non-ASCII extra values become RFC 2047 encoded-words; long
// fields are folded (header.h append_folded).
//
// Refused (Errc in errc.h, detail names the field): a From, To, Cc or Reply-To that
// parse_mailbox rejects, an empty From, no text, html or attachment (no_body), text or header
// values that are not UTF-8, CR/LF/NUL in any header value or filename, an extra field that
// validate_header_field rejects, a bad Message-ID or attachment content type.
Result<std::string> compose(const Composition& c);

// Whether a caller may add this extra field to a composed message: `name` is 1*ftext
// (RFC 5322 §3.6.8: printable ASCII except ':'), not a field compose() owns (From, To, Cc,
// Bcc, Reply-To, Subject, MIME-Version, Content-Type, Content-Transfer-Encoding, Date,
// Message-ID; compared case-insensitively), and `value` holds no CR, LF or NUL, is valid
// UTF-8, and has no unbreakable ASCII run too long for one line.
Result<void> validate_header_field(std::string_view name, std::string_view value);

}  // namespace mta::mime
