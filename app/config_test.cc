// Configuration parsing: defaults, every key, and the errors an operator's typo produces.
#include "app/config.h"

#include <gtest/gtest.h>

namespace mta::app {
namespace {

TEST(Config, EmptyFileGivesDefaults) {
  auto config = parse_config("", "empty");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->submission_listen, std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_EQ(config->spool_path, "var/spool");
  EXPECT_TRUE(config->spool_sync);
  EXPECT_TRUE(config->relay.empty());
}

TEST(Config, ReadsEveryKey) {
  auto config = parse_config(R"(
[node]
hostname = "mx.example.com"
shards = 2
[log]
level = "debug"
[spool]
path = "/tmp/spool"
durability = "none"
[submission]
listen = ["127.0.0.1:0", "[::1]:2525"]
message_bytes_max = 2048
recipients_max = 5
idle_timeout = "30s"
[delivery]
relay = "127.0.0.1:2500"
connections_max = 3
reconnect_delay = 2
[queue]
retry_initial = "250ms"
retry_multiplier = 1.5
max_age = "1h"
[metrics]
listen = "127.0.0.1:9100"
[tls]
certificate = "/etc/outpost/cert.pem"
key = "/etc/outpost/key.pem"
[bounce]
domain = "bounces.example.com"
[imap]
listen = "127.0.0.1:1143"
)",
                             "full");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->hostname, "mx.example.com");
  EXPECT_EQ(config->shards, 2U);
  EXPECT_EQ(config->log_level, log::Level::debug);
  EXPECT_FALSE(config->spool_sync);
  EXPECT_EQ(config->submission_listen.size(), 2U);
  EXPECT_EQ(config->message_bytes_max, 2048U);
  EXPECT_EQ(config->recipients_max, 5U);
  EXPECT_EQ(config->session_idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->relay, "127.0.0.1:2500");
  EXPECT_EQ(config->connections_max, 3U);
  EXPECT_EQ(config->retry_initial, std::chrono::milliseconds(250));
  EXPECT_DOUBLE_EQ(config->retry_multiplier, 1.5);
  EXPECT_EQ(config->max_age, std::chrono::hours(1));
  EXPECT_EQ(config->reconnect_delay, std::chrono::seconds(2));
  EXPECT_EQ(config->metrics_listen, std::vector<std::string>{"127.0.0.1:9100"});
  EXPECT_EQ(config->tls_certificate, "/etc/outpost/cert.pem");
  EXPECT_EQ(config->bounce_domain, "bounces.example.com");
  EXPECT_EQ(config->imap.listen, std::vector<std::string>{"127.0.0.1:1143"});
  EXPECT_TRUE(config->ignored_sections.empty());
}

TEST(Config, BounceMailbox) {
  auto config = parse_config(R"(
[bounce]
domain = "bounces.example.com"
listen = "127.0.0.1:2526"
rules = "/etc/outpost/bounce_rules.conf"
[mailbox]
auth_failure_delay = "3s"
[[mailbox.user]]
name = "mautic"
password_hash = '$y$j9T$abc$def'
apop_secret = "s3cret"
[imap]
listen = ["127.0.0.1:1143"]
tls_listen = ["127.0.0.1:1993"]
[pop3]
listen = "127.0.0.1:1110"
login_without_tls = true
idle_timeout = "1m"
)",
                             "mailbox");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->bounce_listen, std::vector<std::string>{"127.0.0.1:2526"});
  EXPECT_EQ(config->bounce_rules, "/etc/outpost/bounce_rules.conf");
  EXPECT_EQ(config->mailbox_auth_failure_delay, std::chrono::seconds(3));
  ASSERT_EQ(config->mailbox_users.size(), 1u);
  EXPECT_EQ(config->mailbox_users[0].apop_secret, "s3cret");
  EXPECT_EQ(config->imap.tls_listen, std::vector<std::string>{"127.0.0.1:1993"});
  EXPECT_FALSE(config->imap.login_without_tls);
  EXPECT_TRUE(config->pop3.login_without_tls);
  EXPECT_EQ(config->pop3.idle_timeout, std::chrono::minutes(1));

  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[bounce]\nlisten = \"127.0.0.1:2526\"\n", "bounce.listen needs bounce.domain"},
           {"[[submission.user]]\nname = \"x\"\npassword_hash = \"$y$a\"\napop_secret = \"s\"\n",
            "unknown key submission.user[0].apop_secret"},
           {"[imap]\nlisten = 143\n", "imap.listen"},
           {"[pop3]\nstls = true\n", "unknown key pop3.stls"}}) {
    auto bad = parse_config(text, "bad");
    ASSERT_FALSE(bad.has_value()) << text;
    EXPECT_NE(bad.error().message().find(want), std::string::npos) << bad.error().message();
  }
}

