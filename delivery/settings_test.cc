// The delivery sections turned into a shard's options: the relay list, TLS policies, sources
// and their pools, shaping rules, tenants' caps, response rules, and what a shard adds.
#include "delivery/settings.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

struct Others {
  std::string hostname = "mta.example";
  tls::ServerTlsConfig tls;
  queue::QueueConfig queue;
  cluster::FleetOptions cluster;
  dns::DnsConfig dns;
  OtherSections sections() const {
    return {.hostname = hostname, .tls = tls, .queue = queue, .cluster = cluster, .dns = dns};
  }
};

SourceConfig source(const std::string& address, const std::string& pool) {
  return {.address = address,
          .bound = *engine::SocketAddress::parse(address + ":0"),
          .ehlo = "",
          .weight = 2,
          .pool = pool};
}

TEST(DeliverySettings, RelayListInOrder) {
  auto relay = parse_relay("192.0.2.1:25, 192.0.2.2:2525 ,192.0.2.3:26");
  ASSERT_TRUE(relay.has_value());
  ASSERT_EQ(relay->size(), 3U);
  EXPECT_EQ((*relay)[0].to_string(), "192.0.2.1:25");
  EXPECT_EQ((*relay)[1].to_string(), "192.0.2.2:2525");
  EXPECT_EQ((*relay)[2].to_string(), "192.0.2.3:26");
  EXPECT_TRUE(parse_relay("")->empty());
  EXPECT_FALSE(parse_relay("smarthost.example:25").has_value());
  EXPECT_EQ(parse_relay("192.0.2.1:25,")->size(), 1U);  // a trailing comma ends the list
  EXPECT_FALSE(parse_relay("192.0.2.1:25,,192.0.2.2:25").has_value());
}

TEST(DeliverySettings, ShapingSetsOnlyWhatRulesSay) {
  const Shaping shaping =
      load_shaping({{.domain = "a.example", .connections_max = 2, .messages_per_second = 5},
                    {.mx_suffix = ".mx.example", .messages_per_day = 100}});
  const Limits defaults{.connections_max = 8, .messages_per_connection_max = 1000};
  const Limits a = shaping.limits_for(defaults, "a.example", {});
  EXPECT_EQ(a.connections_max, 2U);
  EXPECT_EQ(a.messages_per_connection_max, 1000U);
  EXPECT_EQ(a.messages_per_second, 5);
  const Limits b = shaping.limits_for(defaults, "b.example", {"in1.mx.example"});
  EXPECT_EQ(b.connections_max, 8U);
  EXPECT_EQ(b.messages_per_day, 100);
  EXPECT_EQ(shaping.limits_for(defaults, "c.example", {}).connections_max, 8U);
}

TEST(DeliverySettings, TenantCapsShareBuckets) {
  const auto tenants = load_tenant_limits(
      {{.name = "acme", .messages_per_second = 10}, {.name = "free", .messages_per_hour = 60}});
  ASSERT_EQ(tenants.size(), 2U);
  EXPECT_EQ(tenants[0].name, "acme");
  EXPECT_EQ(tenants[0].messages_per_second, 10);
  EXPECT_NE(tenants[0].per_second, nullptr);
  EXPECT_EQ(tenants[1].messages_per_hour, 60);
  EXPECT_NE(tenants[1].per_hour, nullptr);
}

TEST(DeliverySettings, SectionsBecomeShardOptions) {
  DeliveryConfig config;
  config.relay = "192.0.2.1:25,192.0.2.2:25";
  config.tls_policy = "verify";
  config.tls_policies = {{"b.example", "required"}, {"c.example", "bogus"}};
  config.remote_port = 2525;
  config.connections_per_source_max = 0;
  config.sources = {source("192.0.2.10", "default"), source("192.0.2.11", "bulk"),
                    source("192.0.2.12", "bulk")};
  Others others;
  others.queue.retry.max_age = std::chrono::hours(5);
  others.cluster.nodes_expected = 3;
  auto settings = load_delivery_settings(config, others.sections());
  ASSERT_TRUE(settings.has_value());
  EXPECT_TRUE(settings->relayed());
  EXPECT_EQ(settings->relay_text, "192.0.2.1:25, 192.0.2.2:25");
  EXPECT_EQ(settings->source_pools, (std::vector<std::string>{"default", "bulk"}));
  const ShardDeliveryOptions options = settings->shard_options(4);
  EXPECT_EQ(options.shard_count, 4U);
  EXPECT_EQ(options.links.response_rules, &settings->response_rules);
  EXPECT_EQ(options.links.remote_port, 2525);
  EXPECT_EQ(options.destination.addresses.size(), 2U);
  EXPECT_EQ(options.destination.tls, TlsPolicy::verify);
  EXPECT_EQ(options.tls_policies.at("b.example"), TlsPolicy::required);
  EXPECT_EQ(options.tls_policies.at("c.example"), TlsPolicy::verify);  // unknown: the default
  EXPECT_EQ(options.destination.helo_name, "mta.example");
  EXPECT_EQ(options.destination.limits.connections_max, 8U);
  EXPECT_EQ(options.destination.limits.connections_per_source_max, Limits::unlimited);
  ASSERT_EQ(options.destination.sources.size(), 3U);
  EXPECT_EQ(options.destination.sources[1].pool, "bulk");
  EXPECT_EQ(options.destination.sources[1].weight, 2U);
  EXPECT_EQ(options.destination.sources[0].budget, nullptr);  // no warm-up: warm
  EXPECT_EQ(options.bounce.hostname, "mta.example");
  EXPECT_EQ(options.bounce.max_age, std::chrono::hours(5));
  EXPECT_EQ(options.destination.retry.max_age, std::chrono::hours(5));
  EXPECT_EQ(options.fleet_nodes_expected, 3U);
}

