// TOML configuration through toml++ (Debian's libtomlplusplus-dev). toml++ reports syntax
// errors by exception; they are caught here and turned into a Result, so the rest of the
// program sees no exceptions.
#include "app/config.h"

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "base/ascii.h"
#include "base/duration.h"
#include "engine/address.h"
#include "injection/tags.h"

namespace mta::app {
namespace {

Unexpected<Error> config_error(std::string detail) {
  return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

// Reads one table's keys, remembering which ones were known so the rest can be reported.
class Section {
 public:
  Section(const toml::table* table, std::string name) : table_(table), name_(std::move(name)) {}

  Result<void> string(std::string_view key, std::string& out) {
    if (auto* node = find(key)) {
      auto value = node->value<std::string>();
      if (!value) return config_error(where(key) + " must be a string");
      out = *value;
    }
    return {};
  }
  template <typename Int>
  Result<void> integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    if (auto* node = find(key)) {
      auto value = node->value<std::int64_t>();
      if (!value || *value < min || *value > max) {
        return config_error(where(key) + " must be an integer from " + std::to_string(min) +
                            " to " + std::to_string(max));
      }
      out = static_cast<Int>(*value);
    }
    return {};
  }
  // A calendar date: a TOML date (2026-11-20) or a string of one, as days since 1970-01-01.
  Result<void> date(std::string_view key, std::optional<std::int64_t>& days) {
    const toml::node* node = find(key);
    if (node == nullptr) return {};
    std::optional<toml::date> value = node->value<toml::date>();
    if (!value) {
      if (auto text = node->value<std::string>()) {
        unsigned year = 0, month = 0, day = 0;
        char extra = 0;
        if (std::sscanf(text->c_str(), "%4u-%2u-%2u%c", &year, &month, &day, &extra) == 3) {
          value = toml::date{static_cast<std::uint16_t>(year), static_cast<std::uint8_t>(month),
                             static_cast<std::uint8_t>(day)};
        }
      }
    }
    const std::chrono::year_month_day ymd{std::chrono::year(value ? value->year : 0),
                                          std::chrono::month(value ? value->month : 0),
                                          std::chrono::day(value ? value->day : 0)};
    if (!value || !ymd.ok()) return config_error(where(key) + " must be a date, e.g. 2026-11-20");
    days = std::chrono::sys_days(ymd).time_since_epoch().count();
    return {};
  }
  // A list of positive integers.
  Result<void> counts(std::string_view key, std::vector<std::uint64_t>& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return {};
    const toml::array* list = node->as_array();
    if (list == nullptr) return config_error(where(key) + " must be a list of counts");
    out.clear();
    for (const toml::node& item : *list) {
      auto value = item.value<std::int64_t>();
      if (!value || *value < 1) return config_error(where(key) + " must be a list of counts");
      out.push_back(static_cast<std::uint64_t>(*value));
    }
    return {};
  }
  Result<void> rate(std::string_view key, injection::Rate& out) {
    std::string text;
    if (auto read = string(key, text); !read) return read;
    if (text.empty()) return {};
    auto parsed = injection::parse_rate(text);
    if (!parsed) return config_error(where(key) + ": " + parsed.error().detail);
    out = *parsed;
    return {};
  }
  Result<void> boolean(std::string_view key, bool& out) {
    if (auto* node = find(key)) {
      auto value = node->value<bool>();
      if (!value) return config_error(where(key) + " must be true or false");
      out = *value;
    }
    return {};
  }
  Result<void> number(std::string_view key, double& out, double min, double max) {
    if (auto* node = find(key)) {
      auto value = node->value<double>();  // integers convert too
      if (!value || *value < min || *value > max) {
        return config_error(where(key) + " must be a number from " + std::to_string(min) + " to " +
                            std::to_string(max));
      }
      out = *value;
    }
    return {};
  }
  Result<void> duration(std::string_view key, Clock::Duration& out) {
    if (auto* node = find(key)) {
      std::string text;
      if (auto s = node->value<std::string>()) {
        text = *s;
      } else if (auto i = node->value<std::int64_t>()) {
        text = std::to_string(*i);
      } else {
        return config_error(where(key) + " must be a duration such as \"30s\"");
      }
      auto parsed = parse_duration(text);
      if (!parsed) return config_error(where(key) + ": " + parsed.error().detail);
      out = *parsed;
    }
    return {};
  }
  Result<void> string_list(std::string_view key, std::vector<std::string>& out) {
    if (auto* node = find(key)) {
      if (auto single = node->value<std::string>()) {
        out = {*single};
        return {};
      }
      auto* array = node->as_array();
      if (array == nullptr) return config_error(where(key) + " must be a list of strings");
      out.clear();
      for (auto& item : *array) {
        auto value = item.value<std::string>();
        if (!value) return config_error(where(key) + " must be a list of strings");
        out.push_back(*value);
      }
    }
    return {};
  }
  // A table of string values, keys lower-cased: [section.key] "name" = "value".
  Result<void> string_map(std::string_view key, std::map<std::string, std::string>& out) {
    if (auto* node = find(key)) {
      auto* entries = node->as_table();
      if (entries == nullptr) return config_error(where(key) + " must be a table of strings");
      out.clear();
      for (auto& [name, item] : *entries) {
        auto value = item.value<std::string>();
        if (!value)
          return config_error(where(key) + "." + std::string(name.str()) + " must be a string");
        std::string lower(name.str());
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out[lower] = *value;
      }
    }
    return {};
  }
  // An array (of tables), e.g. [[section.key]]; nullptr when absent or not an array.
  const toml::array* array(std::string_view key) {
    const toml::node* node = find(key);
    return node == nullptr ? nullptr : node->as_array();
  }
  Result<void> no_unknown_keys() const {
    if (table_ == nullptr) return {};
    for (auto& [key, node] : *table_) {
      if (!known_.contains(std::string(key.str()))) {
        return config_error("unknown key " + name_ + "." + std::string(key.str()));
      }
    }
    return {};
  }

 private:
  const toml::node* find(std::string_view key) {
    known_.insert(std::string(key));
    return table_ == nullptr ? nullptr : table_->get(key);
  }
  std::string where(std::string_view key) const { return name_ + "." + std::string(key); }

  const toml::table* table_;
  std::string name_;
  std::set<std::string> known_;
};

#define CONFIG_TRY(expr)                       \
  do {                                         \
    if (auto r = (expr); !r) {                 \
      return unexpected(std::move(r).error()); \
    }                                          \
  } while (false)

// [limits] keys, in [limits] or a listener's section: only the keys present are set.
Result<void> parse_limits(Section& section, Config::Limits& out) {
  constexpr std::uint64_t unset = ~std::uint64_t{0};
  constexpr Clock::Duration unset_duration = Clock::Duration::min();
  std::uint64_t per_ip = unset;
  std::uint64_t output = unset;
  Clock::Duration command = unset_duration;
  Clock::Duration write = unset_duration;
  Clock::Duration session = unset_duration;
  CONFIG_TRY(section.integer("connections_per_ip", per_ip, 0, 1'000'000));
  CONFIG_TRY(section.integer("output_buffer_max", output, 4096, std::int64_t{1} << 30));
  CONFIG_TRY(section.duration("command_timeout", command));
  CONFIG_TRY(section.duration("write_timeout", write));
  CONFIG_TRY(section.duration("session_max", session));
  if (per_ip != unset) out.connections_per_ip = per_ip;
  if (output != unset) out.output_buffer_max = output;
  if (command != unset_duration) out.command_timeout = command;
  if (write != unset_duration) out.write_timeout = write;
  if (session != unset_duration) out.session_max = session;
  return {};
}

// [[<section>.user]] entries: a name and a crypt(3) hash; mailbox users may add an APOP secret.
Result<void> parse_users(Section& section, const std::string& where,
                         std::vector<Config::User>& out) {
  const toml::array* users = section.array("user");
  if (users == nullptr) return {};
  for (std::size_t i = 0; i < users->size(); ++i) {
    const std::string name = where + ".user[" + std::to_string(i) + "]";
    const toml::table* entry = users->get(i)->as_table();
    if (entry == nullptr) return config_error(name + " must be a table: [[" + where + ".user]]");
    Section fields(entry, name);
    Config::User user;
    CONFIG_TRY(fields.string("name", user.name));
    CONFIG_TRY(fields.string("password_hash", user.password_hash));
    if (where == "mailbox") CONFIG_TRY(fields.string("apop_secret", user.apop_secret));
    if (where == "submission") CONFIG_TRY(fields.string("tenant", user.tenant));
    CONFIG_TRY(fields.no_unknown_keys());
    if (user.name.empty() || !user.password_hash.starts_with("$")) {
      return config_error(name + " needs a name and a crypt(3) password_hash (outpost passwd)");
    }
    if (!user.tenant.empty() && !injection::valid_tag(user.tenant)) {
      return config_error(name + ".tenant must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    out.push_back(std::move(user));
  }
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream text;
    text << error.description() << " at " << error.source().begin;
    return config_error(text.str());
  }

  Config config;
  auto table = [&](const char* name) { return root[name].as_table(); };

  Section node(table("node"), "node");
  CONFIG_TRY(node.string("hostname", config.hostname));
  CONFIG_TRY(node.integer("shards", config.shards, 0, 256));
  CONFIG_TRY(node.no_unknown_keys());

  Section log_section(table("log"), "log");
  std::string level = "info";
  CONFIG_TRY(log_section.string("level", level));
  CONFIG_TRY(log_section.string("delivery_log", config.delivery_log));
  if (!log::parse_level(level, config.log_level)) {
    return config_error("log.level must be debug, info, notice, warning or error");
  }
  CONFIG_TRY(log_section.no_unknown_keys());

  Section spool(table("spool"), "spool");
  CONFIG_TRY(spool.string("path", config.spool_path));
  std::string durability = "sync";
  CONFIG_TRY(spool.string("durability", durability));
  if (durability != "sync" && durability != "none") {
    return config_error("spool.durability must be \"sync\" or \"none\"");
  }
  config.spool_sync = durability == "sync";
  CONFIG_TRY(spool.boolean("sync_dispositions", config.spool_sync_dispositions));
  CONFIG_TRY(spool.duration("commit_window", config.commit_window));
  CONFIG_TRY(
      spool.integer("commit_batch_messages_max", config.commit_batch_messages_max, 1, 100'000));
  CONFIG_TRY(spool.no_unknown_keys());

  Section queue_section(table("queue"), "queue");
  CONFIG_TRY(queue_section.duration("retry_initial", config.retry_initial));
  CONFIG_TRY(queue_section.number("retry_multiplier", config.retry_multiplier, 1.0, 100.0));
  CONFIG_TRY(queue_section.duration("retry_max_delay", config.retry_max_delay));
  CONFIG_TRY(queue_section.number("retry_jitter", config.retry_jitter, 0.0, 0.9));
  CONFIG_TRY(queue_section.duration("max_age", config.max_age));
  CONFIG_TRY(queue_section.duration("history_retention", config.history_retention));
  CONFIG_TRY(queue_section.no_unknown_keys());
  if (config.retry_max_delay < config.retry_initial) {
    return config_error("queue.retry_max_delay must not be shorter than queue.retry_initial");
  }

  Section submission(table("submission"), "submission");
  CONFIG_TRY(submission.string_list("listen", config.submission_listen));
  CONFIG_TRY(submission.integer("message_bytes_max", config.message_bytes_max, 1024,
                                std::int64_t{1} << 40));
  CONFIG_TRY(submission.integer("recipients_max", config.recipients_max, 1, 100'000));
  CONFIG_TRY(submission.duration("idle_timeout", config.session_idle_timeout));
  CONFIG_TRY(submission.boolean("starttls", config.submission_starttls));
  CONFIG_TRY(submission.string_list("tls_listen", config.submission_tls_listen));
  CONFIG_TRY(submission.string_list("trusted_networks", config.trusted_networks));
  CONFIG_TRY(submission.string_list("auth", config.auth_mechanisms));
  CONFIG_TRY(submission.boolean("auth_without_tls", config.auth_without_tls));
  CONFIG_TRY(submission.rate("rate_per_ip", config.rate_per_ip));
  CONFIG_TRY(submission.rate("rate_per_user", config.rate_per_user));
  for (auto& mechanism : config.auth_mechanisms) {
    for (char& c : mechanism) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (mechanism != "PLAIN" && mechanism != "LOGIN") {
      return config_error("submission.auth: \"" + mechanism + "\" is not PLAIN or LOGIN");
    }
  }
  CONFIG_TRY(parse_users(submission, "submission", config.users));
  CONFIG_TRY(
      parse_limits(submission, config.listener_limit_overrides[Config::Listener::submission]));
  CONFIG_TRY(submission.no_unknown_keys());

  Section tls(table("tls"), "tls");
  CONFIG_TRY(tls.string("certificate", config.tls_certificate));
  CONFIG_TRY(tls.string("key", config.tls_key));
  CONFIG_TRY(tls.duration("handshake_timeout", config.tls_handshake_timeout));
  CONFIG_TRY(tls.no_unknown_keys());
  if (config.tls_certificate.empty() != config.tls_key.empty()) {
    return config_error("tls.certificate and tls.key go together (both empty: self-signed)");
  }

  Section http(table("http"), "http");
  CONFIG_TRY(http.string_list("listen", config.http_listen));
  CONFIG_TRY(http.string("admin_key", config.admin_key));
  CONFIG_TRY(
      http.integer("body_bytes_max", config.http_body_bytes_max, 1024, std::int64_t{1} << 34));
  if (const toml::array* keys = http.array("api_key")) {
    for (std::size_t i = 0; i < keys->size(); ++i) {
      const std::string name = "http.api_key[" + std::to_string(i) + "]";
      const toml::table* entry = keys->get(i)->as_table();
      if (entry == nullptr) return config_error(name + " must be a table: [[http.api_key]]");
      Section section(entry, name);
      Config::ApiKey key;
      std::string digest;
      CONFIG_TRY(section.string("name", key.name));
      CONFIG_TRY(section.string("key_sha256", digest));
      CONFIG_TRY(section.rate("rate", key.rate));
      CONFIG_TRY(section.string("tenant", key.tenant));
      CONFIG_TRY(section.no_unknown_keys());
      if (!key.tenant.empty() && !injection::valid_tag(key.tenant)) {
        return config_error(name + ".tenant must be 1 to 64 letters, digits, '.', '_' or '-'");
      }
      constexpr std::string_view hex_digits = "0123456789abcdef";
      const bool hex = digest.size() == 2 * key.sha256.size() &&
                       digest.find_first_not_of(hex_digits) == std::string::npos;
      if (key.name.empty() || !hex) {
        return config_error(name +
                            " needs a name and key_sha256, 64 lower-case hex digits "
                            "(outpost passwd --api-key)");
      }
      for (std::size_t b = 0; b < key.sha256.size(); ++b) {
        key.sha256[b] = static_cast<std::uint8_t>(hex_digits.find(digest[2 * b]) * 16 +
                                                  hex_digits.find(digest[2 * b + 1]));
      }
      config.api_keys.push_back(std::move(key));
    }
  }
  CONFIG_TRY(parse_limits(http, config.listener_limit_overrides[Config::Listener::http]));
  CONFIG_TRY(http.no_unknown_keys());

  Section bounce(table("bounce"), "bounce");
  CONFIG_TRY(bounce.string("domain", config.bounce_domain));
  CONFIG_TRY(bounce.string("verp_prefix", config.verp_prefix));
  CONFIG_TRY(bounce.boolean("verp", config.verp));
  CONFIG_TRY(bounce.string_list("listen", config.bounce_listen));
  CONFIG_TRY(bounce.string("rules", config.bounce_rules));
  CONFIG_TRY(bounce.string("key_file", config.bounce_key_file));
  CONFIG_TRY(bounce.duration("key_grace", config.bounce_key_grace));
  CONFIG_TRY(bounce.integer("messages_per_ip_per_minute", config.bounce_messages_per_ip_per_minute,
                            0, 1'000'000'000));
  CONFIG_TRY(bounce.integer("bytes_per_ip_per_minute", config.bounce_bytes_per_ip_per_minute, 0,
                            std::int64_t{1} << 50));
  CONFIG_TRY(parse_limits(bounce, config.listener_limit_overrides[Config::Listener::bounce]));
  CONFIG_TRY(bounce.no_unknown_keys());
  if (!config.bounce_listen.empty() && config.bounce_domain.empty()) {
    return config_error("bounce.listen needs bounce.domain: the intake takes mail for it only");
  }

  Section mailbox(table("mailbox"), "mailbox");
  CONFIG_TRY(parse_users(mailbox, "mailbox", config.mailbox_users));
  CONFIG_TRY(mailbox.duration("auth_failure_delay", config.mailbox_auth_failure_delay));
  CONFIG_TRY(mailbox.integer("quota_bytes", config.mailbox_quota_bytes, 0, std::int64_t{1} << 50));
  CONFIG_TRY(mailbox.duration("retention", config.mailbox_retention));
  CONFIG_TRY(mailbox.no_unknown_keys());
  Section auth(table("auth"), "auth");
  CONFIG_TRY(auth.integer("failures_max", config.auth_throttle.failures_max, 1, 1000));
  CONFIG_TRY(auth.duration("failure_window", config.auth_throttle.failure_window));
  CONFIG_TRY(auth.duration("lockout", config.auth_throttle.lockout));
  CONFIG_TRY(auth.duration("failure_delay_max", config.auth_throttle.failure_delay_max));
  CONFIG_TRY(auth.integer("entries_max", config.auth_throttle.entries_max, 1, 10'000'000));
  CONFIG_TRY(auth.no_unknown_keys());
  if (config.auth_throttle.failure_window <= Clock::Duration::zero() ||
      config.auth_throttle.lockout <= Clock::Duration::zero()) {
    return config_error("auth.failure_window and auth.lockout must be longer than zero");
  }
  for (auto [name, listen] : {std::pair{"imap", &config.imap}, std::pair{"pop3", &config.pop3}}) {
    Section section(table(name), name);
    CONFIG_TRY(
        parse_limits(section, config.listener_limit_overrides[name == std::string_view("imap")
                                                                  ? Config::Listener::imap
                                                                  : Config::Listener::pop3]));
    CONFIG_TRY(section.string_list("listen", listen->listen));
    CONFIG_TRY(section.string_list("tls_listen", listen->tls_listen));
    CONFIG_TRY(section.boolean("login_without_tls", listen->login_without_tls));
    CONFIG_TRY(section.duration("idle_timeout", listen->idle_timeout));
    CONFIG_TRY(section.no_unknown_keys());
  }
  if (config.verp_prefix.empty() ||
      config.verp_prefix.find_first_of("+@= \"\t") != std::string::npos) {
    return config_error("bounce.verp_prefix must be a non-empty local part without + = @");
  }

  Section limits(table("limits"), "limits");
  CONFIG_TRY(parse_limits(limits, config.limits));
  CONFIG_TRY(limits.no_unknown_keys());

  Section metrics(table("metrics"), "metrics");
  CONFIG_TRY(metrics.string_list("listen", config.metrics_listen));
  CONFIG_TRY(metrics.integer("destinations_max", config.metrics_destinations_max, 1, 10'000));
  CONFIG_TRY(metrics.no_unknown_keys());

  Section cluster(table("cluster"), "cluster");
  CONFIG_TRY(cluster.string("redis", config.cluster_redis));
  CONFIG_TRY(cluster.string("node", config.cluster_node));
  CONFIG_TRY(cluster.string("prefix", config.cluster_prefix));
  CONFIG_TRY(cluster.duration("sync_interval", config.cluster_sync_interval));
  CONFIG_TRY(cluster.duration("lease_ttl", config.cluster_lease_ttl));
  CONFIG_TRY(cluster.duration("timeout", config.cluster_timeout));
  CONFIG_TRY(cluster.integer("nodes_expected", config.cluster_nodes_expected, 1, 10'000));
  CONFIG_TRY(cluster.no_unknown_keys());
  if (config.cluster_sync_interval < std::chrono::milliseconds(50) ||
      config.cluster_lease_ttl < 2 * config.cluster_sync_interval) {
    return config_error(
        "cluster.sync_interval must be at least 50ms and cluster.lease_ttl at least twice it");
  }
  if (config.cluster_prefix.empty() || config.cluster_node.find(' ') != std::string::npos) {
    return config_error("cluster.prefix must not be empty, cluster.node must have no spaces");
  }

  Section dns(table("dns"), "dns");
  CONFIG_TRY(dns.string_list("servers", config.dns_servers));
  CONFIG_TRY(dns.duration("timeout", config.dns_timeout));
  CONFIG_TRY(dns.integer("tries", config.dns_tries, 1, 10));
  CONFIG_TRY(dns.boolean("prefer_ipv6", config.dns_prefer_ipv6));
  CONFIG_TRY(dns.duration("ttl_floor", config.dns_ttl_floor));
  CONFIG_TRY(dns.duration("ttl_ceiling", config.dns_ttl_ceiling));
  CONFIG_TRY(dns.duration("negative_ttl", config.dns_negative_ttl));
  CONFIG_TRY(dns.no_unknown_keys());

  Section delivery(table("delivery"), "delivery");
  CONFIG_TRY(delivery.string("relay", config.relay));
  CONFIG_TRY(delivery.integer("remote_port", config.remote_port, 1, 65535));
  CONFIG_TRY(delivery.integer("connections_max", config.connections_max, 1, 10'000));
  CONFIG_TRY(delivery.integer("messages_per_connection_max", config.messages_per_connection_max, 1,
                              1'000'000));
  CONFIG_TRY(delivery.integer("recipients_per_message_max", config.recipients_per_message_max, 1,
                              100'000));
  CONFIG_TRY(delivery.integer("connections_per_source_max", config.connections_per_source_max, 0,
                              100'000));
  CONFIG_TRY(delivery.duration("connect_timeout", config.connect_timeout));
  CONFIG_TRY(delivery.duration("reply_timeout", config.reply_timeout));
  CONFIG_TRY(delivery.duration("idle_timeout", config.connection_idle_timeout));
  CONFIG_TRY(delivery.duration("reconnect_delay", config.reconnect_delay));
  CONFIG_TRY(delivery.duration("drain_timeout", config.drain_timeout));
  CONFIG_TRY(delivery.string("tls", config.tls_policy));
  CONFIG_TRY(delivery.string("tls_ca_file", config.tls_ca_file));
  CONFIG_TRY(delivery.string_map("tls_policy", config.tls_policies));
  CONFIG_TRY(delivery.string("response_rules", config.response_rules));
  if (const toml::array* sources = delivery.array("source")) {
    for (std::size_t i = 0; i < sources->size(); ++i) {
      const std::string name = "delivery.source[" + std::to_string(i) + "]";
      const toml::table* entry = sources->get(i)->as_table();
      if (entry == nullptr) return config_error(name + " must be a table: [[delivery.source]]");
      Section fields(entry, name);
      Config::Source source;
      CONFIG_TRY(fields.string("address", source.address));
      CONFIG_TRY(fields.string("ehlo", source.ehlo));
      CONFIG_TRY(fields.integer("weight", source.weight, 0, 1'000'000));
      CONFIG_TRY(fields.string("pool", source.pool));
      CONFIG_TRY(fields.string("warmup", source.warmup));
      CONFIG_TRY(fields.date("warmup_start", source.warmup_start_day));
      CONFIG_TRY(fields.no_unknown_keys());
      if (source.warmup.empty() != !source.warmup_start_day) {
        return config_error(name +
                            ": warmup (a schedule) and warmup_start (the date its warm-up "
                            "began) go together");
      }
      if (!injection::valid_tag(source.pool)) {
        return config_error(name + ".pool must be 1 to 64 letters, digits, '.', '_' or '-'");
      }
      const std::string with_port = source.address.find(':') == std::string::npos
                                        ? source.address + ":0"
                                        : "[" + source.address + "]:0";
      auto bound = engine::SocketAddress::parse(with_port);
      if (!bound) {
        return config_error(name + ".address must be a numeric IPv4 or IPv6 address, no port");
      }
      source.bound = *bound;
      config.sources.push_back(std::move(source));
    }
    std::set<std::string> pools;
    for (const auto& source : config.sources) pools.insert(source.pool);
    if (pools.size() > 127) return config_error("delivery.source: more than 127 pools");
  }
  CONFIG_TRY(delivery.no_unknown_keys());
  auto known_policy = [](const std::string& p) {
    return p == "none" || p == "opportunistic" || p == "required" || p == "verify";
  };
  if (!known_policy(config.tls_policy)) {
    return config_error(
        "delivery.tls must be \"none\", \"opportunistic\", \"required\" or \"verify\"");
  }
  for (const auto& [domain, policy] : config.tls_policies) {
    if (!known_policy(policy)) {
      return config_error("delivery.tls_policy.\"" + domain +
                          "\" must be \"none\", \"opportunistic\", \"required\" or \"verify\"");
    }
  }

  if (const toml::node* shaping = root.get("shaping")) {
    const toml::array* rules = shaping->as_array();
    if (rules == nullptr) return config_error("shaping must be an array of tables: [[shaping]]");
    for (std::size_t i = 0; i < rules->size(); ++i) {
      const std::string name = "shaping[" + std::to_string(i) + "]";
      const toml::table* entry = rules->get(i)->as_table();
      if (entry == nullptr) return config_error(name + " must be a table: [[shaping]]");
      Section fields(entry, name);
      Config::ShapingRule rule;
      CONFIG_TRY(fields.string("domain", rule.domain));
      CONFIG_TRY(fields.string("mx_suffix", rule.mx_suffix));
      CONFIG_TRY(fields.integer("connections_max", rule.connections_max, 1, 100'000));
      CONFIG_TRY(fields.integer("messages_per_connection_max", rule.messages_per_connection_max, 1,
                                1'000'000));
      CONFIG_TRY(fields.integer("recipients_per_message_max", rule.recipients_per_message_max, 1,
                                100'000));
      CONFIG_TRY(fields.integer("connections_per_source_max", rule.connections_per_source_max, 1,
                                100'000));
      constexpr double rate_max = 1e9;
      CONFIG_TRY(fields.number("messages_per_second", rule.messages_per_second, 0, rate_max));
      CONFIG_TRY(fields.number("messages_per_hour", rule.messages_per_hour, 0, rate_max));
      CONFIG_TRY(fields.number("messages_per_day", rule.messages_per_day, 0, rate_max));
      CONFIG_TRY(fields.number("connections_per_minute", rule.connections_per_minute, 0, rate_max));
      CONFIG_TRY(fields.no_unknown_keys());
      if (rule.domain.empty() == rule.mx_suffix.empty()) {
        return config_error(name + " needs exactly one of domain and mx_suffix");
      }
      rule.domain = ascii_lowercase(rule.domain);
      config.shaping.push_back(std::move(rule));
    }
  }

  if (const toml::node* warmups = root.get("warmup")) {
    const toml::array* entries = warmups->as_array();
    if (entries == nullptr) return config_error("warmup must be an array of tables: [[warmup]]");
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const std::string name = "warmup[" + std::to_string(i) + "]";
      const toml::table* entry = entries->get(i)->as_table();
      if (entry == nullptr) return config_error(name + " must be a table: [[warmup]]");
      Section fields(entry, name);
      Config::Warmup warmup;
      CONFIG_TRY(fields.string("name", warmup.name));
      CONFIG_TRY(fields.counts("daily", warmup.daily));
      CONFIG_TRY(fields.no_unknown_keys());
      if (warmup.name.empty() || warmup.daily.empty()) {
        return config_error(name + " needs a name and daily, the cap of each day: [50, 100, ...]");
      }
      const bool taken =
          warmup.name == "default" ||
          std::any_of(config.warmups.begin(), config.warmups.end(),
                      [&](const Config::Warmup& w) { return w.name == warmup.name; });
      if (taken) return config_error(name + ": the name " + warmup.name + " is taken");
      config.warmups.push_back(std::move(warmup));
    }
  }
  for (std::size_t i = 0; i < config.sources.size(); ++i) {
    const std::string& schedule = config.sources[i].warmup;
    if (!schedule.empty() && schedule != "default" &&
        std::none_of(config.warmups.begin(), config.warmups.end(),
                     [&](const Config::Warmup& w) { return w.name == schedule; })) {
      return config_error("delivery.source[" + std::to_string(i) + "].warmup " + schedule +
                          " is neither \"default\" nor a [[warmup]] name");
    }
  }

  if (const toml::node* tenants = root.get("tenant")) {
    const toml::array* entries = tenants->as_array();
    if (entries == nullptr) return config_error("tenant must be an array of tables: [[tenant]]");
    std::set<std::string> names;
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const std::string name = "tenant[" + std::to_string(i) + "]";
      const toml::table* entry = entries->get(i)->as_table();
      if (entry == nullptr) return config_error(name + " must be a table: [[tenant]]");
      Section fields(entry, name);
      Config::Tenant tenant;
      CONFIG_TRY(fields.string("name", tenant.name));
      constexpr double rate_max = 1e9;
      CONFIG_TRY(fields.number("messages_per_second", tenant.messages_per_second, 0, rate_max));
      CONFIG_TRY(fields.number("messages_per_hour", tenant.messages_per_hour, 0, rate_max));
      CONFIG_TRY(fields.string("class", tenant.traffic_class));
      CONFIG_TRY(fields.string("source_pool", tenant.source_pool));
      CONFIG_TRY(fields.no_unknown_keys());
      if (!injection::valid_tag(tenant.name)) {
        return config_error(name + ".name must be 1 to 64 letters, digits, '.', '_' or '-'");
      }
      if (!names.insert(tenant.name).second) {
        return config_error(name + ": tenant " + tenant.name + " is configured twice");
      }
      if (!injection::parse_traffic_class(tenant.traffic_class)) {
        return config_error(name + ".class must be \"transactional\" or \"bulk\"");
      }
      if (!tenant.source_pool.empty() &&
          std::none_of(config.sources.begin(), config.sources.end(),
                       [&](const Config::Source& s) { return s.pool == tenant.source_pool; })) {
        return config_error(name + ".source_pool " + tenant.source_pool +
                            " is the pool of no [[delivery.source]]");
      }
      config.tenants.push_back(std::move(tenant));
    }
  }

  if (const toml::node* dkim = root.get("dkim")) {
    const toml::array* entries = dkim->as_array();
    if (entries == nullptr) return config_error("dkim must be an array of tables: [[dkim]]");
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const toml::table* entry = entries->get(i)->as_table();
      const std::string name = "dkim[" + std::to_string(i) + "]";
      if (entry == nullptr) return config_error(name + " must be a table: [[dkim]]");
      Section section(entry, name);
      Config::DkimKey key;
      CONFIG_TRY(section.string("domain", key.domain));
      CONFIG_TRY(section.string("selector", key.selector));
      CONFIG_TRY(section.string("key", key.key_path));
      CONFIG_TRY(section.string("algorithm", key.algorithm));
      CONFIG_TRY(section.string_list("headers", key.headers));
      CONFIG_TRY(section.string("role", key.role));
      CONFIG_TRY(section.no_unknown_keys());
      if (key.domain.empty() || key.selector.empty() || key.key_path.empty()) {
        return config_error(name + " needs domain, selector and key");
      }
      if (key.algorithm != "" && key.algorithm != "rsa-sha256" &&
          key.algorithm != "ed25519-sha256") {
        return config_error(name + ".algorithm must be \"rsa-sha256\" or \"ed25519-sha256\"");
      }
      if (key.role != "author" && key.role != "fallback" && key.role != "platform") {
        return config_error(name + ".role must be \"author\", \"fallback\" or \"platform\"");
      }
      config.dkim_keys.push_back(std::move(key));
    }
  }

  static const std::set<std::string> known = {
      "node", "log",     "spool",   "submission", "delivery", "queue",   "http",
      "dkim", "dns",     "tls",     "metrics",    "bounce",   "mailbox", "imap",
      "pop3", "shaping", "cluster", "tenant",     "warmup",   "limits",  "auth"};
  static const std::set<std::string> later = {};
  for (auto& [key, value] : root) {
    const std::string name(key.str());
    if (known.contains(name)) {
      if (!value.is_table() && name != "dkim" && name != "shaping" && name != "tenant" &&
          name != "warmup") {
        return config_error("[" + name + "] must be a table");
      }
      continue;
    }
    if (later.contains(name)) {
      config.ignored_sections.push_back(name);
      continue;
    }
    return config_error("unknown section [" + name + "]");
  }
  return config;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    return unexpected(std::make_error_code(std::errc::no_such_file_or_directory), "cannot read");
  }
  return text.str();
}

Result<Config> load_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return unexpected(text.error().code, "cannot read config file " + path);
  return parse_config(*text, path);
}

engine::ListenerLimits Config::listener_limits(Listener listener) const {
  const bool mailbox = listener == Listener::imap || listener == Listener::pop3;
  engine::ListenerLimits out;
  out.connections_per_ip = mailbox ? 20 : 50;
  if (listener == Listener::imap) out.session_max = std::chrono::hours(24);  // IDLE lives long
  const auto found = listener_limit_overrides.find(listener);
  for (const Limits* set :
       {&limits, found == listener_limit_overrides.end() ? nullptr : &found->second}) {
    if (set == nullptr) continue;
    if (set->connections_per_ip) out.connections_per_ip = *set->connections_per_ip;
    if (set->command_timeout) out.command_timeout = *set->command_timeout;
    if (set->write_timeout) out.write_timeout = *set->write_timeout;
    if (set->session_max) out.session_max = *set->session_max;
    if (set->output_buffer_max) out.output_buffer_max = *set->output_buffer_max;
  }
  return out;
}

}  // namespace mta::app
