// Table-driven tests of parse_command: every verb, case-insensitivity, MAIL/RCPT paths and
// parameters (null sender, quoted local parts, source routes, UTF-8), and the failures with
// the 501 detail each earns.
#include "proto/smtp/command.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

struct ParseOk {
  std::string line;
  Command want;
};

TEST(ParseCommand, AcceptsValidLines) {
  const std::vector<ParseOk> cases = {
      {"HELO client.example", {Verb::helo, "client.example", "", {}}},
      {"EHLO client.example", {Verb::ehlo, "client.example", "", {}}},
      {"ehlo [192.0.2.1]", {Verb::ehlo, "[192.0.2.1]", "", {}}},
      {"eHlO x", {Verb::ehlo, "x", "", {}}},
      {"MAIL FROM:<a@b.example>", {Verb::mail, "FROM:<a@b.example>", "a@b.example", {}}},
      {"mail from:<a@b.example>", {Verb::mail, "from:<a@b.example>", "a@b.example", {}}},
      {"MAIL FROM:<>", {Verb::mail, "FROM:<>", "", {}}},
      {"MAIL FROM: <a@b.example>", {Verb::mail, "FROM: <a@b.example>", "a@b.example", {}}},
      {"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME",
       {Verb::mail, "FROM:<a@b.example> SIZE=1000 BODY=8BITMIME", "a@b.example",
        Params{{"SIZE", "1000"}, {"BODY", "8BITMIME"}}}},
      {"MAIL FROM:<> size=5 smtputf8",
       {Verb::mail, "FROM:<> size=5 smtputf8", "", Params{{"SIZE", "5"}, {"SMTPUTF8", ""}}}},
      {"MAIL FROM:<a@b.example>  SIZE=1 ",
       {Verb::mail, "FROM:<a@b.example>  SIZE=1 ", "a@b.example", Params{{"SIZE", "1"}}}},
      {"MAIL FROM:<\"john doe\"@b.example>",
       {Verb::mail, "FROM:<\"john doe\"@b.example>", "\"john doe\"@b.example", {}}},
      {"MAIL FROM:<\"a\\\"b>\"@b.example>",
       {Verb::mail, "FROM:<\"a\\\"b>\"@b.example>", "\"a\\\"b>\"@b.example", {}}},
      {"MAIL FROM:<first.last+tag@sub.b-c.example>",
       {Verb::mail, "FROM:<first.last+tag@sub.b-c.example>", "first.last+tag@sub.b-c.example", {}}},
      {"MAIL FROM:<u@[192.0.2.1]>", {Verb::mail, "FROM:<u@[192.0.2.1]>", "u@[192.0.2.1]", {}}},
      {"MAIL FROM:<u@[IPv6:2001:db8::1]>",
       {Verb::mail, "FROM:<u@[IPv6:2001:db8::1]>", "u@[IPv6:2001:db8::1]", {}}},
      {"MAIL FROM:<\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
       "cole.example> SMTPUTF8",
       {Verb::mail,
        "FROM:<\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
        "cole.example> SMTPUTF8",
        "\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
        "cole.example",
        Params{{"SMTPUTF8", ""}}}},
      {"RCPT TO:<c@d.example>", {Verb::rcpt, "TO:<c@d.example>", "c@d.example", {}}},
      {"rcpt to:<c@d.example>", {Verb::rcpt, "to:<c@d.example>", "c@d.example", {}}},
      {"RCPT TO:<@a.example,@b.example:u@d.example>",
       {Verb::rcpt, "TO:<@a.example,@b.example:u@d.example>", "u@d.example", {}}},
      {"RCPT TO:<@a.example:u@d.example>",
       {Verb::rcpt, "TO:<@a.example:u@d.example>", "u@d.example", {}}},
      {"RCPT TO:<Postmaster>", {Verb::rcpt, "TO:<Postmaster>", "Postmaster", {}}},
      {"RCPT TO:<c@d.example> NOTIFY=NEVER",
       {Verb::rcpt, "TO:<c@d.example> NOTIFY=NEVER", "c@d.example", Params{{"NOTIFY", "NEVER"}}}},
      {"DATA", {Verb::data, "", "", {}}},
      {"data", {Verb::data, "", "", {}}},
      {"DATA ", {Verb::data, "", "", {}}},
      {"RSET", {Verb::rset, "", "", {}}},
      {"NOOP", {Verb::noop, "", "", {}}},
      {"NOOP anything at all", {Verb::noop, "anything at all", "", {}}},
      {"QUIT", {Verb::quit, "", "", {}}},
      {"VRFY someone", {Verb::vrfy, "someone", "", {}}},
      {"HELP", {Verb::help, "", "", {}}},
      {"HELP MAIL", {Verb::help, "MAIL", "", {}}},
      {"STARTTLS", {Verb::starttls, "", "", {}}},
      {"AUTH PLAIN AGZvbwBiYXI=", {Verb::auth, "PLAIN AGZvbwBiYXI=", "", {}}},
      {"BDAT 100 LAST", {Verb::bdat, "100 LAST", "", {}}},
      {"EXPN list", {Verb::expn, "list", "", {}}},
      {"", {Verb::unknown, "", "", {}}},
      {"XYZZY plugh", {Verb::unknown, "plugh", "", {}}},
      {"MAILFROM:<a@b>", {Verb::unknown, "", "", {}}},
      {" MAIL FROM:<a@b>", {Verb::unknown, "MAIL FROM:<a@b>", "", {}}},
  };
  for (const ParseOk& c : cases) {
    SCOPED_TRACE(c.line);
    const Result<Command> got = parse_command(c.line);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(to_string(got->verb), to_string(c.want.verb));
    EXPECT_EQ(got->argument, c.want.argument);
    EXPECT_EQ(got->path, c.want.path);
    EXPECT_EQ(got->parameters, c.want.parameters);
  }
}

