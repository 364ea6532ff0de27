// The delivery side of the configuration: [delivery] with its [[delivery.source]] addresses and
// [delivery.tls_policy] table, [[warmup]] schedules, [[shaping]] rules and [[tenant]] caps.
// Parsed here through base/config_reader.h, checked against each other (a source's warm-up
// schedule, a tenant's pool); app/ composes the sections.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"
#include "delivery/smarthost.h"
#include "engine/address.h"

namespace mta::delivery {

// [[delivery.source]]: a local address outbound connections go out from, with its EHLO name,
// weighted; none = the kernel's choice of address, node.hostname.
struct SourceConfig {
  std::string address;          // numeric IPv4 or IPv6, no port
  engine::SocketAddress bound;  // the same, port 0, as delivery binds it
  std::string ehlo;             // empty: node.hostname
  std::uint32_t weight = 1;
  std::string pool = "default";  // messages naming a pool go from its sources only
  // Warm-up: the [[warmup]] schedule ("default": the built-in one) and the day it began;
  // none: warm.
  std::string warmup;
  std::optional<std::int64_t> warmup_start_day;  // days since 1970-01-01 (UTC)
};

// [[warmup]]: daily caps of a source by the day of its warm-up, named for [[delivery.source]]
// warmup; "default" is built in (delivery::WarmupSchedule::standard()).
struct WarmupConfig {
  std::string name;
  std::vector<std::uint64_t> daily;
};

// [[shaping]]: limits for a recipient domain or for every destination with an MX host ending
// in mx_suffix; the smallest that applies wins. Unset values: no limit from this rule.
struct ShapingRuleConfig {
  std::string domain;  // lower-cased
  std::string mx_suffix;
  std::int64_t connections_max = 0;  // 0: unset
  std::int64_t messages_per_connection_max = 0;
  std::int64_t recipients_per_message_max = 0;
  std::int64_t connections_per_source_max = 0;
  double messages_per_second = 0;
  double messages_per_hour = 0;
  double messages_per_day = 0;
  double connections_per_minute = 0;
};

// [[tenant]]: senders sharing the node (X-Outpost-Tenant, the API's "tenant", or the tenant a
// user or API key is bound to). Delivery takes tenants in turn; a capped tenant waits (never
// bounces) while others go. Tenants not listed are served too, without a cap.
struct TenantConfig {
  std::string name;
  double messages_per_second = 0;  // 0: no cap; for the whole node, split across shards
  double messages_per_hour = 0;
  std::string traffic_class = "transactional";  // `class`: its messages' class when they name none
  std::string source_pool;  // its messages' pool when they name none: a source's pool
};

// SMTP AUTH toward a smarthost (RFC 4954: PLAIN, else LOGIN, as its EHLO offers). The secret
// comes from exactly one of password, password_env (an environment variable) or
// password_file (its first line; the file must not be readable by every user), read once when
// the configuration is. Only over TLS unless auth_insecure.
struct SmarthostAuthConfig {
  std::string user;  // empty: no AUTH
  std::string password;
  bool insecure = false;
};

// A smarthost with how to reach it: the [delivery] relay, or a [[route]]'s.
struct SmarthostConfig {
  std::string text;  // as written, for the log
  SmarthostList hosts;
  bool implicit_tls = false;  // smtps:// or relay_tls = "implicit"
  SmarthostAuthConfig auth;
};

// [[route]]: mail for `domain` ("corp.example") or its subdomains (".corp.example") goes to
// `relay`, over its own connections, with its own TLS policy and AUTH. The most specific
// route wins; domains no route names go to [delivery] relay, or by MX.
struct RouteConfig {
  std::string domain;      // the pattern, lower-cased
  std::string tls_policy;  // empty: [delivery] tls
  SmarthostConfig relay;
};

struct DeliveryConfig {
  std::string relay;          // the smarthost list as written (smarthost.h); empty = MX delivery
  SmarthostConfig smarthost;  // relay parsed, with relay_tls and the relay_* AUTH keys
  std::vector<RouteConfig> routes;
  std::uint16_t remote_port = 25;
  std::uint32_t connections_max = 8;
  std::uint32_t messages_per_connection_max = 1000;
  std::uint32_t recipients_per_message_max = 100;  // RFC 5321 4.5.3.1.8: what every server takes
  std::uint32_t connections_per_source_max = 0;    // to one destination from one source; 0: none
  Clock::Duration connect_timeout = std::chrono::seconds(30);
  Clock::Duration reply_timeout = std::chrono::minutes(5);
  Clock::Duration idle_timeout = std::chrono::seconds(10);  // an idle pooled connection
  Clock::Duration reconnect_delay = std::chrono::seconds(1);
  Clock::Duration drain_timeout = std::chrono::seconds(30);
  // Outbound TLS: "none" | "opportunistic" | "required" | "verify" (key `tls`), per recipient
  // domain in tls_policies ([delivery.tls_policy], domain -> policy). verify checks the chain
  // against tls_ca_file (or the system store) and the MX host name.
  std::string tls_policy = "opportunistic";
  std::map<std::string, std::string> tls_policies;
  std::string tls_ca_file;
  // Replies that suspend or throttle a destination (delivery/response_rules.h); empty = the
  // built-in rules.
  std::string response_rules;
  std::vector<SourceConfig> sources;
  // The top-level sections that belong to delivery.
  std::vector<WarmupConfig> warmups;
  std::vector<ShapingRuleConfig> shaping;
  std::vector<TenantConfig> tenants;
};

// [delivery] (with [[delivery.source]]), then [[shaping]], [[warmup]], [[tenant]] and
// [[route]].
Result<void> parse_delivery(const config::Document& file, DeliveryConfig& out);

}  // namespace mta::delivery
