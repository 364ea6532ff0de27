// Generated messages: exact sizes, unique Message-IDs, CRLF lines and no leading dots; the
// sink's Message-ID and domain parsers.
#include "loadgen/message.h"

#include <gtest/gtest.h>

#include <set>

namespace mta::loadgen {
namespace {

MessageSpec spec(std::uint64_t index, std::uint64_t size) {
  return MessageSpec{.index = index,
                     .tag = "t1",
                     .from = "blast@bench.outpost",
                     .to = "r0.1@d1.bench.test",
                     .date = "Mon, 02 Mar 2026 10:00:00 +0000",
                     .size_bytes = size};
}

TEST(BuildMessage, ExactSizeWellFormedLines) {
  std::string message;
  for (std::uint64_t size = 300; size < 1200; ++size) {
    build_message(spec(size, size), message);
    ASSERT_EQ(message.size(), size);
    ASSERT_EQ(message.substr(message.size() - 2), "\r\n") << size;
    std::size_t start = 0;
    while (start < message.size()) {
      const std::size_t crlf = message.find("\r\n", start);
      ASSERT_NE(crlf, std::string::npos) << size;
      const std::string_view line(message.data() + start, crlf - start);
      ASSERT_EQ(line.find('\n'), std::string_view::npos) << size;  // no bare LF
      ASSERT_LE(line.size(), 998u);
      ASSERT_FALSE(!line.empty() && line.front() == '.') << size;
      start = crlf + 2;
    }
  }
  for (std::uint64_t size : {4096u, 102400u}) {
    build_message(spec(7, size), message);
    EXPECT_EQ(message.size(), size);
  }
}

TEST(BuildMessage, TooSmallGivesTheMinimum) {
  std::string message;
  build_message(spec(1, 10), message);
  EXPECT_GT(message.size(), 10u);
  EXPECT_EQ(message.substr(message.size() - 4), "\r\n\r\n");  // header block, empty body line
}

TEST(BuildMessage, MessageIdsAreUniqueAndFound) {
  std::set<std::string> ids;
  std::string message;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    build_message(spec(i, 4096), message);
    auto id = find_message_id(message);
    ASSERT_TRUE(id.has_value());
    ids.insert(std::string(*id));
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(*ids.begin(), "<0.t1@bench.outpost>");
}

TEST(FindMessageId, Table) {
  struct Case {
    const char* message;
    const char* want;  // nullptr = none
  };
  const Case cases[] = {
      {"Message-ID: <a@b>\r\n\r\nbody", "<a@b>"},
      {"Subject: x\r\nmessage-id:   <a@b>  \r\n\r\n", "<a@b>"},
      {"MESSAGE-ID:<c@d>\n\n", "<c@d>"},
      {"Message-ID:\r\n <folded@x>\r\n\r\n", "<folded@x>"},
      {"Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n", nullptr},
      {"X-Message-ID: <no@x>\r\n\r\n", nullptr},
      {"Message-ID: \r\n\r\n", nullptr},
      {"", nullptr},
      {"Message-ID: <last-line@x>", "<last-line@x>"},
  };
  for (const Case& c : cases) {
    const auto got = find_message_id(c.message);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.has_value()) << c.message;
    } else {
      ASSERT_TRUE(got.has_value()) << c.message;
      EXPECT_EQ(*got, c.want) << c.message;
    }
  }
}

TEST(FindHeader, AnyFieldCaseInsensitive) {
  const std::string_view message =
      "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\nFrom: <a@b>\r\n\r\nDKIM-Signature: no\r\n";
  EXPECT_EQ(find_header(message, "dkim-signature").value_or(""), "v=1; a=rsa-sha256;");
  EXPECT_EQ(find_header(message, "FROM").value_or(""), "<a@b>");
  EXPECT_FALSE(find_header(message, "subject").has_value());
}

TEST(RecipientDomain, Table) {
  EXPECT_EQ(recipient_domain("a@Example.COM"), "example.com");
  EXPECT_EQ(recipient_domain("\"a@b\"@c.test"), "c.test");
  EXPECT_EQ(recipient_domain("postmaster"), "");
}

}  // namespace
}  // namespace mta::loadgen
