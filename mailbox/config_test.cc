// [bounce], [mailbox], [imap] and [pop3].
#include "mailbox/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::mailbox {
namespace {

using config::error_for_test;

Result<BounceConfig> bounce(std::string_view text) {
  return config::parse_table_for_test<BounceConfig>(text, "bounce", parse_bounce);
}
Result<MailboxConfig> mailbox(std::string_view text) {
  return config::parse_table_for_test<MailboxConfig>(text, "mailbox", parse_mailbox);
}
Result<MailListenConfig> listen(std::string_view text, std::string_view name) {
  return config::parse_table_for_test<MailListenConfig>(text, name, parse_mail_listen);
}

TEST(MailboxConfig, BounceMailbox) {
  auto intake = bounce(
      "[bounce]\ndomain = \"bounces.example.com\"\nlisten = \"127.0.0.1:2526\"\n"
      "rules = \"/etc/outpost/bounce_rules.conf\"\n");
  ASSERT_TRUE(intake) << intake.error().message();
  EXPECT_EQ(intake->domain, "bounces.example.com");
  EXPECT_EQ(intake->listen, std::vector<std::string>{"127.0.0.1:2526"});
  EXPECT_EQ(intake->rules, "/etc/outpost/bounce_rules.conf");
  auto users = mailbox(
      "[mailbox]\nauth_failure_delay = \"3s\"\n[[mailbox.user]]\nname = \"ops\"\n"
      "password_hash = '$y$j9T$abc$def'\napop_secret = \"s3cret\"\n");
  ASSERT_TRUE(users) << users.error().message();
  EXPECT_EQ(users->auth_failure_delay, std::chrono::seconds(3));
  ASSERT_EQ(users->users.size(), 1u);
  EXPECT_EQ(users->users[0].apop_secret, "s3cret");
  auto imap = listen("[imap]\ntls_listen = \"127.0.0.1:1993\"\n", "imap");
  ASSERT_TRUE(imap) << imap.error().message();
  EXPECT_EQ(imap->tls_listen, std::vector<std::string>{"127.0.0.1:1993"});
  EXPECT_FALSE(imap->login_without_tls);
  auto pop3 = listen("[pop3]\nlogin_without_tls = true\nidle_timeout = \"1m\"\n", "pop3");
  ASSERT_TRUE(pop3) << pop3.error().message();
  EXPECT_TRUE(pop3->login_without_tls);
  EXPECT_EQ(pop3->idle_timeout, std::chrono::minutes(1));

  EXPECT_NE(error_for_test(bounce("[bounce]\nlisten = \"127.0.0.1:2526\"\n"))
                .find("test.toml:2: bounce.listen: needs bounce.domain"),
            std::string::npos);
  EXPECT_NE(error_for_test(bounce("[bounce]\nverp_prefix = \"a+b\"\n")).find("bounce.verp_prefix"),
            std::string::npos);
  EXPECT_NE(error_for_test(listen("[imap]\nlisten = 143\n", "imap")).find("imap.listen"),
            std::string::npos);
  EXPECT_NE(error_for_test(listen("[pop3]\nstls = true\n", "pop3")).find("pop3.stls: unknown key"),
            std::string::npos);
  EXPECT_FALSE(listen("[pop3]\ncommand_timeout = \"forever\"\n", "pop3"));
  EXPECT_NE(error_for_test(mailbox("[[mailbox.user]]\nname = \"x\"\npassword_hash = '$y$a'\n"
                                   "tenant = \"a\"\n"))
                .find("mailbox.user[0].tenant"),
            std::string::npos);
}

TEST(MailboxConfig, MailboxLimits) {
  auto defaults_bounce = bounce("");
  auto defaults_mailbox = mailbox("");
  ASSERT_TRUE(defaults_bounce && defaults_mailbox);
  EXPECT_EQ(defaults_bounce->messages_per_ip_per_minute, 300u);
  EXPECT_EQ(defaults_bounce->bytes_per_ip_per_minute, 32u * 1024 * 1024);
  EXPECT_EQ(defaults_mailbox->quota_bytes, 1024ULL * 1024 * 1024);
  EXPECT_EQ(defaults_mailbox->retention, std::chrono::hours(24 * 30));
  auto limits =
      bounce("[bounce]\nmessages_per_ip_per_minute = 0\nbytes_per_ip_per_minute = 1000000\n");
  ASSERT_TRUE(limits) << limits.error().message();
  EXPECT_EQ(limits->messages_per_ip_per_minute, 0u);
  EXPECT_EQ(limits->bytes_per_ip_per_minute, 1000000u);
  auto kept = mailbox("[mailbox]\nquota_bytes = 5000\nretention = \"2d\"\n");
  ASSERT_TRUE(kept) << kept.error().message();
  EXPECT_EQ(kept->quota_bytes, 5000u);
  EXPECT_EQ(kept->retention, std::chrono::hours(48));
  EXPECT_NE(error_for_test(mailbox("[mailbox]\nquota_bytes = -1\n")).find("mailbox.quota_bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace mta::mailbox
