// Tables for parse_command (every command, argument forms, SEARCH keys, FETCH attributes,
// errors) and CommandReader (literals and non-synchronizing literals framed identically at
// every byte split, continuation requests, limits enforced without buffering past them).
#include "proto/imap/command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/imap/errc.h"

namespace mta::imap {
namespace {

using K = SearchKey::Kind;
using F = FetchAttribute::Kind;

Command parse_ok(std::string_view text) {
  Result<Command> parsed = parse_command(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << (parsed ? "" : parsed.error().detail);
  return parsed ? *parsed : Command{};
}

TEST(ParseCommand, SimpleCommands) {
  struct Case {
    std::string text;
    CommandName want;
  };
  const std::vector<Case> cases = {
      {"a CAPABILITY", CommandName::capability},
      {"a noop", CommandName::noop},
      {"a LOGOUT", CommandName::logout},
      {"a StartTLS", CommandName::starttls},
      {"a CHECK", CommandName::check},
      {"a CLOSE", CommandName::close},
      {"a EXPUNGE", CommandName::expunge},
      {"a IDLE", CommandName::idle},
      {"a NAMESPACE", CommandName::namespace_},
      {"a UNSELECT", CommandName::unselect},
      {"a ID NIL", CommandName::id},
      {"a ID (\"name\" \"imaplib\" \"version\" NIL)", CommandName::id},
      {"a ENABLE UTF8=ACCEPT CONDSTORE", CommandName::enable},
  };
  for (const Case& c : cases) {
    const Command got = parse_ok(c.text);
    EXPECT_EQ(got.tag, "a") << c.text;
    EXPECT_EQ(got.name, c.want) << c.text;
  }
  EXPECT_EQ(parse_ok("a ENABLE utf8=accept").capabilities, std::vector<std::string>{"UTF8=ACCEPT"});
}

TEST(ParseCommand, LoginAndAuthenticate) {
  Command c = parse_ok("A001 LOGIN fred \"pass word\"");
  EXPECT_EQ(c.user, "fred");
  EXPECT_EQ(c.password, "pass word");
  c = parse_ok("A001 LOGIN {4}\r\nfred {6}\r\nse\"c\\t");
  EXPECT_EQ(c.user, "fred");
  EXPECT_EQ(c.password, "se\"c\\t");
  c = parse_ok("A001 LOGIN \"a\\\"b\\\\c\" x");
  EXPECT_EQ(c.user, "a\"b\\c");
  c = parse_ok("A001 LOGIN {4+}\r\nfred x");
  EXPECT_EQ(c.user, "fred");
  c = parse_ok("a AUTHENTICATE plain");
  EXPECT_EQ(c.mechanism, "PLAIN");
  EXPECT_FALSE(c.initial_response.has_value());
  c = parse_ok("a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0");
  EXPECT_EQ(c.initial_response, "AGZyZWQAc2VjcmV0");
  c = parse_ok("a AUTHENTICATE PLAIN =");
  EXPECT_EQ(c.initial_response, "=");
}

TEST(ParseCommand, Mailboxes) {
  Command c = parse_ok("a SELECT inbox");
  EXPECT_EQ(c.name, CommandName::select);
  EXPECT_EQ(c.mailbox, "INBOX");
  c = parse_ok("a EXAMINE \"Bounces/2024 Q1\"");
  EXPECT_EQ(c.mailbox, "Bounces/2024 Q1");
  c = parse_ok("a RENAME a b");
  EXPECT_EQ(c.mailbox, "a");
  EXPECT_EQ(c.new_mailbox, "b");
  c = parse_ok("a LIST \"\" *");
  EXPECT_EQ(c.reference, "");
  EXPECT_EQ(c.pattern, "*");
  c = parse_ok("a LIST \"\" %/x]");
  EXPECT_EQ(c.pattern, "%/x]");
  c = parse_ok("a LSUB \"\" \"\"");
  EXPECT_EQ(c.name, CommandName::lsub);
  c = parse_ok("a STATUS INBOX (MESSAGES UIDNEXT unseen RECENT UIDVALIDITY)");
  EXPECT_EQ(c.status_items,
            (std::vector<StatusItem>{StatusItem::messages, StatusItem::uidnext, StatusItem::unseen,
                                     StatusItem::recent, StatusItem::uidvalidity}));
}

TEST(ParseCommand, Append) {
  Command c = parse_ok("a APPEND INBOX {5}\r\nhello");
  EXPECT_EQ(c.mailbox, "INBOX");
  EXPECT_EQ(c.message, "hello");
  EXPECT_FALSE(c.internal_date);
  c = parse_ok(
      "a APPEND Drafts (\\Seen \\Draft $Bounce) \" 7-Feb-1994 21:52:25 -0800\" {3+}\r\nabc");
  EXPECT_EQ(c.flags.system, kSeen | kDraft);
  EXPECT_EQ(c.flags.keywords, std::vector<std::string>{"$Bounce"});
  ASSERT_TRUE(c.internal_date);
  EXPECT_EQ(format_date_time(*c.internal_date), "08-Feb-1994 05:52:25 +0000");
  c = parse_ok("a APPEND INBOX () {0}\r\n");
  EXPECT_EQ(c.message, "");
  EXPECT_FALSE(parse_command("a APPEND INBOX \"bad date\" {1}\r\nx"));
  EXPECT_FALSE(parse_command("a APPEND INBOX hello"));
}

TEST(ParseCommand, SequenceSets) {
  Command c = parse_ok("a FETCH 1:*,3,5:7,*:2 FLAGS");
  using R = SequenceSet::Range;
  EXPECT_EQ(c.set.ranges,
            (std::vector<R>{{1, SequenceSet::kStar}, {3, 3}, {5, 7}, {SequenceSet::kStar, 2}}));
  EXPECT_TRUE(c.set.contains(9, 9));
  EXPECT_TRUE(c.set.contains(4, 4));  // "*:2" with * = 4
  EXPECT_FALSE(parse_command("a FETCH 0 FLAGS"));
  EXPECT_FALSE(parse_command("a FETCH 1: FLAGS"));
  EXPECT_FALSE(parse_command("a FETCH 1,,2 FLAGS"));
  EXPECT_FALSE(parse_command("a FETCH 99999999999 FLAGS"));
}

TEST(ParseCommand, FetchAttributes) {
  Command c = parse_ok("a FETCH 1 ALL");
  std::vector<F> kinds;
  for (const FetchAttribute& a : c.fetch) kinds.push_back(a.kind);
  EXPECT_EQ(kinds, (std::vector<F>{F::flags, F::internaldate, F::rfc822_size, F::envelope}));
  c = parse_ok("a FETCH 1 fast");
  EXPECT_EQ(c.fetch.size(), 3u);
  c = parse_ok("a FETCH 1 FULL");
  EXPECT_EQ(c.fetch.back().kind, F::body);
  c = parse_ok(
      "a UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT "
      "ENVELOPE BODY BODYSTRUCTURE BODY[] BODY.PEEK[HEADER] BODY[1.2.MIME] BODY[TEXT]<0.100> "
      "BODY.PEEK[HEADER.FIELDS (From \"To\" Subject)] body[2.header.fields.not (Received)] "
      "BODY[3.TEXT] BODY[2])");
  EXPECT_TRUE(c.uid);
  ASSERT_EQ(c.fetch.size(), 18u);
  EXPECT_EQ(c.fetch[10].kind, F::body_section);
  EXPECT_FALSE(c.fetch[10].peek);
  EXPECT_TRUE(c.fetch[10].section.part.empty());
  EXPECT_EQ(c.fetch[11].section.text, Section::Text::header);
  EXPECT_TRUE(c.fetch[11].peek);
  EXPECT_EQ(c.fetch[12].section.part, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(c.fetch[12].section.text, Section::Text::mime);
  EXPECT_EQ(c.fetch[13].section.text, Section::Text::text);
  EXPECT_EQ(c.fetch[13].partial, (std::pair<std::uint32_t, std::uint32_t>{0, 100}));
  EXPECT_EQ(c.fetch[14].section.text, Section::Text::header_fields);
  EXPECT_EQ(c.fetch[14].section.fields, (std::vector<std::string>{"From", "To", "Subject"}));
  EXPECT_EQ(c.fetch[15].section.text, Section::Text::header_fields_not);
  EXPECT_EQ(c.fetch[15].section.part, std::vector<std::uint32_t>{2});
  EXPECT_EQ(c.fetch[16].section.part, std::vector<std::uint32_t>{3});
  EXPECT_EQ(c.fetch[16].section.text, Section::Text::text);
  EXPECT_EQ(c.fetch[17].section.text, Section::Text::none);

  for (const char* bad :
       {"a FETCH 1 (FLAGS", "a FETCH 1 FLAGS)", "a FETCH 1 (FLAGS))", "a FETCH 1 BODY[MIME]",
        "a FETCH 1 BODY[HEADER.FIELDS]", "a FETCH 1 BODY[1.]", "a FETCH 1 BODY[]<1>",
        "a FETCH 1 BODY[]<1.0>", "a FETCH 1 RFC822.FOO", "a FETCH 1 (ALL)", "a FETCH 1 BODY[X]",
        "a FETCH 1", "a FETCH 1 ()"}) {
    EXPECT_FALSE(parse_command(bad)) << bad;
  }
}

TEST(ParseCommand, StoreCopyMove) {
  Command c = parse_ok("a STORE 2:4 +FLAGS.SILENT (\\Deleted)");
  EXPECT_EQ(c.store_mode, StoreMode::add);
  EXPECT_TRUE(c.silent);
  EXPECT_EQ(c.flags.system, kDeleted);
  c = parse_ok("a UID STORE 7 -FLAGS \\Seen $Junk");
  EXPECT_EQ(c.store_mode, StoreMode::remove);
  EXPECT_EQ(c.flags.system, kSeen);
  EXPECT_EQ(c.flags.keywords, std::vector<std::string>{"$Junk"});
  c = parse_ok("a STORE 1 FLAGS ()");
  EXPECT_EQ(c.store_mode, StoreMode::replace);
  EXPECT_EQ(c.flags, Flags{});
  c = parse_ok("a UID COPY 1:3 Archive");
  EXPECT_EQ(c.name, CommandName::copy);
  EXPECT_EQ(c.mailbox, "Archive");
  c = parse_ok("a uid move 1 \"Junk Mail\"");
  EXPECT_EQ(c.name, CommandName::move);
  EXPECT_TRUE(c.uid);
  c = parse_ok("a UID EXPUNGE 3:5");
  EXPECT_EQ(c.name, CommandName::expunge);
  EXPECT_EQ(c.set.ranges.size(), 1u);
  EXPECT_FALSE(parse_command("a STORE 1 FLAGZ (\\Seen)"));
  EXPECT_FALSE(parse_command("a UID NOOP"));
  EXPECT_FALSE(parse_command("a UID EXPUNGE"));
}

TEST(ParseCommand, Search) {
  Command c = parse_ok(
      "a SEARCH CHARSET utf-8 OR FROM bounce NOT (SEEN DELETED) SINCE 1-Feb-1994 "
      "HEADER X-Outpost-Queue-ID \"\" LARGER 100 UID 1:*");
  EXPECT_EQ(c.charset, "UTF-8");
  ASSERT_EQ(c.search.size(), 5u);
  EXPECT_EQ(c.search[0].kind, K::or_);
  ASSERT_EQ(c.search[0].children.size(), 2u);
  EXPECT_EQ(c.search[0].children[0].kind, K::from);
  EXPECT_EQ(c.search[0].children[0].value, "bounce");
  EXPECT_EQ(c.search[0].children[1].kind, K::not_);
  EXPECT_EQ(c.search[0].children[1].children[0].kind, K::group);
  EXPECT_EQ(c.search[0].children[1].children[0].children.size(), 2u);
  EXPECT_EQ(c.search[1].kind, K::since);
  EXPECT_EQ(c.search[1].day, day_from_civil(1994, 2, 1));
  EXPECT_EQ(c.search[2].kind, K::header);
  EXPECT_EQ(c.search[2].field, "X-Outpost-Queue-ID");
  EXPECT_EQ(c.search[2].value, "");
  EXPECT_EQ(c.search[3].number, 100u);
  EXPECT_EQ(c.search[4].kind, K::uid);

  const std::vector<std::pair<std::string, K>> keys = {
      {"ALL", K::all},
      {"ANSWERED", K::answered},
      {"BCC x", K::bcc},
      {"BEFORE \"1-Jan-2000\"", K::before},
      {"BODY x", K::body},
      {"CC x", K::cc},
      {"DELETED", K::deleted},
      {"DRAFT", K::draft},
      {"FLAGGED", K::flagged},
      {"KEYWORD $x", K::keyword},
      {"NEW", K::new_},
      {"OLD", K::old},
      {"ON 01-Jan-2000", K::on},
      {"RECENT", K::recent},
      {"SEEN", K::seen},
      {"SENTBEFORE 1-Jan-2000", K::sentbefore},
      {"SENTON 1-Jan-2000", K::senton},
      {"SENTSINCE 1-Jan-2000", K::sentsince},
      {"SMALLER 5", K::smaller},
      {"SUBJECT {3}\r\nabc", K::subject},
      {"TEXT x", K::text},
      {"TO x", K::to},
      {"UNANSWERED", K::unanswered},
      {"UNDELETED", K::undeleted},
      {"UNDRAFT", K::undraft},
      {"UNFLAGGED", K::unflagged},
      {"UNKEYWORD $x", K::unkeyword},
      {"UNSEEN", K::unseen},
      {"2,4:*", K::sequence_set},
      {"(ALL)", K::group},
  };
  for (const auto& [text, kind] : keys) {
    const Command got = parse_ok("a SEARCH " + text);
    ASSERT_EQ(got.search.size(), 1u) << text;
    EXPECT_EQ(got.search[0].kind, kind) << text;
  }
  for (const char* bad :
       {"a SEARCH", "a SEARCH (ALL", "a SEARCH ALL)", "a SEARCH ((ALL)", "a SEARCH BEFORE x",
        "a SEARCH BEFORE 32-Jan-2000", "a SEARCH OR ALL", "a SEARCH NOT", "a SEARCH FOO",
        "a SEARCH ()", "a SEARCH ALL  SEEN", "a SEARCH CHARSET"}) {
    EXPECT_FALSE(parse_command(bad)) << bad;
  }
}

TEST(ParseCommand, Errors) {
  struct Case {
    std::string text;
    Errc code;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"", Errc::bad_command, "Missing or bad tag"},
      {"+ NOOP", Errc::bad_command, "Missing or bad tag"},
      {"a", Errc::bad_command, "Missing command"},
      {"a FROB", Errc::bad_command, "Unknown command"},
      {"a NOOP extra", Errc::bad_command, "Unexpected characters at end of command"},
      {"a LOGIN fred", Errc::bad_command, "Missing space"},
      {"a LOGIN \"fred pass", Errc::bad_command, "Bad quoted string"},
      {"a LOGIN \"a\\b\" c", Errc::bad_command, "Bad quoted string"},
      {"a LOGIN {10}\r\nabc x", Errc::bad_command, "Literal longer than the command"},
      {"a SELECT", Errc::bad_command, "Missing space"},
  };
  for (const Case& c : cases) {
    const Result<Command> got = parse_command(c.text);
    ASSERT_FALSE(got.has_value()) << c.text;
    EXPECT_EQ(got.error().code, c.code) << c.text;
    EXPECT_EQ(got.error().detail, c.detail) << c.text;
  }
  EXPECT_EQ(command_tag("A1 FROB"), "A1");
  EXPECT_EQ(command_tag("+x FROB"), "*");
  EXPECT_EQ(command_tag(""), "*");
}

TEST(ParseCommand, NestingAndArgumentLimits) {
  CommandLimits limits;
  limits.nesting_max = 8;
  limits.arguments_max = 50;
  std::string deep = "a SEARCH ";
  for (int i = 0; i < 20; ++i) deep += "NOT ";
  deep += "ALL";
  Result<Command> got = parse_command(deep, limits);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::too_complex);
  std::string parens = "a SEARCH " + std::string(1000, '(') + "ALL" + std::string(1000, ')');
  got = parse_command(parens, limits);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::too_complex);
  std::string many = "a FETCH";
  for (int i = 0; i < 60; ++i) {
    many += i == 0 ? ' ' : ',';
    many += std::to_string(i + 1);
  }
  many += " FLAGS";
  got = parse_command(many, limits);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::too_complex);
}

