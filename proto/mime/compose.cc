// compose(): structured fields to a MIME message. Validation comes first and is complete, so
// no caller byte reaches the output unchecked: header values pass the injection and UTF-8
// checks, addresses pass parse_mailbox, and everything 8-bit or over-long is encoded. The
// output is 7-bit so it relays through servers without 8BITMIME.
#include "proto/mime/compose.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/concat.h"
#include "proto/mime/address.h"
#include "proto/mime/encoding.h"
#include "proto/mime/errc.h"
#include "proto/mime/header.h"

namespace mta::mime {
namespace {

// Field names longer than this could not share a 78-octet line with any value.
constexpr std::size_t kFieldNameBytesMax = 76;
// RFC 2046 §5.1.1 allows 70; '=' followed by '_' never occurs in quoted-printable or base64
// output, so only 7bit parts can contain our boundaries, and those are searched.
constexpr std::string_view kBoundaryPrefix = "=_outpost_";
constexpr std::string_view kPreamble = "This is a multi-part message in MIME format.";
// RFC 2231 value segments are kept short so the folded Content-Disposition stays readable.
constexpr std::size_t kParameterSegmentMax = 60;

constexpr std::array<std::string_view, 11> kOwnedFields = {
    "From",         "To",           "Cc",
    "Bcc",          "Reply-To",     "Subject",
    "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    "Date",         "Message-ID"};

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool is_control(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

std::size_t longest_run(std::string_view s) {
  std::size_t longest = 0, run = 0;
  for (char c : s) {
    run = is_wsp(c) ? 0 : run + 1;
    longest = std::max(longest, run);
  }
  return longest;
}

// The longest unbreakable run append_folded can keep whole after "name: ".
std::size_t run_max(std::string_view field_name) { return kLineBytesMax - field_name.size() - 2; }

// CR or LF would end the field and start one of the caller's choosing; NUL breaks C readers.
Result<void> check_no_injection(std::string_view what, std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return unexpected(Errc::header_injection, concat({what, ": CR, LF or NUL in value"}));
  }
  return {};
}

Result<void> check_header_text(std::string_view what, std::string_view value) {
  if (auto ok = check_no_injection(what, value); !ok) return ok;
  if (!is_utf8(value)) return unexpected(Errc::invalid_utf8, concat({what, ": not UTF-8"}));
  return {};
}

bool needs_encoding(std::string_view value) {
  for (char c : value) {
    if (is_non_ascii(c) || is_control(c)) return true;
  }
  return false;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string line;
  line.reserve(name.size() + 2 + value.size());
  line.append(name).append(": ").append(value);
  append_folded(out, line);
}

// Unstructured text (RFC 5322 §3.2.5), encoded when it is not plain printable ASCII, when it
// already looks like an encoded-word, or when it has a run too long to fold.
void append_text_field(std::string& out, std::string_view name, std::string_view value,
                       bool encode_lookalikes) {
  bool encode = needs_encoding(value) || longest_run(value) > run_max(name) ||
                (encode_lookalikes && value.find("=?") != std::string_view::npos);
  if (!encode) return append_field(out, name, value);
  std::size_t first = kLineBytesPreferred - std::min(kLineBytesPreferred - 24, name.size() + 2);
  append_field(out, name, encode_words(value, std::min(first, kEncodedWordMax)));
}

Result<std::string> mailbox_text(std::string_view what, std::string_view text) {
  if (auto ok = check_no_injection(what, text); !ok) return unexpected(ok.error());
  auto mailbox = parse_mailbox(text);
  if (!mailbox) {
    Error error = mailbox.error();
    error.detail = concat({what, ": ", error.detail});
    return unexpected(std::move(error));
  }
  return format_mailbox(*mailbox);
}

Result<std::string> mailbox_list(std::string_view field, const std::vector<std::string>& list) {
  std::string out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string what = concat({field, "[", std::to_string(i), "]"});
    auto text = mailbox_text(what, list[i]);
    if (!text) return unexpected(text.error());
    if (i > 0) out += ", ";
    out += *text;
  }
  return out;
}

// RFC 5322 §3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS]; we take the plain
// printable form without spaces.
Result<void> check_message_id(std::string_view id) {
  bool ok = id.size() >= 5 && id.front() == '<' && id.back() == '>';
  std::string_view inner = ok ? id.substr(1, id.size() - 2) : std::string_view();
  for (char c : inner) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == '<' || c == '>') ok = false;
  }
  std::size_t at = inner.find('@');
  if (!ok || at == 0 || at == std::string_view::npos || at + 1 == inner.size()) {
    return unexpected(Errc::bad_message_id, concat({"Message-ID must be <left@right>, not \"",
                                                    inner.empty() ? id : inner, "\""}));
  }
  return {};
}

