// Tests of response serialization: exact bytes for each shape (plain, 204, 401 with a
// challenge, 405 with Allow, HEAD, HTTP/1.0 keep-alive, close), header value sanitizing,
// reason phrases of every code the server uses, parse-error answers and 100 Continue.
#include "proto/http/response.h"

#include <gtest/gtest.h>

#include <string>

#include "proto/http/errc.h"

namespace mta::http {
namespace {

Response make(int status, std::string content_type = {}, std::string body = {}) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

TEST(Response, Serialize) {
  struct Case {
    std::string_view name;
    Response response;
    std::string_view want;
  };
  Response json = make(200, "application/json", "{\"ok\":true}");
  Response no_content = make(204);
  Response unauthorized = make(401, "application/json", "{}");
  unauthorized.bearer_challenge = true;
  unauthorized.close = true;
  Response not_allowed = make(405);
  not_allowed.allow = "GET, HEAD";
  Response head = make(200, "text/plain", "hello");
  head.head_request = true;
  Response old_keep_alive = make(202);
  old_keep_alive.request_version_minor = 0;
  Response old_close = make(202);
  old_close.request_version_minor = 0;
  old_close.close = true;
  Response extra = make(201);
  extra.headers = {{"Location", "/queue/1\r\nX-Evil: 1"}, {"Retry-After", "5"}};
  const Case cases[] = {
      {"json", json,
       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
       "{\"ok\":true}"},
      {"204 has no Content-Length", no_content, "HTTP/1.1 204 No Content\r\n\r\n"},
      {"401 with challenge", unauthorized,
       "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
       "Connection: close\r\nWWW-Authenticate: Bearer\r\n\r\n{}"},
      {"405 with Allow", not_allowed,
       "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nAllow: GET, HEAD\r\n\r\n"},
      {"HEAD keeps the length, drops the body", head,
       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"},
      {"HTTP/1.0 kept alive", old_keep_alive,
       "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"},
      {"HTTP/1.0 closed", old_close,
       "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
      {"caller headers, CR LF neutralized", extra,
       "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nLocation: /queue/1  X-Evil: 1\r\n"
       "Retry-After: 5\r\n\r\n"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(serialize(c.response), c.want) << c.name;
  }
}

TEST(Response, AppendKeepsWhatIsThere) {
  std::string out = "prefix";
  append_response(make(404), out);
  EXPECT_EQ(out, "prefixHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST(Response, ReasonPhrases) {
  struct Case {
    int status;
    std::string_view want;
  };
  const Case cases[] = {
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {409, "Conflict"},
      {411, "Length Required"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {422, "Unprocessable Content"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
      {299, "Unknown"},
  };
  for (const Case& c : cases) EXPECT_EQ(reason_phrase(c.status), c.want) << c.status;
}

TEST(Response, ForRequestAndForError) {
  RequestParser parser;
  ASSERT_TRUE(parser.feed("HEAD /metrics HTTP/1.0\r\n\r\n").has_value());
  const Response r = Response::for_request(parser.request());
  EXPECT_TRUE(r.close);
  EXPECT_TRUE(r.head_request);
  EXPECT_EQ(r.request_version_minor, 0);

  const Response e =
      Response::for_error(Error{make_error_code(Errc::headers_too_large), "too many fields"});
  EXPECT_EQ(e.status, 431);
  EXPECT_TRUE(e.close);
  EXPECT_EQ(serialize(e),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
            "charset=utf-8\r\nContent-Length: 75\r\nConnection: close\r\n\r\n"
            "Request Header Fields Too Large: header section too large: too many fields\n");
}

TEST(Response, Continue) { EXPECT_EQ(continue_100(), "HTTP/1.1 100 Continue\r\n\r\n"); }

}  // namespace
}  // namespace mta::http