TEST(DeliverySettings, WarmingSourceGetsABudget) {
  DeliveryConfig config;
  config.warmups = {{.name = "slow", .daily = {5, 10}}};
  config.sources = {source("192.0.2.10", "default")};
  config.sources[0].warmup = "slow";
  config.sources[0].warmup_start_day = utc_day(std::chrono::system_clock::now());
  const auto sources = load_sources(config, "mta.example");
  ASSERT_EQ(sources.size(), 1U);
  ASSERT_NE(sources[0].budget, nullptr);
  EXPECT_EQ(sources[0].budget->cap(std::chrono::system_clock::now()), 5U);
}

TEST(DeliverySettings, SmarthostByNameAndRoutes) {
  Others others;
  DeliveryConfig config;
  config.relay = "smtps://[smtp.example.net]";
  config.smarthost.auth = {.user = "u", .password = "p"};
  config.routes.push_back({.domain = ".corp.example",
                           .tls_policy = "verify",
                           .relay = {.text = "10.0.0.5:25",
                                     .hosts = parse_smarthosts("10.0.0.5:25").value(),
                                     .implicit_tls = false,
                                     .auth = {}}});
  auto settings = load_delivery_settings(config, others.sections());
  ASSERT_TRUE(settings.has_value());
  EXPECT_TRUE(settings->relayed());
  EXPECT_TRUE(settings->needs_dns());  // the relay is a name
  EXPECT_EQ(settings->relay_text, "smtps://[smtp.example.net]");
  const ShardDeliveryOptions options = settings->shard_options(2);
  EXPECT_TRUE(options.destination.addresses.empty());
  ASSERT_EQ(options.destination.smarthosts.hosts.size(), 1U);
  EXPECT_EQ(options.destination.smarthosts.hosts[0].port, 465);
  EXPECT_TRUE(options.destination.implicit_tls);
  EXPECT_EQ(options.destination.auth_user, "u");
  EXPECT_EQ(options.destination.auth_password, "p");
  ASSERT_EQ(options.routes.size(), 1U);
  EXPECT_EQ(options.routes[0].destination, "route:.corp.example");
  EXPECT_EQ(options.routes[0].options.tls, TlsPolicy::verify);
  EXPECT_EQ(options.routes[0].options.addresses.size(), 1U);
  EXPECT_TRUE(options.routes[0].options.auth_user.empty());  // its own AUTH: none
  EXPECT_FALSE(options.routes[0].options.implicit_tls);
  EXPECT_EQ(options.routing.destination("a@eu.corp.example"), "route:.corp.example");
  EXPECT_EQ(options.routing.destination("a@example.org"), "relay");

  DeliveryConfig numeric;
  numeric.relay = "192.0.2.1:25";
  auto plain = load_delivery_settings(numeric, others.sections());
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->needs_dns());
}

TEST(DeliverySettings, BadRelayOrRulesFileStopsTheStart) {
  Others others;
  DeliveryConfig bad_relay;
  bad_relay.relay = "relay.example:99999";
  EXPECT_FALSE(load_delivery_settings(bad_relay, others.sections()).has_value());
  DeliveryConfig missing_rules;
  missing_rules.response_rules = "/nonexistent/response_rules.conf";
  EXPECT_FALSE(load_delivery_settings(missing_rules, others.sections()).has_value());
  DeliveryConfig mx;
  auto settings = load_delivery_settings(mx, others.sections());
  ASSERT_TRUE(settings.has_value());
  EXPECT_FALSE(settings->relayed());
}

}  // namespace
}  // namespace mta::delivery