// RFC 2045 §5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
bool is_token(std::string_view s) {
  static constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";
  if (s.empty()) return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || kTspecials.find(c) != std::string_view::npos) return false;
  }
  return true;
}

Result<void> check_content_type(std::string_view what, std::string_view type) {
  std::size_t slash = type.find('/');
  if (slash == std::string_view::npos || !is_token(type.substr(0, slash)) ||
      !is_token(type.substr(slash + 1))) {
    if (auto ok = check_no_injection(what, type); !ok) return ok;
    return unexpected(Errc::bad_content_type,
                      concat({what, ": content type must be type/subtype"}));
  }
  return {};
}

// One MIME entity: its Content-* header lines (folded, CRLF-terminated) and encoded body.
struct Entity {
  std::string headers;
  std::string body;
  bool seven_bit = false;  // body is caller text written as is: may contain any line
};

// RFC 2045 §2.7: 7bit data is lines of at most 998 octets, no NUL, CR and LF only as CRLF.
// Control characters are legal there too but are sent quoted-printable, as mail clients do.
bool fits_7bit(std::string_view crlf_text) {
  static constexpr std::array<bool, 256> kPlain = [] {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 0x7f; ++c) table[c] = true;
    table['\t'] = true;
    return table;
  }();
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < crlf_text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(crlf_text[i]);
    if (kPlain[c]) continue;
    if (c != '\r') return false;  // normalize_crlf made every CR the start of a CRLF
    if (i - line_start > kLineBytesMax) return false;
    line_start = i + 2;
    ++i;
  }
  return crlf_text.size() - line_start <= kLineBytesMax;
}

Entity text_entity(std::string_view subtype, std::string_view text) {
  Entity e;
  std::string crlf = normalize_crlf(text);
  append_field(e.headers, "Content-Type", concat({"text/", subtype, "; charset=utf-8"}));
  if (fits_7bit(crlf)) {
    append_field(e.headers, "Content-Transfer-Encoding", "7bit");
    e.body = std::move(crlf);
    e.seven_bit = true;
  } else {
    append_field(e.headers, "Content-Transfer-Encoding", "quoted-printable");
    e.body.reserve(crlf.size() + crlf.size() / 8);
    append_quoted_printable(e.body, crlf);
  }
  return e;
}

// A filename that can be a quoted-string parameter as it is.
bool is_plain_filename(std::string_view name) {
  if (name.size() > kParameterSegmentMax) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 32 || u >= 127 || c == '"' || c == '\\') return false;
  }
  return true;
}

// RFC 2231 §3 and §4:
//   extended-initial-value := [charset] "'" [language] "'" extended-other-values
//   extended-other-values  := *(ext-octet / attribute-char)     ; ext-octet = "%" 2HEXDIG
//   attribute-char := <any CHAR except SPACE, CTLs, "*", "'", "%", or tspecials>
// Long values are split into filename*0*, filename*1*, ... without splitting an ext-octet.
std::string filename_parameters(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr std::string_view kSafe = "!#$&+-.^_`|~";
  std::vector<std::string> segments(1, "utf-8''");
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    bool literal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   kSafe.find(c) != std::string_view::npos;
    std::size_t size = literal ? 1 : 3;
    if (segments.back().size() + size > kParameterSegmentMax) segments.emplace_back();
    if (literal) {
      segments.back() += c;
    } else {
      segments.back() += '%';
      segments.back() += kHex[u >> 4];
      segments.back() += kHex[u & 0xf];
    }
  }
  if (segments.size() == 1) return concat({"filename*=", segments[0]});
  std::string out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += "; ";
    out.append(concat({"filename*", std::to_string(i), "*=", segments[i]}));
  }
  return out;
}

