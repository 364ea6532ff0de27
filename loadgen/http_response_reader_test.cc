// HttpResponseReader: a table of responses (input, want status/body/close or error code),
// each fed whole and split at every byte offset; keep-alive sequences, interim 1xx, bodies
// delimited by EOF, and the limits.
#include "loadgen/http_response_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mta::loadgen {
namespace {

struct Case {
  std::string name;
  std::string input;
  bool eof = false;  // the peer closes after `input`
  // want
  int status = 0;  // 0: an error is wanted
  std::string body;
  bool close = false;
  http::Errc error = http::Errc::ok;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      {.name = "202 with length",
       .input = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: "
                "15\r\n\r\n{\"messages\":[]}",
       .status = 202,
       .body = "{\"messages\":[]}"},
      {.name = "bare LF line ends",
       .input = "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
       .status = 200,
       .body = "ok"},
      {.name = "empty reason without SP", .input = "HTTP/1.1 204\r\n\r\n", .status = 204},
      {.name = "204 ignores Content-Length",
       .input = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
       .status = 204},
      {.name = "Connection close",
       .input = "HTTP/1.1 401 Unauthorized\r\nConnection: keep-alive, Close\r\n"
                "WWW-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n",
       .status = 401,
       .close = true},
      {.name = "HTTP/1.0 closes by default",
       .input = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
       .status = 200,
       .body = "x",
       .close = true},
      {.name = "HTTP/1.0 keep-alive",
       .input = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
       .status = 200,
       .body = "x"},
      {.name = "100 Continue skipped",
       .input = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Content Too Large\r\nContent-Length: "
                "3\r\n\r\nbig",
       .status = 413,
       .body = "big"},
      {.name = "body to EOF",
       .input = "HTTP/1.1 500 Internal Server Error\r\n\r\nall of it",
       .eof = true,
       .status = 500,
       .body = "all of it",
       .close = true},
      {.name = "repeated equal Content-Length",
       .input = "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
       .status = 200,
       .body = "ok"},
      {.name = "differing Content-Length",
       .input = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
       .error = http::Errc::bad_content_length},
      {.name = "signed Content-Length",
       .input = "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
       .error = http::Errc::bad_content_length},
      {.name = "chunked refused",
       .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
       .error = http::Errc::unsupported_transfer_coding},
      {.name = "not HTTP", .input = "SSH-2.0-OpenSSH_9.2\r\n", .error = http::Errc::bad_request},
      {.name = "two-digit status",
       .input = "HTTP/1.1 20 OK\r\n\r\n",
       .error = http::Errc::bad_request},
      {.name = "HTTP/2",
       .input = "HTTP/2.0 200 OK\r\n\r\n",
       .error = http::Errc::version_not_supported},
      {.name = "obs-fold",
       .input = "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
       .error = http::Errc::bad_request},
      {.name = "space before colon",
       .input = "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
       .error = http::Errc::bad_request},
      {.name = "CR inside a line",
       .input = "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
       .error = http::Errc::bad_request},
      {.name = "cut inside the body",
       .input = "HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nshort",
       .eof = true,
       .error = http::Errc::bad_request},
      {.name = "cut inside the head",
       .input = "HTTP/1.1 202 Accepted\r\nContent-Le",
       .eof = true,
       .error = http::Errc::bad_request},
      {.name = "101 refused",
       .input = "HTTP/1.1 101 Switching Protocols\r\n\r\n",
       .error = http::Errc::bad_request},
  };
  return table;
}

struct Got {
  int status = 0;
  std::string body;
  bool close = false;
  std::error_code error;
};

// Feeds `pieces` one by one (then EOF if asked) and reports the response or the error.
Got run(const std::vector<std::string_view>& pieces, bool eof) {
  HttpResponseReader reader;
  Got got;
  bool complete = false;
  for (const auto piece : pieces) {
    auto fed = reader.feed(piece);
    if (!fed) {
      got.error = fed.error().code;
      return got;
    }
    complete = *fed;
  }
  if (eof) {
    auto finished = reader.finish();
    if (!finished) {
      got.error = finished.error().code;
      return got;
    }
    complete = *finished;
  }
  if (!complete) {
    got.error = std::make_error_code(std::errc::resource_unavailable_try_again);
    return got;
  }
  HttpResponse response = reader.take();
  got.status = response.status;
  got.body = response.body;
  got.close = response.close;
  return got;
}

TEST(HttpResponseReader, TableWholeAndSplitAtEveryOffset) {
  for (const Case& c : cases()) {
    for (std::size_t split = 0; split <= c.input.size(); ++split) {
      const std::string_view input = c.input;
      const Got got = run({input.substr(0, split), input.substr(split)}, c.eof);
      SCOPED_TRACE(c.name + ", split at " + std::to_string(split));
      if (c.status == 0) {
        EXPECT_EQ(got.error, make_error_code(c.error)) << got.error.message();
      } else {
        EXPECT_FALSE(got.error) << got.error.message();
        EXPECT_EQ(got.status, c.status);
        EXPECT_EQ(got.body, c.body);
        EXPECT_EQ(got.close, c.close);
      }
    }
  }
}

TEST(HttpResponseReader, KeepAliveSequenceInOneRead) {
  HttpResponseReader reader;
  auto fed = reader.feed(
      "HTTP/1.1 202 Accepted\r\nContent-Length: 1\r\n\r\nA"
      "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 1\r\n\r\nB"
      "HTTP/1.1 202 Accepted\r\nContent-Len");
  ASSERT_TRUE(fed.has_value());
  ASSERT_TRUE(*fed);
  EXPECT_EQ(reader.response().status, 202);
  EXPECT_EQ(reader.response().body, "A");
  auto second = reader.next();
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(*second);
  EXPECT_EQ(reader.response().status, 429);
  EXPECT_EQ(reader.response().header("retry-after"), "3");
  EXPECT_EQ(reader.response().body, "B");
  auto third = reader.next();
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(*third);
  EXPECT_TRUE(reader.in_progress());
  auto rest = reader.feed("gth: 2\r\n\r\nCD");
  ASSERT_TRUE(rest.has_value());
  ASSERT_TRUE(*rest);
  EXPECT_EQ(reader.take().body, "CD");
  auto none = reader.next();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(*none);
  EXPECT_FALSE(reader.in_progress());
  auto eof = reader.finish();  // a clean close between responses
  ASSERT_TRUE(eof.has_value());
  EXPECT_FALSE(*eof);
}

TEST(HttpResponseReader, Limits) {
  struct LimitCase {
    std::string input;
    http::Errc want;
  };
  const std::vector<LimitCase> table = {
      {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n",
       http::Errc::headers_too_large},
      {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'a'), http::Errc::headers_too_large},
      {"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", http::Errc::body_too_large},
      {"HTTP/1.1 200 OK\r\n\r\n" + std::string(101, 'b'), http::Errc::body_too_large},
  };
  for (const auto& c : table) {
    HttpResponseReader reader(ResponseLimits{.head_bytes_max = 128, .body_bytes_max = 100});
    auto got = reader.feed(c.input);
    ASSERT_FALSE(got.has_value()) << c.input;
    EXPECT_EQ(got.error().code, make_error_code(c.want)) << c.input;
    // The reader stays failed.
    auto again = reader.feed("HTTP/1.1 200 OK\r\n\r\n");
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, make_error_code(c.want));
  }
}

}  // namespace
}  // namespace mta::loadgen
