// The composed configuration: every module's section lands in Config, errors name the file,
// line and key, and the listeners' limits layer. Each section's own keys and errors are tested
// beside its parser (<module>/config_test.cc).
#include "app/config.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace mta::app {
namespace {

TEST(Config, EmptyFileGivesDefaults) {
  auto config = parse_config("", "empty");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->submission.listen, std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_EQ(config->spool.path, "var/spool");
  EXPECT_TRUE(config->spool.sync);
  EXPECT_TRUE(config->delivery.relay.empty());
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
  EXPECT_EQ(config->node.hostname, "mx.example.com");
  EXPECT_EQ(config->node.shards, 2U);
  EXPECT_EQ(config->log.level, log::Level::debug);
  EXPECT_FALSE(config->spool.sync);
  EXPECT_EQ(config->submission.listen.size(), 2U);
  EXPECT_EQ(config->submission.message_bytes_max, 2048U);
  EXPECT_EQ(config->submission.recipients_max, 5U);
  EXPECT_EQ(config->submission.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->delivery.relay, "127.0.0.1:2500");
  EXPECT_EQ(config->delivery.connections_max, 3U);
  EXPECT_EQ(config->queue.retry.initial, std::chrono::milliseconds(250));
  EXPECT_DOUBLE_EQ(config->queue.retry.multiplier, 1.5);
  EXPECT_EQ(config->queue.retry.max_age, std::chrono::hours(1));
  EXPECT_EQ(config->delivery.reconnect_delay, std::chrono::seconds(2));
  EXPECT_EQ(config->metrics.listen, std::vector<std::string>{"127.0.0.1:9100"});
  EXPECT_EQ(config->tls.certificate, "/etc/outpost/cert.pem");
  EXPECT_EQ(config->bounce.domain, "bounces.example.com");
  EXPECT_EQ(config->imap.listen, std::vector<std::string>{"127.0.0.1:1143"});
  EXPECT_TRUE(config->ignored_sections.empty());
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
      {"[node\n", "test:1: TOML syntax error"},
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

TEST(Config, ErrorsGiveTheFileAndLine) {
  auto config =
      parse_config("[node]\nhostname = \"x\"\n\n[log]\nlevle = \"debug\"\n", "outpost.toml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().detail,
            "outpost.toml:5: log.levle: unknown key (did you mean log.level?)");
  auto section = parse_config("[[tenant]]\nname = \"a\"\n[[tenant]]\nname = \"a\"\n", "t.toml");
  ASSERT_FALSE(section.has_value());
  EXPECT_EQ(section.error().detail, "t.toml:4: tenant[1].name: tenant a is configured twice");
  // The lines stay with the config, for the checks made after parsing.
  auto parsed =
      parse_config("[node]\nhostname = \"x\"\n\n[submission]\nlisten = [\"a\"]\n", "o.toml");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->locations.error("submission.listen", "bad").error().detail,
            "o.toml:5: submission.listen: bad");
  auto missing = load_config("/nonexistent/outpost.toml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("cannot read config file"), std::string::npos);
}

TEST(Config, EverySectionReachesItsModule) {
  auto config = parse_config(R"(
[auth]
failures_max = 5
[cluster]
redis = "10.0.0.5:6379"
[dns]
tries = 3
[http]
admin_key = "k"
[[dkim]]
domain = "example.com"
selector = "s"
key = "k.pem"
[[tenant]]
name = "acme"
[[warmup]]
name = "gentle"
daily = [1]
[[shaping]]
domain = "example.net"
[mailbox]
quota_bytes = 5000
[pop3]
idle_timeout = "1m"
[spool]
commit_window = "1ms"
)",
                             "sections");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->auth.failures_max, 5u);
  EXPECT_EQ(config->cluster.redis, "10.0.0.5:6379");
  EXPECT_EQ(config->dns.resolver.tries, 3);
  EXPECT_EQ(config->http.admin_key, "k");
  EXPECT_EQ(config->dkim.at(0).domain, "example.com");
  EXPECT_EQ(config->delivery.tenants.at(0).name, "acme");
  EXPECT_EQ(config->delivery.warmups.at(0).name, "gentle");
  EXPECT_EQ(config->delivery.shaping.at(0).domain, "example.net");
  EXPECT_EQ(config->mailbox.quota_bytes, 5000u);
  EXPECT_EQ(config->pop3.idle_timeout, std::chrono::minutes(1));
  EXPECT_EQ(config->imap.idle_timeout, std::chrono::minutes(30));
  EXPECT_EQ(config->spool.commit_window, std::chrono::milliseconds(1));
}