TEST(Dates, ParseAndFormat) {
  EXPECT_EQ(parse_date("1-Jan-1970"), 0);
  EXPECT_EQ(parse_date("01-jan-1970"), 0);
  EXPECT_EQ(parse_date("29-Feb-2024"), day_from_civil(2024, 2, 29));
  EXPECT_FALSE(parse_date("1-Foo-1970"));
  EXPECT_FALSE(parse_date("1-Jan-70"));
  EXPECT_FALSE(parse_date("100-Jan-1970"));
  EXPECT_EQ(parse_date_time("17-Jul-1996 02:44:25 -0700"), 837596665);
  EXPECT_EQ(parse_date_time(" 1-Jan-1970 00:00:00 +0000"), 0);
  EXPECT_FALSE(parse_date_time("17-Jul-1996 02:44:25"));
  EXPECT_FALSE(parse_date_time("17-Jul-1996 25:44:25 +0000"));
  EXPECT_EQ(format_date_time(837596665), "17-Jul-1996 09:44:25 +0000");
  EXPECT_EQ(format_date_time(0), "01-Jan-1970 00:00:00 +0000");
  EXPECT_EQ(day_of(-1), -1);
  EXPECT_EQ(day_of(86399), 0);
}

TEST(LiteralAtEnd, Markers) {
  EXPECT_EQ(literal_at_end("a LOGIN {5}"), (std::pair<std::uint64_t, bool>{5, false}));
  EXPECT_EQ(literal_at_end("a LOGIN {5+}"), (std::pair<std::uint64_t, bool>{5, true}));
  EXPECT_FALSE(literal_at_end("a LOGIN {}"));
  EXPECT_FALSE(literal_at_end("a LOGIN {x}"));
  EXPECT_FALSE(literal_at_end("a LOGIN 5}"));
  EXPECT_FALSE(literal_at_end("a {99999999999999999999999}"));
}

