// BounceIntake on a real MailStore: what is stored (the added fields first, then the bounce
// as it came), and which recipients end up suppressed; annotation() on hand-made reports.
#include "mailbox/intake.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "base/envelope_address.h"
#include "queue/memory_store.h"

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
        *store_, IntakeOptions{.bounce_domain = "bounces.outpost.example",
                               .keys = &keys_,
                               .recipient_of = [this](MessageId id, std::string_view address)
                                   -> std::optional<std::string> {
                                 auto found = sent_.find(id.value());
                                 if (found == sent_.end()) return std::nullopt;
                                 for (const std::string& recipient : found->second) {
                                   if (suppression_key(recipient) == suppression_key(address)) {
                                     return recipient;
                                   }
                                 }
                                 return std::nullopt;
                               }});
  }
  // The return path the injector would give `recipient` of message `id`.
  std::string verp(std::uint64_t id, const std::string& recipient) const {
    return *mime::verp_encode("bounce", MessageId(id), keys_.verp_tag(MessageId(id), recipient),
                              recipient, "bounces.outpost.example");
  }
  // `sample` with every one of the untagged VERP addresses the corpus uses replaced by the
  // tagged one made for that message and recipient.
  std::string tagged(std::string text, std::uint64_t id, const std::string& recipient) const {
    const std::string local = recipient.substr(0, recipient.find('@'));
    const std::string domain = recipient.substr(recipient.find('@') + 1);
    const std::string untagged =
        "bounce+" + to_hex(MessageId(id)) + "+" + local + "=" + domain + "@bounces.outpost.example";
    const std::string with_tag = verp(id, recipient);
    for (auto at = text.find(untagged); at != std::string::npos;
         at = text.find(untagged, at + with_tag.size())) {
      text.replace(at, untagged.size(), with_tag);
    }
    return text;
  }
  void TearDown() override {
    intake_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string stored(std::uint32_t uid) { return store_->read("INBOX", uid).value(); }

  const queue::BounceKeys keys_ = queue::BounceKeys::from_keys_for_test(
      {queue::BounceKey{.id = 1, .created_at = 1, .secret = std::string(32, 'k')}});
  std::map<std::uint64_t, std::vector<std::string>> sent_;  // what "the queue" knows
  std::string dir_;
  std::unique_ptr<MailStore> store_;
  std::unique_ptr<BounceIntake> intake_;
};

TEST_F(IntakeTest, HardBounceIsAnnotatedStoredAndSuppressed) {
  const std::string body =
      tagged(sample("postfix_dsn_user_unknown.eml"), 0x19a2b3c4d5e, "ann@example.com");
  auto report = intake_->receive("", {verp(0x19a2b3c4d5e, "ann@example.com")}, body, 1700000000);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->kind, BounceKind::dsn);
  const std::string message = stored(1);
  EXPECT_TRUE(message.starts_with("X-Outpost-Bounce-Kind: dsn\r\n")) << message.substr(0, 200);
  EXPECT_NE(message.find("X-Outpost-Bounce-Category: invalid_recipient\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Bounce-Type: hard\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Bounce-Recipient: ann@example.com\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Original-Message-Id: 0000019a2b3c4d5e\r\n"), std::string::npos);
  EXPECT_NE(message.find("X-Outpost-Bounce-Trusted: yes\r\nX-Outpost-Bounce-Trust: verp\r\n"),
            std::string::npos);
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

TEST_F(IntakeTest, StoreSumsUpWhatWasStoredForTheSender) {
  const std::string body =
      tagged(sample("postfix_dsn_user_unknown.eml"), 0x19a2b3c4d5e, "ann@example.com");
  const StoreResult stored =
      intake_->store("", {verp(0x19a2b3c4d5e, "ann@example.com")}, body, 1700000000);
  EXPECT_EQ(stored.status, StoreResult::Status::stored);
  EXPECT_EQ(stored.detail, "stored: dsn invalid_recipient hard ann@example.com");

  // Larger than the whole mailbox: refused, not to be tried again.
  intake_.reset();
  store_.reset();
  store_ = MailStore::open(dir_ + "/small", {.sync = false, .quota_bytes = 100}).value();
  intake_ = std::make_unique<BounceIntake>(*store_, IntakeOptions{});
  const StoreResult refused = intake_->store("", {"x@bounces.outpost.example"}, body, 1700000000);
  EXPECT_EQ(refused.status, StoreResult::Status::refused);
  EXPECT_EQ(refused.detail, "message larger than the bounce mailbox");
}

