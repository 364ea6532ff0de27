// Error codes of the MIME core: why a message could not be composed from caller fields, why an
// address or a template does not parse. Caller input that is refused comes back as a Result
// error carrying one of these codes (never an assert). The category name is "mime".
#pragma once

#include <system_error>

namespace mta::mime {

enum class Errc {
  ok = 0,
  bad_header_name = 1,   // a field name outside RFC 5322 ftext, or empty
  header_injection = 2,  // CR, LF or NUL in a header value, name or filename
  reserved_header = 3,   // a caller field that compose() writes itself (From, Subject, ...)
  bad_address = 4,       // a mailbox that does not parse, or a missing From
  no_body = 5,           // no text, no html and no attachment
  invalid_utf8 = 6,      // text that is meant to be UTF-8 but is not
  bad_content_type = 7,  // an attachment type that is not "type/subtype"
  bad_message_id = 8,    // a Message-ID that is not "<...>"
  line_too_long = 9,     // a header value with an unbreakable run longer than a line
  template_syntax = 10,  // "{{" without "}}", or an invalid placeholder name
  // A placeholder with no value and no default (the detail is its name).
  template_value_missing = 11,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::mime

template <>
struct std::is_error_code_enum<mta::mime::Errc> : std::true_type {};
