// Canonicalization tests: RFC 6376 §3.4.6's example, edge cases of §3.4.3/§3.4.4 as a table,
// and the streaming body canonicalizer fed in two pieces split at every byte offset.
#include "dkim/canon.h"

#include <gtest/gtest.h>

#include <string>

namespace mta::dkim {
namespace {

TEST(Canon, Rfc6376Section346Example) {
  const std::string a = "A: X";
  const std::string b = "B : Y\t\r\n\tZ  ";
  const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
  std::string relaxed;
  canonicalize_header(Canon::relaxed, a, relaxed);
  canonicalize_header(Canon::relaxed, b, relaxed);
  EXPECT_EQ(relaxed, "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(canonicalize_body(Canon::relaxed, body), " C\r\nD E\r\n");
  std::string simple;
  canonicalize_header(Canon::simple, a, simple);
  canonicalize_header(Canon::simple, b, simple);
  EXPECT_EQ(simple, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canonicalize_body(Canon::simple, body), " C \r\nD \t E\r\n");
}

struct HeaderCase {
  const char* raw;
  const char* want_relaxed;
};

TEST(Canon, RelaxedHeaderTable) {
  const HeaderCase cases[] = {
      {"Subject: hello", "subject:hello\r\n"},
      {"SUBJECT:hello   world  ", "subject:hello world\r\n"},
      {"Subject:\t \thello", "subject:hello\r\n"},
      {"Subject: a\r\n b\r\n\tc", "subject:a b c\r\n"},
      {"Subject:", "subject:\r\n"},
      {"Subject:   ", "subject:\r\n"},
      {"X-Utf8: caf\xc3\xa9  ok", "x-utf8:caf\xc3\xa9 ok\r\n"},
      {"Subject:a\r\n\r\n b", "subject:a b\r\n"},
  };
  for (const HeaderCase& c : cases) {
    std::string got;
    canonicalize_header(Canon::relaxed, c.raw, got);
    EXPECT_EQ(got, c.want_relaxed) << c.raw;
  }
}

struct BodyCase {
  const char* name;
  std::string body;
  std::string want_simple;
  std::string want_relaxed;
};

const BodyCase body_cases[] = {
    {"empty", "", "\r\n", ""},
    {"only blank lines", "\r\n\r\n\r\n", "\r\n", ""},
    {"only whitespace lines", " \r\n\t\r\n", " \r\n\t\r\n", ""},
    {"no final CRLF", "abc", "abc\r\n", "abc\r\n"},
    {"no final CRLF trailing WSP", "abc \t", "abc \t\r\n", "abc\r\n"},
    {"trailing blank lines", "a\r\n\r\n\r\n", "a\r\n", "a\r\n"},
    {"inner blank lines kept", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
    {"wsp runs", "a  \t b\t\r\n", "a  \t b\t\r\n", "a b\r\n"},
    {"leading wsp", "  a\r\n", "  a\r\n", " a\r\n"},
    {"bare CR is content", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
    {"bare LF is content", "a\nb", "a\nb\r\n", "a\nb\r\n"},
    {"final CR", "a\r", "a\r\r\n", "a\r\r\n"},
    {"8bit", "caf\xc3\xa9\r\n", "caf\xc3\xa9\r\n", "caf\xc3\xa9\r\n"},
};

TEST(Canon, BodyTable) {
  for (const BodyCase& c : body_cases) {
    EXPECT_EQ(canonicalize_body(Canon::simple, c.body), c.want_simple) << c.name;
    EXPECT_EQ(canonicalize_body(Canon::relaxed, c.body), c.want_relaxed) << c.name;
  }
}

// The streaming canonicalizer must give the same bytes however the body is split.
TEST(Canon, BodySplitAtEveryOffset) {
  for (const BodyCase& c : body_cases) {
    for (Canon canon : {Canon::simple, Canon::relaxed}) {
      const std::string want = canonicalize_body(canon, c.body);
      for (std::size_t split = 0; split <= c.body.size(); ++split) {
        std::string got;
        BodyCanonicalizer canonicalizer(canon);
        canonicalizer.update(std::string_view(c.body).substr(0, split), got);
        canonicalizer.update(std::string_view(c.body).substr(split), got);
        canonicalizer.finish(got);
        EXPECT_EQ(got, want) << c.name << " split at " << split;
      }
    }
  }
}

}  // namespace
}  // namespace mta::dkim
