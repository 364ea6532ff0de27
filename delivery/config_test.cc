// [delivery], [[delivery.source]], [[shaping]], [[warmup]] and [[tenant]]: every key, the
// checks across them, and the errors a typo produces.
#include "delivery/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "base/config_reader_for_test.h"

namespace mta::delivery {
namespace {

Result<DeliveryConfig> parse(std::string_view text) {
  return config::parse_file_for_test<DeliveryConfig>(text, parse_delivery);
}
std::string error(std::string_view text) { return config::error_for_test(parse(text)); }

TEST(DeliveryConfig, DefaultsAndKeys) {
  auto defaults = parse("");
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->relay.empty());
  EXPECT_EQ(defaults->connections_max, 8u);
  EXPECT_EQ(defaults->tls_policy, "opportunistic");
  auto config = parse(
      "[delivery]\nrelay = \"127.0.0.1:2500\"\nconnections_max = 3\nreconnect_delay = 2\n"
      "idle_timeout = \"3s\"\ndrain_timeout = \"1m\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->relay, "127.0.0.1:2500");
  EXPECT_EQ(config->connections_max, 3U);
  EXPECT_EQ(config->reconnect_delay, std::chrono::seconds(2));
  EXPECT_EQ(config->idle_timeout, std::chrono::seconds(3));
  EXPECT_EQ(config->drain_timeout, std::chrono::minutes(1));
  EXPECT_NE(error("[delivery]\nconnect_timeout = \"5 parsecs\"\n").find("delivery.connect_timeout"),
            std::string::npos);
}

TEST(DeliveryConfig, TlsPolicies) {
  auto config = parse(
      "[delivery]\ntls = \"required\"\n[delivery.tls_policy]\n"
      "\"Example.COM\" = \"verify\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->tls_policy, "required");
  EXPECT_EQ(config->tls_policies.at("example.com"), "verify");
  EXPECT_NE(error("[delivery]\ntls = \"maybe\"\n").find("test.toml:2: delivery.tls"),
            std::string::npos);
  EXPECT_NE(error("[delivery.tls_policy]\n\"a.example\" = \"sometimes\"\n").find("a.example"),
            std::string::npos);
}

TEST(DeliveryConfig, SourcesAndShaping) {
  auto config = parse(R"(
[[delivery.source]]
address = "192.0.2.10"
ehlo = "mta1.example.com"
weight = 3
[[delivery.source]]
address = "2001:db8::10"
[[shaping]]
mx_suffix = ".outlook.com"
connections_max = 4
messages_per_second = 2.5
[[shaping]]
domain = "Example.COM"
messages_per_connection_max = 50
recipients_per_message_max = 20
messages_per_day = 1000
connections_per_minute = 10
)");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_EQ(config->sources.size(), 2u);
  EXPECT_EQ(config->sources[0].address, "192.0.2.10");
  EXPECT_EQ(config->sources[0].ehlo, "mta1.example.com");
  EXPECT_EQ(config->sources[0].weight, 3u);
  EXPECT_EQ(config->sources[1].weight, 1u);
  ASSERT_EQ(config->shaping.size(), 2u);
  EXPECT_EQ(config->shaping[0].mx_suffix, ".outlook.com");
  EXPECT_EQ(config->shaping[0].connections_max, 4);
  EXPECT_EQ(config->shaping[0].messages_per_second, 2.5);
  EXPECT_EQ(config->shaping[1].domain, "example.com");  // lower-cased
  EXPECT_EQ(config->shaping[1].messages_per_connection_max, 50);
  EXPECT_EQ(config->shaping[1].recipients_per_message_max, 20);
  EXPECT_EQ(config->shaping[1].messages_per_day, 1000);
  EXPECT_EQ(config->shaping[1].connections_per_minute, 10);
}

TEST(DeliveryConfig, BadSourcesAndShapingRulesAreRefused) {
  EXPECT_NE(error("[[delivery.source]]\naddress = \"mta1.example.com\"\n").find("numeric"),
            std::string::npos);
  EXPECT_NE(error("[[delivery.source]]\naddress = \"192.0.2.1:25\"\n").find("no port"),
            std::string::npos);
  EXPECT_NE(error("[[delivery.source]]\naddress = \"192.0.2.1\"\nttl = 1\n").find("ttl"),
            std::string::npos);
  EXPECT_NE(error("[[shaping]]\nconnections_max = 2\n").find("exactly one"), std::string::npos);
  EXPECT_NE(error("[[shaping]]\ndomain = \"a\"\nmx_suffix = \".b\"\n").find("exactly one"),
            std::string::npos);
  EXPECT_NE(error("[[shaping]]\ndomain = \"a\"\nconnections_max = 0\n").find("connections_max"),
            std::string::npos);
  EXPECT_NE(
      error("[[shaping]]\ndomain = \"a\"\nmessages_per_second = -1\n").find("messages_per_second"),
      std::string::npos);
  EXPECT_NE(error("[shaping]\ndomain = \"a\"\n").find("[[shaping]]"), std::string::npos);
}

TEST(DeliveryConfig, WarmupSchedulesAndSources) {
  auto config = parse(R"(
[delivery]
connections_per_source_max = 3
[[delivery.source]]
address = "192.0.2.1"
warmup = "gentle"
warmup_start = 2026-11-20
[[delivery.source]]
address = "192.0.2.2"
warmup = "default"
warmup_start = "2026-12-01"
[[delivery.source]]
address = "192.0.2.3"
[[warmup]]
name = "gentle"
daily = [10, 20, 40]
)");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->connections_per_source_max, 3u);
  ASSERT_EQ(config->warmups.size(), 1u);
  EXPECT_EQ(config->warmups[0].daily, (std::vector<std::uint64_t>{10, 20, 40}));
  EXPECT_EQ(config->sources[0].warmup, "gentle");
  // 2026-11-20 is day 20,777 of the Unix epoch.
  EXPECT_EQ(config->sources[0].warmup_start_day, 20777);
  EXPECT_EQ(config->sources[1].warmup_start_day, 20788);
  EXPECT_FALSE(config->sources[2].warmup_start_day);
  const std::string source = "[[delivery.source]]\naddress = \"192.0.2.1\"\n";
  EXPECT_NE(error(source + "warmup = \"default\"\n").find("go together"), std::string::npos);
  EXPECT_NE(error(source + "warmup = \"x\"\nwarmup_start = 2026-01-01\n")
                .find("test.toml:3: delivery.source[0].warmup: x is neither"),
            std::string::npos);
  EXPECT_NE(error(source + "warmup = \"default\"\nwarmup_start = \"2026-02-30\"\n")
                .find("must be a date"),
            std::string::npos);
  EXPECT_NE(error("[[warmup]]\nname = \"default\"\ndaily = [1]\n").find("taken"),
            std::string::npos);
  EXPECT_NE(error("[[warmup]]\nname = \"a\"\ndaily = [0]\n").find("list of counts"),
            std::string::npos);
}

TEST(DeliveryConfig, Tenants) {
  auto config = parse(R"(
[[tenant]]
name = "acme"
messages_per_second = 50
messages_per_hour = 100000
class = "bulk"
source_pool = "marketing"
[[tenant]]
name = "shop.eu"
[[delivery.source]]
address = "192.0.2.1"
[[delivery.source]]
address = "192.0.2.2"
pool = "marketing"
)");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_EQ(config->tenants.size(), 2U);
  EXPECT_EQ(config->tenants[0].name, "acme");
  EXPECT_EQ(config->tenants[0].messages_per_second, 50);
  EXPECT_EQ(config->tenants[0].messages_per_hour, 100000);
  EXPECT_EQ(config->tenants[0].traffic_class, "bulk");
  EXPECT_EQ(config->tenants[0].source_pool, "marketing");
  EXPECT_EQ(config->tenants[1].traffic_class, "transactional");
  EXPECT_EQ(config->tenants[1].messages_per_second, 0);
  EXPECT_EQ(config->sources.at(0).pool, "default");
  EXPECT_EQ(config->sources.at(1).pool, "marketing");

  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[[tenant]]\nname = \"a b\"\n", "tenant[0].name"},
           {"[[tenant]]\n", "tenant[0].name"},
           {"[[tenant]]\nname = \"a\"\nclass = \"promo\"\n", "tenant[0].class"},
           {"[[tenant]]\nname = \"a\"\nmessages_per_minute = 3\n", "tenant[0].messages_per_minute"},
           {"[[tenant]]\nname = \"a\"\nmessages_per_second = -1\n",
            "tenant[0].messages_per_second"},
           {"[[tenant]]\nname = \"a\"\n[[tenant]]\nname = \"a\"\n", "configured twice"},
           {"[[tenant]]\nname = \"a\"\nsource_pool = \"x\"\n", "tenant[0].source_pool: x"},
           {"[[delivery.source]]\naddress = \"192.0.2.1\"\npool = \"a b\"\n",
            "delivery.source[0].pool"},
           {"[tenant]\nname = \"a\"\n", "[[tenant]]"}}) {
    EXPECT_NE(error(text).find(want), std::string::npos) << text << " -> " << error(text);
  }
}

