// ENVELOPE, BODYSTRUCTURE and BODY[section] from the MIME tree. Grammar (RFC 3501 §9):
//   envelope        = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to
//                     SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
//   address         = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
//   body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
//   body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
//                     body-fld-octets
//   body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
//   body-type-text  = media-text SP body-fields SP body-fld-lines
//   body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
//   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
//   body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
// Type, subtype, encoding and parameter names are upper-cased as in RFC 3501's examples;
// values are sent as written.
#include "proto/imap/fetch.h"

#include <algorithm>

#include "base/ascii.h"
#include "proto/imap/response.h"

namespace mta::imap {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

void append_optional_string(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += "NIL";
  } else {
    append_string(out, text);
  }
}

void append_address_list(std::string& out, const std::optional<std::string>& value) {
  if (!value) {
    out += "NIL";
    return;
  }
  const std::vector<mime::Address> addresses = mime::parse_address_list(*value);
  if (addresses.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const mime::Address& a : addresses) {
    if (a.group_end) {
      out += "(NIL NIL NIL NIL)";
    } else if (!a.group.empty()) {
      out += "(NIL NIL ";
      append_string(out, a.group);
      out += " NIL)";
    } else {
      out += '(';
      append_optional_string(out, a.name);
      out += ' ';
      append_optional_string(out, a.route);
      out += ' ';
      append_string(out, a.mailbox.empty() ? std::string_view("MISSING_MAILBOX") : a.mailbox);
      out += ' ';
      append_string(out, a.host.empty() ? std::string_view("MISSING_DOMAIN") : a.host);
      out += ')';
    }
  }
  out += ')';
}

// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
void append_params(std::string& out, const mime::ContentType& type, bool text) {
  std::vector<std::pair<std::string, std::string>> params = type.params;
  // RFC 2045 §5.2: text without a charset is us-ascii; say so, as other servers do.
  if (text && type.param("charset") == nullptr) params.emplace_back("charset", "us-ascii");
  if (params.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i != 0) out += ' ';
    append_string(out, upper(params[i].first));
    out += ' ';
    append_string(out, params[i].second);
  }
  out += ')';
}

// body-fld-dsp = "(" string SP body-fld-param ")" / nil
void append_disposition(std::string& out, const std::optional<mime::ContentType>& disposition) {
  if (!disposition) {
    out += "NIL";
    return;
  }
  out += '(';
  append_string(out, upper(disposition->type));
  out += ' ';
  append_params(out, *disposition, false);
  out += ')';
}

// body-fld-lang = nstring / "(" string *(SP string) ")"
void append_language(std::string& out, const std::optional<std::string>& language) {
  if (!language || trim(*language).empty()) {
    out += "NIL";
    return;
  }
  std::vector<std::string_view> tags;
  std::string_view rest = *language;
  while (!rest.empty() && tags.size() < 32) {
    const std::size_t comma = std::min(rest.find(','), rest.size());
    const std::string_view tag = trim(rest.substr(0, comma));
    if (!tag.empty()) tags.push_back(tag);
    rest.remove_prefix(std::min(comma + 1, rest.size()));
  }
  if (tags.size() == 1) {
    append_string(out, tags[0]);
    return;
  }
  out += '(';
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i != 0) out += ' ';
    append_string(out, tags[i]);
  }
  out += ')';
}

void append_part(std::string& out, std::string_view message, const mime::Part& part,
                 bool extensible, std::size_t depth);

void append_multipart(std::string& out, std::string_view message, const mime::Part& part,
                      bool extensible, std::size_t depth) {
  out += '(';
  if (part.children.empty()) {
    // A multipart without parts (no boundary found) still needs one body: an empty text part.
    out += "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)";
  }
  for (const mime::Part& child : part.children)
    append_part(out, message, child, extensible, depth + 1);
  out += ' ';
  append_string(out, upper(part.content_type.subtype));
  if (extensible) {
    out += ' ';
    append_params(out, part.content_type, false);
    out += ' ';
    append_disposition(out, part.disposition);
    out += ' ';
    append_language(out, part.language);
    out += ' ';
    append_nstring(out, part.location);
  }
  out += ')';
}