Entity attachment_entity(const Attachment& a) {
  Entity e;
  std::string_view type = a.content_type.empty() ? std::string_view("application/octet-stream")
                                                 : std::string_view(a.content_type);
  bool plain = is_plain_filename(a.filename);
  if (!a.filename.empty() && plain) {
    // name= is not standard (RFC 2046 deprecates it) but some clients still read only it.
    append_field(e.headers, "Content-Type", concat({type, "; name=\"", a.filename, "\""}));
  } else {
    append_field(e.headers, "Content-Type", type);
  }
  append_field(e.headers, "Content-Transfer-Encoding", "base64");
  if (a.filename.empty()) {
    append_field(e.headers, "Content-Disposition", "attachment");
  } else if (plain) {
    append_field(e.headers, "Content-Disposition",
                 concat({"attachment; filename=\"", a.filename, "\""}));
  } else {
    append_field(e.headers, "Content-Disposition",
                 concat({"attachment; ", filename_parameters(a.filename)}));
  }
  append_base64_lines(e.body, a.content);
  return e;
}

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// splitmix64: consecutive counters give unrelated-looking boundaries.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Boundaries from the seed and a counter (reproducible), each checked against every 7bit body
// and the boundaries already taken. A blocked candidate occurs in some body, and a body of n
// octets holds fewer than n distinct ones, so the search ends.
class BoundaryMaker {
 public:
  BoundaryMaker(std::string_view seed, std::vector<std::string_view> seven_bit_bodies)
      : base_(fnv1a(seed)), bodies_(std::move(seven_bit_bodies)) {}

  std::string make() {
    while (true) {
      std::string candidate = concat({kBoundaryPrefix, hex16(mix(base_ + counter_++))});
      bool blocked = false;
      for (const std::string& t : taken_) blocked = blocked || t == candidate;
      for (std::string_view body : bodies_) {
        blocked = blocked || body.find(candidate) != std::string_view::npos;
      }
      if (blocked) continue;
      taken_.push_back(candidate);
      return candidate;
    }
  }

 private:
  static std::string hex16(std::uint64_t value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (std::size_t i = 16; i-- > 0; value >>= 4) out[i] = kDigits[value & 0xf];
    return out;
  }

  std::uint64_t base_;
  std::uint64_t counter_ = 0;
  std::vector<std::string_view> bodies_;
  std::vector<std::string> taken_;
};

// RFC 2046 §5.1.1: the CRLF before each "--boundary" belongs to the delimiter, so a part's
// content ends where its own bytes end.
Entity multipart(std::string_view subtype, std::vector<Entity>& children, std::string_view boundary,
                 bool preamble) {
  Entity e;
  append_field(e.headers, "Content-Type",
               concat({"multipart/", subtype, "; boundary=\"", boundary, "\""}));
  std::size_t size = kPreamble.size() + 64;
  for (const Entity& child : children) size += child.headers.size() + child.body.size() + 32;
  e.body.reserve(size);
  if (preamble) e.body.append(kPreamble);
  for (const Entity& child : children) {
    if (!e.body.empty()) e.body += "\r\n";
    e.body.append("--").append(boundary).append("\r\n");
    e.body.append(child.headers).append("\r\n").append(child.body);
  }
  e.body.append("\r\n--").append(boundary).append("--\r\n");
  return e;
}

Result<void> check_composition(const Composition& c) {
  if (c.from.empty()) return unexpected(Errc::bad_address, "From: missing");
  if (c.text.empty() && c.html.empty() && c.attachments.empty()) {
    return unexpected(Errc::no_body, "no text, html or attachment");
  }
  if (auto ok = check_header_text("Subject", c.subject); !ok) return ok;
  if (!is_utf8(c.text)) return unexpected(Errc::invalid_utf8, "text: not UTF-8");
  if (!is_utf8(c.html)) return unexpected(Errc::invalid_utf8, "html: not UTF-8");
  if (!c.message_id.empty()) {
    if (auto ok = check_no_injection("Message-ID", c.message_id); !ok) return ok;
    if (auto ok = check_message_id(c.message_id); !ok) return ok;
  }
  for (const auto& [name, value] : c.headers) {
    if (auto ok = validate_header_field(name, value); !ok) return ok;
  }
  for (std::size_t i = 0; i < c.attachments.size(); ++i) {
    const Attachment& a = c.attachments[i];
    std::string what = concat({"attachments[", std::to_string(i), "]"});
    if (auto ok = check_header_text(what, a.filename); !ok) return ok;
    if (!a.content_type.empty()) {
      if (auto ok = check_content_type(what, a.content_type); !ok) return ok;
    }
  }
  return {};
}

}  // namespace