TEST(DeliveryConfig, SmarthostByNameWithAuth) {
  ::setenv("OUTPOST_TEST_RELAY_SECRET", "from-env", 1);
  auto config = parse(
      "[delivery]\nrelay = \"smtps://[smtp.example.net]\"\nrelay_user = \"me\"\n"
      "relay_password_env = \"OUTPOST_TEST_RELAY_SECRET\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->relay, "smtps://[smtp.example.net]");
  ASSERT_EQ(config->smarthost.hosts.hosts.size(), 1U);
  EXPECT_EQ(config->smarthost.hosts.hosts[0].port, 465);
  EXPECT_TRUE(config->smarthost.implicit_tls);
  EXPECT_EQ(config->smarthost.auth.user, "me");
  EXPECT_EQ(config->smarthost.auth.password, "from-env");
  EXPECT_FALSE(config->smarthost.auth.insecure);

  auto keyed = parse(
      "[delivery]\nrelay = \"[smtp.example.net]:2465\"\nrelay_tls = \"implicit\"\n"
      "relay_user = \"me\"\nrelay_password = \"inline\"\nrelay_auth_insecure = true\n");
  ASSERT_TRUE(keyed) << keyed.error().message();
  EXPECT_TRUE(keyed->smarthost.implicit_tls);
  EXPECT_EQ(keyed->smarthost.auth.password, "inline");
  EXPECT_TRUE(keyed->smarthost.auth.insecure);
}

TEST(DeliveryConfig, PasswordFile) {
  const std::string path = ::testing::TempDir() + "/outpost_relay_secret";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("s3cret\n", f);
    std::fclose(f);
  }
  ::chmod(path.c_str(), 0600);
  const std::string text =
      "[delivery]\nrelay = \"[smtp.example.net]:587\"\nrelay_user = \"me\"\n"
      "relay_password_file = \"" +
      path + "\"\n";
  auto config = parse(text);
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->smarthost.auth.password, "s3cret");  // the trailing newline stripped
  ::chmod(path.c_str(), 0644);
  EXPECT_NE(
      error(text).find(":4: delivery.relay_password_file: " + path + " is readable by every user"),
      std::string::npos)
      << error(text);
  std::remove(path.c_str());
  EXPECT_NE(error(text).find("cannot be read"), std::string::npos) << error(text);
}

