// parse_bounce over the sample corpus in testdata/bounces/: every sample has a block in
// expected.txt (kind, VERP id, original Message-ID, and each recipient's action, status,
// category and hard/soft), and every block has a sample. Then the limits and the VERP-only
// paths on small inline messages.
#include "mailbox/bounce.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "proto/mime/verp.h"

namespace mta::mailbox {
namespace {

constexpr std::string_view kBounceDomain = "bounces.outpost.example";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct ExpectedRecipient {
  std::string address, action, status, category, hard;
};

struct Expected {
  std::string sample, rcpt, kind, id, original;
  std::vector<ExpectedRecipient> recipients;
};

std::vector<Expected> read_expectations() {
  std::vector<Expected> out;
  std::istringstream in(read_file(std::filesystem::path(BOUNCE_TESTDATA_DIR) / "expected.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "sample") {
      out.emplace_back();
      words >> out.back().sample;
      continue;
    }
    EXPECT_FALSE(out.empty()) << line;
    if (out.empty()) continue;
    Expected& e = out.back();
    if (key == "rcpt") {
      words >> e.rcpt;
    } else if (key == "kind") {
      words >> e.kind;
    } else if (key == "id") {
      words >> e.id;
    } else if (key == "original") {
      words >> e.original;
    } else if (key == "recipient") {
      ExpectedRecipient r;
      words >> r.address >> r.action >> r.status >> r.category >> r.hard;
      EXPECT_FALSE(r.hard.empty()) << "short recipient line: " << line;
      e.recipients.push_back(r);
    } else {
      ADD_FAILURE() << "unknown key in expected.txt: " << line;
    }
  }
  return out;
}

BounceContext context_for(std::string rcpt) {
  BounceContext context;
  context.verp_prefix = "bounce";
  context.bounce_domain = kBounceDomain;
  context.envelope_recipients = {std::move(rcpt)};
  return context;
}

TEST(BounceCorpus, EverySampleHasAnExpectationAndTheReverse) {
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(BOUNCE_TESTDATA_DIR)) {
    std::string name = entry.path().filename().string();
    if (name != "expected.txt") files.insert(name);
  }
  std::set<std::string> expected;
  for (const Expected& e : read_expectations()) {
    EXPECT_TRUE(expected.insert(e.sample).second) << "two blocks for " << e.sample;
  }
  EXPECT_EQ(files, expected);
  EXPECT_GE(files.size(), 25u);
}

TEST(BounceCorpus, EachSampleGivesItsExpectedReport) {
  for (const Expected& e : read_expectations()) {
    SCOPED_TRACE(e.sample);
    const std::string message = read_file(std::filesystem::path(BOUNCE_TESTDATA_DIR) / e.sample);
    ASSERT_FALSE(message.empty());
    const BounceReport got = parse_bounce(message, context_for(e.rcpt), Rules::default_rules());
    EXPECT_EQ(to_string(got.kind), e.kind);
    EXPECT_EQ(got.message_id ? to_hex(*got.message_id) : "-", e.id);
    EXPECT_EQ(got.original_message_id.empty() ? "-" : got.original_message_id, e.original);
    ASSERT_EQ(got.recipients.size(), e.recipients.size());
    for (std::size_t i = 0; i < e.recipients.size(); ++i) {
      const BounceRecipient& r = got.recipients[i];
      const ExpectedRecipient& want = e.recipients[i];
      SCOPED_TRACE(want.address + " diagnostic: " + r.diagnostic);
      EXPECT_EQ(r.address, want.address);
      EXPECT_EQ(to_string(r.action), want.action);
      EXPECT_EQ(r.status.empty() ? "-" : r.status, want.status);
      EXPECT_EQ(to_string(r.category), want.category);
      EXPECT_EQ(r.hard ? "hard" : "soft", want.hard);
    }
  }
}

TEST(BounceCorpus, ReportFieldsOfSelectedSamples) {
  auto parse = [](std::string_view name, std::string rcpt) {
    return parse_bounce(read_file(std::filesystem::path(BOUNCE_TESTDATA_DIR) / name),
                        context_for(std::move(rcpt)), Rules::default_rules());
  };
  const BounceReport dsn =
      parse("postfix_dsn_user_unknown.eml",
            "<bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example>");
  EXPECT_EQ(dsn.verp_recipient, "ann@example.com");
  EXPECT_EQ(dsn.reporting_mta, "mx1.example.com");
  EXPECT_EQ(dsn.arrival_date, "Tue,  1 Dec 2026 09:14:03 +0000 (UTC)");
  ASSERT_EQ(dsn.recipients.size(), 1u);
  EXPECT_EQ(dsn.recipients[0].original_recipient, "ann@example.com");
  EXPECT_EQ(dsn.recipients[0].remote_mta, "mailstore.example.com");
  EXPECT_EQ(dsn.recipients[0].diagnostic,
            "550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown in virtual "
            "mailbox table");
  EXPECT_NE(dsn.recipients[0].rule_line, 0u);

  const BounceReport arf = parse("arf_yahoo.eml", "fbl@bounces.outpost.example");
  ASSERT_TRUE(arf.complaint);
  EXPECT_EQ(arf.complaint->feedback_type, "abuse");
  EXPECT_EQ(arf.complaint->user_agent, "Yahoo!-Mail-Feedback/2.0");
  EXPECT_EQ(arf.complaint->source_ip, "198.51.100.25");
  EXPECT_EQ(arf.complaint->arrival_date, "Tue, 1 Dec 2026 09:14:10 +0000");
  EXPECT_EQ(arf.complaint->reported_domain, "news.shop.example");
  EXPECT_EQ(arf.complaint->original_mail_from,
            "bounce+0000019a2b3c4d74+xena=yahoo.com@bounces.outpost.example");
  EXPECT_EQ(arf.complaint->original_rcpt_to, std::vector<std::string>{"xena@yahoo.com"});

  const BounceReport qmail = parse("qmail_remote_blocklist.eml", "x@bounces.outpost.example");
  ASSERT_EQ(qmail.recipients.size(), 1u);
  EXPECT_EQ(qmail.recipients[0].remote_mta, "192.0.2.90");
  EXPECT_EQ(qmail.reporting_mta, "relay.example.biz");

  const BounceReport exim = parse("exim_delayed.eml", "x@bounces.outpost.example");
  ASSERT_EQ(exim.recipients.size(), 1u);
  EXPECT_EQ(exim.recipients[0].remote_mta, "mx.slow.example");
}

// ---------------------------------------------------------------------------------------------
// Inline cases.

std::string verp_for(std::string_view recipient, std::uint64_t id = 0x1234) {
  return *mime::verp_encode("bounce", MessageId(id), "", recipient, kBounceDomain);
}

TEST(Bounce, VerpGivesTheRecipientWhenTheBodyDoesNot) {
  const std::string message =
      "From: MAILER-DAEMON@mx.example.com\r\nSubject: Returned mail\r\n\r\n"
      "Sorry, something went wrong.\r\n";
  BounceReport got =
      parse_bounce(message, context_for(verp_for("ann@example.com")), Rules::default_rules());
  EXPECT_EQ(got.kind, BounceKind::non_standard);
  ASSERT_TRUE(got.message_id);
  EXPECT_EQ(got.message_id->value(), 0x1234u);
  ASSERT_EQ(got.recipients.size(), 1u);
  EXPECT_EQ(got.recipients[0].address, "ann@example.com");
  EXPECT_EQ(got.recipients[0].category, Category::unknown);
  EXPECT_FALSE(got.recipients[0].hard);
}

TEST(Bounce, VerpFromTheToFieldWhenTheEnvelopeHasNone) {
  const std::string message = "From: MAILER-DAEMON@mx.example.com\r\nTo: <" +
                              verp_for("bob@example.com", 77) +
                              ">\r\nSubject: failure notice\r\n\r\nUser unknown.\r\n";
  BounceContext context = context_for("other@bounces.outpost.example");
  BounceReport got = parse_bounce(message, context, Rules::default_rules());
  ASSERT_TRUE(got.message_id);
  EXPECT_EQ(got.message_id->value(), 77u);
  ASSERT_EQ(got.recipients.size(), 1u);
  EXPECT_EQ(got.recipients[0].category, Category::invalid_recipient);
  EXPECT_TRUE(got.recipients[0].hard);
}

TEST(Bounce, NoBounceDomainMeansNoVerp) {
  BounceContext context;
  context.envelope_recipients = {verp_for("ann@example.com")};
  BounceReport got = parse_bounce("Subject: hi\r\n\r\nhello\r\n", context, Rules::default_rules());
  EXPECT_EQ(got.kind, BounceKind::not_bounce);
  EXPECT_FALSE(got.message_id);
  EXPECT_TRUE(got.recipients.empty());
}

std::string dsn_with_recipients(std::size_t count) {
  std::string message =
      "From: MAILER-DAEMON@mx.example.com\r\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
      "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n";
  for (std::size_t i = 0; i < count; ++i) {
    message += "\r\nFinal-Recipient: rfc822; u" + std::to_string(i) +
               "@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n";
  }
  message += "\r\n--b--\r\n";
  return message;
}

TEST(Bounce, RecipientsAreCapped) {
  BounceLimits limits;
  limits.recipients_max = 5;
  BounceReport got = parse_bounce(dsn_with_recipients(40), context_for("x@y.example"),
                                  Rules::default_rules(), limits);
  EXPECT_EQ(got.kind, BounceKind::dsn);
  EXPECT_EQ(got.recipients.size(), 5u);
  EXPECT_TRUE(got.recipients_truncated);

  got = parse_bounce(dsn_with_recipients(5), context_for("x@y.example"), Rules::default_rules(),
                     limits);
  EXPECT_EQ(got.recipients.size(), 5u);
  EXPECT_FALSE(got.recipients_truncated);
}

TEST(Bounce, BytesPastTheCapAreNotRead) {
  BounceLimits limits;
  limits.bytes_max = 400;
  std::string message = dsn_with_recipients(20);
  ASSERT_GT(message.size(), 400u);
  BounceReport got =
      parse_bounce(message, context_for("x@y.example"), Rules::default_rules(), limits);
  EXPECT_TRUE(got.bytes_truncated);
  EXPECT_LT(got.recipients.size(), 20u);
}

TEST(Bounce, DiagnosticsAreCapped) {
  BounceLimits limits;
  limits.diagnostic_bytes_max = 32;
  std::string message = dsn_with_recipients(0);
  message.insert(message.rfind("\r\n--b--"),
                 "\r\nFinal-Recipient: rfc822; a@example.com\r\nAction: failed\r\n"
                 "Diagnostic-Code: smtp; 550 5.1.1 " +
                     std::string(5000, 'x') + "\r\n");
  BounceReport got =
      parse_bounce(message, context_for("x@y.example"), Rules::default_rules(), limits);
  ASSERT_EQ(got.recipients.size(), 1u);
  EXPECT_EQ(got.recipients[0].diagnostic.size(), 32u);
  EXPECT_EQ(got.recipients[0].status, "5.1.1");  // derived from the diagnostic
}

TEST(Bounce, ComplaintNotSpamIsNotHard) {
  const std::string message =
      "From: fbl@isp.example\r\n"
      "Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nReport.\r\n"
      "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: not-spam\r\n"
      "Original-Rcpt-To: <ann@example.com>\r\n\r\n--b--\r\n";
  BounceReport got =
      parse_bounce(message, context_for("fbl@bounces.outpost.example"), Rules::default_rules());
  EXPECT_EQ(got.kind, BounceKind::complaint);
  ASSERT_EQ(got.recipients.size(), 1u);
  EXPECT_EQ(got.recipients[0].address, "ann@example.com");
  EXPECT_EQ(got.recipients[0].category, Category::complaint);
  EXPECT_FALSE(got.recipients[0].hard);
}

TEST(Bounce, DelayedIsSoftEvenWithAHardRule) {
  std::string message = dsn_with_recipients(0);
  message.insert(message.rfind("\r\n--b--"),
                 "\r\nFinal-Recipient: rfc822; a@example.com\r\nAction: delayed\r\n"
                 "Status: 5.1.1\r\n");
  BounceReport got = parse_bounce(message, context_for("x@y.example"), Rules::default_rules());
  ASSERT_EQ(got.recipients.size(), 1u);
  EXPECT_EQ(got.recipients[0].action, Action::delayed);
  EXPECT_EQ(got.recipients[0].category, Category::invalid_recipient);
  EXPECT_FALSE(got.recipients[0].hard);
}

TEST(Bounce, EmptyAndHeaderOnlyInputs) {
  for (std::string_view message : {"", "\r\n", "Subject: x", "From: x@x.example\r\n\r\n"}) {
    BounceReport got = parse_bounce(message, context_for("x@y.example"), Rules::default_rules());
    EXPECT_EQ(got.kind, BounceKind::not_bounce) << message;
    EXPECT_TRUE(got.recipients.empty()) << message;
  }
  // From a mailer daemon but saying nothing, and no VERP: a bounce we cannot attribute.
  BounceReport got = parse_bounce("From: MAILER-DAEMON@x.example\r\n", context_for("x@y.example"),
                                  Rules::default_rules());
  EXPECT_EQ(got.kind, BounceKind::non_standard);
  EXPECT_TRUE(got.recipients.empty());
}

}  // namespace
}  // namespace mta::mailbox
