// Tests of parse_mailbox (accepted and refused forms, table-driven) and format_mailbox
// (plain, quoted and RFC 2047 display names, and parse(format(x)) == x).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "base/concat.h"
#include "proto/mime/address.h"
#include "proto/mime/errc.h"

namespace mta::mime {
namespace {

TEST(ParseMailbox, Accepts) {
  struct Case {
    std::string_view input;
    std::string_view want_name;
    std::string_view want_address;
  };
  const Case cases[] = {
      {"ann@example.com", "", "ann@example.com"},
      {"  ann@example.com\t", "", "ann@example.com"},
      {"<ann@example.com>", "", "ann@example.com"},
      {"Ann Example <ann@example.com>", "Ann Example", "ann@example.com"},
      {"Ann Example<ann@example.com>", "Ann Example", "ann@example.com"},
      {"\"Example, Ann\" <ann@example.com>", "Example, Ann", "ann@example.com"},
      {"\"Ann \\\"the\\\" Example\" <a@b.c>", "Ann \"the\" Example", "a@b.c"},
      {"\"\" <a@b.c>", "", "a@b.c"},
      {"John Q. Public <jqp@example.org>", "John Q. Public", "jqp@example.org"},
      {"J\xc3\xbcrgen M\xc3\xbcller <jm@example.de>", "J\xc3\xbcrgen M\xc3\xbcller",
       "jm@example.de"},
      {"first.last+tag@sub.example-host.com", "", "first.last+tag@sub.example-host.com"},
      {"o'brien!#$%&*/=?^_`{|}~-@example.com", "", "o'brien!#$%&*/=?^_`{|}~-@example.com"},
      {"user@localhost", "", "user@localhost"},
      {"user@[192.0.2.1]", "", "user@[192.0.2.1]"},
      {"user@[IPv6:2001:db8::1]", "", "user@[IPv6:2001:db8::1]"},
      {"x@123.example", "", "x@123.example"},
  };
  for (const Case& c : cases) {
    auto got = parse_mailbox(c.input);
    ASSERT_TRUE(got.has_value()) << c.input << ": " << got.error().message();
    EXPECT_EQ(got->display_name, c.want_name) << c.input;
    EXPECT_EQ(got->address, c.want_address) << c.input;
  }
}

TEST(ParseMailbox, Refuses) {
  struct Case {
    std::string_view input;
    Errc want;
    std::string_view want_detail;  // a substring of the error detail
  };
  const std::string long_local = concat({std::string(65, 'a'), "@example.com"});
  const std::string long_label = concat({"a@", std::string(64, 'b'), ".com"});
  const Case cases[] = {
      {"", Errc::bad_address, "empty mailbox"},
      {"   ", Errc::bad_address, "empty mailbox"},
      {"a@", Errc::bad_address, "empty domain"},
      {"@b", Errc::bad_address, "empty local part"},
      {"ab", Errc::bad_address, "missing '@'"},
      {"a b@example.com", Errc::bad_address, "whitespace"},
      {"a@exa mple.com", Errc::bad_address, "whitespace"},
      {"Ann <ann@example.com", Errc::bad_address, "missing '>'"},
      {"Ann ann@example.com>", Errc::bad_address, "missing '<'"},
      {"Ann <ann@example.com> x", Errc::bad_address, "text after '>'"},
      {"Ann <>", Errc::bad_address, "empty address"},
      {"Ann < ann@example.com>", Errc::bad_address, "whitespace"},
      {"a..b@example.com", Errc::bad_address, "bad local part"},
      {".a@example.com", Errc::bad_address, "bad local part"},
      {"a.@example.com", Errc::bad_address, "bad local part"},
      {"a@b@example.com", Errc::bad_address, "bad local part"},
      {"a@example..com", Errc::bad_address, "empty label"},
      {"a@.example.com", Errc::bad_address, "empty label"},
      {"a@example.com.", Errc::bad_address, "empty label"},
      {"a@-example.com", Errc::bad_address, "'-'"},
      {"a@exam_ple.com", Errc::bad_address, "bad character in domain"},
      {"a@[]", Errc::bad_address, "domain literal"},
      {"a@[1.2.3.4", Errc::bad_address, "domain literal"},
      {long_local, Errc::bad_address, "longer than 64"},
      {long_label, Errc::bad_address, "longer than 63"},
      {"\"a b\"@example.com", Errc::bad_address, "expected '<'"},
      {"a\"b@example.com", Errc::bad_address, "missing '<'"},
      {"j\xc3\xbcrgen@example.de", Errc::bad_address, "SMTPUTF8"},
      {"Ann, Bob <a@b.c>", Errc::bad_address, "needs quoting"},
      {"Ann (x) <a@b.c>", Errc::bad_address, "needs quoting"},
      {"Ann \"Q\" <a@b.c>", Errc::bad_address, "quote inside"},
      {"\"Ann\" Q <a@b.c>", Errc::bad_address, "expected '<'"},
      {"\"Ann <a@b.c>", Errc::bad_address, "unterminated"},
      {"\"A\x01nn\" <a@b.c>", Errc::bad_address, "control character"},
      {"\xff\xfe <a@b.c>", Errc::invalid_utf8, "display name"},
      {"a@b.c, d@e.f", Errc::bad_address, "whitespace"},
  };
  for (const Case& c : cases) {
    auto got = parse_mailbox(c.input);
    ASSERT_FALSE(got.has_value()) << c.input;
    EXPECT_EQ(got.error().code, make_error_code(c.want)) << c.input;
    EXPECT_NE(got.error().detail.find(c.want_detail), std::string::npos)
        << c.input << ": " << got.error().detail;
  }
}

TEST(FormatMailbox, Forms) {
  struct Case {
    Mailbox input;
    std::string_view want;
  };
  const Case cases[] = {
      {{"", "a@b.c"}, "a@b.c"},
      {{"Ann Example", "a@b.c"}, "Ann Example <a@b.c>"},
      {{"Example, Ann", "a@b.c"}, "\"Example, Ann\" <a@b.c>"},
      {{"John Q. Public", "a@b.c"}, "\"John Q. Public\" <a@b.c>"},
      {{"say \"hi\" \\o/", "a@b.c"}, "\"say \\\"hi\\\" \\\\o/\" <a@b.c>"},
      {{"Ann  Two", "a@b.c"}, "\"Ann  Two\" <a@b.c>"},
      {{"J\xc3\xbcrgen", "a@b.c"}, "=?utf-8?Q?J=C3=BCrgen?= <a@b.c>"},
      {{"\xe5\xb1\xb1\xe7\x94\xb0", "a@b.c"}, "=?utf-8?B?5bGx55Sw?= <a@b.c>"},
      {{"=?utf-8?Q?x?=", "a@b.c"}, "=?utf-8?B?PT91dGYtOD9RP3g/PQ==?= <a@b.c>"},
  };
  for (const Case& c : cases) {
    std::string got = format_mailbox(c.input);
    EXPECT_EQ(got, c.want);
    for (char ch : got) {
      EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << got;
    }
  }
}

TEST(FormatMailbox, RoundTripsAsciiNames) {
  const Mailbox cases[] = {
      {"", "a@b.c"},          {"Ann", "a@b.c"},      {"Example, Ann", "x.y@example.com"},
      {"a\\b\"c", "a@b.c"},   {" padded ", "a@b.c"}, {"tab\there", "a@[192.0.2.1]"},
      {"(comment)", "a@b.c"}, {"<angle>", "a@b.c"},  {"it's ok", "a@b.c"},
  };
  for (const Mailbox& want : cases) {
    auto got = parse_mailbox(format_mailbox(want));
    ASSERT_TRUE(got.has_value()) << format_mailbox(want) << ": " << got.error().message();
    EXPECT_EQ(*got, want) << format_mailbox(want);
  }
}

}  // namespace
}  // namespace mta::mime