Result<void> validate_header_field(std::string_view name, std::string_view value) {
  // RFC 5322 §3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126
  if (name.empty()) return unexpected(Errc::bad_header_name, "empty field name");
  if (name.size() > kFieldNameBytesMax) {
    return unexpected(Errc::bad_header_name, "field name longer than 76 octets");
  }
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') {
      if (c == '\r' || c == '\n') {
        return unexpected(Errc::header_injection, "CR or LF in field name");
      }
      return unexpected(Errc::bad_header_name,
                        concat({"field name \"", u >= 32 && u < 127 ? name : "?",
                                "\" has a character outside printable ASCII or a ':'"}));
    }
  }
  for (std::string_view owned : kOwnedFields) {
    if (iequals(name, owned)) {
      return unexpected(Errc::reserved_header,
                        concat({owned, " is written by compose(); use the Composition field"}));
    }
  }
  std::string what = concat({"header ", name});
  if (auto ok = check_header_text(what, value); !ok) return ok;
  if (!needs_encoding(value) && longest_run(value) > run_max(name)) {
    return unexpected(Errc::line_too_long, concat({what, ": unbreakable run too long"}));
  }
  return {};
}

Result<std::string> compose(const Composition& c) {
  if (auto ok = check_composition(c); !ok) return unexpected(ok.error());
  auto from = mailbox_text("From", c.from);
  if (!from) return unexpected(from.error());
  std::string reply_to;
  if (!c.reply_to.empty()) {
    auto text = mailbox_text("Reply-To", c.reply_to);
    if (!text) return unexpected(text.error());
    reply_to = std::move(*text);
  }
  auto to = mailbox_list("To", c.to);
  if (!to) return unexpected(to.error());
  auto cc = mailbox_list("Cc", c.cc);
  if (!cc) return unexpected(cc.error());

  // Leaves first, so the boundaries can be checked against every 7bit body.
  std::vector<Entity> leaves;
  leaves.reserve(2 + c.attachments.size());
  if (!c.text.empty()) leaves.push_back(text_entity("plain", c.text));
  if (!c.html.empty()) leaves.push_back(text_entity("html", c.html));
  std::size_t text_parts = leaves.size();
  for (const Attachment& a : c.attachments) leaves.push_back(attachment_entity(a));
  std::vector<std::string_view> seven_bit;
  for (const Entity& e : leaves) {
    if (e.seven_bit) seven_bit.push_back(e.body);
  }
  // Both boundaries are chosen while the views into the leaf bodies are still valid.
  bool mixed = !c.attachments.empty();
  std::string mixed_boundary, alternative_boundary;
  {
    BoundaryMaker boundaries(c.boundary_seed, std::move(seven_bit));
    if (mixed) mixed_boundary = boundaries.make();
    if (text_parts == 2) alternative_boundary = boundaries.make();
  }

  Entity root;
  if (text_parts == 2) {
    std::vector<Entity> alternatives;
    alternatives.push_back(std::move(leaves[0]));
    alternatives.push_back(std::move(leaves[1]));
    root = multipart("alternative", alternatives, alternative_boundary, !mixed);
  } else if (text_parts == 1) {
    root = std::move(leaves[0]);
  }
  if (mixed) {
    std::vector<Entity> children;
    children.reserve(1 + c.attachments.size());
    if (text_parts > 0) children.push_back(std::move(root));
    for (std::size_t i = text_parts; i < leaves.size(); ++i)
      children.push_back(std::move(leaves[i]));
    root = multipart("mixed", children, mixed_boundary, true);
  }
  MTA_ASSERT(!root.headers.empty());

  std::string out;
  out.reserve(root.body.size() + root.headers.size() + 1024);
  if (c.date != Clock::WallTime{}) append_field(out, "Date", rfc5322_date(c.date));
  append_field(out, "From", *from);
  if (!reply_to.empty()) append_field(out, "Reply-To", reply_to);
  if (!to->empty()) append_field(out, "To", *to);
  if (!cc->empty()) append_field(out, "Cc", *cc);
  if (!c.subject.empty()) append_text_field(out, "Subject", c.subject, true);
  if (!c.message_id.empty()) append_field(out, "Message-ID", c.message_id);
  for (const auto& [name, value] : c.headers) append_text_field(out, name, value, false);
  append_field(out, "MIME-Version", "1.0");
  out.append(root.headers).append("\r\n").append(root.body);
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace mta::mime
