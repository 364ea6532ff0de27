// [delivery], [[delivery.source]], [[shaping]], [[warmup]] and [[tenant]]: every key, the
// checks across them, and the errors a typo produces.
#include "delivery/config.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mta::delivery