// ---------------------------------------------------------------------------------------------
// Framing.

// Replays `input` through a reader in pieces cut at `splits`; returns the events in a
// readable form: "C:<text>" (CR and LF escaped), "+", "R:<tag>:<code>", "L:<line>".
std::vector<std::string> frame(std::string_view input, const std::vector<std::size_t>& splits,
                               CommandLimits limits = {}, std::size_t* buffered_max = nullptr,
                               bool authenticated = true) {
  CommandReader reader(limits);
  reader.set_authenticated(authenticated);
  std::vector<std::string> events;
  std::size_t from = 0;
  std::vector<std::size_t> cuts = splits;
  cuts.push_back(input.size());
  for (std::size_t to : cuts) {
    std::string_view piece = input.substr(from, to - from);
    from = to;
    while (!piece.empty()) {
      piece.remove_prefix(reader.feed(piece));
      if (buffered_max) *buffered_max = std::max(*buffered_max, reader.buffered_bytes());
      std::optional<ReaderEvent> event = reader.take();
      if (!event) continue;
      std::string got;
      if (auto* c = std::get_if<CommandComplete>(&*event)) {
        got = "C:";
        for (char ch : c->text) {
          if (ch == '\r') {
            got += "\\r";
          } else if (ch == '\n') {
            got += "\\n";
          } else {
            got += ch;
          }
        }
      } else if (std::holds_alternative<ContinuationNeeded>(*event)) {
        got = "+";
      } else if (auto* r = std::get_if<CommandRefused>(&*event)) {
        got = "R:";
        got += r->tag;
        got += ':';
        got += std::to_string(static_cast<int>(r->code));
        if (r->append) got += ":append";
        if (r->close) got += ":close";
      } else if (auto* l = std::get_if<LineComplete>(&*event)) {
        got = "L:";
        got += l->line;
      }
      events.push_back(std::move(got));
    }
  }
  return events;
}

