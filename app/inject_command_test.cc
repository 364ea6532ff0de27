// `outpost inject`'s parts: the http:// URL parser, the raw request it posts (checked by
// parsing it back), the ids of a 202, the refusal line, and one whole exchange through
// http_request against the stub injection API (loadgen/stub_api_for_test.h) on loopback.
#include "app/inject_command.h"

#include <gtest/gtest.h>

#include "app/http_client.h"
#include "loadgen/stub_api_for_test.h"
#include "proto/http/json.h"

namespace mta::app {
namespace {

TEST(InjectCommand, ParseHttpUrl) {
  struct Case {
    std::string input;
    bool ok;
    std::string host;
    std::uint16_t port;
    std::string authority;
    std::string path;
  };
  const std::vector<Case> table = {
      {"http://127.0.0.1:8025", true, "127.0.0.1", 8025, "127.0.0.1:8025", ""},
      {"HTTP://localhost/", true, "localhost", 80, "localhost", ""},
      {"http://[::1]:9000/api/", true, "::1", 9000, "[::1]:9000", "/api"},
      {"http://mta.example:8080/outpost", true, "mta.example", 8080, "mta.example:8080",
       "/outpost"},
      {"https://127.0.0.1:8025", false, "", 0, "", ""},
      {"127.0.0.1:8025", false, "", 0, "", ""},
      {"http://", false, "", 0, "", ""},
      {"http://:80", false, "", 0, "", ""},
      {"http://host:0", false, "", 0, "", ""},
      {"http://host:65536", false, "", 0, "", ""},
      {"http://host:8x", false, "", 0, "", ""},
      {"http://user@host", false, "", 0, "", ""},
      {"http://host/?q=1", false, "", 0, "", ""},
      {"http://[::1", false, "", 0, "", ""},
  };
  for (const auto& c : table) {
    auto got = parse_http_url(c.input);
    ASSERT_EQ(got.has_value(), c.ok) << c.input;
    if (!c.ok) continue;
    EXPECT_EQ(got->host, c.host) << c.input;
    EXPECT_EQ(got->port, c.port) << c.input;
    EXPECT_EQ(got->authority, c.authority) << c.input;
    EXPECT_EQ(got->path, c.path) << c.input;
  }
}

TEST(InjectCommand, RawRequestRoundTrips) {
  const std::string message =
      "From: Ann <ann@x.test>\r\nTo: b@y.test\r\nSubject: caf\xC3\xA9 \"quoted\"\r\n\r\n"
      "tab\there\\ and a NUL-free line\r\n";
  auto body = raw_request_json(message, "ann@x.test", {"b@y.test", "c@z.test"});
  ASSERT_TRUE(body.has_value()) << body.error().message();
  auto json = http::parse_json(*body);
  ASSERT_TRUE(json.has_value()) << json.error().message();
  ASSERT_EQ(json->as_object().size(), 2u);  // raw and envelope, nothing else
  EXPECT_EQ(json->find("raw")->as_string(), message);
  const http::JsonValue* envelope = json->find("envelope");
  ASSERT_NE(envelope, nullptr);
  EXPECT_EQ(envelope->find("mail_from")->as_string(), "ann@x.test");
  const auto& rcpt = envelope->find("rcpt_to")->as_array();
  ASSERT_EQ(rcpt.size(), 2u);
  EXPECT_EQ(rcpt[1].as_string(), "c@z.test");
}

TEST(InjectCommand, RawRequestRefusesNonUtf8) {
  struct Case {
    std::string message;
    std::string offset;  // in the error
  };
  const std::vector<Case> table = {
      {"Subject: caf\xE9\r\n\r\nx\r\n", "byte 12"},  // Latin-1
      {"ok\xC0\xAF", "byte 2"},                      // overlong '/'
      {"\xED\xA0\x80", "byte 0"},                    // a surrogate
      {"x\xF4\x90\x80\x80", "byte 1"},               // over U+10FFFF
      {"abc\xE2\x82", "byte 3"},                     // cut short
  };
  for (const auto& c : table) {
    auto got = raw_request_json(c.message, "a@b", {"c@d"});
    ASSERT_FALSE(got.has_value()) << c.offset;
    EXPECT_NE(got.error().detail.find(c.offset), std::string::npos) << got.error().detail;
  }
}

TEST(InjectCommand, AcceptedIds) {
  struct Case {
    std::string body;
    bool ok;
    std::vector<std::string> want;
  };
  const std::vector<Case> table = {
      {R"({"messages": [{"id": "0000019a2b3c4d5e", "recipients": ["b@y"]}]})",
       true,
       {"0000019a2b3c4d5e"}},
      {R"({"messages":[{"id":"01","recipients":[]},{"id":"02","recipients":[]}]})",
       true,
       {"01", "02"}},
      {R"({"messages": []})", true, {}},
      {R"({"messages": [{"id": 12}]})", false, {}},
      {R"({"ids": []})", false, {}},
      {"not json", false, {}},
  };
  for (const auto& c : table) {
    auto got = accepted_ids(c.body);
    ASSERT_EQ(got.has_value(), c.ok) << c.body;
    if (c.ok) {
      EXPECT_EQ(*got, c.want) << c.body;
    }
  }
}

TEST(InjectCommand, RefusalText) {
  struct Case {
    int status;
    std::string body;
    std::string retry_after;
    std::string want;
  };
  const std::vector<Case> table = {
      {400, R"({"error": {"status": 400, "message": "to[2]: not an address", "field": "to[2]"}})",
       "", "400 to[2]: not an address"},
      {429, R"({"error": {"status": 429, "message": "rate limit reached"}})", "2",
       "429 rate limit reached (retry after 2 s)"},
      {502, "<html>Bad Gateway</html>\r\nmore", "", "502 <html>Bad Gateway</html>"},
      {500, "", "", "500"},
  };
  for (const auto& c : table) {
    EXPECT_EQ(refusal_text(c.status, c.body, c.retry_after), c.want);
  }
}

TEST(InjectCommand, ExchangeWithTheStubApi) {
  loadgen::StubApi stub({});
  const std::string message = "Subject: hi\r\n\r\nbody\r\n";
  HttpClientRequest request;
  request.method = "POST";
  request.target = "/v1/messages";
  request.host = stub.address().to_string();
  request.headers = {{"Authorization", "Bearer k3y"}, {"Content-Type", "application/json"}};
  request.body = raw_request_json(message, "a@x.test", {"b@y.test"}).value();
  auto answer = http_request(stub.address(), request);
  ASSERT_TRUE(answer.has_value()) << answer.error().message();
  EXPECT_EQ(answer->status, 202);
  EXPECT_EQ(accepted_ids(answer->body).value(), std::vector<std::string>{"00000000000000aa"});

  request.headers[0].value = "Bearer wrong";
  auto refused = http_request(stub.address(), request);
  ASSERT_TRUE(refused.has_value()) << refused.error().message();
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(refusal_text(refused->status, refused->body, ""), "400 bad request");

  const loadgen::StubSeen& seen = stub.stop();
  EXPECT_EQ(seen.raw, message);
  EXPECT_EQ(seen.envelope, R"({"mail_from":"a@x.test","rcpt_to":["b@y.test"]})");
  EXPECT_EQ(seen.requests, 2u);

  // Nothing listens any more: a refused connect, which `outpost queue` tells apart.
  auto gone = http_request(stub.address(), request);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, std::errc::connection_refused);
}

}  // namespace
}  // namespace mta::app
