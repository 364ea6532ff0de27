// BounceIntake on a real MailStore: what is stored (the added fields first, then the bounce
// as it came), and which recipients end up suppressed; annotation() on hand-made reports.
#include "mailbox/intake.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mta::mailbox {
namespace {

std::string sample(const std::string& name) {
  std::ifstream in(std::string(BOUNCE_TESTDATA_DIR) + "/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "outpost-intake-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store_ = MailStore::open(dir_ + "/mailbox", {.sync = false}).value();
    intake_ = std::make_unique<BounceIntake>(
        *store_, IntakeOptions{.bounce_domain = "bounces.outpost.example"});
  }
  void TearDown() override {
    intake_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string stored(std::uint32_t uid) { return store_->read("INBOX", uid).value(); }

  std::string dir_;
  std::unique_ptr<MailStore> store_;
  std::unique_ptr<BounceIntake> intake_;
};

TEST_F(IntakeTest, HardBounceIsAnnotatedStoredAndSuppressed) {
  const std::string body = sample("postfix_dsn_user_unknown.eml");
  auto report = intake_->receive(
      "", {"bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example"}, body, 1700000000);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->kind, BounceKind::dsn);
  const std::string message = stored(1);
  EXPECT_TRUE(message.starts_with("X-Outpost-Bounce-Kind: dsn\r\n")) << message.substr(0, 200);
  EXPECT_NE(message.find("X-Outpost-Bounce-Category: invalid_recipient\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Bounce-Type: hard\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Bounce-Recipient: ann@example.com\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Original-Message-Id: 0000019a2b3c4d5e\r\n"), std::string::npos);
  EXPECT_TRUE(message.ends_with(body));
  EXPECT_EQ(store_->find("INBOX")->messages.at(1).internal_date, 1700000000);
  auto entry = store_->suppressions().find("ann@example.com");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->category, "invalid_recipient");
  EXPECT_NE(entry->reason.find("5.1.1"), std::string::npos);
  EXPECT_EQ(entry->added_at, 1700000000);
  EXPECT_EQ(intake_->probe().suppressions_added, 1u);
  EXPECT_EQ(intake_->probe().by_kind[static_cast<std::size_t>(BounceKind::dsn)], 1u);
}

TEST_F(IntakeTest, SoftBouncesDelaysAndRepliesSuppressNobody) {
  for (const char* name : {"postfix_dsn_mailbox_full.eml", "postfix_dsn_delayed.eml",
                           "ooo_outlook_english.eml", "not_bounce_human_reply.eml"}) {
    ASSERT_TRUE(
        intake_->receive("", {"bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example"},
                         sample(name), 1700000000))
        << name;
  }
  EXPECT_EQ(store_->find("INBOX")->messages.size(), 4u);
  EXPECT_EQ(store_->suppressions().size(), 0u);
  EXPECT_NE(stored(4).find("X-Outpost-Bounce-Kind: not_bounce\r\n"), std::string::npos);
}

TEST_F(IntakeTest, ComplaintSuppressesTheComplainer) {
  ASSERT_TRUE(
      intake_->receive("", {"fbl@bounces.outpost.example"}, sample("arf_yahoo.eml"), 1700000000));
  auto entry = store_->suppressions().find("xena@yahoo.com");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->category, "complaint");
}

TEST_F(IntakeTest, VerpDecidesWhoIsSuppressedAndProseAloneSuppressesNobody) {
  // A prose bounce at a VERP address: the VERP recipient is the one we mailed.
  ASSERT_TRUE(intake_->receive("",
                               {"bounce+0000019a2b3c4d5e+carl=example.org@bounces.outpost.example"},
                               sample("exim_user_unknown.eml"), 1700000000));
  EXPECT_TRUE(store_->suppressions().contains("carl@example.org"));
  EXPECT_EQ(store_->suppressions().size(), 1u);
  // The same prose bounce with no VERP address anywhere in it (sent to a plain return path):
  // stored and classified, but nobody is suppressed on a pattern match alone.
  std::string plain = sample("exim_user_unknown.eml");
  const std::string verp = "bounce+0000019a2b3c4d62+dave=example.net@bounces.outpost.example";
  for (auto at = plain.find(verp); at != std::string::npos; at = plain.find(verp)) {
    plain.replace(at, verp.size(), "news@shop.example");
  }
  ASSERT_TRUE(intake_->receive("", {"postmaster@bounces.outpost.example"}, plain, 1700000000));
  EXPECT_EQ(store_->suppressions().size(), 1u);
  EXPECT_NE(stored(2).find("X-Outpost-Bounce-Type: hard\r\n"), std::string::npos);
}

TEST(WithoutOurFields, ForgedAnnotationsInTheTopHeaderGo) {
  const std::string forged =
      "X-Outpost-Bounce-Type: hard\r\n"
      "Subject: hi\r\n"
      "x-outpost-bounce-category: invalid_recipient\r\n"
      "X-Outpost-Original-Message-Id:\r\n 0000019a2b3c4d5e\r\n"
      "X-Outpost-Queue-ID: kept\r\n"
      "\r\n"
      "X-Outpost-Bounce-Type: in the body stays\r\n";
  const auto without = [](std::string_view message) {
    std::string out;
    append_without_our_fields(out, message);
    return out;
  };
  EXPECT_EQ(without(forged),
            "Subject: hi\r\n"
            "X-Outpost-Queue-ID: kept\r\n"
            "\r\n"
            "X-Outpost-Bounce-Type: in the body stays\r\n");
  EXPECT_EQ(without("Subject: x\n\nbody"), "Subject: x\n\nbody");
}

TEST(Annotation, OneLinePerFieldNeverRawControlCharacters) {
  BounceReport report;
  report.kind = BounceKind::dsn;
  report.original_message_id = "<orig@example.com>";
  report.recipients.push_back(BounceRecipient{.address = "soft@example.net",
                                              .action = Action::failed,
                                              .status = "4.2.2",
                                              .category = Category::mailbox_full});
  report.recipients.push_back(BounceRecipient{.address = "hard@example.net",
                                              .action = Action::failed,
                                              .status = "5.1.1",
                                              .diagnostic = "550 no\r\nsuch\x01user\xff",
                                              .category = Category::invalid_recipient,
                                              .hard = true});
  ASSERT_EQ(primary_recipient(report), &report.recipients[1]);
  const std::string fields = annotation(report);
  EXPECT_EQ(fields,
            "X-Outpost-Bounce-Kind: dsn\r\n"
            "X-Outpost-Bounce-Category: invalid_recipient\r\n"
            "X-Outpost-Bounce-Type: hard\r\n"
            "X-Outpost-Bounce-Recipient: hard@example.net\r\n"
            "X-Outpost-Bounce-Action: failed\r\n"
            "X-Outpost-Bounce-Status: 5.1.1\r\n"
            "X-Outpost-Bounce-Diagnostic: 550 no such?user?\r\n"
            "X-Outpost-Original-Message-Id: <orig@example.com>\r\n"
            "X-Outpost-Bounce-Recipients: soft@example.net; mailbox_full; soft; 4.2.2\r\n");
  EXPECT_EQ(annotation(BounceReport{}),
            "X-Outpost-Bounce-Kind: not_bounce\r\n"
            "X-Outpost-Bounce-Category: unknown\r\n"
            "X-Outpost-Bounce-Type: soft\r\n");
}

}  // namespace
}  // namespace mta::mailbox
