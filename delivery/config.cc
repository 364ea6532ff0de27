#include "delivery/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "base/ascii.h"
#include "queue/envelope.h"

namespace mta::delivery {
namespace {

constexpr double rate_max = 1e9;
constexpr const char* tag_rule = " must be 1 to 64 letters, digits, '.', '_' or '-'";

bool known_policy(const std::string& p) {
  return p == "none" || p == "opportunistic" || p == "required" || p == "verify";
}

Result<void> parse_source(config::Table& entry, std::vector<SourceConfig>& out) {
  const std::string& name = entry.name();
  SourceConfig source;
  CONFIG_TRY(entry.string("address", source.address));
  CONFIG_TRY(entry.string("ehlo", source.ehlo));
  CONFIG_TRY(entry.integer("weight", source.weight, 0, 1'000'000));
  CONFIG_TRY(entry.string("pool", source.pool));
  CONFIG_TRY(entry.string("warmup", source.warmup));
  CONFIG_TRY(entry.date("warmup_start", source.warmup_start_day));
  CONFIG_TRY(entry.no_unknown_keys());
  if (source.warmup.empty() != !source.warmup_start_day) {
    return entry.error(source.warmup.empty() ? "warmup_start" : "warmup",
                       name +
                           ": warmup (a schedule) and warmup_start (the date its warm-up "
                           "began) go together");
  }
  if (!queue::valid_tag(source.pool)) return entry.error("pool", name + ".pool" + tag_rule);
  const std::string with_port = source.address.find(':') == std::string::npos
                                    ? source.address + ":0"
                                    : "[" + source.address + "]:0";
  auto bound = engine::SocketAddress::parse(with_port);
  if (!bound) {
    return entry.error("address",
                       name + ".address must be a numeric IPv4 or IPv6 address, no port");
  }
  source.bound = *bound;
  out.push_back(std::move(source));
  return {};
}

// The secret of `prefix`password, password_env or password_file (one of them, with
// `prefix`user), read now.
Result<void> parse_auth(config::Table& table, const std::string& prefix, SmarthostAuthConfig& out) {
  std::string env;
  std::string file;
  bool has_password = false;
  CONFIG_TRY(table.string(prefix + "user", out.user));
  std::string inline_password = "\x01";  // unset marker: an empty password is still one
  CONFIG_TRY(table.string(prefix + "password", inline_password));
  CONFIG_TRY(table.string(prefix + "password_env", env));
  CONFIG_TRY(table.string(prefix + "password_file", file));
  CONFIG_TRY(table.boolean(prefix + "auth_insecure", out.insecure));
  const int sources = (inline_password != "\x01") + !env.empty() + !file.empty();
  const std::string name = table.name() + "." + prefix;
  if (sources > 1) {
    return table.error(prefix + "password", "give only one of " + name + "password, " + name +
                                                "password_env and " + name + "password_file");
  }
  has_password = sources == 1;
  if (has_password && out.user.empty()) {
    const std::string given = inline_password != "\x01" ? "password"
                              : !env.empty()            ? "password_env"
                                                        : "password_file";
    return table.error(prefix + given, "needs " + name + "user too (AUTH takes both)");
  }
  if (!has_password && !out.user.empty()) {
    return table.error(prefix + "user", "needs a password too (" + name + "password, " + name +
                                            "password_env or " + name + "password_file)");
  }
  if (inline_password != "\x01") out.password = inline_password;
  if (!env.empty()) {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) {
      return table.error(prefix + "password_env",
                         name + "password_env: the environment variable " + env + " is not set");
    }
    out.password = value;
  }
  if (!file.empty()) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) {
      return table.error(prefix + "password_file",
                         name + "password_file " + file + ": cannot be read");
    }
    if ((info.st_mode & S_IROTH) != 0) {
      return table.error(
          prefix + "password_file",
          name + "password_file " + file + " is readable by every user: chmod o-r it (600 or 640)");
    }
    auto text = config::read_file(file);
    if (!text) {
      return table.error(prefix + "password_file",
                         name + "password_file " + file + ": " + text.error().message());
    }
    std::string secret = text->substr(0, text->find_first_of("\r\n"));
    out.password = std::move(secret);
  }
  return {};
}

// `key` (a smarthost list) with `tls_key` ("starttls" or "implicit") and the AUTH keys.
Result<void> parse_smarthost(config::Table& table, const std::string& key,
                             const std::string& auth_prefix, SmarthostConfig& out) {
  std::string connect = "starttls";
  CONFIG_TRY(table.string(key, out.text));
  CONFIG_TRY(table.string("relay_tls", connect));
  CONFIG_TRY(parse_auth(table, auth_prefix, out.auth));
  auto hosts = parse_smarthosts(out.text);
  if (!hosts) {
    return table.error(key, table.name() + "." + key + ": " + hosts.error().detail);
  }
  out.hosts = std::move(hosts).value();
  if (connect != "starttls" && connect != "implicit") {
    return table.error("relay_tls",
                       table.name() + ".relay_tls must be \"starttls\" or \"implicit\"");
  }
  out.implicit_tls = out.hosts.implicit_tls || connect == "implicit";
  if (out.hosts.hosts.empty() && !out.auth.user.empty()) {
    return table.error(auth_prefix + "user",
                       table.name() + "." + auth_prefix + "user: AUTH needs a " + key);
  }
  return {};
}