void append_part(std::string& out, std::string_view message, const mime::Part& part,
                 bool extensible, std::size_t depth) {
  if (part.is_multipart()) {
    append_multipart(out, message, part, extensible, depth);
    return;
  }
  const mime::ContentType& type = part.content_type;
  const bool text = type.type == "text";
  out += '(';
  append_string(out, upper(type.type));
  out += ' ';
  append_string(out, upper(type.subtype));
  out += ' ';
  append_params(out, type, text);
  out += ' ';
  append_nstring(out, part.content_id);
  out += ' ';
  append_nstring(out, part.description);
  out += ' ';
  append_string(out, upper(part.transfer_encoding));
  out += ' ';
  out += std::to_string(part.body_end - part.body_begin);
  if (type.type == "message" && type.subtype == "rfc822" && part.message) {
    const mime::Part& inner = *part.message;
    out += ' ';
    append_envelope(out, message.substr(inner.header_begin, inner.header_end - inner.header_begin));
    out += ' ';
    append_part(out, message, inner, extensible, depth + 1);
    out += ' ';
    out += std::to_string(part.body_lines);
  } else if (text) {
    out += ' ';
    out += std::to_string(part.body_lines);
  }
  if (extensible) {
    out += ' ';
    append_nstring(out, part.md5);
    out += ' ';
    append_disposition(out, part.disposition);
    out += ' ';
    append_language(out, part.language);
    out += ' ';
    append_nstring(out, part.location);
  }
  out += ')';
}

}  // namespace

void append_envelope(std::string& out, std::string_view header_block) {
  const auto field = [&](std::string_view name) { return mime::header_value(header_block, name); };
  const std::optional<std::string> from = field("From");
  const auto or_from = [&](std::optional<std::string> value) {
    if (!value || trim(*value).empty()) return from;
    return value;
  };
  out += '(';
  append_nstring(out, field("Date"));
  out += ' ';
  append_nstring(out, field("Subject"));
  out += ' ';
  append_address_list(out, from);
  out += ' ';
  append_address_list(out, or_from(field("Sender")));
  out += ' ';
  append_address_list(out, or_from(field("Reply-To")));
  out += ' ';
  append_address_list(out, field("To"));
  out += ' ';
  append_address_list(out, field("Cc"));
  out += ' ';
  append_address_list(out, field("Bcc"));
  out += ' ';
  append_nstring(out, field("In-Reply-To"));
  out += ' ';
  append_nstring(out, field("Message-ID"));
  out += ')';
}

void append_body_structure(std::string& out, std::string_view message, const mime::Part& part,
                           bool extensible) {
  append_part(out, message, part, extensible, 0);
}

std::optional<std::string_view> section_octets(std::string_view message, const mime::Part& root,
                                               const Section& section, std::string& scratch) {
  using Text = Section::Text;
  const auto range = [&](std::size_t begin, std::size_t end) {
    return message.substr(begin, end - begin);
  };
  // The (sub)message whose header and text HEADER, HEADER.FIELDS and TEXT name, and where its
  // text ends (the root's runs to the end of the message).
  const mime::Part* target = &root;
  std::size_t text_end = message.size();
  if (!section.part.empty()) {
    const mime::Part* part = mime::find_part(root, section.part);
    if (part == nullptr) return std::nullopt;
    if (section.text == Text::none) return range(part->body_begin, part->body_end);
    if (section.text == Text::mime) return range(part->header_begin, part->header_end);
    if (!part->message) return std::nullopt;  // HEADER and TEXT need a message/rfc822 part
    target = part->message.get();
    text_end = target->body_end;
  }
  switch (section.text) {
    case Text::none:
      return message;
    case Text::mime:
      return std::nullopt;  // "MIME" needs a part number; the parser ensures one
    case Text::header:
      return range(target->header_begin, target->header_end);
    case Text::text:
      return range(target->body_begin, text_end);
    case Text::header_fields:
    case Text::header_fields_not: {
      const std::string_view header = range(target->header_begin, target->header_end);
      const bool want = section.text == Text::header_fields;
      scratch.clear();
      for (const mime::HeaderField& field : mime::parse_header_fields(header)) {
        const bool listed =
            std::any_of(section.fields.begin(), section.fields.end(),
                        [&](const std::string& f) { return iequals(f, field.name); });
        if (listed == want) scratch.append(header.substr(field.begin, field.end - field.begin));
      }
      scratch += "\r\n";
      return std::string_view(scratch);
    }
  }
  return std::nullopt;
}

void append_section_spec(std::string& out, const Section& section) {
  for (std::size_t i = 0; i < section.part.size(); ++i) {
    if (i != 0) out += '.';
    out += std::to_string(section.part[i]);
  }
  if (section.text == Section::Text::none) return;
  if (!section.part.empty()) out += '.';
  switch (section.text) {
    case Section::Text::none:
      break;
    case Section::Text::header:
      out += "HEADER";
      break;
    case Section::Text::text:
      out += "TEXT";
      break;
    case Section::Text::mime:
      out += "MIME";
      break;
    case Section::Text::header_fields:
    case Section::Text::header_fields_not: {
      out +=
          section.text == Section::Text::header_fields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (";
      for (std::size_t i = 0; i < section.fields.size(); ++i) {
        if (i != 0) out += ' ';
        append_astring(out, section.fields[i]);
      }
      out += ')';
      break;
    }
  }
}

}  // namespace mta::imap
