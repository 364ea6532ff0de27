// FETCH data built from a message's bytes through mime::parse_structure: ENVELOPE and
// BODY/BODYSTRUCTURE (RFC 3501 §7.4.2) and the octets of a BODY[section] (§6.4.5). The
// session decides which items to send and writes the rest of the FETCH response.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/imap/command.h"
#include "proto/mime/structure.h"

namespace mta::imap {

// "(date subject from sender reply-to to cc bcc in-reply-to message-id)" for a header block.
// Field values are sent as written (RFC 2047 words not decoded), NIL when absent; Sender and
// Reply-To default to From.
void append_envelope(std::string& out, std::string_view header_block);

// BODYSTRUCTURE (extensible = true) or BODY (false) of `part`, whose offsets index `message`.
void append_body_structure(std::string& out, std::string_view message, const mime::Part& part,
                           bool extensible);

// The octets BODY[section] names, before any <partial> cut; nullopt when the message has no
// such part (the session sends NIL). HEADER.FIELDS results are built in `scratch` and the
// returned view points there; other sections are views into `message`.
std::optional<std::string_view> section_octets(std::string_view message, const mime::Part& root,
                                               const Section& section, std::string& scratch);

// The section as the response names it: "1.2.HEADER.FIELDS (From To)" (inside the brackets).
void append_section_spec(std::string& out, const Section& section);

}  // namespace mta::imap
