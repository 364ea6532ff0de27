// Error codes of the HTTP/1.1 and JSON cores. Malformed requests and JSON come back as Result
// errors carrying one of these codes (never asserts); status_for() maps a code to the HTTP
// status the server answers with. The category name is "http".
#pragma once

#include <system_error>

namespace mta::http {

enum class Errc {
  ok = 0,
  bad_request = 1,                   // 400: request line or header syntax
  bad_target = 2,                    // 400: request-target syntax or percent-encoding
  missing_host = 3,                  // 400: HTTP/1.1 without Host, or several Host lines
  bad_content_length = 4,            // 400: Content-Length not 1*DIGIT
  ambiguous_framing = 5,             // 400: CL with TE, differing CLs, chunked not last
  bad_chunk = 6,                     // 400: chunked framing syntax
  uri_too_long = 7,                  // 414: the request line exceeded its limit
  headers_too_large = 8,             // 431: header section (or trailers) over bytes or count
  body_too_large = 9,                // 413: body over its limit
  unsupported_transfer_coding = 10,  // 501: a transfer coding other than chunked
  version_not_supported = 11,        // 505: HTTP version other than 1.0 and 1.1
  json_syntax = 12,                  // 400: JSON that is not RFC 8259 text
  json_too_deep = 13,                // 400: arrays/objects nested deeper than depth_max
  json_too_large = 14,               // 413: JSON text longer than bytes_max
  out_of_order = 15,                 // 500: next() before the request was complete
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// The status code to answer an error with: 400, 413, 414, 431, 501 or 505 for codes of the
// "http" category (500 for out_of_order, a caller's mistake), 500 for any other category.
int status_for(std::error_code code) noexcept;

}  // namespace mta::http

template <>
struct std::is_error_code_enum<mta::http::Errc> : std::true_type {};