struct FrameCase {
  std::string name;
  std::string input;
  std::vector<std::string> want;
  CommandLimits limits = {};
  bool authenticated = true;
};

std::vector<FrameCase> frame_cases() {
  CommandLimits small;
  small.line_bytes_max = 32;
  small.literal_bytes_max = 8;
  small.append_bytes_max = 16;
  return {
      {"plain", "a NOOP\r\nb LOGOUT\r\n", {"C:a NOOP", "C:b LOGOUT"}},
      {"bare_lf", "a NOOP\nb NOOP\r\n", {"C:a NOOP", "C:b NOOP"}},
      {"empty_line", "\r\na NOOP\r\n", {"C:", "C:a NOOP"}},
      {"sync_literal",
       "a LOGIN {4}\r\nfred {3}\r\nx\r\n\r\nb NOOP\r\n",
       {"+", "+", "C:a LOGIN {4}\\r\\nfred {3}\\r\\nx\\r\\n", "C:b NOOP"}},
      {"non_sync_literal", "a LOGIN {4+}\r\nfred pw\r\n", {"C:a LOGIN {4+}\\r\\nfred pw"}},
      {"literal_bare_lf", "a LOGIN {4}\nfred pw\r\n", {"+", "C:a LOGIN {4}\\r\\nfred pw"}},
      {"zero_literal", "a APPEND x {0+}\r\n\r\n", {"C:a APPEND x {0+}\\r\\n"}},
      {"literal_with_crlf_inside",
       "a APPEND INBOX {9+}\r\nab\r\n{1}\r\n\r\n",
       {"C:a APPEND INBOX {9+}\\r\\nab\\r\\n{1}\\r\\n"}},
      {"line_too_long",
       "a1 SEARCH " + std::string(40, 'x') + "\r\nb NOOP\r\n",
       {"R:a1:2", "C:b NOOP"},
       small},
      {"line_too_long_then_non_sync",
       "a1 SEARCH " + std::string(40, 'x') + " {5+}\r\nA\r\nBC more\r\nb NOOP\r\n",
       {"R:a1:2", "C:b NOOP"},
       small},
      {"literal_too_big_sync", "a LOGIN {9}\r\nb NOOP\r\n", {"R:a:3", "C:b NOOP"}, small},
      {"literal_too_big_non_sync",
       "a LOGIN {9+}\r\n123\r\n56789 x\r\nb NOOP\r\n",
       {"R:a:3", "C:b NOOP"},
       small},
      {"literals_add_up",
       "a LOGIN {5}\r\n12345 {5}\r\n12345\r\nb NOOP\r\n",
       {"+", "R:a:3", "C:12345", "C:b NOOP"},
       small},
      {"append_limit",
       "a APPEND x {12}\r\n123456789012\r\nb APPEND x {17}\r\nc NOOP\r\n",
       {"+", "C:a APPEND x {12}\\r\\n123456789012", "R:b:3:append", "C:c NOOP"},
       small},
      {"exact_line_limit",
       "a " + std::string(28, 'x') + "\r\n",
       {"C:a " + std::string(28, 'x')},
       small},
      {"one_over_line_limit",
       "a " + std::string(29, 'x') + "\r\nb NOOP\r\n",
       {"R:a:2", "C:b NOOP"},
       small},
      // Before login: LOGIN's literals up to preauth_literal_bytes_max, no other literal, a
      // non-synchronizing one refused ends the reading, lines capped lower.
      {"preauth_login_literals",
       "a LOGIN {4}\r\nfred {6+}\r\nsecret\r\n",
       {"+", "C:a LOGIN {4}\\r\\nfred {6+}\\r\\nsecret"},
       {},
       false},
      {"preauth_login_literal_too_big",
       "a LOGIN {1025}\r\nb NOOP\r\n",
       {"R:a:3", "C:b NOOP"},
       {},
       false},
      {"preauth_login_literals_add_up",
       "a LOGIN {1000}\r\n" + std::string(1000, 'u') + " {25}\r\nb NOOP\r\n",
       {"+", "R:a:3", "C:b NOOP"},
       {},
       false},
      {"preauth_append_sync",
       "a APPEND INBOX {52428800}\r\nb NOOP\r\n",
       {"R:a:3:append", "C:b NOOP"},
       {},
       false},
      {"preauth_append_small_sync",
       "a APPEND INBOX {1}\r\nb NOOP\r\n",
       {"R:a:3:append", "C:b NOOP"},
       {},
       false},
      {"preauth_search_literal",
       "s SEARCH TEXT {3}\r\nb NOOP\r\n",
       {"R:s:3", "C:b NOOP"},
       {},
       false},
      {"preauth_zero_literal",
       "a APPEND x {0}\r\n\r\n",
       {"+", "C:a APPEND x {0}\\r\\n"},
       {},
       false},
      {"preauth_non_sync_closes",
       "a APPEND INBOX {52428800+}\r\nxxxx\r\nb NOOP\r\n",
       {"R:a:3:append:close"},
       {},
       false},
      {"preauth_login_non_sync_too_big_closes",
       "a LOGIN fred {2000+}\r\n" + std::string(2000, 'p') + "\r\nb NOOP\r\n",
       {"R:a:3:close"},
       {},
       false},
      // A line over the cap before login ends the reading: nothing of the rest is read.
      {"preauth_long_line_closes",
       "a ID (\"x\" \"" + std::string(9000, 'x') + "\")\r\nb NOOP\r\n",
       {"R:a:2:close"},
       {},
       false},
      {"preauth_long_line_then_non_sync_closes",
       "a ID " + std::string(9000, 'x') + " {5+}\r\nhello\r\nb NOOP\r\n",
       {"R:a:2:close"},
       {},
       false},
      {"preauth_long_line_without_end_closes",
       "a " + std::string(20000, 'x'),
       {"R:a:2:close"},
       {},
       false},
  };
}

