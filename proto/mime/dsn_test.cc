// Tests of the RFC 5322 helpers (header_block, rfc5322_date, append_folded) and of build_dsn.
// DSNs are checked by a small independent reader (parse_dsn below) plus wire invariants that
// every generated message must meet: CRLF only, 7-bit, no line over 998 octets.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proto/mime/dsn.h"
#include "proto/mime/header.h"

namespace mta::mime {
namespace {

using namespace std::chrono;

Clock::WallTime utc(year_month_day day, int h, int m, int s) {
  return Clock::WallTime{sys_days{day}} + hours{h} + minutes{m} + seconds{s};
}

const Clock::WallTime kNow = utc(year{2026} / November / 23, 10, 37, 45);

// ---------------------------------------------------------------------------------------------
// Reading back what we wrote.

std::vector<std::string> split_crlf(std::string_view text) {
  std::vector<std::string> lines;
  while (true) {
    std::size_t end = text.find("\r\n");
    lines.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return lines;
}

// Fails the current test unless `wire` is CRLF-only, 7-bit, NUL-free, and has no line over
// 998 octets.
void expect_wire_clean(std::string_view wire) {
  for (std::size_t i = 0; i < wire.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(wire[i]);
    ASSERT_LT(c, 0x80) << "8-bit octet at " << i;
    ASSERT_NE(c, 0) << "NUL at " << i;
    if (c == '\r') {
      ASSERT_TRUE(i + 1 < wire.size() && wire[i + 1] == '\n') << "bare CR at " << i;
    }
    if (c == '\n') {
      ASSERT_TRUE(i > 0 && wire[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  for (const std::string& line : split_crlf(wire)) ASSERT_LE(line.size(), 998u) << line;
}

// Header fields of one block (lines up to the first empty one), unfolded: CRLF removed.
using Fields = std::multimap<std::string, std::string>;

Fields parse_fields(const std::vector<std::string>& lines, std::size_t& at) {
  Fields fields;
  std::string name, value;
  auto flush = [&] {
    // The whitespace after the colon is not part of the value, even when it was folded.
    std::size_t start = value.find_first_not_of(" \t");
    if (!name.empty()) fields.emplace(name, start == std::string::npos ? "" : value.substr(start));
    name.clear();
    value.clear();
  };
  for (; at < lines.size() && !lines[at].empty(); ++at) {
    const std::string& line = lines[at];
    if (line[0] == ' ' || line[0] == '\t') {
      value += line;  // Unfolding: the CRLF goes, the whitespace stays.
      continue;
    }
    flush();
    std::size_t colon = line.find(':');
    name = line.substr(0, colon);
    value = colon == std::string::npos ? "" : line.substr(colon + 1);
  }
  flush();
  return fields;
}

std::string field(const Fields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? "<absent>" : it->second;
}

struct Part {
  Fields headers;
  std::string body;  // CRLF-joined lines after the part's header block
};

struct ParsedDsn {
  Fields headers;
  std::string boundary;
  int delimiter_lines = 0;  // lines starting with "--" + boundary; 4 when well formed
  std::vector<Part> parts;
  std::vector<Fields> status_blocks;  // per-message block first, then one per recipient
};

ParsedDsn parse_dsn(std::string_view wire) {
  ParsedDsn out;
  std::vector<std::string> lines = split_crlf(wire);
  std::size_t at = 0;
  out.headers = parse_fields(lines, at);
  std::string content_type = field(out.headers, "Content-Type");
  std::size_t b = content_type.find("boundary=\"");
  if (b == std::string::npos) return out;
  out.boundary = content_type.substr(b + 10, content_type.find('"', b + 10) - (b + 10));
  std::string delimiter = "--" + out.boundary;
  std::vector<std::vector<std::string>> raw_parts;
  bool in_part = false;
  for (++at; at < lines.size(); ++at) {
    if (lines[at].rfind(delimiter, 0) == 0) {
      ++out.delimiter_lines;
      // The CRLF before a delimiter belongs to it, so drop the empty line we wrote there.
      if (in_part && !raw_parts.back().empty() && raw_parts.back().back().empty()) {
        raw_parts.back().pop_back();
      }
      in_part = lines[at] == delimiter;
      if (in_part) raw_parts.emplace_back();
    } else if (in_part) {
      raw_parts.back().push_back(lines[at]);
    }
  }
  for (const auto& raw : raw_parts) {
    Part part;
    std::size_t i = 0;
    part.headers = parse_fields(raw, i);
    for (++i; i < raw.size(); ++i) part.body += raw[i] + "\r\n";
    if (field(part.headers, "Content-Type") == "message/delivery-status") {
      std::vector<std::string> body_lines = split_crlf(part.body);
      for (std::size_t j = 0; j < body_lines.size(); ++j) {
        if (body_lines[j].empty()) continue;
        out.status_blocks.push_back(parse_fields(body_lines, j));
      }
    }
    out.parts.push_back(std::move(part));
  }
  return out;
}

DsnRecipient recipient(std::string address, std::string action, std::string status,
                       std::string diagnostic) {
  DsnRecipient r;
  r.final_recipient = std::move(address);
  r.action = std::move(action);
  r.status = std::move(status);
  r.diagnostic = std::move(diagnostic);
  return r;
}

const char kOriginal[] =
    "From: Sender <sender@example.org>\r\n"
    "To: a@example.net\r\n"
    "Subject: Hello\r\n"
    "Message-ID: <orig@example.org>\r\n"
    "\r\n"
    "BODY-LINE-1\r\n"
    "BODY-LINE-2\r\n";

DsnInput base_input() {
  DsnInput in;
  in.reporting_mta = "mx.outpost.example";
  in.original_sender = "sender@example.org";
  in.envelope_id = "00000000deadbeef";
  in.arrival = kNow - hours{2};
  in.now = kNow;
  in.message_id = "<dsn-1@mx.outpost.example>";
  in.original_message = kOriginal;
  DsnRecipient a = recipient("a@example.net", "failed", "", "550 5.1.1 <a@example.net>: unknown");
  a.remote_mta = "mx.example.net";
  a.last_attempt = kNow - minutes{1};
  in.recipients.push_back(a);
  return in;
}

// Builds, checks the wire invariants and the MIME skeleton, and returns the parse.
ParsedDsn build_and_parse(const DsnInput& input, std::string* wire_out = nullptr) {
  std::string wire = build_dsn(input);
  expect_wire_clean(wire);
  ParsedDsn parsed = parse_dsn(wire);
  EXPECT_EQ(parsed.delimiter_lines, 4) << wire;
  EXPECT_EQ(parsed.parts.size(), 3u) << wire;
  if (wire_out != nullptr) *wire_out = std::move(wire);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// rfc5322_date

TEST(Rfc5322Date, Table) {
  struct Case {
    Clock::WallTime time;
    std::string want;
  };
  const Case cases[] = {
      {Clock::WallTime{}, "Thu, 01 Jan 1970 00:00:00 +0000"},
      {kNow, "Mon, 23 Nov 2026 10:37:45 +0000"},
      {utc(year{2024} / February / 29, 23, 59, 59), "Thu, 29 Feb 2024 23:59:59 +0000"},
      {utc(year{2000} / March / 1, 0, 0, 0), "Wed, 01 Mar 2000 00:00:00 +0000"},
      {kNow + milliseconds{999}, "Mon, 23 Nov 2026 10:37:45 +0000"},  // rounds to the past
      {Clock::WallTime{} - milliseconds{500}, "Wed, 31 Dec 1969 23:59:59 +0000"},
  };
  for (const Case& c : cases) EXPECT_EQ(rfc5322_date(c.time), c.want);
}

// ---------------------------------------------------------------------------------------------
// header_block

TEST(HeaderBlock, Table) {
  struct Case {
    std::string name;
    std::string message;
    std::size_t bytes_max;
    std::string want;
  };
  const Case cases[] = {
      {"crlf", "A: 1\r\nB: 2\r\n\r\nbody\r\n", 1024, "A: 1\r\nB: 2\r\n\r\n"},
      {"lf_only", "A: 1\nB: 2\n\nbody\n\nmore\n", 1024, "A: 1\nB: 2\n\n"},
      {"mixed_crlf_then_lf", "A: 1\r\n\nbody", 1024, "A: 1\r\n\n"},
      {"mixed_lf_then_crlf", "A: 1\n\r\nbody", 1024, "A: 1\n\r\n"},
      {"folded_header", "A: 1\r\n 2\r\n\r\nbody", 1024, "A: 1\r\n 2\r\n\r\n"},
      {"no_blank_line", "A: 1\r\nB: 2\r\n", 1024, "A: 1\r\nB: 2\r\n"},
      {"no_final_newline", "A: 1\r\nB: 2", 1024, "A: 1\r\nB: 2"},
      {"empty", "", 1024, ""},
      {"starts_blank", "\r\nbody", 1024, "\r\n"},
      {"space_line_is_not_blank", "A: 1\r\n \r\n\r\nbody", 1024, "A: 1\r\n \r\n\r\n"},
      {"bare_cr_is_not_a_line_end", "A: 1\r\r\nB\r\n\r\n", 1024, "A: 1\r\r\nB\r\n\r\n"},
      {"blank_line_ends_exactly_at_limit", "A: 1\r\n\r\nbody", 8, "A: 1\r\n\r\n"},
      {"blank_line_one_past_limit", "A: 1\r\n\r\nbody", 7, "A: 1\r\n"},
      {"truncated_at_line", "A: 1\r\nB: 22222\r\n\r\n", 10, "A: 1\r\n"},
      {"truncated_no_line_fits", "AAAAAAAAAAAAAAAA\r\n\r\n", 5, "AAAAA"},
      {"fits_without_blank", "A: 1\r\nB", 8, "A: 1\r\nB"},
      {"zero_limit", "A: 1\r\n\r\n", 0, ""},
  };
  for (const Case& c : cases) {
    std::string_view got = header_block(c.message, c.bytes_max);
    EXPECT_EQ(got, c.want) << c.name;
    EXPECT_LE(got.size(), c.bytes_max) << c.name;
    EXPECT_EQ(got.data(), c.message.data()) << c.name << ": not a prefix view";
  }
}

TEST(HeaderBlock, DefaultLimitIs64KiB) {
  std::string message;
  while (message.size() < 100 * 1024) message += "X-Filler: 0123456789abcdef\r\n";
  message += "\r\nbody";
  std::string_view got = header_block(message);
  EXPECT_LE(got.size(), 64u * 1024);
  EXPECT_GT(got.size(), 64u * 1024 - 40);
  EXPECT_TRUE(got.ends_with("\r\n"));
}

// ---------------------------------------------------------------------------------------------
// append_folded

TEST(AppendFolded, Table) {
  struct Case {
    std::string name;
    std::string line;
    std::size_t width;
    std::string want;
  };
  const Case cases[] = {
      {"short", "Subject: hi", 78, "Subject: hi\r\n"},
      {"exactly_width", "aaaa bbbb", 9, "aaaa bbbb\r\n"},
      {"fold_at_last_space", "aaaa bbbb cccc", 10, "aaaa bbbb\r\n cccc\r\n"},
      {"fold_twice", "aa bb cc dd", 5, "aa bb\r\n cc\r\n dd\r\n"},
      {"long_word_goes_past_width", "aa bbbbbbbbbb cc", 5, "aa\r\n bbbbbbbbbb\r\n cc\r\n"},
      {"tab_is_a_break_point", "aaaa\tbbbb", 6, "aaaa\r\n\tbbbb\r\n"},
      {"never_whitespace_only_line", "    aaaaaaaa bb", 6, "    aaaaaaaa\r\n bb\r\n"},
      {"empty", "", 78, "\r\n"},
  };
  for (const Case& c : cases) {
    std::string got;
    append_folded(got, c.line, c.width);
    EXPECT_EQ(got, c.want) << c.name;
  }
}

TEST(AppendFolded, UnbreakableRunIsCutAt998) {
  struct Case {
    std::string name;
    std::string line;
    std::size_t hard_cuts;
  };
  const Case cases[] = {
      {"run_of_999", std::string(999, 'x'), 1},
      {"run_of_998", std::string(998, 'x'), 0},
      {"run_of_5000", std::string(5000, 'x'), 5},
      {"field_then_run", "Diagnostic-Code: smtp; " + std::string(3000, 'y'), 3},
      {"run_then_words", std::string(2000, 'z') + " tail words here", 2},
      {"spaces_only", std::string(1200, ' '), 1},
  };
  for (const Case& c : cases) {
    std::string got;
    append_folded(got, c.line, 78);
    std::vector<std::string> lines = split_crlf(got);
    ASSERT_EQ(lines.back(), "") << c.name;  // ends with CRLF
    lines.pop_back();
    std::string unfolded;
    for (const std::string& line : lines) {
      EXPECT_LE(line.size(), 998u) << c.name;
      unfolded += line;
    }
    // Each hard cut adds exactly one space; folding at whitespace adds nothing.
    EXPECT_EQ(unfolded.size(), c.line.size() + c.hard_cuts) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// dsn_status

TEST(DsnStatus, Derivation) {
  struct Case {
    std::string action, status, diagnostic, want;
  };
  const Case cases[] = {
      {"failed", "5.7.1", "550 5.1.1 no", "5.7.1"},  // explicit wins
      {"failed", " 5.2.2 ", "", "5.2.2"},            // trimmed
      {"failed", "", "550 5.1.1 <x@y>: user unknown", "5.1.1"},
      {"failed", "", "550-5.1.1 first line of many", "5.1.1"},
      {"failed", "", "552 5.3.4 Message too big", "5.3.4"},
      {"failed", "", "550 5.123.456 long parts", "5.123.456"},
      {"failed", "", "554 Transaction failed", "5.0.0"},      // no enhanced code
      {"failed", "", "550 4.1.1 mismatched class", "5.0.0"},  // class disagrees with reply
      {"failed", "", "550 5.1.1234 too long detail", "5.0.0"},
      {"failed", "", "550 5.1 short", "5.0.0"},
      {"failed", "", "550", "5.0.0"},
      {"failed", "", "450 4.2.2 Mailbox full", "4.2.2"},  // expired 4xx keeps 4.x.x
      {"failed", "", "421 Try later", "4.0.0"},
      {"delayed", "", "451 4.7.1 Greylisted", "4.7.1"},
      {"delayed", "", "connection timed out", "4.0.0"},  // no reply at all
      {"failed", "", "connection refused", "5.0.0"},
      {"failed", "", "", "5.0.0"},
      {"delayed", "", "", "4.0.0"},
      {"failed", "", "5.1.1 bare enhanced code", "5.1.1"},
      {"failed", "", "250 2.0.0 ok", "5.0.0"},             // success codes are not a status
      {"failed", "5.1.x", "550 5.1.2 bad host", "5.1.2"},  // malformed explicit: derived
      {"failed", "6.1.1", "", "5.0.0"},
      {"failed", "", "  550 5.1.1 leading space", "5.1.1"},
  };
  for (const Case& c : cases) {
    DsnRecipient r = recipient("x@y", c.action, c.status, c.diagnostic);
    EXPECT_EQ(dsn_status(r), c.want) << c.action << " '" << c.status << "' '" << c.diagnostic;
  }
}

// ---------------------------------------------------------------------------------------------
// build_dsn

TEST(BuildDsn, TopLevelFields) {
  std::string wire;
  ParsedDsn dsn = build_and_parse(base_input(), &wire);
  struct Want {
    std::string name, value;
  };
  const Want wants[] = {
      {"From", "\"Mail Delivery System\" <MAILER-DAEMON@mx.outpost.example>"},
      {"To", "<sender@example.org>"},
      {"Subject", "Undelivered Mail Returned to Sender"},
      {"Date", "Mon, 23 Nov 2026 10:37:45 +0000"},
      {"Message-ID", "<dsn-1@mx.outpost.example>"},
      {"Auto-Submitted", "auto-replied"},
      {"MIME-Version", "1.0"},
      {"Content-Type",
       "multipart/report; report-type=delivery-status; boundary=\"" + dsn.boundary + "\""},
  };
  for (const Want& w : wants) {
    EXPECT_EQ(dsn.headers.count(w.name), 1u) << w.name;
    EXPECT_EQ(field(dsn.headers, w.name), w.value) << w.name;
  }
  EXPECT_EQ(dsn.headers.size(), std::size(wants));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(field(dsn.parts[0].headers, "Content-Type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(field(dsn.parts[1].headers, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(dsn.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  // Deterministic: same input, same bytes.
  EXPECT_EQ(build_dsn(base_input()), wire);
}

TEST(BuildDsn, MessageIdGetsAngleBrackets) {
  DsnInput in = base_input();
  in.message_id = "bare@host";
  EXPECT_EQ(field(build_and_parse(in).headers, "Message-ID"), "<bare@host>");
}

TEST(BuildDsn, PerMessageAndPerRecipientGroups) {
  DsnInput in = base_input();
  DsnRecipient b = recipient("<b@example.com>", "failed", "5.7.1", "554 5.7.1 spam");
  b.remote_mta = "192.0.2.1";
  in.recipients.push_back(b);
  // Only the address and action: every optional field is left out.
  in.recipients.push_back(recipient("c@example.org", "delayed", "", ""));

  ParsedDsn dsn = build_and_parse(in);
  ASSERT_EQ(dsn.status_blocks.size(), 4u);
  const Fields& per_message = dsn.status_blocks[0];
  EXPECT_EQ(field(per_message, "Reporting-MTA"), "dns; mx.outpost.example");
  EXPECT_EQ(field(per_message, "X-Outpost-Queue-ID"), "00000000deadbeef");
  EXPECT_EQ(field(per_message, "Arrival-Date"), "Mon, 23 Nov 2026 08:37:45 +0000");
  EXPECT_EQ(per_message.size(), 3u);

  struct Want {
    std::string final_recipient, action, status, remote_mta, diagnostic, last_attempt;
  };
  const Want wants[] = {
      {"rfc822; a@example.net", "failed", "5.1.1", "dns; mx.example.net",
       "smtp; 550 5.1.1 <a@example.net>: unknown", "Mon, 23 Nov 2026 10:36:45 +0000"},
      {"rfc822; b@example.com", "failed", "5.7.1", "dns; 192.0.2.1", "smtp; 554 5.7.1 spam",
       "<absent>"},
      {"rfc822; c@example.org", "delayed", "4.0.0", "<absent>", "<absent>", "<absent>"},
  };
  for (std::size_t i = 0; i < std::size(wants); ++i) {
    const Fields& got = dsn.status_blocks[i + 1];
    const Want& want = wants[i];
    EXPECT_EQ(field(got, "Final-Recipient"), want.final_recipient) << i;
    EXPECT_EQ(field(got, "Action"), want.action) << i;
    EXPECT_EQ(field(got, "Status"), want.status) << i;
    EXPECT_EQ(field(got, "Remote-MTA"), want.remote_mta) << i;
    EXPECT_EQ(field(got, "Diagnostic-Code"), want.diagnostic) << i;
    EXPECT_EQ(field(got, "Last-Attempt-Date"), want.last_attempt) << i;
  }
  // The explanation names every recipient with its reason.
  const std::string& text = dsn.parts[0].body;
  EXPECT_NE(text.find("<a@example.net>: failed (5.1.1): host mx.example.net said: 550 5.1.1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<b@example.com>: failed (5.7.1)"), std::string::npos) << text;
  EXPECT_NE(text.find("<c@example.org>: delayed (4.0.0): no further details"), std::string::npos)
      << text;
}

TEST(BuildDsn, OptionalPerMessageFieldsOmitted) {
  DsnInput in = base_input();
  in.envelope_id.clear();
  in.arrival = {};
  ParsedDsn dsn = build_and_parse(in);
  ASSERT_FALSE(dsn.status_blocks.empty());
  EXPECT_EQ(dsn.status_blocks[0].size(), 1u);
  EXPECT_EQ(field(dsn.status_blocks[0], "Reporting-MTA"), "dns; mx.outpost.example");
}

TEST(BuildDsn, SubjectByActions) {
  struct Case {
    std::vector<std::string> actions;
    std::string want;
  };
  const Case cases[] = {
      {{"failed"}, "Undelivered Mail Returned to Sender"},
      {{"delayed"}, "Delayed Mail (still being retried)"},
      {{"delayed", "delayed"}, "Delayed Mail (still being retried)"},
      {{"delayed", "failed"}, "Undelivered Mail Returned to Sender"},
  };
  for (const Case& c : cases) {
    DsnInput in = base_input();
    in.recipients.clear();
    for (const std::string& action : c.actions) {
      in.recipients.push_back(recipient("r@example.net", action, "", "451 4.4.1 timeout"));
    }
    EXPECT_EQ(field(build_and_parse(in).headers, "Subject"), c.want);
  }
}

TEST(BuildDsn, LongDiagnosticIsFoldedAndUnfoldsBack) {
  struct Case {
    std::string name;
    std::string diagnostic;
    std::size_t hard_cuts;
  };
  std::string words = "550 5.1.1";
  while (words.size() < 3000) words += " the remote server explains at length";
  const Case cases[] = {
      {"words", words, 0},
      {"unbreakable", "550 5.1.1 " + std::string(4000, 'q'), 4},
  };
  for (const Case& c : cases) {
    DsnInput in = base_input();
    in.recipients[0].diagnostic = c.diagnostic;
    std::string wire;
    ParsedDsn dsn = build_and_parse(in, &wire);
    ASSERT_EQ(dsn.status_blocks.size(), 2u) << c.name;
    std::string got = field(dsn.status_blocks[1], "Diagnostic-Code");
    EXPECT_EQ(got.size(), 6 + c.diagnostic.size() + c.hard_cuts) << c.name;
    if (c.hard_cuts == 0) {
      EXPECT_EQ(got, "smtp; " + c.diagnostic) << c.name;
    }
    EXPECT_EQ(field(dsn.status_blocks[1], "Status"), "5.1.1") << c.name;
    // Folded at whitespace, lines keep to 78 octets when the text allows it.
    if (c.hard_cuts == 0) {
      for (const std::string& line : split_crlf(wire)) EXPECT_LE(line.size(), 78u) << c.name;
    }
  }
}

TEST(BuildDsn, AttachesOnlyTheHeaderBlock) {
  struct Case {
    std::string name;
    std::string original;
    std::string want_part;  // body of the text/rfc822-headers part
  };
  const Case cases[] = {
      {"crlf", kOriginal,
       "From: Sender <sender@example.org>\r\nTo: a@example.net\r\nSubject: Hello\r\n"
       "Message-ID: <orig@example.org>\r\n\r\n"},
      {"lf_only", "Subject: Hello\nMessage-ID: <m@x>\n X-folded\n\nBODY-LINE-1\n",
       "Subject: Hello\r\nMessage-ID: <m@x>\r\n X-folded\r\n\r\n"},
      {"no_blank_line", "Subject: Hello\r\nMessage-ID: <m@x>",
       "Subject: Hello\r\nMessage-ID: <m@x>\r\n"},
      {"bare_cr_becomes_line_end", "Subject: A\rB\r\n\r\nBODY-LINE-1", "Subject: A\r\nB\r\n\r\n"},
      {"empty_original", "", ""},
      {"non_ascii_and_controls", "Subject: caf\xc3\xa9\x01\x7f\tok\r\n\r\n",
       "Subject: caf???\?\tok\r\n\r\n"},
      {"nul_in_header", std::string("Subject: a\0b\r\n\r\n", 15), "Subject: a?b\r\n\r\n"},
  };
  for (const Case& c : cases) {
    DsnInput in = base_input();
    in.original_message = c.original;
    std::string wire;
    ParsedDsn dsn = build_and_parse(in, &wire);
    ASSERT_EQ(dsn.parts.size(), 3u) << c.name;
    EXPECT_EQ(dsn.parts[2].body, c.want_part) << c.name;
    EXPECT_EQ(wire.find("BODY-LINE"), std::string::npos) << c.name;
  }
}

TEST(BuildDsn, LongOriginalHeaderLineIsCut) {
  std::string original = "X-Long: " + std::string(3000, 'h') + "\r\nSubject: S\r\n\r\nbody";
  DsnInput in = base_input();
  in.original_message = original;
  ParsedDsn dsn = build_and_parse(in);
  ASSERT_EQ(dsn.parts.size(), 3u);
  std::size_t at = 0;
  Fields attached = parse_fields(split_crlf(dsn.parts[2].body), at);
  EXPECT_EQ(field(attached, "Subject"), "S");
  EXPECT_EQ(field(attached, "X-Long").size(), 3000u + 3);  // three hard cuts, one space each
}

TEST(BuildDsn, NonAsciiInputIsReplaced) {
  DsnInput in = base_input();
  in.original_sender = "s\xc3\xa9nder@example.org";
  in.reporting_mta = "mx\x80.example";
  in.recipients[0].final_recipient = "\xe2\x98\x83@example.net";
  in.recipients[0].remote_mta = "mx\xff.example.net";
  in.recipients[0].diagnostic = "550 5.1.1 \xc3\xbc?ser\r\n550 5.1.1 second line";
  in.recipients[0].diagnostic[12] = '\0';
  ParsedDsn dsn = build_and_parse(in);
  EXPECT_EQ(field(dsn.headers, "To"), "<s??nder@example.org>");
  EXPECT_EQ(field(dsn.headers, "From"), "\"Mail Delivery System\" <MAILER-DAEMON@mx?.example>");
  ASSERT_EQ(dsn.status_blocks.size(), 2u);
  EXPECT_EQ(field(dsn.status_blocks[0], "Reporting-MTA"), "dns; mx?.example");
  EXPECT_EQ(field(dsn.status_blocks[1], "Final-Recipient"), "rfc822; ???@example.net");
  EXPECT_EQ(field(dsn.status_blocks[1], "Remote-MTA"), "dns; mx?.example.net");
  EXPECT_EQ(field(dsn.status_blocks[1], "Diagnostic-Code"),
            "smtp; 550 5.1.1 ?\?\?ser 550 5.1.1 second line");
  EXPECT_EQ(field(dsn.status_blocks[1], "Status"), "5.1.1");
}

TEST(BuildDsn, BoundaryAvoidsCollisions) {
  // Learn the boundary this input gets, then put it (and the next candidates) into the
  // original's header block as line prefixes: the builder must pick another one.
  DsnInput in = base_input();
  std::string first_boundary = parse_dsn(build_dsn(in)).boundary;
  ASSERT_EQ(first_boundary.rfind("outpost-dsn-", 0), 0u) << first_boundary;

  std::string original = "Subject: collide\r\n--" + first_boundary + "\r\n";
  std::string boundary = first_boundary;
  for (int round = 0; round < 5; ++round) {
    in.original_message = original;
    std::string wire;
    ParsedDsn dsn = build_and_parse(in, &wire);
    EXPECT_EQ(original.find("--" + dsn.boundary), std::string::npos) << round;
    ASSERT_EQ(dsn.parts.size(), 3u);
    EXPECT_NE(dsn.parts[2].body.find("collide"), std::string::npos);
    boundary = dsn.boundary;
    original += "--" + boundary + "--\r\n";  // block this one too, closing-delimiter style
  }
  EXPECT_NE(boundary, first_boundary);
}

}  // namespace
}  // namespace mta::mime
