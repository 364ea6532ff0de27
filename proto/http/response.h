// Building HTTP/1.1 responses: the status line with its RFC 9110 reason phrase, framing
// headers (Content-Length, Connection), the few policy headers the admin and injection APIs
// need (Allow, WWW-Authenticate), caller headers and the body, serialized into a string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/http/request_parser.h"

namespace mta::http {

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type field
  std::string body;
  std::vector<Header> headers;    // written after the fields below; CTLs in values become SP
  std::string allow;              // 405: the Allow value, e.g. "GET, HEAD" (empty: none)
  bool bearer_challenge = false;  // 401: adds `WWW-Authenticate: Bearer`
  bool close = false;             // adds `Connection: close`; the caller closes after writing
  int request_version_minor = 1;  // 0: a kept-alive response says `Connection: keep-alive`
  bool head_request = false;      // HEAD: Content-Length of `body`, body bytes not written

  // A response set up to answer `request`: close unless it keeps alive, HEAD, its version.
  static Response for_request(const Request& request);
  // The answer to a parse error: its status_for() code, a text/plain line, Connection: close.
  static Response for_error(const Error& error);
};

// The RFC 9110 §15 reason phrase of the codes this server uses; "Unknown" for the others.
std::string_view reason_phrase(int status);

// Appends the response to `out`: "HTTP/1.1 <code> <reason>", Content-Type if set,
// Content-Length (except for 1xx and 204, RFC 9110 §8.6), Connection, Allow,
// WWW-Authenticate, the caller headers, the empty line and the body.
void append_response(const Response& response, std::string& out);
std::string serialize(const Response& response);

// "HTTP/1.1 100 Continue\r\n\r\n": the interim answer to `Expect: 100-continue`.
std::string_view continue_100();

}  // namespace mta::http
