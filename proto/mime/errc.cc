// The "mime" std::error_category: names for mta::mime::Errc values in logs and API errors.
#include "proto/mime/errc.h"

#include <string>

namespace mta::mime {
namespace {

class MimeCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mime"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::bad_header_name:
        return "bad header field name";
      case Errc::header_injection:
        return "line break or NUL in header value";
      case Errc::reserved_header:
        return "header field is written by the composer";
      case Errc::bad_address:
        return "bad address";
      case Errc::no_body:
        return "message has no body";
      case Errc::invalid_utf8:
        return "invalid UTF-8";
      case Errc::bad_content_type:
        return "bad content type";
      case Errc::bad_message_id:
        return "bad Message-ID";
      case Errc::line_too_long:
        return "header value cannot be folded";
      case Errc::template_syntax:
        return "template syntax error";
      case Errc::template_value_missing:
        return "unknown placeholder";
    }
    return "unknown mime error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const MimeCategory category;
  return category;
}

}  // namespace mta::mime