TEST(Config, TheSampleConfigurationsParse) {
  for (const char* name : {"outpost.toml", "local-relay.toml"}) {
    auto config = load_config(std::string(OUTPOST_SOURCE_DIR) + "/deploy/" + name);
    EXPECT_TRUE(config.has_value()) << name << ": " << config.error().message();
  }
}

// A sample line `key = "<digits><unit>"rest` (unit ms, s, m, h or d): its parts. Written by hand
// rather than with <regex>, which g++ 12 warns about under ASan (-Wmaybe-uninitialized).
struct DurationLine {
  std::string key, digits, unit, rest;
};

std::optional<DurationLine> duration_line(const std::string& line) {
  DurationLine out;
  std::size_t i = 0;
  while (i < line.size() && (std::islower(static_cast<unsigned char>(line[i])) || line[i] == '_'))
    ++i;
  out.key = line.substr(0, i);
  if (out.key.empty() || line.compare(i, 4, " = \"") != 0) return std::nullopt;
  i += 4;
  const std::size_t digits = i;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  out.digits = line.substr(digits, i - digits);
  const std::size_t quote = line.find('"', i);
  if (out.digits.empty() || quote == std::string::npos) return std::nullopt;
  out.unit = line.substr(i, quote - i);
  if (out.unit != "ms" && out.unit != "s" && out.unit != "m" && out.unit != "h" && out.unit != "d")
    return std::nullopt;
  out.rest = line.substr(quote + 1);
  return out;
}

// The name of a `[section]` or `[[section]]` header line; nullopt for any other line.
std::optional<std::string> section_header(const std::string& line) {
  if (!line.starts_with("[")) return std::nullopt;
  const std::size_t begin = line.starts_with("[[") ? 2 : 1;
  const std::size_t end = line.find(']', begin);
  if (end == std::string::npos) return std::nullopt;
  return line.substr(begin, end - begin);
}

// Every duration of the sample configuration takes the "60s" style in any unit and a bare
// number of seconds, and refuses anything else naming its file, line and key: each is read by
// config::Table::duration.
TEST(Config, EveryDurationTakesUnitsAndSeconds) {
  auto text = read_file(std::string(OUTPOST_SOURCE_DIR) + "/deploy/outpost.toml");
  ASSERT_TRUE(text.has_value());
  std::vector<std::string> lines;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const std::map<std::string, long> seconds_per = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  std::string section;
  int found = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (auto name = section_header(lines[i])) section = *name;
    const auto match = duration_line(lines[i]);
    if (!match) continue;
    ++found;
    const std::string key = section + "." + match->key;
    const auto with = [&](const std::string& value) {
      std::vector<std::string> changed = lines;
      changed[i] = match->key + " = " + value + match->rest;
      std::string joined;
      for (const auto& line : changed) joined += line + "\n";
      return parse_config(joined, "sample.toml");
    };
    const long number = std::stol(match->digits);
    if (match->unit != "ms") {  // "500ms" has no other spelling
      const long seconds = number * seconds_per.at(match->unit);
      for (const std::string& value :
           {"\"" + std::to_string(seconds) + "s\"", std::to_string(seconds)}) {
        auto same = with(value);
        EXPECT_TRUE(same.has_value()) << key << " = " << value << ": " << same.error().message();
      }
    }
    auto refused = with("\"60 parsecs\"");
    ASSERT_FALSE(refused.has_value()) << key;
    EXPECT_TRUE(refused.error().detail.starts_with("sample.toml:" + std::to_string(i + 1) + ": " +
                                                   key + ": "))
        << refused.error().detail;
  }
  EXPECT_GE(found, 25);
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