TEST(Config, MailboxLimits) {
  auto defaults = parse_config("", "defaults");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->bounce_messages_per_ip_per_minute, 300u);
  EXPECT_EQ(defaults->bounce_bytes_per_ip_per_minute, 32u * 1024 * 1024);
  EXPECT_EQ(defaults->mailbox_quota_bytes, 1024ULL * 1024 * 1024);
  EXPECT_EQ(defaults->mailbox_retention, std::chrono::hours(24 * 30));
  auto config = parse_config(R"(
[bounce]
messages_per_ip_per_minute = 0
bytes_per_ip_per_minute = 1000000
[mailbox]
quota_bytes = 5000
retention = "2d"
)",
                             "limits");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->bounce_messages_per_ip_per_minute, 0u);
  EXPECT_EQ(config->bounce_bytes_per_ip_per_minute, 1000000u);
  EXPECT_EQ(config->mailbox_quota_bytes, 5000u);
  EXPECT_EQ(config->mailbox_retention, std::chrono::hours(48));
  auto bad = parse_config("[mailbox]\nquota_bytes = -1\n", "bad");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("mailbox.quota_bytes"), std::string::npos);
}

TEST(Config, AuthThrottle) {
  auto defaults = parse_config("", "defaults");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->auth_throttle.failures_max, 10U);
  EXPECT_EQ(defaults->auth_throttle.failure_window, std::chrono::minutes(10));
  EXPECT_EQ(defaults->auth_throttle.lockout, std::chrono::minutes(10));
  EXPECT_EQ(defaults->auth_throttle.failure_delay_max, std::chrono::seconds(30));
  auto config = parse_config(R"(
[auth]
failures_max = 5
failure_window = "1h"
lockout = "30m"
failure_delay_max = "10s"
entries_max = 1000
)",
                             "auth");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->auth_throttle.failures_max, 5U);
  EXPECT_EQ(config->auth_throttle.failure_window, std::chrono::hours(1));
  EXPECT_EQ(config->auth_throttle.lockout, std::chrono::minutes(30));
  EXPECT_EQ(config->auth_throttle.failure_delay_max, std::chrono::seconds(10));
  EXPECT_EQ(config->auth_throttle.entries_max, 1000U);
  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[auth]\nfailures_max = 0\n", "auth.failures_max"},
           {"[auth]\nlockout = \"0s\"\n", "auth.lockout"},
           {"[auth]\nlockouts = \"1m\"\n", "unknown key auth.lockouts"},
           {"[log]\nlevel = \"notices\"\n", "debug, info, notice, warning or error"},
       }) {
    auto bad = parse_config(text, "bad");
    ASSERT_FALSE(bad.has_value()) << text;
    EXPECT_NE(bad.error().message().find(want), std::string::npos) << bad.error().message();
  }
  auto notice = parse_config("[log]\nlevel = \"notice\"\n", "notice");
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(notice->log_level, log::Level::notice);
}

TEST(Config, TlsPoliciesAndSubmissionUsers) {
  auto config = parse_config(R"(
[submission]
trusted_networks = ["10.0.0.0/8"]
auth = ["login"]
[[submission.user]]
name = "app"
password_hash = '$y$j9T$abc$def'
[delivery]
tls = "required"
[delivery.tls_policy]
"Example.COM" = "verify"
)",
                             "tls");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->trusted_networks, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(config->auth_mechanisms, std::vector<std::string>{"LOGIN"});
  ASSERT_EQ(config->users.size(), 1U);
  EXPECT_EQ(config->users[0].name, "app");
  EXPECT_EQ(config->tls_policy, "required");
  EXPECT_EQ(config->tls_policies.at("example.com"), "verify");

  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[delivery]\ntls = \"maybe\"\n", "delivery.tls"},
           {"[delivery.tls_policy]\n\"a.example\" = \"sometimes\"\n", "a.example"},
           {"[submission]\nauth = [\"CRAM-MD5\"]\n", "submission.auth"},
           {"[[submission.user]]\nname = \"x\"\npassword_hash = \"plain\"\n", "submission.user[0]"},
           {"[tls]\ncertificate = \"c.pem\"\n", "tls.certificate and tls.key"}}) {
    auto bad = parse_config(text, "bad");
    ASSERT_FALSE(bad.has_value()) << text;
    EXPECT_NE(bad.error().message().find(want), std::string::npos) << bad.error().message();
  }
}

