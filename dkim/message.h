// The parts of an RFC 5322 message DKIM needs: header fields split without copying, the body
// view, header selection for h= (RFC 6376 §5.4.2), the From domain, and CRLF normalization.
// MIME structure is irrelevant to DKIM and left to proto/mime.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "base/result.h"

namespace mta::dkim {

struct HeaderField {
  std::string_view name;  // as written, without trailing WSP before the colon
  std::string_view raw;   // from the name to the end of the last line, without the final CRLF
};

struct ParsedMessage {
  std::vector<HeaderField> headers;  // in message order, top first
  std::string_view body;             // after the empty line; empty when there is none
};

// Splits the header block (fields end at a CRLF not followed by WSP; the block ends at an empty
// line). A message with no empty line is all header. Fails on a header line without a colon
// or a field name with bytes outside RFC 5322 ftext.
Result<ParsedMessage> parse_message(std::string_view message);

// For each name in names, in order, the bottom-most field of that name not yet taken, or
// nullptr when none is left (RFC 6376 §5.4.2: signing a missing field signs the null string,
// which is how over-signing forbids adding one).
std::vector<const HeaderField*> select_headers(const std::vector<HeaderField>& headers,
                                               const std::vector<std::string>& names);

// The lowercased domain of the (first) From field's address, or empty when there is none.
// Skips display names, quoted strings and comments; does not validate the address.
std::string from_domain(const ParsedMessage& message);

// Turns every bare LF and bare CR into CRLF. Messages reach the signer as SMTP gives them, in
// CRLF, so only the command line needs this (files edited on Unix have bare LF).
std::string normalize_line_endings(std::string_view text);

// normalize_line_endings plus a final CRLF when the text does not end in one: the message as
// SMTP transmits it (DATA content always ends in CRLF before the "." line). The command line
// signs and verifies this form, so what it signs is what goes on the wire.
std::string normalize_for_transmission(std::string_view text);

}  // namespace mta::dkim