struct ParseError {
  std::string line;
  std::string want_detail;
};

TEST(ParseCommand, RejectsMalformedLines) {
  const std::string bad_sender = "5.1.7 Bad sender address syntax";
  const std::string bad_recipient = "5.1.3 Bad recipient address syntax";
  const std::string bad_parameter = "5.5.4 Syntax: bad ESMTP parameter";
  const std::vector<ParseError> cases = {
      {"HELO", "5.5.4 Syntax: HELO hostname"},
      {"EHLO", "5.5.4 Syntax: EHLO hostname"},
      {"EHLO  ", "5.5.4 Syntax: EHLO hostname"},
      {"VRFY", "5.5.4 Syntax: VRFY address"},
      {"DATA now", "5.5.4 Syntax: DATA"},
      {"RSET all", "5.5.4 Syntax: RSET"},
      {"QUIT now", "5.5.4 Syntax: QUIT"},
      {"MAIL", "5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL TO:<a@b.example>", "5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL  FROM:<a@b.example>", "5.5.4 Syntax: MAIL FROM:<address>"},
      {"RCPT FROM:<a@b.example>", "5.5.4 Syntax: RCPT TO:<address>"},
      // Missing brackets are rejected (see command.h for why).
      {"MAIL FROM:a@b.example", bad_sender},
      {"RCPT TO:c@d.example", bad_recipient},
      {"MAIL FROM:", bad_sender},
      {"MAIL FROM:<a@b.example", bad_sender},
      {"MAIL FROM:<a@b.example>junk", bad_sender},
      {"MAIL FROM:<>junk", bad_sender},
      {"MAIL FROM:<a>", bad_sender},
      {"MAIL FROM:<Postmaster>", bad_sender},
      {"MAIL FROM:<@b.example>", bad_sender},
      {"MAIL FROM:<a@>", bad_sender},
      {"MAIL FROM:<a..b@b.example>", bad_sender},
      {"MAIL FROM:<.a@b.example>", bad_sender},
      {"MAIL FROM:<a.@b.example>", bad_sender},
      {"MAIL FROM:<a b@b.example>", bad_sender},
      {"MAIL FROM:<a@-b.example>", bad_sender},
      {"MAIL FROM:<a@b-.example>", bad_sender},
      {"MAIL FROM:<a@b..example>", bad_sender},
      {"MAIL FROM:<a@[]>", bad_sender},
      {"MAIL FROM:<\"unterminated@b.example>", bad_sender},
      {"MAIL FROM:<a@b.example\r>", bad_sender},
      {"MAIL FROM:<@a.example:>", bad_sender},
      {"MAIL FROM:<@a.example,u@d.example>", bad_sender},
      {"RCPT TO:<>", bad_recipient},
      {"RCPT TO:<@a.example>", bad_recipient},
      {"RCPT TO:<c@d.example>junk", bad_recipient},
      {"MAIL FROM:<a@b.example> =1", bad_parameter},
      {"MAIL FROM:<a@b.example> SIZE=", bad_parameter},
      {"MAIL FROM:<a@b.example> SIZE==1", bad_parameter},
      {"MAIL FROM:<a@b.example> SI_ZE=1", bad_parameter},
      {"MAIL FROM:<a@b.example> SIZE=1\t", bad_parameter},
      // What is wrong with an address is said after the reply text (issue 21).
      {"RCPT TO:< victim@x.example>", bad_recipient + ": leading white space"},
      {"RCPT TO:<victim@x.example\t>", bad_recipient + ": trailing white space"},
      {"RCPT TO:<\"victim@x.example>", bad_recipient + ": an unbalanced quote"},
      {"MAIL FROM:<a\x01@b.example>", bad_sender + ": a control character in the local part"},
  };
  for (const ParseError& c : cases) {
    SCOPED_TRACE(c.line);
    const Result<Command> got = parse_command(c.line);
    ASSERT_FALSE(got.has_value()) << to_string(got->verb);
    EXPECT_EQ(got.error().code, Errc::malformed_command);
    // The detail may go on with what is wrong with the address ("...: no '@'").
    EXPECT_TRUE(got.error().detail == c.want_detail ||
                got.error().detail.starts_with(c.want_detail + ": "))
        << got.error().detail;
  }
}

// RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ]; a size must fit 64 bits.
TEST(ParseCommand, ParsesBdat) {
  struct BdatCase {
    std::string line;
    bool want_ok;
    std::uint64_t want_bytes = 0;
    bool want_last = false;
  };
  const std::vector<BdatCase> cases = {
      {"BDAT 100", true, 100},
      {"BDAT 100 LAST", true, 100, true},
      {"bdat 0 last", true, 0, true},
      {"BDAT 0", true, 0},
      {"BDAT 007 LAST  ", true, 7, true},
      {"BDAT 18446744073709551615", true, 18446744073709551615ULL},
      {"BDAT 18446744073709551616", false},
      {"BDAT", false},
      {"BDAT ", false},
      {"BDAT LAST", false},
      {"BDAT -1", false},
      {"BDAT +1", false},
      {"BDAT 12x", false},
      {"BDAT 1 FIRST", false},
      {"BDAT 1 LAST x", false},
      {"BDAT 1  LAST", false},
      {"BDAT  1", false},
  };
  for (const BdatCase& c : cases) {
    SCOPED_TRACE(c.line);
    const Result<Command> got = parse_command(c.line);
    ASSERT_EQ(got.has_value(), c.want_ok);
    if (!got) {
      EXPECT_EQ(got.error().code, Errc::bad_chunk_size);
      EXPECT_EQ(got.error().detail, "5.5.4 Syntax: BDAT chunk-size [LAST]");
      continue;
    }
    EXPECT_EQ(to_string(got->verb), "BDAT");
    EXPECT_EQ(got->chunk_bytes, c.want_bytes);
    EXPECT_EQ(got->last_chunk, c.want_last);
  }
}

TEST(ParseCommand, RejectsOverlongLines) {
  const std::string fits = "NOOP " + std::string(505, 'x');  // 510 + CRLF = 512
  EXPECT_TRUE(parse_command(fits).has_value());
  const Result<Command> got = parse_command(fits + "x");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::command_too_long);
  EXPECT_TRUE(parse_command(fits + "x", 513).has_value());
}

TEST(ParseCommand, NamesEveryVerb) {
  const std::vector<std::pair<Verb, std::string>> cases = {
      {Verb::helo, "HELO"}, {Verb::ehlo, "EHLO"},         {Verb::mail, "MAIL"},
      {Verb::rcpt, "RCPT"}, {Verb::data, "DATA"},         {Verb::rset, "RSET"},
      {Verb::noop, "NOOP"}, {Verb::quit, "QUIT"},         {Verb::vrfy, "VRFY"},
      {Verb::help, "HELP"}, {Verb::starttls, "STARTTLS"}, {Verb::auth, "AUTH"},
      {Verb::bdat, "BDAT"}, {Verb::expn, "EXPN"},         {Verb::unknown, "UNKNOWN"},
  };
  for (const auto& [verb, want] : cases) {
    EXPECT_EQ(to_string(verb), want);
  }
}

}  // namespace
}  // namespace mta::smtp