TEST(Config, ApiKeysKeepTheirDigestAsBytes) {
  auto config = parse_config(R"(
[[http.api_key]]
name = "app"
key_sha256 = "00ff10a0000000000000000000000000000000000000000000000000000000fe"
rate = "10/s"
)",
                             "keys");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_EQ(config->api_keys.size(), 1u);
  const auto& key = config->api_keys[0];
  EXPECT_EQ(key.name, "app");
  EXPECT_EQ(key.sha256[0], 0x00);
  EXPECT_EQ(key.sha256[1], 0xff);
  EXPECT_EQ(key.sha256[2], 0x10);
  EXPECT_EQ(key.sha256[3], 0xa0);
  EXPECT_EQ(key.sha256[31], 0xfe);
  for (const char* bad : {"00FF", "zz", ""}) {
    auto refused = parse_config(
        std::string("[[http.api_key]]\nname = \"a\"\nkey_sha256 = \"") + bad + "\"\n", "bad");
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_NE(refused.error().message().find("http.api_key[0]"), std::string::npos);
  }
}

TEST(Config, ErrorsNameTheKey) {
  struct Case {
    const char* text;
    const char* want_in_error;
  };
  const Case cases[] = {
      {"[node]\nhostnme = \"x\"\n", "node.hostnme"},
      {"[spool]\ndurability = \"fast\"\n", "spool.durability"},
      {"[node]\nshards = \"two\"\n", "node.shards"},
      {"[node]\nshards = 100000\n", "node.shards"},
      {"[delivery]\nconnect_timeout = \"5 parsecs\"\n", "delivery.connect_timeout"},
      {"[queue]\nretry_jitter = 2\n", "queue.retry_jitter"},
      {"[nonsense]\n", "nonsense"},
      {"[node\n", "at line"},
      {"[log]\nlevel = \"loud\"\n", "log.level"},
      {"[http]\nadmin_kee = \"k\"\n", "http.admin_kee"},
      {"[queue]\nretry_initial = \"1h\"\nretry_max_delay = \"2s\"\n", "queue.retry_max_delay"},
      {"[dns]\ntries = 0\n", "dns.tries"},
      {"[dkim]\ndomain = \"a\"\n", "[[dkim]]"},
      {"[[dkim]]\ndomain = \"a.example\"\nselector = \"s\"\n", "needs domain, selector and key"},
      {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nrole = \"boss\"\n",
       "dkim[0].role"},
      {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nalgorithm = \"rsa\"\n",
       "dkim[0].algorithm"},
      {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nselecter = \"t\"\n",
       "dkim[0].selecter"},
  };
  for (const auto& c : cases) {
    auto config = parse_config(c.text, "test");
    ASSERT_FALSE(config.has_value()) << c.text;
    EXPECT_NE(config.error().message().find(c.want_in_error), std::string::npos)
        << c.text << " -> " << config.error().message();
  }
}

TEST(Config, DkimKeys) {
  auto config = parse_config(R"([[dkim]]
domain = "example.com"
selector = "rsa1"
key = "keys/rsa.pem"
[[dkim]]
domain = "esp.example"
selector = "ed1"
key = "keys/ed.pem"
algorithm = "ed25519-sha256"
headers = ["from", "subject"]
role = "platform"
)",
                             "test");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_EQ(config->dkim_keys.size(), 2U);
  EXPECT_EQ(config->dkim_keys[0].domain, "example.com");
  EXPECT_EQ(config->dkim_keys[0].role, "author");
  EXPECT_EQ(config->dkim_keys[0].algorithm, "");
  EXPECT_EQ(config->dkim_keys[1].key_path, "keys/ed.pem");
  EXPECT_EQ(config->dkim_keys[1].headers, (std::vector<std::string>{"from", "subject"}));
  EXPECT_EQ(config->dkim_keys[1].role, "platform");
}

TEST(Config, Durations) {
  EXPECT_EQ(*parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*parse_duration("1d"), std::chrono::hours(24));
  EXPECT_EQ(*parse_duration("7"), std::chrono::seconds(7));
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("ms").has_value());
  EXPECT_FALSE(parse_duration("3 weeks").has_value());
}

