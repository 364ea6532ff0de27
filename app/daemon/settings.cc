// Phase: what the config says for the data path, checked and converted: TLS policies, trusted
// networks, users and tenants, DKIM keys, the relay, sources, shaping and response rules.
#include <algorithm>
#include <chrono>

#include "app/daemon/daemon.h"
#include "base/log.h"

namespace mta::app {
namespace {

// TLS policies (checked by the config parser already), trusted networks, submission users,
// and [[tenant]]: defaults applied at intake, rate caps at delivery.
bool read_access(const Config& config, Settings& settings) {
  settings.tls_default = delivery::parse_tls_policy(config.delivery.tls_policy)
                             .value_or(delivery::TlsPolicy::opportunistic);
  for (const auto& [domain, policy] : config.delivery.tls_policies) {
    settings.tls_policies[domain] =
        delivery::parse_tls_policy(policy).value_or(settings.tls_default);
  }
  auto trusted = injection::NetworkList::parse(config.submission.trusted_networks);
  if (!trusted) {
    log::error("submission.trusted_networks: " + trusted.error().message());
    return false;
  }
  settings.trusted = std::move(trusted).value();
  for (const auto& user : config.submission.users) {
    settings.users.add(user.name, user.password_hash);
    if (!user.tenant.empty()) settings.users.set_tenant(user.name, user.tenant);
  }
  for (const auto& source : config.delivery.sources) {
    auto& pools = settings.source_pools;
    if (std::find(pools.begin(), pools.end(), source.pool) == pools.end()) {
      pools.push_back(source.pool);
    }
  }
  for (const auto& tenant : config.delivery.tenants) {
    settings.tenant_defaults[tenant.name] = {
        .traffic_class = queue::parse_traffic_class(tenant.traffic_class)
                             .value_or(queue::TrafficClass::transactional),
        .source_pool = tenant.source_pool};
    settings.tenant_limits.push_back({.name = tenant.name,
                                      .messages_per_second = tenant.messages_per_second,
                                      .messages_per_hour = tenant.messages_per_hour});
  }
  delivery::make_shared_rates(settings.tenant_limits);  // one bucket per cap for the node
  return true;
}

bool read_signing(const Config& config, Settings& settings) {
  auto signing = load_signing_keys(config);
  if (!signing) {
    log::error("dkim: " + signing.error().message());
    return false;
  }
  settings.signing = std::move(signing).value();
  if (settings.signing) {
    log::info("dkim: signing with " + std::to_string(settings.signing->signers().size()) + " keys");
  }
  return true;
}

// delivery.relay: one smarthost, or several separated by commas, tried in order.
bool read_relay(const Config& config, Settings& settings) {
  for (std::size_t at = 0; at < config.delivery.relay.size();) {
    std::size_t comma = config.delivery.relay.find(',', at);
    if (comma == std::string::npos) comma = config.delivery.relay.size();
    std::string item = config.delivery.relay.substr(at, comma - at);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    at = comma + 1;
    auto parsed = engine::SocketAddress::parse(item);
    if (!parsed) {
      log::error("delivery.relay \"" + item + "\" is not a numeric host:port");
      return false;
    }
    settings.relay.push_back(*parsed);
    settings.relay_text += (settings.relay_text.empty() ? "" : ", ") + parsed->to_string();
  }
  if (settings.relay.empty()) {
    std::string servers;
    for (const auto& s : config.dns.resolver.servers) servers += (servers.empty() ? "" : ", ") + s;
    log::info("delivery by MX records; DNS servers: " +
              (config.dns.resolver.servers.empty() ? std::string("/etc/resolv.conf") : servers));
  }
  return true;
}

// The [[source]] addresses, with their warm-up budgets.
void read_sources(const Config& config, Settings& settings) {
  for (const auto& source : config.delivery.sources) {
    std::shared_ptr<delivery::SourceBudget> budget;
    std::string warmup;
    if (source.warmup_start_day) {
      delivery::WarmupSchedule schedule = delivery::WarmupSchedule::standard();
      for (const auto& custom : config.delivery.warmups) {
        if (custom.name == source.warmup) schedule = {.name = custom.name, .daily = custom.daily};
      }
      budget = std::make_shared<delivery::SourceBudget>(schedule, *source.warmup_start_day);
      const auto now = std::chrono::system_clock::now();
      const auto cap = budget->cap(now);
      warmup = ", warm-up \"" + schedule.name + "\" day " +
               std::to_string(delivery::utc_day(now) - *source.warmup_start_day + 1) +
               (cap ? ": " + std::to_string(*cap) + " messages today" : ": warm");
    }
    settings.sources.push_back({.address = source.bound,
                                .helo_name = source.ehlo,
                                .weight = source.weight,
                                .pool = source.pool,
                                .budget = std::move(budget)});
    log::info("delivery: sending from " + source.address + " as " +
              (source.ehlo.empty() ? config.node.hostname : source.ehlo) + ", weight " +
              std::to_string(source.weight) + warmup);
  }
}

// [[shaping]] rules, the response rules file, and the retry schedule.
bool read_shaping(const Config& config, Settings& settings) {
  std::vector<delivery::ShapingRule> rules;
  for (const auto& rule : config.delivery.shaping) {
    delivery::Limits limits;
    if (rule.connections_max > 0) limits.connections_max = rule.connections_max;
    if (rule.messages_per_connection_max > 0) {
      limits.messages_per_connection_max = rule.messages_per_connection_max;
    }
    if (rule.recipients_per_message_max > 0) {
      limits.recipients_per_message_max = rule.recipients_per_message_max;
    }
    if (rule.connections_per_source_max > 0) {
      limits.connections_per_source_max = rule.connections_per_source_max;
    }
    limits.messages_per_second = rule.messages_per_second;
    limits.messages_per_hour = rule.messages_per_hour;
    limits.messages_per_day = rule.messages_per_day;
    limits.connections_per_minute = rule.connections_per_minute;
    rules.push_back({.domain = rule.domain, .mx_suffix = rule.mx_suffix, .limits = limits});
  }
  settings.shaping = delivery::Shaping(std::move(rules));
  if (!config.delivery.response_rules.empty()) {
    auto text = read_file(config.delivery.response_rules);
    auto parsed = text ? delivery::ResponseRules::parse(*text)
                       : Result<delivery::ResponseRules>(unexpected(text.error()));
    if (!parsed) {
      log::error("delivery.response_rules " + config.delivery.response_rules + ": " +
                 parsed.error().message());
      return false;
    }
    settings.response_rules = std::move(parsed).value();
  }
  settings.retry = queue::RetryPolicy{.initial = config.queue.retry.initial,
                                      .multiplier = config.queue.retry.multiplier,
                                      .max_delay = config.queue.retry.max_delay,
                                      .jitter = config.queue.retry.jitter,
                                      .max_age = config.queue.retry.max_age};
  return true;
}

}  // namespace

Result<std::optional<dkim::KeyRing>> load_signing_keys(const Config& config) {
  if (config.dkim.empty()) return std::optional<dkim::KeyRing>();
  std::vector<dkim::KeyConfig> keys;
  dkim::KeyRingPolicy policy;
  for (const auto& key : config.dkim) {
    dkim::KeyConfig entry{.domain = key.domain,
                          .selector = key.selector,
                          .key_path = key.key_path,
                          .algorithm = std::nullopt,
                          .headers = key.headers};
    if (!key.algorithm.empty()) {
      auto algorithm = dkim::parse_algorithm(key.algorithm);
      if (!algorithm) return unexpected(algorithm.error());
      entry.algorithm = *algorithm;
    }
    if (key.role == "fallback") policy.fallback_domain = key.domain;
    if (key.role == "platform") policy.platform_domain = key.domain;
    keys.push_back(std::move(entry));
  }
  auto ring = dkim::load_keys(keys, policy);
  if (!ring) return unexpected(ring.error());
  return std::optional<dkim::KeyRing>(std::move(ring).value());
}

bool Daemon::read_settings() {
  settings_ = std::make_unique<Settings>();
  if (!read_access(config_, *settings_) || !read_signing(config_, *settings_) ||
      !read_relay(config_, *settings_)) {
    return false;
  }
  read_sources(config_, *settings_);
  return read_shaping(config_, *settings_);
}

}  // namespace mta::app