TEST(CommandReader, FramesAtEverySplit) {
  for (const FrameCase& c : frame_cases()) {
    const std::vector<std::string> whole = frame(c.input, {}, c.limits, nullptr, c.authenticated);
    EXPECT_EQ(whole, c.want) << c.name;
    for (std::size_t cut = 1; cut < c.input.size(); ++cut) {
      EXPECT_EQ(frame(c.input, {cut}, c.limits, nullptr, c.authenticated), c.want)
          << c.name << " split at " << cut;
    }
    std::vector<std::size_t> bytewise;
    for (std::size_t i = 1; i < c.input.size(); ++i) bytewise.push_back(i);
    EXPECT_EQ(frame(c.input, bytewise, c.limits, nullptr, c.authenticated), c.want)
        << c.name << " byte by byte";
  }
}

TEST(CommandReader, HugeLineIsNotBuffered) {
  CommandLimits limits;  // 64 KiB lines
  std::string input = "big SEARCH TEXT ";
  input += std::string(10 * 1024 * 1024, 'x');
  input += "\r\nnext NOOP\r\n";
  std::size_t buffered_max = 0;
  std::vector<std::size_t> splits;
  for (std::size_t i = 4096; i < input.size(); i += 4096) splits.push_back(i);
  const std::vector<std::string> got = frame(input, splits, limits, &buffered_max);
  EXPECT_EQ(got, (std::vector<std::string>{"R:big:2", "C:next NOOP"}));
  EXPECT_LE(buffered_max, limits.line_bytes_max);
}