TEST(Config, SourcesShapingAndTheDeliveryLog) {
  auto config = parse_config(R"(
[log]
delivery_log = "/var/log/outpost/delivery.jsonl"
[metrics]
destinations_max = 20
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
)",
                             "observability");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->delivery_log, "/var/log/outpost/delivery.jsonl");
  EXPECT_EQ(config->metrics_destinations_max, 20u);
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

TEST(Config, BadSourcesAndShapingRulesAreRefused) {
  const auto error = [](const char* text) {
    auto config = parse_config(text, "bad");
    return config ? std::string() : config.error().message();
  };
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

TEST(Config, Cluster) {
  auto alone = parse_config("", "empty");
  ASSERT_TRUE(alone);
  EXPECT_TRUE(alone->cluster_redis.empty());
  EXPECT_EQ(alone->cluster_lease_ttl, std::chrono::seconds(5));
  auto fleet = parse_config(
      "[cluster]\nredis = \"10.0.0.5:6379\"\nnode = \"mta-2\"\nsync_interval = \"200ms\"\n"
      "lease_ttl = \"2s\"\nnodes_expected = 4\n",
      "fleet");
  ASSERT_TRUE(fleet) << fleet.error().message();
  EXPECT_EQ(fleet->cluster_redis, "10.0.0.5:6379");
  EXPECT_EQ(fleet->cluster_node, "mta-2");
  EXPECT_EQ(fleet->cluster_sync_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(fleet->cluster_nodes_expected, 4u);
  const auto error = [](const char* text) {
    auto config = parse_config(text, "bad");
    return config ? std::string() : config.error().message();
  };
  EXPECT_NE(error("[cluster]\nsync_interval = \"1s\"\nlease_ttl = \"1s\"\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error("[cluster]\nnode = \"a b\"\n").find("no spaces"), std::string::npos);
  EXPECT_NE(error("[cluster]\nnodes = 2\n").find("nodes"), std::string::npos);
}

TEST(Config, WarmupSchedulesAndSources) {
  auto config = parse_config(R"(
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
)",
                             "warmup");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->connections_per_source_max, 3u);
  ASSERT_EQ(config->warmups.size(), 1u);
  EXPECT_EQ(config->warmups[0].daily, (std::vector<std::uint64_t>{10, 20, 40}));
  EXPECT_EQ(config->sources[0].warmup, "gentle");
  // 2026-11-20 is day 20,777 of the Unix epoch.
  EXPECT_EQ(config->sources[0].warmup_start_day, 20777);
  EXPECT_EQ(config->sources[1].warmup_start_day, 20788);
  EXPECT_FALSE(config->sources[2].warmup_start_day);
  const auto error = [](const char* text) {
    auto bad = parse_config(text, "bad");
    return bad ? std::string() : bad.error().message();
  };
  const char* source = "[[delivery.source]]\naddress = \"192.0.2.1\"\n";
  EXPECT_NE(error((std::string(source) + "warmup = \"default\"\n").c_str()).find("go together"),
            std::string::npos);
  EXPECT_NE(error((std::string(source) + "warmup = \"x\"\nwarmup_start = 2026-01-01\n").c_str())
                .find("neither"),
            std::string::npos);
  EXPECT_NE(
      error((std::string(source) + "warmup = \"default\"\nwarmup_start = \"2026-02-30\"\n").c_str())
          .find("must be a date"),
      std::string::npos);
  EXPECT_NE(error("[[warmup]]\nname = \"default\"\ndaily = [1]\n").find("taken"),
            std::string::npos);
  EXPECT_NE(error("[[warmup]]\nname = \"a\"\ndaily = [0]\n").find("list of counts"),
            std::string::npos);
}