Result<void> parse_route(config::Table& entry, DeliveryConfig& out) {
  RouteConfig route;
  CONFIG_TRY(entry.string("domain", route.domain));
  CONFIG_TRY(entry.string("tls", route.tls_policy));
  CONFIG_TRY(parse_smarthost(entry, "relay", "", route.relay));
  CONFIG_TRY(entry.no_unknown_keys());
  const std::string& name = entry.name();
  route.domain = ascii_lowercase(route.domain);
  if (!valid_route_pattern(route.domain)) {
    return entry.error("domain", name +
                                     ".domain must be a domain (\"corp.example\") or a "
                                     "suffix of subdomains (\".corp.example\")");
  }
  if (route.relay.hosts.hosts.empty()) {
    return entry.error(name + " needs relay, the smarthost its domain's mail goes to");
  }
  if (!route.tls_policy.empty() && !known_policy(route.tls_policy)) {
    return entry.error(
        "tls", name + ".tls must be \"none\", \"opportunistic\", \"required\" or \"verify\"");
  }
  if (route.relay.implicit_tls && route.tls_policy == "none") {
    return entry.error("tls", name + ": implicit TLS (smtps://) with tls = \"none\"");
  }
  if (std::any_of(out.routes.begin(), out.routes.end(),
                  [&](const RouteConfig& r) { return r.domain == route.domain; })) {
    return entry.error("domain", name + ": domain " + route.domain + " has a route already");
  }
  out.routes.push_back(std::move(route));
  return {};
}

Result<void> check_tls_policies(config::Table& section, const DeliveryConfig& out) {
  if (!known_policy(out.tls_policy)) {
    return section.error(
        "tls", "delivery.tls must be \"none\", \"opportunistic\", \"required\" or \"verify\"");
  }
  for (const auto& [domain, policy] : out.tls_policies) {
    if (!known_policy(policy)) {
      return section.error(
          "tls_policy", "delivery.tls_policy.\"" + domain +
                            "\" must be \"none\", \"opportunistic\", \"required\" or \"verify\"");
    }
  }
  return {};
}

