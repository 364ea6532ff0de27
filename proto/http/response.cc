// Response serialization. The status line is always HTTP/1.1 (RFC 9110 §6.2: a server sends
// its own highest version, also to HTTP/1.0 clients); framing fields come from the body size.
#include "proto/http/response.h"

#include <charconv>

#include "base/assert.h"
#include "proto/http/errc.h"

namespace mta::http {
namespace {

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Field values must not carry CR, LF or NUL (RFC 9110 §5.5): every control byte but HTAB is
// written as SP, so a value taken from a request can never split the header section.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  MTA_ASSERT(!name.empty());
  for (const char c : name) {
    MTA_ASSERT(c > 0x20 && c < 0x7f && c != ':');  // names are the caller's constants
  }
  out.append(name);
  out.append(": ");
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(((u < 0x20 && c != '\t') || u == 0x7f) ? ' ' : c);
  }
  out.append("\r\n");
}

}  // namespace

Response Response::for_request(const Request& request) {
  Response response;
  response.close = !request.keep_alive();
  response.request_version_minor = request.version_minor;
  response.head_request = request.method == "HEAD";
  return response;
}

Response Response::for_error(const Error& error) {
  Response response;
  response.status = status_for(error.code);
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::string(reason_phrase(response.status)) + ": " + error.message() + "\n";
  response.close = true;
  return response;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void append_response(const Response& response, std::string& out) {
  MTA_ASSERT(response.status >= 100);
  MTA_ASSERT(response.status <= 999);
  // 1xx and 204 have no content and no Content-Length (RFC 9110 §6.4.1, §8.6).
  const bool no_content = response.status < 200 || response.status == 204;
  MTA_ASSERT(!no_content || response.body.empty());

  out.reserve(out.size() + 128 + response.content_type.size() + response.body.size());
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(response.status));
  out.push_back(' ');
  out.append(reason_phrase(response.status));
  out.append("\r\n");
  if (!response.content_type.empty()) append_field(out, "Content-Type", response.content_type);
  if (!no_content) {
    out.append("Content-Length: ");
    append_number(out, response.body.size());
    out.append("\r\n");
  }
  if (response.close) {
    out.append("Connection: close\r\n");
  } else if (response.request_version_minor == 0) {
    out.append("Connection: keep-alive\r\n");  // HTTP/1.0 clients close unless told otherwise
  }
  if (!response.allow.empty()) append_field(out, "Allow", response.allow);
  if (response.bearer_challenge) out.append("WWW-Authenticate: Bearer\r\n");
  for (const Header& header : response.headers) append_field(out, header.name, header.value);
  out.append("\r\n");
  if (!response.head_request) out.append(response.body);
}

std::string serialize(const Response& response) {
  std::string out;
  append_response(response, out);
  return out;
}

std::string_view continue_100() { return "HTTP/1.1 100 Continue\r\n\r\n"; }

}  // namespace mta::http