TEST(RecipientInQueue, FindsTheQueuedRecipientThenTheHistory) {
  queue::MemoryStore store;
  std::vector<queue::Envelope> parts(1);
  parts[0].id = MessageId(42);
  parts[0].destination = "example.com";
  parts[0].recipients.resize(2);
  parts[0].recipients[0].address = "Ann@Example.com";
  parts[0].recipients[1].address = "bob@example.com";
  const queue::MessageWrite write{parts, "body"};
  ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
  const auto recipient_of = recipient_in_queue(store);
  EXPECT_EQ(recipient_of(MessageId(42), "ann@example.com"), "Ann@Example.com");
  EXPECT_EQ(recipient_of(MessageId(42), "carl@example.com"), std::nullopt);
  EXPECT_EQ(recipient_of(MessageId(43), "ann@example.com"), std::nullopt);
  // Delivered and removed: its history still knows.
  queue::Envelope done = parts[0];
  ASSERT_TRUE(store.remove_part({.message = MessageId(42), .part = 0}, &done).has_value());
  EXPECT_EQ(recipient_of(MessageId(42), "bob@example.com"), "bob@example.com");
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
  ASSERT_TRUE(intake_->receive("", {"fbl@bounces.outpost.example"},
                               tagged(sample("arf_yahoo.eml"), 0x19a2b3c4d74, "xena@yahoo.com"),
                               1700000000));
  auto entry = store_->suppressions().find("xena@yahoo.com");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->category, "complaint");
}

// Issue 21: 7 forged messages made 105 suppressions. Untagged or badly tagged VERP addresses,
// DSNs and complaints naming anyone, with no reference or a copied one: stored, classified,
// marked untrusted, and nobody is suppressed.
TEST_F(IntakeTest, ForgedBouncesAndComplaintsSuppressNobody) {
  const std::string made_up = "bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example";
  std::string bad_tag = verp(0x19a2b3c4d5e, "ann@example.com");
  bad_tag[bad_tag.find('+', 7) + 5] ^= 1;
  // The tag of another message's return path, moved onto this message's id.
  std::string other_message = verp(0x19a2b3c4d5f, "ann@example.com");
  other_message.replace(other_message.find("0000019a2b3c4d5f"), 16, "0000019a2b3c4d5e");
  const std::string other_recipient = verp(0x19a2b3c4d5e, "bob@example.com");
  const std::string dsn = sample("postfix_dsn_user_unknown.eml");
  std::uint32_t uid = 0;
  for (const std::string& rcpt : {made_up, bad_tag}) {
    ASSERT_TRUE(intake_->receive("", {rcpt}, dsn, 1700000000));
    const std::string message = stored(++uid);
    EXPECT_NE(message.find("X-Outpost-Bounce-Type: hard\r\n"), std::string::npos);
    EXPECT_NE(message.find("X-Outpost-Bounce-Trusted: no\r\n"), std::string::npos) << rcpt;
  }
  // A tag made for another message or recipient does not carry over.
  ASSERT_TRUE(intake_->receive(
      "", {"fbl@bounces.outpost.example"},
      [&] {
        std::string text = sample("postfix_dsn_user_unknown.eml");
        for (auto at = text.find(made_up); at != std::string::npos;
             at = text.find(made_up, at + 1)) {
          text.replace(at, made_up.size(), other_recipient);
        }
        return text;
      }(),
      1700000000));
  ++uid;
  EXPECT_FALSE(store_->suppressions().contains("ann@example.com"));
  EXPECT_EQ(store_->suppressions().size(), 1u);  // bob: the tag names him, so he is the one
  ASSERT_TRUE(store_->suppressions().remove("bob@example.com").value());
  ASSERT_TRUE(intake_->receive("", {other_message}, sample("arf_yahoo.eml"), 1700000000));
  ++uid;
  EXPECT_NE(stored(uid).find("X-Outpost-Bounce-Trusted: no\r\n"), std::string::npos);
  EXPECT_EQ(store_->suppressions().size(), 0u);
  EXPECT_EQ(intake_->probe().untrusted, 3u);
}