TEST(Config, TenantsAndTheirBindings) {
  auto config = parse_config(R"(
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
[[submission.user]]
name = "app"
password_hash = '$y$j9T$abc$def'
tenant = "acme"
[[http.api_key]]
name = "api"
key_sha256 = "00ff10a0000000000000000000000000000000000000000000000000000000fe"
tenant = "shop.eu"
)",
                             "tenants");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  ASSERT_EQ(config->tenants.size(), 2U);
  EXPECT_EQ(config->tenants[0].name, "acme");
  EXPECT_EQ(config->tenants[0].messages_per_second, 50);
  EXPECT_EQ(config->tenants[0].messages_per_hour, 100000);
  EXPECT_EQ(config->tenants[0].traffic_class, "bulk");
  EXPECT_EQ(config->tenants[0].source_pool, "marketing");
  EXPECT_EQ(config->tenants[1].traffic_class, "transactional");
  EXPECT_EQ(config->tenants[1].messages_per_second, 0);
  EXPECT_EQ(config->users.at(0).tenant, "acme");
  EXPECT_EQ(config->api_keys.at(0).tenant, "shop.eu");
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
           {"[[tenant]]\nname = \"a\"\nsource_pool = \"x\"\n", "tenant[0].source_pool x"},
           {"[[delivery.source]]\naddress = \"192.0.2.1\"\npool = \"a b\"\n",
            "delivery.source[0].pool"},
           {"[tenant]\nname = \"a\"\n", "[[tenant]]"},
           {"[[submission.user]]\nname = \"x\"\npassword_hash = '$y$a'\ntenant = \"a:b\"\n",
            "submission.user[0].tenant"},
           {"[[mailbox.user]]\nname = \"x\"\npassword_hash = '$y$a'\ntenant = \"a\"\n",
            "mailbox.user[0].tenant"}}) {
    auto bad = parse_config(text, "bad");
    ASSERT_FALSE(bad.has_value()) << text;
    EXPECT_NE(bad.error().message().find(want), std::string::npos) << bad.error().message();
  }
}

TEST(Config, LimitsAndTheirOverrides) {
  using Listener = Config::Listener;
  using namespace std::chrono_literals;
  auto defaults = parse_config("", "empty");
  ASSERT_TRUE(defaults.has_value());
  const engine::ListenerLimits smtp = defaults->listener_limits(Listener::submission);
  EXPECT_EQ(smtp.connections_per_ip, 50u);
  EXPECT_EQ(smtp.command_timeout, Clock::Duration(30s));
  EXPECT_EQ(smtp.write_timeout, Clock::Duration(60s));
  EXPECT_EQ(smtp.session_max, Clock::Duration(1h));
  EXPECT_EQ(smtp.output_buffer_max, 256u * 1024);
  EXPECT_EQ(defaults->listener_limits(Listener::http).connections_per_ip, 50u);
  EXPECT_EQ(defaults->listener_limits(Listener::pop3).connections_per_ip, 20u);
  EXPECT_EQ(defaults->listener_limits(Listener::imap).connections_per_ip, 20u);
  EXPECT_EQ(defaults->listener_limits(Listener::imap).session_max, Clock::Duration(24h));

  auto config = parse_config(R"(
[limits]
connections_per_ip = 10
command_timeout = "5s"
write_timeout = "20s"
session_max = "2h"
output_buffer_max = 65536
[http]
connections_per_ip = 100
session_max = "0"
[imap]
command_timeout = "1m"
[bounce]
write_timeout = "3s"
)",
                             "limits");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  const engine::ListenerLimits submission = config->listener_limits(Listener::submission);
  EXPECT_EQ(submission.connections_per_ip, 10u);
  EXPECT_EQ(submission.command_timeout, Clock::Duration(5s));
  EXPECT_EQ(submission.write_timeout, Clock::Duration(20s));
  EXPECT_EQ(submission.session_max, Clock::Duration(2h));
  EXPECT_EQ(submission.output_buffer_max, 65536u);
  const engine::ListenerLimits http = config->listener_limits(Listener::http);
  EXPECT_EQ(http.connections_per_ip, 100u);
  EXPECT_EQ(http.session_max, Clock::Duration::zero());  // none
  EXPECT_EQ(http.command_timeout, Clock::Duration(5s));
  EXPECT_EQ(config->listener_limits(Listener::imap).command_timeout, Clock::Duration(1min));
  EXPECT_EQ(config->listener_limits(Listener::imap).connections_per_ip, 10u);  // [limits]
  EXPECT_EQ(config->listener_limits(Listener::bounce).write_timeout, Clock::Duration(3s));
  EXPECT_EQ(config->listener_limits(Listener::pop3).write_timeout, Clock::Duration(20s));

  for (const std::string_view bad :
       {"[limits]\nconnections_per_ip = -1\n", "[limits]\nwrite_timeout = \"soon\"\n",
        "[limits]\noutput_buffer_max = 10\n", "[limits]\nsessions_max = \"1h\"\n",
        "[pop3]\ncommand_timeout = \"forever\"\n"}) {
    EXPECT_FALSE(parse_config(bad, "bad").has_value()) << bad;
  }
}

}  // namespace
}  // namespace mta::app
