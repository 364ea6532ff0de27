// Header splitting, bottom-up header selection for duplicate fields, the From domain and
// line-ending normalization.
#include "dkim/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mta::dkim {
namespace {

TEST(Message, SplitsFoldedHeadersAndBody) {
  const std::string message =
      "From: a@example.com\r\nSubject: one\r\n two\r\n\tthree\r\nTo : b@x.org\r\n\r\nbody\r\n";
  auto parsed = parse_message(message);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->headers.size(), 3u);
  EXPECT_EQ(parsed->headers[1].name, "Subject");
  EXPECT_EQ(parsed->headers[1].raw, "Subject: one\r\n two\r\n\tthree");
  EXPECT_EQ(parsed->headers[2].name, "To");
  EXPECT_EQ(parsed->body, "body\r\n");
}

TEST(Message, Table) {
  struct Case {
    std::string message;
    bool ok;
    std::size_t headers;
    std::string body;
  };
  const Case cases[] = {
      {"From: a\r\n\r\n", true, 1, ""},
      {"From: a\r\n", true, 1, ""},
      {"From: a", true, 1, ""},
      {"\r\nbody", true, 0, "body"},
      {"From: a\r\n\r\n\r\n\r\n", true, 1, "\r\n\r\n"},
      {"no colon\r\n\r\n", false, 0, ""},
      {" From: a\r\n\r\n", false, 0, ""},
      {"Fr om: a\r\n\r\n", false, 0, ""},
      {": a\r\n\r\n", false, 0, ""},
  };
  for (const Case& c : cases) {
    auto parsed = parse_message(c.message);
    ASSERT_EQ(parsed.has_value(), c.ok) << c.message;
    if (!c.ok) continue;
    EXPECT_EQ(parsed->headers.size(), c.headers) << c.message;
    EXPECT_EQ(parsed->body, c.body) << c.message;
  }
}

// RFC 6376 §5.4.2: duplicates are taken from the bottom up; a name listed more often than it
// occurs selects nothing (over-signing).
TEST(Message, SelectsHeadersBottomUp) {
  const std::string message =
      "Received: r1\r\nFrom: f\r\nReceived: r2\r\nreceived: r3\r\nTo: t\r\n\r\n";
  auto parsed = parse_message(message);
  ASSERT_TRUE(parsed.has_value());
  const std::vector<std::string> names = {"received", "from",     "RECEIVED", "from",
                                          "received", "received", "cc"};
  const auto selected = select_headers(parsed->headers, names);
  std::vector<std::string> got;
  for (const HeaderField* field : selected) got.emplace_back(field ? field->raw : "(none)");
  const std::vector<std::string> want = {"received: r3", "From: f", "Received: r2", "(none)",
                                         "Received: r1", "(none)",  "(none)"};
  EXPECT_EQ(got, want);
}

TEST(Message, FromDomainTable) {
  const std::pair<std::string, std::string> cases[] = {
      {"From: a@Example.COM\r\n\r\n", "example.com"},
      {"From: Joe <joe@news.example.com>\r\n\r\n", "news.example.com"},
      {"From: \"a@evil.org <x>\" <joe@example.com>\r\n\r\n", "example.com"},
      {"From: joe@example.com (Joe @ home.org)\r\n\r\n", "example.com"},
      {"From: =?utf-8?q?J=C3=B6?=\r\n <jo@example.net>\r\n\r\n", "example.net"},
      {"From: a@one.org, b@two.org\r\n\r\n", "one.org"},
      {"From: nobody\r\n\r\n", ""},
      {"To: a@b.c\r\n\r\n", ""},
  };
  for (const auto& [message, want] : cases) {
    auto parsed = parse_message(message);
    ASSERT_TRUE(parsed.has_value()) << message;
    EXPECT_EQ(from_domain(*parsed), want) << message;
  }
}

TEST(Message, NormalizesLineEndings) {
  EXPECT_EQ(normalize_line_endings("a\nb\r\nc\rd\n\n"), "a\r\nb\r\nc\r\nd\r\n\r\n");
  EXPECT_EQ(normalize_line_endings(""), "");
  EXPECT_EQ(normalize_line_endings("a"), "a");
  EXPECT_EQ(normalize_for_transmission("a"), "a\r\n");
  EXPECT_EQ(normalize_for_transmission("a\n"), "a\r\n");
  EXPECT_EQ(normalize_for_transmission("a\r\n"), "a\r\n");
  EXPECT_EQ(normalize_for_transmission(""), "");
}

}  // namespace
}  // namespace mta::dkim