// A DSN returning the original's header: its X-Outpost-Ref ties it to one message, and only
// that message's recipients can be suppressed by it.
TEST_F(IntakeTest, ReferenceInTheReturnedHeaderSuppressesOnlyThatMessagesRecipients) {
  sent_[0x19a2b3c4d5e] = {"Ann@example.com"};
  const auto dsn_naming = [&](const std::string& final_recipient, const std::string& reference) {
    return "From: MAILER-DAEMON@mx.example.com\r\n"
           "Subject: Undelivered Mail Returned to Sender\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
           "--b\r\nContent-Type: text/plain\r\n\r\nUnknown user.\r\n"
           "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
           "Reporting-MTA: dns; mx.example.com\r\n\r\n"
           "Final-Recipient: rfc822; " +
           final_recipient +
           "\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
           "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
           "X-Outpost-Ref: " +
           reference +
           "\r\nFrom: news@shop.example\r\nSubject: hi\r\n\r\n"
           "--b--\r\n";
  };
  const std::string reference = keys_.reference(MessageId(0x19a2b3c4d5e));
  // Someone else's address with a genuine reference (copied from a message they received).
  ASSERT_TRUE(intake_->receive("", {"postmaster@bounces.outpost.example"},
                               dsn_naming("victim@victim.example", reference), 1700000000));
  EXPECT_NE(stored(1).find("X-Outpost-Bounce-Trusted: no\r\n"), std::string::npos);
  // The recipient with a reference that does not verify.
  std::string forged = reference;
  forged.back() = forged.back() == '0' ? '1' : '0';
  ASSERT_TRUE(intake_->receive("", {"postmaster@bounces.outpost.example"},
                               dsn_naming("ann@example.com", forged), 1700000000));
  EXPECT_EQ(store_->suppressions().size(), 0u);
  // The recipient, with the genuine reference: suppressed as it was queued.
  ASSERT_TRUE(intake_->receive("", {"postmaster@bounces.outpost.example"},
                               dsn_naming("ann@EXAMPLE.com", reference), 1700000000));
  EXPECT_NE(stored(3).find("X-Outpost-Bounce-Trusted: yes\r\nX-Outpost-Bounce-Trust: reference"),
            std::string::npos);
  EXPECT_EQ(store_->suppressions().size(), 1u);
  EXPECT_TRUE(store_->suppressions().contains("ann@example.com"));
}

TEST_F(IntakeTest, VerpDecidesWhoIsSuppressedAndProseAloneSuppressesNobody) {
  // A prose bounce at a VERP address: the VERP recipient is the one we mailed.
  ASSERT_TRUE(intake_->receive("", {verp(0x19a2b3c4d5e, "carl@example.org")},
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
            "X-Outpost-Bounce-Recipients: soft@example.net; mailbox_full; soft; 4.2.2\r\n"
            "X-Outpost-Bounce-Trusted: no\r\n"
            "X-Outpost-Bounce-Trust: none\r\n");
  EXPECT_EQ(annotation(BounceReport{}, Trust::verp),
            "X-Outpost-Bounce-Kind: not_bounce\r\n"
            "X-Outpost-Bounce-Category: unknown\r\n"
            "X-Outpost-Bounce-Type: soft\r\n"
            "X-Outpost-Bounce-Trusted: yes\r\n"
            "X-Outpost-Bounce-Trust: verp\r\n");
}

}  // namespace
}  // namespace mta::mailbox
