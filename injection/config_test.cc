// [submission] and [http]: users, mechanisms, rates and API keys.
#include "injection/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::injection {
namespace {

using config::error_for_test;

Result<SubmissionConfig> submission(std::string_view text) {
  return config::parse_table_for_test<SubmissionConfig>(text, "submission", parse_submission);
}
Result<HttpConfig> http(std::string_view text) {
  return config::parse_table_for_test<HttpConfig>(text, "http", parse_http);
}

TEST(InjectionConfig, SubmissionDefaultsAndKeys) {
  auto defaults = submission("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->listen, std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_EQ(defaults->auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  auto config = submission(R"(
[submission]
listen = ["127.0.0.1:0", "[::1]:2525"]
message_bytes_max = 2048
recipients_max = 5
idle_timeout = "30s"
trusted_networks = ["10.0.0.0/8"]
auth = ["login"]
rate_per_ip = "10/s"
connections_per_ip = 3
[[submission.user]]
name = "app"
password_hash = '$y$j9T$abc$def'
tenant = "acme"
)");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->listen.size(), 2U);
  EXPECT_EQ(config->message_bytes_max, 2048U);
  EXPECT_EQ(config->recipients_max, 5U);
  EXPECT_EQ(config->idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->trusted_networks, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(config->auth_mechanisms, std::vector<std::string>{"LOGIN"});
  EXPECT_FALSE(config->rate_per_user == config->rate_per_ip);
  EXPECT_EQ(config->limits.connections_per_ip, 3u);
  ASSERT_EQ(config->users.size(), 1U);
  EXPECT_EQ(config->users[0].name, "app");
  EXPECT_EQ(config->users.at(0).tenant, "acme");
}

TEST(InjectionConfig, SubmissionErrors) {
  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[submission]\nauth = [\"CRAM-MD5\"]\n", "test.toml:2: submission.auth"},
           {"[[submission.user]]\nname = \"x\"\npassword_hash = \"plain\"\n", "submission.user[0]"},
           {"[[submission.user]]\nname = \"x\"\npassword_hash = \"$y$a\"\napop_secret = \"s\"\n",
            "submission.user[0].apop_secret: unknown key"},
           {"[[submission.user]]\nname = \"x\"\npassword_hash = '$y$a'\ntenant = \"a:b\"\n",
            "submission.user[0].tenant"},
           {"[submission]\nrate_per_ip = \"fast\"\n", "submission.rate_per_ip"}}) {
    EXPECT_NE(error_for_test(submission(text)).find(want), std::string::npos) << text;
  }
}

TEST(InjectionConfig, ApiKeysKeepTheirDigestAsBytes) {
  auto config = http(R"(
[[http.api_key]]
name = "app"
key_sha256 = "00ff10a0000000000000000000000000000000000000000000000000000000fe"
rate = "10/s"
tenant = "shop.eu"
)");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_EQ(config->api_keys.size(), 1u);
  const auto& key = config->api_keys[0];
  EXPECT_EQ(key.name, "app");
  EXPECT_EQ(key.sha256[0], 0x00);
  EXPECT_EQ(key.sha256[1], 0xff);
  EXPECT_EQ(key.sha256[2], 0x10);
  EXPECT_EQ(key.sha256[3], 0xa0);
  EXPECT_EQ(key.sha256[31], 0xfe);
  EXPECT_EQ(key.tenant, "shop.eu");
  for (const char* bad : {"00FF", "zz", ""}) {
    auto refused =
        http(std::string("[[http.api_key]]\nname = \"a\"\nkey_sha256 = \"") + bad + "\"\n");
    EXPECT_NE(error_for_test(refused).find("http.api_key[0]"), std::string::npos) << bad;
  }
  EXPECT_NE(error_for_test(http("[http]\nadmin_kee = \"k\"\n")).find("http.admin_kee"),
            std::string::npos);
}

TEST(InjectionConfig, UsersLogInAndKeepTheirTenant) {
  auto hash = hash_password("s3cret");
  ASSERT_TRUE(hash.has_value()) << hash.error().message();
  const Users users = load_users({{.name = "ann", .password_hash = *hash, .tenant = "acme"},
                                  {.name = "bob", .password_hash = *hash}});
  EXPECT_TRUE(users.check_password("ann", "s3cret"));
  EXPECT_TRUE(users.check_password("bob", "s3cret"));
  EXPECT_FALSE(users.check_password("bob", "wrong"));
  EXPECT_FALSE(users.check_password("eve", "s3cret"));
  EXPECT_EQ(users.tenant_of("ann"), "acme");
  EXPECT_EQ(users.tenant_of("bob"), "");
}

}  // namespace
}  // namespace mta::injection
