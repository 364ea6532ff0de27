// Tests of RequestParser: every case is fed whole, split at every byte offset and one byte at
// a time, and must give the same requests and the same error each way. Tables cover valid
// shapes (chunked, pipelining, percent-decoding, keep-alive), each error status, smuggling
// shapes and limits; separate tests cover 100-continue and early 413.
#include "proto/http/request_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "proto/http/errc.h"

namespace mta::http {
namespace {

struct Outcome {
  std::vector<Request> requests;
  std::optional<std::error_code> error;

  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// Feeds `pieces` in order, collecting every complete request (next() after each) and the
// first error.
Outcome run(const std::vector<std::string_view>& pieces, ParserLimits limits = {}) {
  Outcome outcome;
  RequestParser parser(limits);
  for (const std::string_view piece : pieces) {
    Result<ParseEvent> event = parser.feed(piece);
    while (event && *event == ParseEvent::complete) {
      outcome.requests.push_back(parser.take_request());
      event = parser.next();
    }
    if (!event) {
      outcome.error = event.error().code;
      return outcome;
    }
  }
  return outcome;
}

// The outcome of `input` fed whole, after checking that every two-piece split and the
// one-byte-at-a-time feed agree with it.
Outcome run_all_splits(std::string_view input, ParserLimits limits = {}) {
  const Outcome whole = run({input}, limits);
  for (std::size_t split = 0; split <= input.size(); ++split) {
    const Outcome got = run({input.substr(0, split), input.substr(split)}, limits);
    EXPECT_TRUE(got == whole) << "split at " << split << " of: " << input;
    if (!(got == whole)) break;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_TRUE(run(bytes, limits) == whole) << "byte by byte: " << input;
  return whole;
}

Request make(std::string method, std::string target, std::string path, std::vector<Header> headers,
             std::string body = {}, BodyFraming framing = BodyFraming::none,
             std::vector<QueryParam> query = {}, int version_minor = 1) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.path = std::move(path);
  r.query = std::move(query);
  r.version_minor = version_minor;
  r.headers = std::move(headers);
  r.framing = framing;
  r.body = std::move(body);
  return r;
}

struct ValidCase {
  std::string_view name;
  std::string_view input;
  std::vector<Request> want;
};

TEST(RequestParser, ValidRequestsAtEverySplit) {
  const std::string json = R"({"to":["a@example.com"],"subject":"hi"})";
  const std::string curl_post =
      "POST /api/inject HTTP/1.1\r\nHost: 127.0.0.1:8025\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(json.size()) + "\r\n\r\n" + json;
  const ValidCase cases[] = {
      {"get with query",
       "GET /queue/list?limit=10&state=deferred HTTP/1.1\r\nHost: localhost\r\n\r\n",
       {make("GET", "/queue/list?limit=10&state=deferred", "/queue/list", {{"Host", "localhost"}},
             "", BodyFraming::none, {{"limit", "10"}, {"state", "deferred"}})}},
      {"curl post",
       curl_post,
       {make("POST", "/api/inject", "/api/inject",
             {{"Host", "127.0.0.1:8025"},
              {"User-Agent", "curl/7.88.1"},
              {"Accept", "*/*"},
              {"Content-Type", "application/json"},
              {"Content-Length", std::to_string(json.size())}},
             json, BodyFraming::content_length)}},
      {"chunked with extensions and trailers",
       "POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5;name=value\r\nhello\r\n6 ; ext ; b=\"q\"\r\n world\r\n0\r\nX-Sum: 1\r\nX-T: 2\r\n\r\n",
       {make("POST", "/in", "/in", {{"Host", "x"}, {"Transfer-Encoding", "chunked"}}, "hello world",
             BodyFraming::chunked)}},
      {"chunked uppercase hex, leading zeros, coding case",
       "POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
       "000A\r\n0123456789\r\n00\r\n\r\n",
       {make("POST", "/in", "/in", {{"Host", "x"}, {"Transfer-Encoding", "Chunked"}}, "0123456789",
             BodyFraming::chunked)}},
      {"percent-decoding",
       "GET /a%20b/%E2%82%AC+?q=a+b%26c&empty=&flag&&%3D=%2b HTTP/1.1\r\nHost: x\r\n\r\n",
       {make("GET", "/a%20b/%E2%82%AC+?q=a+b%26c&empty=&flag&&%3D=%2b", "/a b/\u20ac+",
             {{"Host", "x"}}, "", BodyFraming::none,
             {{"q", "a b&c"}, {"empty", ""}, {"flag", ""}, {"=", "+"}})}},
      {"bare LF line ends",
       "GET / HTTP/1.1\nHost: x\n\n",
       {make("GET", "/", "/", {{"Host", "x"}})}},
      {"empty lines before the request line",
       "\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
       {make("GET", "/", "/", {{"Host", "x"}})}},
      {"HTTP/1.0 needs no Host",
       "GET /metrics HTTP/1.0\r\n\r\n",
       {make("GET", "/metrics", "/metrics", {}, "", BodyFraming::none, {}, 0)}},
      {"absolute-form",
       "GET http://localhost:8025/metrics?x=1 HTTP/1.1\r\nHost: localhost:8025\r\n\r\n",
       {make("GET", "http://localhost:8025/metrics?x=1", "/metrics", {{"Host", "localhost:8025"}},
             "", BodyFraming::none, {{"x", "1"}})}},
      {"absolute-form without path",
       "GET http://localhost HTTP/1.1\r\nHost: localhost\r\n\r\n",
       {make("GET", "http://localhost", "/", {{"Host", "localhost"}})}},
      {"asterisk-form",
       "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
       {make("OPTIONS", "*", "*", {{"Host", "x"}})}},
      {"authority-form",
       "CONNECT mail.example:443 HTTP/1.1\r\nHost: mail.example:443\r\n\r\n",
       {make("CONNECT", "mail.example:443", "", {{"Host", "mail.example:443"}})}},
      {"POST without length has an empty body",
       "POST /queue/retry HTTP/1.1\r\nHost: x\r\n\r\n",
       {make("POST", "/queue/retry", "/queue/retry", {{"Host", "x"}})}},
      {"OWS trimmed, obs-text kept, empty value",
       "GET / HTTP/1.1\r\nHost:x\r\nX-A: \t spaced value \t\r\nX-B: caf\xc3\xa9\r\nX-C:\r\n\r\n",
       {make("GET", "/", "/",
             {{"Host", "x"}, {"X-A", "spaced value"}, {"X-B", "caf\xc3\xa9"}, {"X-C", ""}})}},
      {"pipelined",
       "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
       "\r\nhiGET /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n!\r\n0\r\n\r\n"
       "GET /d HTTP/1.1\r\nHost: x\r\n",
       {make("GET", "/a", "/a", {{"Host", "x"}}),
        make("POST", "/b", "/b", {{"Host", "x"}, {"Content-Length", "2"}}, "hi",
             BodyFraming::content_length),
        make("GET", "/c", "/c", {{"Host", "x"}, {"Transfer-Encoding", "chunked"}}, "!",
             BodyFraming::chunked)}},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome got = run_all_splits(c.input);
    EXPECT_FALSE(got.error.has_value()) << got.error->message();
    EXPECT_EQ(got.requests.size(), c.want.size());
    for (std::size_t i = 0; i < std::min(got.requests.size(), c.want.size()); ++i) {
      const Request& g = got.requests[i];
      const Request& w = c.want[i];
      EXPECT_EQ(g.method, w.method);
      EXPECT_EQ(g.target, w.target);
      EXPECT_EQ(g.path, w.path);
      EXPECT_EQ(g.query, w.query);
      EXPECT_EQ(g.version_minor, w.version_minor);
      EXPECT_EQ(g.headers, w.headers);
      EXPECT_EQ(g.framing, w.framing);
      EXPECT_EQ(g.body, w.body);
    }
  }
}

struct ErrorCase {
  std::string_view name;
  std::string input;
  Errc want;
  int want_status;
};

const std::string host = "Host: x\r\n";

TEST(RequestParser, ErrorsAtEverySplit) {
  const ErrorCase cases[] = {
      // Request line.
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", Errc::missing_host, 400},
      {"two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", Errc::missing_host, 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", Errc::version_not_supported, 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", Errc::version_not_supported, 505},
      {"HTTP/0.9", "GET /\r\n\r\n", Errc::bad_request, 400},
      {"lowercase version", "GET / http/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"version junk", "GET / HTTP/1.1x\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"two spaces", "GET  / HTTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"space in target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"method not a token", "G(T / HTTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"bad escape %zz", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"short escape", "GET /a%2 HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"escaped NUL in path", "GET /a%00 HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"bad escape in query", "GET /a?x=%g1 HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"fragment", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"obs-text in target", "GET /\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"relative target", "GET a/b HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"absolute-form without authority", "GET http:// HTTP/1.1\r\n" + host + "\r\n",
       Errc::bad_target, 400},
      {"absolute-form without //", "GET http:/x HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target,
       400},
      {"asterisk outside OPTIONS", "GET * HTTP/1.1\r\n" + host + "\r\n", Errc::bad_target, 400},
      {"bare CR in request line", "GET / HTTP/1.1\rHost: x\r\n\r\n", Errc::bad_request, 400},
      // What http-parser (non-strict) would accept.
      {"unknown method", "FOO / HTTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"lowercase method", "get / HTTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"two spaces before version", "GET /  HTTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"letters for HTTP", "GET / HXTP/1.1\r\n" + host + "\r\n", Errc::bad_request, 400},
      {"ICE for SOURCE", "SOURCE / ICE/1.0\r\n\r\n", Errc::bad_request, 400},
      {"CR then not LF before the request line", "\rGET / HTTP/1.1\r\n" + host + "\r\n",
       Errc::bad_request, 400},
      {"CR then not LF ends the head", "GET / HTTP/1.1\r\n" + host + "\rX", Errc::bad_request, 400},
      // Header fields.
      {"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: a\r\n b\r\n\r\n", Errc::bad_request, 400},
      {"space before first field", "GET / HTTP/1.1\r\n " + host + "\r\n", Errc::bad_request, 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", Errc::bad_request, 400},
      {"no colon", "GET / HTTP/1.1\r\n" + host + "Junk\r\n\r\n", Errc::bad_request, 400},
      {"empty name", "GET / HTTP/1.1\r\n" + host + ": v\r\n\r\n", Errc::bad_request, 400},
      {"bare CR in value", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", Errc::bad_request, 400},
      {"NUL in value", "GET / HTTP/1.1\r\n" + host + std::string("X: a\0b\r\n\r\n", 10),
       Errc::bad_request, 400},
      // Framing and smuggling shapes.
      {"CL and TE",
       "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       Errc::ambiguous_framing, 400},
      {"differing CL lines",
       "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
       Errc::ambiguous_framing, 400},
      {"differing CL list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 6\r\n\r\n",
       Errc::ambiguous_framing, 400},
      // http-parser takes one Content-Length only, so equal values are a 400 too.
      {"equal CL lines",
       "PUT /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       Errc::ambiguous_framing, 400},
      {"equal CL list", "PUT /x HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\nabc",
       Errc::ambiguous_framing, 400},
      {"CONNECT with a body", "CONNECT a:1 HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc",
       Errc::ambiguous_framing, 400},
      {"CL with sign", "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\n",
       Errc::bad_content_length, 400},
      {"CL negative", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n",
       Errc::bad_content_length, 400},
      {"CL hex", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\n",
       Errc::bad_content_length, 400},
      {"CL empty", "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n",
       Errc::bad_content_length, 400},
      {"CL trailing junk", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5 5\r\n\r\n",
       Errc::bad_content_length, 400},
      {"TE gzip only", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n",
       Errc::ambiguous_framing, 400},
      {"TE chunked not last",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n",
       Errc::ambiguous_framing, 400},
      {"TE chunked twice",
       "POST / HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       Errc::ambiguous_framing, 400},
      {"TE gzip then chunked",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n",
       Errc::unsupported_transfer_coding, 501},
      {"TE empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,\r\n\r\n", Errc::bad_request,
       400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       Errc::ambiguous_framing, 400},
      // Chunked body.
      {"chunk size not hex",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", Errc::bad_chunk,
       400},
      {"chunk size junk",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n",
       Errc::bad_chunk, 400},
      {"chunk size bare LF",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n",
       Errc::bad_chunk, 400},
      {"chunk data too long",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n",
       Errc::bad_chunk, 400},
      {"chunk data bare LF",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n",
       Errc::bad_chunk, 400},
      {"trailer bare LF",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n",
       Errc::bad_chunk, 400},
      {"trailer obs-fold",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n z\r\n",
       Errc::bad_request, 400},
      {"chunk size CR then not LF",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\rXhello\r\n0\r\n\r\n",
       Errc::bad_chunk, 400},
      {"chunk data not ended by CRLF",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
       Errc::bad_chunk, 400},
      {"LF in chunk extension",
       "POST / HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n",
       Errc::bad_chunk, 400},
      {"HTAB before chunk extension",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\t;a\r\nhello\r\n",
       Errc::bad_chunk, 400},
      {"trailers end CR then not LF",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\rX", Errc::bad_chunk,
       400},
      {"control in chunk extension",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1;a\x01\r\nx\r\n",
       Errc::bad_chunk, 400},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome got = run_all_splits(c.input);
    ASSERT_TRUE(got.error.has_value());
    EXPECT_EQ(*got.error, make_error_code(c.want)) << got.error->message();
    EXPECT_EQ(status_for(*got.error), c.want_status);
    EXPECT_TRUE(got.requests.empty());
  }
}

struct LimitCase {
  std::string_view name;
  ParserLimits limits;
  std::string input;
  std::optional<Errc> want;  // nullopt: parses
};

TEST(RequestParser, LimitsAtEverySplit) {
  ParserLimits line;
  line.request_line_bytes_max = 20;  // "GET /12345 HTTP/1.1\r\n" is 21 bytes
  ParserLimits header_bytes;
  header_bytes.header_bytes_max = 22;  // "Host: x\r\n" 9 + "X: 123456\r\n" 11 + "\r\n" 2
  ParserLimits trailer_bytes;
  trailer_bytes.header_bytes_max = 40;  // the head below takes 39
  ParserLimits header_count;
  header_count.header_count_max = 2;
  ParserLimits body;
  body.body_bytes_max = 5;
  ParserLimits chunk_line;
  chunk_line.chunk_line_bytes_max = 8;
  const std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const LimitCase cases[] = {
      {"request line at limit", line, "GET /1234 HTTP/1.1\r\n" + host + "\r\n", std::nullopt},
      {"request line bare LF at limit", line, "GET /12345 HTTP/1.1\n" + host + "\r\n",
       std::nullopt},
      {"request line over limit", line, "GET /12345 HTTP/1.1\r\n" + host + "\r\n",
       Errc::uri_too_long},
      {"request line never ends", line, "GET /" + std::string(40, 'a'), Errc::uri_too_long},
      {"empty lines count toward it", line, "\r\n\r\nGET /1 HTTP/1.1\r\n" + host + "\r\n",
       Errc::uri_too_long},
      {"headers at limit", header_bytes, "GET / HTTP/1.1\r\n" + host + "X: 123456\r\n\r\n",
       std::nullopt},
      {"headers over limit", header_bytes, "GET / HTTP/1.1\r\n" + host + "X: 1234567\r\n\r\n",
       Errc::headers_too_large},
      {"header line never ends", header_bytes, "GET / HTTP/1.1\r\nX: " + std::string(40, 'a'),
       Errc::headers_too_large},
      {"header count at limit", header_count, "GET / HTTP/1.1\r\n" + host + "A: 1\r\n\r\n",
       std::nullopt},
      {"header count over limit", header_count,
       "GET / HTTP/1.1\r\n" + host + "A: 1\r\nB: 2\r\n\r\n", Errc::headers_too_large},
      {"trailers over count", header_count, chunked + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
       Errc::headers_too_large},
      {"trailers over bytes", trailer_bytes, chunked + "0\r\nA: " + std::string(40, 'a') + "\r\n",
       Errc::headers_too_large},
      {"body at limit", body, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
       std::nullopt},
      {"body over limit", body, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n",
       Errc::body_too_large},
      {"huge Content-Length", body,
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
       Errc::body_too_large},
      {"chunked at limit", body, chunked + "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", std::nullopt},
      {"chunked over limit", body, chunked + "3\r\nabc\r\n3\r\n", Errc::body_too_large},
      {"huge chunk size", body, chunked + "ffffffffffffffffffff\r\n", Errc::body_too_large},
      {"chunk line over limit", chunk_line, chunked + "1;abcdefgh\r\nx\r\n0\r\n\r\n",
       Errc::bad_chunk},
  };
  for (const LimitCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome got = run_all_splits(c.input, c.limits);
    if (c.want) {
      ASSERT_TRUE(got.error.has_value());
      EXPECT_EQ(*got.error, make_error_code(*c.want)) << got.error->message();
    } else {
      EXPECT_FALSE(got.error.has_value()) << got.error->message();
      EXPECT_EQ(got.requests.size(), 1u);
    }
  }
}

TEST(RequestParser, ContentLengthOverLimitFailsBeforeTheBody) {
  ParserLimits limits;
  limits.body_bytes_max = 1024;
  RequestParser parser(limits);
  const Result<ParseEvent> event =
      parser.feed("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
  ASSERT_FALSE(event.has_value());
  EXPECT_EQ(status_for(event.error().code), 413);
  EXPECT_TRUE(parser.failed());
  // The parser stays failed.
  const Result<ParseEvent> again = parser.feed("more");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, make_error_code(Errc::body_too_large));
}

TEST(RequestParser, HeadersCompleteBeforeTheBodyForContinue) {
  struct Case {
    std::string_view head;
    std::string_view body;
    bool want_continue;
  };
  const Case cases[] = {
      {"PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "hello",
       true},
      {"PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n",
       "5\r\nhello\r\n0\r\n\r\n", true},
      {"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", "hello", false},
      {"PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "hello", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.head);
    RequestParser parser;
    const Result<ParseEvent> head = parser.feed(c.head);
    ASSERT_TRUE(head.has_value()) << head.error().message();
    EXPECT_EQ(*head, ParseEvent::headers_complete);
    EXPECT_TRUE(parser.headers_done());
    EXPECT_EQ(parser.request().expects_continue(), c.want_continue);
    EXPECT_EQ(parser.request().path, "/x");
    EXPECT_TRUE(parser.request().body.empty());
    // The event is reported once; later partial feeds say need_more.
    const Result<ParseEvent> part = parser.feed(c.body.substr(0, 2));
    ASSERT_TRUE(part.has_value());
    EXPECT_EQ(*part, ParseEvent::need_more);
    const Result<ParseEvent> rest = parser.feed(c.body.substr(2));
    ASSERT_TRUE(rest.has_value());
    EXPECT_EQ(*rest, ParseEvent::complete);
    EXPECT_EQ(parser.request().body, "hello");
  }
  // Head and body together: complete at once, no 100 Continue needed.
  RequestParser parser;
  const Result<ParseEvent> whole = parser.feed(
      "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(*whole, ParseEvent::complete);
}

TEST(RequestParser, KeepAlive) {
  struct Case {
    std::string_view input;
    bool want;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: te, Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    const Outcome got = run({c.input});
    ASSERT_EQ(got.requests.size(), 1u) << c.input;
    EXPECT_EQ(got.requests[0].keep_alive(), c.want) << c.input;
  }
}

TEST(RequestParser, HeaderLookupIsCaseInsensitiveAndKeepsOrder) {
  const Outcome got =
      run({"GET /?a=1&a=2 HTTP/1.1\r\nHost: x\r\nX-Tag: one\r\nx-tag: two\r\n\r\n"});
  ASSERT_EQ(got.requests.size(), 1u);
  const Request& r = got.requests[0];
  EXPECT_EQ(r.header("X-TAG"), std::optional<std::string_view>("one"));
  EXPECT_EQ(r.header_values("x-Tag"), (std::vector<std::string_view>{"one", "two"}));
  EXPECT_EQ(r.header("Missing"), std::nullopt);
  EXPECT_EQ(r.query_param("a"), std::optional<std::string_view>("1"));
  EXPECT_EQ(r.query_param("b"), std::nullopt);
}

TEST(RequestParser, PipelinedBytesWaitForNext) {
  RequestParser parser;
  const Result<ParseEvent> first =
      parser.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, ParseEvent::complete);
  EXPECT_EQ(parser.request().path, "/a");
  EXPECT_EQ(parser.buffered_bytes(), 31u);  // 28 of "GET /b" and "GET"
  // Feeding more before next() only buffers.
  ASSERT_TRUE(parser.feed(" /c").has_value());
  EXPECT_EQ(parser.request().path, "/a");
  const Result<ParseEvent> second = parser.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, ParseEvent::complete);
  const Request b = parser.take_request();
  EXPECT_EQ(b.path, "/b");
  const Result<ParseEvent> third = parser.next();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(*third, ParseEvent::need_more);
  EXPECT_EQ(parser.buffered_bytes(), 6u);
  const Result<ParseEvent> done = parser.feed(" HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*done, ParseEvent::complete);
  EXPECT_EQ(parser.request().path, "/c");
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(RequestParser, EmptyFeedsChangeNothing) {
  RequestParser parser;
  for (const std::string_view piece :
       {"", "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n", "", "ab", "", "cd"}) {
    const Result<ParseEvent> event = parser.feed(piece);
    ASSERT_TRUE(event.has_value()) << event.error().message();
  }
  EXPECT_TRUE(parser.complete());
  EXPECT_EQ(parser.request().body, "abcd");
}

TEST(RequestParser, LargeBodyFedInSmallPieces) {
  std::string body(300'000, 'x');
  for (std::size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
  const std::string head =
      "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const std::string input = head + body;
  RequestParser parser;
  Result<ParseEvent> event = ParseEvent::need_more;
  for (std::size_t i = 0; i < input.size(); i += 1000) {
    event = parser.feed(std::string_view(input).substr(i, 1000));
    ASSERT_TRUE(event.has_value());
  }
  EXPECT_EQ(*event, ParseEvent::complete);
  EXPECT_EQ(parser.request().body, body);
}

// The daemon aborted when its listener fed bytes while a request was complete and then asked
// for next() twice (issue 21): feed() while complete only buffers, and next() on an incomplete
// request is an error value.
TEST(RequestParser, FeedWhileCompleteBuffersForNext) {
  RequestParser parser;
  const std::string_view get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_FALSE(parser.started());
  ASSERT_EQ(parser.feed(get.substr(0, 3)).value(), ParseEvent::need_more);
  EXPECT_TRUE(parser.started());
  ASSERT_EQ(parser.feed(get.substr(3)).value(), ParseEvent::complete);
  const Request first = parser.take_request();
  EXPECT_EQ(first.path, "/healthz");
  // The same request is still the current one: feeding more does not start the next.
  ASSERT_EQ(parser.feed(get.substr(0, 10)).value(), ParseEvent::complete);
  ASSERT_EQ(parser.feed(get.substr(10)).value(), ParseEvent::complete);
  EXPECT_EQ(parser.buffered_bytes(), get.size());
  ASSERT_EQ(parser.next().value(), ParseEvent::complete);
  EXPECT_EQ(parser.take_request().path, "/healthz");
  EXPECT_EQ(parser.next().value(), ParseEvent::need_more);
  EXPECT_FALSE(parser.started());  // nothing of a third request yet
}

TEST(RequestParser, NextBeforeCompleteIsAnError) {
  struct Case {
    std::string_view name;
    std::string_view fed;  // before the stray next()
  };
  const Case cases[] = {
      {"nothing fed", ""},
      {"half a request line", "GET /he"},
      {"head without its end", "GET / HTTP/1.1\r\nHost: x\r\n"},
      {"body still to come", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab"},
  };
  for (const Case& c : cases) {
    RequestParser parser;
    if (!c.fed.empty()) {
      ASSERT_TRUE(parser.feed(c.fed).has_value()) << c.name;
    }
    const Result<ParseEvent> got = parser.next();
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, make_error_code(Errc::out_of_order)) << c.name;
    EXPECT_EQ(status_for(got.error().code), 500) << c.name;
    EXPECT_TRUE(parser.failed()) << c.name;
    // Failed stays failed, whatever comes next.
    EXPECT_FALSE(parser.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n").has_value()) << c.name;
    EXPECT_FALSE(parser.next().has_value()) << c.name;
  }
}

// Any interleaving of feed(), next() and take_request() a driver can make gives values:
// thousands of pipelined requests fed in odd pieces, next() called late, twice, or early.
TEST(RequestParser, AnyCallOrderIsSafe) {
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  RequestParser parser;
  std::size_t served = 0;
  std::size_t at = 0;
  for (std::size_t step = 0; at < input.size(); ++step) {
    const std::size_t piece = 1 + (step * 37) % 300;
    const Result<ParseEvent> fed = parser.feed(std::string_view(input).substr(at, piece));
    at += std::min(piece, input.size() - at);
    ASSERT_TRUE(fed.has_value());
    // Serve at most two requests per piece, so bytes pile up behind a complete request.
    for (int k = 0; k < 2 && parser.complete(); ++k) {
      EXPECT_EQ(parser.take_request().path, "/healthz");
      ++served;
      ASSERT_TRUE(parser.next().has_value());
    }
  }
  while (parser.complete()) {
    EXPECT_EQ(parser.take_request().path, "/healthz");
    ++served;
    ASSERT_TRUE(parser.next().has_value());
  }
  EXPECT_EQ(served, 2000U);
  EXPECT_EQ(parser.buffered_bytes(), 0U);
  // One next() too many is an error, not an abort.
  EXPECT_FALSE(parser.next().has_value());
}

}  // namespace
}  // namespace mta::http
