// Reading a received message: its MIME tree (RFC 2045/2046), header fields (RFC 5322), address
// lists with groups, RFC 2047 encoded-words and transfer decodings. Tolerant of what real mail
// contains (bare LF, missing boundaries, bad parameters), since bounces are often malformed;
// bounded by StructureLimits; never fails. IMAP's FETCH and SEARCH and the bounce parser read
// messages through this; composing is compose.h's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mta::mime {

// One header field, as it appears. `value` is everything after the colon with the folding
// CRLFs removed and leading/trailing whitespace trimmed (RFC 5322 §2.2.3 unfolding).
struct HeaderField {
  std::string_view name;  // as written (compare case-insensitively)
  std::string value;      // unfolded
  std::size_t begin = 0;  // offset of the field's first byte in the header block
  std::size_t end = 0;    // offset just past the field's last line ending
};

// Every field of a header block (as returned by header_block(), or any text whose fields end
// at the first empty line). Lines without a colon that are not continuations are skipped.
std::vector<HeaderField> parse_header_fields(std::string_view header_block);

// The unfolded value of the first field named `name` (case-insensitive), or nullopt.
std::optional<std::string> header_value(std::string_view header_block, std::string_view name);

// Content-Type (RFC 2045 §5.1) or Content-Disposition (RFC 2183): lower-cased type/subtype
// (or disposition type), parameters with lower-cased names and unquoted values (RFC 2231
// continuations joined; charset/language prefix kept as written). An extended value keeps
// the '*' on its name, as Dovecot reports it: `name*0*=utf-8''%E2%82%AC; name*1*=.txt` gives
// ("name*", "utf-8''%E2%82%AC.txt"), still percent-encoded; `name*0="a"; name*1="b"` gives
// ("name", "ab"). Parameters keep their order; comments are skipped.
struct ContentType {
  std::string type = "text";
  std::string subtype = "plain";
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* param(std::string_view name) const;  // case-insensitive, or nullptr
};
// A value without a valid type "/" subtype gives text/plain; charset=us-ascii (RFC 2045 §5.2).
ContentType parse_content_type(std::string_view value);

// Content-Disposition: `type` holds the disposition ("inline", "attachment"), subtype empty;
// type is empty too when the value names none.
ContentType parse_content_disposition(std::string_view value);

struct StructureLimits {
  std::size_t depth_max = 20;    // nested multiparts and message/rfc822
  std::size_t parts_max = 2000;  // in the whole tree; deeper or more parts are left as leaves
};

// One MIME entity. Offsets index the message bytes passed to parse_structure.
struct Part {
  std::size_t header_begin = 0;  // first byte of this entity's header
  std::size_t header_end = 0;    // just past the empty line ending the header (== body_begin)
  std::size_t body_begin = 0;
  // A body part's body ends before the CRLF of the delimiter line that ends it in its parent
  // (or at its parent's end if that delimiter is missing); the root's at the message's end.
  std::size_t body_end = 0;
  // Lines in the body (for IMAP's text and message/rfc822 parts): one per LF, plus one for a
  // last line without a line end.
  std::size_t body_lines = 0;

  ContentType content_type;  // default text/plain; us-ascii (multipart/digest: message/rfc822)
  std::string transfer_encoding = "7bit";  // Content-Transfer-Encoding, lower-cased
  std::optional<std::string> content_id;
  std::optional<std::string> description;
  std::optional<ContentType> disposition;
  std::optional<std::string> language;
  std::optional<std::string> location;
  std::optional<std::string> md5;

  // The body parts of a multipart/*, in order. Empty for other types, and for a multipart
  // without a boundary, without any delimiter line, or beyond StructureLimits (IMAP's
  // BODYSTRUCTURE must then make up a part, as Dovecot does).
  std::vector<Part> children;
  // The encapsulated message of a message/rfc822 (or message/global) part; its header_begin
  // is this part's body_begin.
  std::unique_ptr<Part> message;

  bool is_multipart() const { return content_type.type == "multipart"; }
};

// The MIME tree of a whole message (the root's header is the message header). Bare LF line
// endings are accepted. Missing closing boundaries end the multipart at the end of its parent.
Part parse_structure(std::string_view message, StructureLimits limits = {});

// The part named by an IMAP section part number ("1", "2.3"; RFC 3501 §6.4.5): children of a
// multipart, and for a message/rfc822 part the numbers continue into its message's parts. A
// non-multipart message has part 1 = itself (so "3.1" of an attached non-multipart message is
// that message). No numbers names the root. nullptr when there is no such part.
const Part* find_part(const Part& root, std::span<const std::uint32_t> numbers);

// RFC 5322 §3.4 address lists, tolerantly: display names, angle addresses, obsolete routes,
// comments, quoted strings, and groups ("undisclosed-recipients:;"). A group appears as a
// start marker (group = its name, mailbox and host empty) followed by its members and an end
// marker (all empty), the way IMAP's ENVELOPE lists them. Tell markers by `group` and
// `group_end`, not by an empty host: junk without '@' ("Mailer-Daemon") gives mailbox = the
// junk and host empty, "<>" gives a mailbox with every field empty, and a group without a name
// lists its members without markers. A comment stands in for a missing display name
// ("a@b.example (Ann)").
struct Address {
  std::string name;     // display name, still encoded (RFC 2047 words as written)
  std::string route;    // obsolete source route, "@a,@b", without the trailing colon
  std::string mailbox;  // local part (quoted local parts keep their quotes removed)
  std::string host;     // domain; empty for a group marker
  std::string group;    // non-empty only on a group start marker
  bool group_end = false;
};
std::vector<Address> parse_address_list(std::string_view value);

// RFC 2047 encoded-words in `text` decoded to UTF-8 (charsets utf-8, us-ascii, iso-8859-1 and
// windows-1252; other charsets keep the decoded octets as they are). Whitespace between
// adjacent encoded-words is dropped. Malformed words are left as written.
std::string decode_words(std::string_view text);

// A body decoded from its Content-Transfer-Encoding ("base64", "quoted-printable"; anything
// else is returned as it is). Invalid input is decoded as far as it goes.
std::string decode_transfer(std::string_view body, std::string_view encoding);

}  // namespace mta::mime