TEST(CommandReader, OversizedLiteralIsNotBuffered) {
  CommandLimits limits;
  limits.append_bytes_max = 1024 * 1024;
  std::string input = "a APPEND INBOX {20000000+}\r\n";
  input += std::string(20000000, 'm');
  input += "\r\nb NOOP\r\n";
  std::size_t buffered_max = 0;
  std::vector<std::size_t> splits;
  for (std::size_t i = 65536; i < input.size(); i += 65536) splits.push_back(i);
  const std::vector<std::string> got = frame(input, splits, limits, &buffered_max);
  EXPECT_EQ(got, (std::vector<std::string>{"R:a:3:append", "C:b NOOP"}));
  EXPECT_LE(buffered_max, 64u);
}

// The issue 21 report: an unauthenticated client announcing a 50 MB literal made the server
// buffer all of it. Now nothing past the command line is held, whatever follows.
TEST(CommandReader, PreauthLiteralIsNeverBuffered) {
  CommandLimits limits;  // 50 MiB APPEND once logged in
  for (std::string_view marker : {"{52428800}", "{52428800+}"}) {
    std::string input = "a APPEND INBOX " + std::string(marker) + "\r\n";
    input += std::string(52428800, 'm');
    std::size_t buffered_max = 0;
    std::vector<std::size_t> splits;
    for (std::size_t i = 65536; i < input.size(); i += 65536) splits.push_back(i);
    (void)frame(input, splits, limits, &buffered_max, false);
    EXPECT_LE(buffered_max, 64u) << marker;
  }
}

TEST(CommandReader, LineMode) {
  CommandReader reader;
  reader.set_line_mode(true);
  std::string_view input = "DONE {5}\r\nrest";
  input.remove_prefix(reader.feed(input));
  std::optional<ReaderEvent> event = reader.take();
  ASSERT_TRUE(event);
  ASSERT_TRUE(std::holds_alternative<LineComplete>(*event));
  EXPECT_EQ(std::get<LineComplete>(*event).line, "DONE {5}");
  EXPECT_EQ(input, "rest");
}

}  // namespace
}  // namespace mta::imap
