// The delivery sections, converted once at start into a shard's delivery options.
#include "delivery/settings.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "base/config_reader.h"
#include "base/log.h"

namespace mta::delivery {
namespace {

std::string trimmed(std::string text) {
  text.erase(0, text.find_first_not_of(' '));
  text.erase(text.find_last_not_of(' ') + 1);
  return text;
}

// The warm-up budget of a source that has one, and the words the start-up line adds for it.
std::shared_ptr<SourceBudget> warmup_budget(const DeliveryConfig& config,
                                            const SourceConfig& source, std::string& words) {
  if (!source.warmup_start_day) return nullptr;
  WarmupSchedule schedule = WarmupSchedule::standard();
  for (const auto& custom : config.warmups) {
    if (custom.name == source.warmup) schedule = {.name = custom.name, .daily = custom.daily};
  }
  auto budget = std::make_shared<SourceBudget>(schedule, *source.warmup_start_day);
  const auto now = std::chrono::system_clock::now();
  const auto cap = budget->cap(now);
  words = ", warm-up \"" + schedule.name + "\" day " +
          std::to_string(utc_day(now) - *source.warmup_start_day + 1) +
          (cap ? ": " + std::to_string(*cap) + " messages today" : ": warm");
  return budget;
}

DestinationOptions destination_options(const DeliveryConfig& config, const OtherSections& others) {
  return DestinationOptions{
      .tls = parse_tls_policy(config.tls_policy).value_or(TlsPolicy::opportunistic),
      .tls_handshake_timeout = others.tls.handshake_timeout,
      .helo_name = others.hostname,
      .limits = {.connections_max = config.connections_max,
                 .messages_per_connection_max = config.messages_per_connection_max,
                 .recipients_per_message_max = config.recipients_per_message_max,
                 .connections_per_source_max = config.connections_per_source_max > 0
                                                   ? config.connections_per_source_max
                                                   : Limits::unlimited},
      .connect_timeout = config.connect_timeout,
      .reply_timeout = config.reply_timeout,
      .idle_timeout = config.idle_timeout,
      .reconnect_delay = config.reconnect_delay,
      .retry = others.queue.retry};
}

// The shard-independent options: every field that comes from a section.
ShardDeliveryOptions section_options(const DeliveryConfig& config, const OtherSections& others) {
  ShardDeliveryOptions options{
      .destination = destination_options(config, others),
      .bounce = {.hostname = others.hostname, .max_age = others.queue.retry.max_age},
      .links = {.remote_port = config.remote_port},
      .tls_policies = {},
      .shaping = load_shaping(config.shaping),
      .fleet_nodes_expected = others.cluster.nodes_expected,
      .tenants = load_tenant_limits(config.tenants)};
  for (const auto& [domain, policy] : config.tls_policies) {
    options.tls_policies[domain] = parse_tls_policy(policy).value_or(options.destination.tls);
  }
  return options;
}

void log_mx_delivery(const dns::DnsConfig& dns) {
  std::string servers;
  for (const auto& s : dns.resolver.servers) servers += (servers.empty() ? "" : ", ") + s;
  log::info("delivery by MX records; DNS servers: " +
            (dns.resolver.servers.empty() ? std::string("/etc/resolv.conf") : servers));
}

}  // namespace

std::optional<std::vector<engine::SocketAddress>> parse_relay(const std::string& relay) {
  std::vector<engine::SocketAddress> addresses;
  for (std::size_t at = 0; at < relay.size();) {
    std::size_t comma = relay.find(',', at);
    if (comma == std::string::npos) comma = relay.size();
    const std::string item = trimmed(relay.substr(at, comma - at));
    at = comma + 1;
    auto parsed = engine::SocketAddress::parse(item);
    if (!parsed) {
      log::error("delivery.relay \"" + item + "\" is not a numeric host:port");
      return std::nullopt;
    }
    addresses.push_back(*parsed);
  }
  return addresses;
}

std::vector<Source> load_sources(const DeliveryConfig& config, const std::string& hostname) {
  std::vector<Source> sources;
  for (const auto& source : config.sources) {
    std::string warmup;
    auto budget = warmup_budget(config, source, warmup);
    sources.push_back({.address = source.bound,
                       .helo_name = source.ehlo,
                       .weight = source.weight,
                       .pool = source.pool,
                       .budget = std::move(budget)});
    log::info("delivery: sending from " + source.address + " as " +
              (source.ehlo.empty() ? hostname : source.ehlo) + ", weight " +
              std::to_string(source.weight) + warmup);
  }
  return sources;
}

Shaping load_shaping(const std::vector<ShapingRuleConfig>& rules) {
  std::vector<ShapingRule> converted;
  for (const auto& rule : rules) {
    Limits limits;
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
    converted.push_back({.domain = rule.domain, .mx_suffix = rule.mx_suffix, .limits = limits});
  }
  return Shaping(std::move(converted));
}

std::vector<TenantLimits> load_tenant_limits(const std::vector<TenantConfig>& tenants) {
  std::vector<TenantLimits> limits;
  for (const auto& tenant : tenants) {
    limits.push_back({.name = tenant.name,
                      .messages_per_second = tenant.messages_per_second,
                      .messages_per_hour = tenant.messages_per_hour});
  }
  make_shared_rates(limits);  // one bucket per cap for the node
  return limits;
}

DestinationOptions smarthost_options(DestinationOptions base, const SmarthostConfig& smarthost) {
  if (smarthost.hosts.numeric()) {
    base.addresses = smarthost.hosts.addresses();
    base.smarthosts = {};
  } else {
    base.addresses.clear();
    base.smarthosts = smarthost.hosts;
  }
  base.names.clear();
  base.implicit_tls = smarthost.implicit_tls;
  base.auth_user = smarthost.auth.user;
  base.auth_password = smarthost.auth.password;
  base.auth_without_tls = smarthost.auth.insecure;
  return base;
}

namespace {

std::string smarthost_words(const SmarthostConfig& smarthost, TlsPolicy policy) {
  return smarthost.text + (smarthost.implicit_tls ? ", implicit TLS" : "") + ", TLS " +
         std::string(to_string(policy)) +
         (smarthost.auth.user.empty() ? std::string()
                                      : ", AUTH as " + smarthost.auth.user +
                                            (smarthost.auth.insecure ? " (also without TLS)" : ""));
}

}  // namespace

std::vector<RouteOptions> load_routes(const DeliveryConfig& config,
                                      const DestinationOptions& base) {
  std::vector<RouteOptions> routes;
  for (const RouteConfig& route : config.routes) {
    DestinationOptions options = smarthost_options(base, route.relay);
    options.mx = false;
    if (!route.tls_policy.empty()) {
      options.tls = parse_tls_policy(route.tls_policy).value_or(options.tls);
    }
    log::info(
        "delivery: mail for " +
        (route.domain.starts_with('.') ? "subdomains of " + route.domain.substr(1) : route.domain) +
        " goes to " + smarthost_words(route.relay, options.tls));
    routes.push_back(
        {.destination = route_destination(route.domain), .options = std::move(options)});
  }
  return routes;
}

bool DeliverySettings::needs_dns() const {
  if (!relayed()) return true;
  if (!options.destination.smarthosts.hosts.empty()) return true;
  return std::any_of(options.routes.begin(), options.routes.end(), [](const RouteOptions& route) {
    return !route.options.smarthosts.hosts.empty();
  });
}

ShardDeliveryOptions DeliverySettings::shard_options(std::uint32_t shard_count) const {
  ShardDeliveryOptions shard = options;
  shard.links.response_rules = &response_rules;
  shard.shard_count = shard_count;
  return shard;
}

std::optional<DeliverySettings> load_delivery_settings(const DeliveryConfig& config,
                                                       const OtherSections& others) {
  DeliverySettings settings{.options = section_options(config, others)};
  for (const auto& source : config.sources) {
    auto& pools = settings.source_pools;
    if (std::find(pools.begin(), pools.end(), source.pool) == pools.end()) {
      pools.push_back(source.pool);
    }
  }
  SmarthostConfig smarthost = config.smarthost;
  if (smarthost.text != config.relay) {  // set without parse_delivery (tests, tools)
    auto hosts = parse_smarthosts(config.relay);
    if (!hosts) {
      log::error("delivery.relay: " + hosts.error().detail);
      return std::nullopt;
    }
    smarthost.text = config.relay;
    smarthost.hosts = std::move(hosts).value();
    smarthost.implicit_tls = smarthost.implicit_tls || smarthost.hosts.implicit_tls;
  }
  DestinationOptions& destination = settings.options.destination;
  destination.sources = load_sources(config, others.hostname);
  // Routes share the defaults (sources included), with their own smarthost.
  settings.options.routes = load_routes(config, destination);
  destination = smarthost_options(std::move(destination), smarthost);
  std::vector<std::string> patterns;
  for (const RouteConfig& route : config.routes) patterns.push_back(route.domain);
  settings.options.routing = Routing(std::move(patterns), settings.relayed());
  if (!settings.relayed()) {
    log_mx_delivery(others.dns);
  } else if (smarthost.hosts.numeric()) {
    for (const auto& address : destination.addresses) {
      settings.relay_text += (settings.relay_text.empty() ? "" : ", ") + address.to_string();
    }
  } else {
    settings.relay_text = smarthost.text;
  }
  if (settings.relayed()) {
    log::info("delivery: every other domain goes to " +
              smarthost_words(smarthost, destination.tls));
  }
  if (!config.response_rules.empty()) {
    auto text = config::read_file(config.response_rules);
    auto parsed =
        text ? ResponseRules::parse(*text) : Result<ResponseRules>(unexpected(text.error()));
    if (!parsed) {
      log::error("delivery.response_rules " + config.response_rules + ": " +
                 parsed.error().message());
      return std::nullopt;
    }
    settings.response_rules = std::move(parsed).value();
  }
  return settings;
}

}  // namespace mta::delivery