Result<void> parse_section(config::Table& section, DeliveryConfig& out) {
  CONFIG_TRY(parse_smarthost(section, "relay", "relay_", out.smarthost));
  out.relay = out.smarthost.text;
  CONFIG_TRY(section.integer("remote_port", out.remote_port, 1, 65535));
  CONFIG_TRY(section.integer("connections_max", out.connections_max, 1, 10'000));
  CONFIG_TRY(section.integer("messages_per_connection_max", out.messages_per_connection_max, 1,
                             1'000'000));
  CONFIG_TRY(
      section.integer("recipients_per_message_max", out.recipients_per_message_max, 1, 100'000));
  CONFIG_TRY(
      section.integer("connections_per_source_max", out.connections_per_source_max, 0, 100'000));
  CONFIG_TRY(section.duration("connect_timeout", out.connect_timeout));
  CONFIG_TRY(section.duration("reply_timeout", out.reply_timeout));
  CONFIG_TRY(section.duration("idle_timeout", out.idle_timeout));
  CONFIG_TRY(section.duration("reconnect_delay", out.reconnect_delay));
  CONFIG_TRY(section.duration("drain_timeout", out.drain_timeout));
  CONFIG_TRY(section.string("tls", out.tls_policy));
  CONFIG_TRY(section.string("tls_ca_file", out.tls_ca_file));
  CONFIG_TRY(section.string_map("tls_policy", out.tls_policies));
  CONFIG_TRY(section.string("response_rules", out.response_rules));
  CONFIG_TRY(section.each("source",
                          [&](config::Table& entry) { return parse_source(entry, out.sources); }));
  std::set<std::string> pools;
  for (const auto& source : out.sources) pools.insert(source.pool);
  if (pools.size() > 127) return section.error("source", "delivery.source: more than 127 pools");
  CONFIG_TRY(section.no_unknown_keys());
  if (out.smarthost.implicit_tls && out.tls_policy == "none") {
    return section.error("tls", "delivery: implicit TLS (smtps://) with tls = \"none\"");
  }
  return check_tls_policies(section, out);
}

Result<void> parse_shaping_rule(config::Table& entry, std::vector<ShapingRuleConfig>& out) {
  ShapingRuleConfig rule;
  CONFIG_TRY(entry.string("domain", rule.domain));
  CONFIG_TRY(entry.string("mx_suffix", rule.mx_suffix));
  CONFIG_TRY(entry.integer("connections_max", rule.connections_max, 1, 100'000));
  CONFIG_TRY(
      entry.integer("messages_per_connection_max", rule.messages_per_connection_max, 1, 1'000'000));
  CONFIG_TRY(
      entry.integer("recipients_per_message_max", rule.recipients_per_message_max, 1, 100'000));
  CONFIG_TRY(
      entry.integer("connections_per_source_max", rule.connections_per_source_max, 1, 100'000));
  CONFIG_TRY(entry.number("messages_per_second", rule.messages_per_second, 0, rate_max));
  CONFIG_TRY(entry.number("messages_per_hour", rule.messages_per_hour, 0, rate_max));
  CONFIG_TRY(entry.number("messages_per_day", rule.messages_per_day, 0, rate_max));
  CONFIG_TRY(entry.number("connections_per_minute", rule.connections_per_minute, 0, rate_max));
  CONFIG_TRY(entry.no_unknown_keys());
  if (rule.domain.empty() == rule.mx_suffix.empty()) {
    return entry.error(entry.name() + " needs exactly one of domain and mx_suffix");
  }
  rule.domain = ascii_lowercase(rule.domain);
  out.push_back(std::move(rule));
  return {};
}

Result<void> parse_warmup(config::Table& entry, std::vector<WarmupConfig>& out) {
  WarmupConfig warmup;
  CONFIG_TRY(entry.string("name", warmup.name));
  CONFIG_TRY(entry.counts("daily", warmup.daily));
  CONFIG_TRY(entry.no_unknown_keys());
  if (warmup.name.empty() || warmup.daily.empty()) {
    return entry.error(entry.name() +
                       " needs a name and daily, the cap of each day: [50, 100, ...]");
  }
  const bool taken = warmup.name == "default" ||
                     std::any_of(out.begin(), out.end(),
                                 [&](const WarmupConfig& w) { return w.name == warmup.name; });
  if (taken) {
    return entry.error("name", entry.name() + ": the name " + warmup.name + " is taken");
  }
  out.push_back(std::move(warmup));
  return {};
}

// Each source's warmup names "default" or a [[warmup]]: checked once both are read.
Result<void> check_source_warmups(const config::Document& file, const DeliveryConfig& out) {
  std::size_t i = 0;
  return file.table("delivery").each("source", [&](config::Table& entry) -> Result<void> {
    const std::string& schedule = out.sources.at(i++).warmup;
    if (!schedule.empty() && schedule != "default" &&
        std::none_of(out.warmups.begin(), out.warmups.end(),
                     [&](const WarmupConfig& w) { return w.name == schedule; })) {
      return entry.error("warmup", entry.name() + ".warmup " + schedule +
                                       " is neither \"default\" nor a [[warmup]] name");
    }
    return {};
  });
}

Result<void> parse_tenant(config::Table& entry, DeliveryConfig& out) {
  const std::string& name = entry.name();
  TenantConfig tenant;
  CONFIG_TRY(entry.string("name", tenant.name));
  CONFIG_TRY(entry.number("messages_per_second", tenant.messages_per_second, 0, rate_max));
  CONFIG_TRY(entry.number("messages_per_hour", tenant.messages_per_hour, 0, rate_max));
  CONFIG_TRY(entry.string("class", tenant.traffic_class));
  CONFIG_TRY(entry.string("source_pool", tenant.source_pool));
  CONFIG_TRY(entry.no_unknown_keys());
  if (!queue::valid_tag(tenant.name)) return entry.error("name", name + ".name" + tag_rule);
  if (std::any_of(out.tenants.begin(), out.tenants.end(),
                  [&](const TenantConfig& t) { return t.name == tenant.name; })) {
    return entry.error("name", name + ": tenant " + tenant.name + " is configured twice");
  }
  if (!queue::parse_traffic_class(tenant.traffic_class)) {
    return entry.error("class", name + ".class must be \"transactional\" or \"bulk\"");
  }
  if (!tenant.source_pool.empty() &&
      std::none_of(out.sources.begin(), out.sources.end(),
                   [&](const SourceConfig& s) { return s.pool == tenant.source_pool; })) {
    return entry.error("source_pool", name + ".source_pool " + tenant.source_pool +
                                          " is the pool of no [[delivery.source]]");
  }
  out.tenants.push_back(std::move(tenant));
  return {};
}

}  // namespace

Result<void> parse_delivery(const config::Document& file, DeliveryConfig& out) {
  config::Table section = file.table("delivery");
  CONFIG_TRY(parse_section(section, out));
  CONFIG_TRY(file.each(
      "shaping", [&](config::Table& entry) { return parse_shaping_rule(entry, out.shaping); }));
  CONFIG_TRY(
      file.each("warmup", [&](config::Table& entry) { return parse_warmup(entry, out.warmups); }));
  CONFIG_TRY(check_source_warmups(file, out));
  CONFIG_TRY(file.each("tenant", [&](config::Table& entry) { return parse_tenant(entry, out); }));
  return file.each("route", [&](config::Table& entry) { return parse_route(entry, out); });
}

}  // namespace mta::delivery
