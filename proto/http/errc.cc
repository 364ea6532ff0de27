// The "http" std::error_category: names for mta::http::Errc values in logs and error
// messages, and the status code each one is answered with.
#include "proto/http/errc.h"

#include <string>

namespace mta::http {
namespace {

class HttpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "http"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::bad_request:
        return "malformed request";
      case Errc::bad_target:
        return "malformed request target";
      case Errc::missing_host:
        return "missing or repeated Host header";
      case Errc::bad_content_length:
        return "malformed Content-Length";
      case Errc::ambiguous_framing:
        return "ambiguous message framing";
      case Errc::bad_chunk:
        return "malformed chunked body";
      case Errc::uri_too_long:
        return "request line too long";
      case Errc::headers_too_large:
        return "header section too large";
      case Errc::body_too_large:
        return "body too large";
      case Errc::unsupported_transfer_coding:
        return "unsupported transfer coding";
      case Errc::version_not_supported:
        return "HTTP version not supported";
      case Errc::json_syntax:
        return "malformed JSON";
      case Errc::json_too_deep:
        return "JSON nested too deeply";
      case Errc::json_too_large:
        return "JSON text too large";
      case Errc::out_of_order:
        return "next request asked for before the current one was complete";
    }
    return "unknown http error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const HttpCategory category;
  return category;
}

int status_for(std::error_code code) noexcept {
  if (code.category() != error_category()) return 500;
  switch (static_cast<Errc>(code.value())) {
    case Errc::uri_too_long:
      return 414;
    case Errc::headers_too_large:
      return 431;
    case Errc::body_too_large:
    case Errc::json_too_large:
      return 413;
    case Errc::unsupported_transfer_coding:
      return 501;
    case Errc::version_not_supported:
      return 505;
    case Errc::out_of_order:
      return 500;
    case Errc::ok:
      return 200;
    default:
      return 400;
  }
}

}  // namespace mta::http