TEST(DeliveryConfig, Routes) {
  auto config = parse(
      "[delivery]\nrelay = \"192.0.2.1:25\"\n"
      "[[route]]\ndomain = \"Corp.Example\"\nrelay = \"10.0.0.5:25\"\n"
      "[[route]]\ndomain = \".corp.example\"\nrelay = \"[relay.corp.example]:587\"\n"
      "tls = \"verify\"\nuser = \"u\"\npassword = \"p\"\n");
  ASSERT_TRUE(config) << config.error().message();
  ASSERT_EQ(config->routes.size(), 2U);
  EXPECT_EQ(config->routes[0].domain, "corp.example");
  EXPECT_TRUE(config->routes[0].relay.hosts.numeric());
  EXPECT_EQ(config->routes[1].domain, ".corp.example");
  EXPECT_EQ(config->routes[1].tls_policy, "verify");
  EXPECT_EQ(config->routes[1].relay.auth.user, "u");
  EXPECT_EQ(config->routes[1].relay.auth.password, "p");
}

TEST(DeliveryConfig, BadSmarthostsAndRoutesAreRefusedAtTheirLine) {
  ::unsetenv("OUTPOST_TEST_NO_SUCH_VARIABLE");
  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[delivery]\n\nrelay = \"smtp.example.net:99999\"\n",
            ":3: delivery.relay: \"smtp.example.net:99999\" has no valid port"},
           {"[delivery]\nrelay = \"2001:db8::1:25\"\n", ":2: delivery.relay: "},
           {"[delivery]\nrelay = \"smtps://a.example, b.example\"\n", "mixes smtps://"},
           {"[delivery]\nrelay = \"a.example\"\nrelay_tls = \"always\"\n",
            ":3: delivery.relay_tls: must be"},
           {"[delivery]\nrelay = \"smtps://a.example\"\ntls = \"none\"\n",
            "implicit TLS (smtps://) with tls = \"none\""},
           {"[delivery]\nrelay = \"a.example\"\nrelay_user = \"u\"\n",
            ":3: delivery.relay_user: needs a password too"},
           {"[delivery]\nrelay = \"a.example\"\nrelay_password = \"p\"\n",
            ":3: delivery.relay_password: needs delivery.relay_user too"},
           {"[delivery]\nrelay = \"a.example\"\nrelay_user = \"u\"\nrelay_password = \"p\"\n"
            "relay_password_env = \"X\"\n",
            "give only one of"},
           {"[delivery]\nrelay = \"a.example\"\nrelay_user = \"u\"\n"
            "relay_password_env = \"OUTPOST_TEST_NO_SUCH_VARIABLE\"\n",
            ":4: delivery.relay_password_env: the environment variable "
            "OUTPOST_TEST_NO_SUCH_VARIABLE is not set"},
           {"[delivery]\nrelay_user = \"u\"\nrelay_password = \"p\"\n", "AUTH needs a relay"},
           {"[[route]]\ndomain = \"corp.example\"\n", "route[0]: needs relay"},
           {"[[route]]\nrelay = \"10.0.0.5:25\"\n", "route[0].domain: must be"},
           {"[[route]]\ndomain = \"*.corp.example\"\nrelay = \"10.0.0.5:25\"\n",
            ":2: route[0].domain: must be"},
           {"[[route]]\ndomain = \"corp.example\"\nrelay = \"10.0.0.5:25\"\ntls = \"maybe\"\n",
            ":4: route[0].tls: must be"},
           {"[[route]]\ndomain = \"corp.example\"\nrelay = \"10.0.0.5:25\"\nrelay_user = \"u\"\n",
            "route[0].relay_user"},
           {"[[route]]\ndomain = \"a.example\"\nrelay = \"10.0.0.5:25\"\n"
            "[[route]]\ndomain = \"A.example\"\nrelay = \"10.0.0.6:25\"\n",
            "has a route already"}}) {
    EXPECT_NE(error(text).find(want), std::string::npos) << text << " -> " << error(text);
  }
}

}  // namespace
}  // namespace mta::delivery
