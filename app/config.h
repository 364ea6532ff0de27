// The operator's configuration: one TOML file, every key optional (ARCHITECTURE.md
// "Command line and configuration"). Parsing is strict: an unknown key or a value of the
// wrong type is an error naming the key, so a typo never silently falls back to a default.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/auth_throttle.h"
#include "base/clock.h"
#include "base/duration.h"
#include "base/log.h"
#include "base/result.h"
#include "engine/address.h"
#include "engine/limits.h"
#include "injection/rate_limit.h"

namespace mta::app {

struct Config {
  // [node]
  std::string hostname = "outpost.localhost";
  std::uint32_t shards = 0;  // 0 = one per core
  // [log]
  log::Level log_level = log::Level::info;
  // The JSON-lines delivery log: one line per recipient outcome; empty = none. Reopened on
  // SIGHUP (logrotate's postrotate, or `systemctl reload`).
  std::string delivery_log;
  // [spool]
  std::string spool_path = "var/spool";
  bool spool_sync = true;                // durability = "sync" | "none"
  bool spool_sync_dispositions = false;  // fsync delivery outcomes too (see queue/store.h)
  Clock::Duration commit_window = Clock::Duration::zero();
  std::uint32_t commit_batch_messages_max = 256;
  // [submission]
  std::vector<std::string> submission_listen = {"127.0.0.1:2525"};
  std::uint64_t message_bytes_max = 50ULL * 1024 * 1024;
  std::uint32_t recipients_max = 1000;
  Clock::Duration session_idle_timeout = std::chrono::minutes(5);
  bool submission_starttls = true;  // offer STARTTLS on `listen`
  // Relaying: clients from trusted_networks as they are, others after AUTH as one of `users`.
  std::vector<std::string> trusted_networks = {"127.0.0.0/8", "::1/128"};
  std::vector<std::string> auth_mechanisms = {"PLAIN", "LOGIN"};
  bool auth_without_tls = false;
  struct User {
    std::string name;
    std::string password_hash;  // crypt(3): "$y$..." from `outpost passwd`
    std::string apop_secret;    // [[mailbox.user]] only: the shared secret POP3 APOP needs
    std::string tenant;  // [[submission.user]] only: its messages are this tenant's ("" = any)
  };
  std::vector<User> users;
  std::vector<std::string> submission_tls_listen;  // implicit TLS (port 465 style)
  // Messages per client address, and per authenticated user, for the whole node: "100/s";
  // unlimited when empty. Over it, MAIL gets 451 4.7.1.
  injection::Rate rate_per_ip;
  injection::Rate rate_per_user;
  // [tls] the server certificate of every TLS listener; both empty = a self-signed one for
  // node.hostname, made at first start in <spool.path>/tls/
  std::string tls_certificate;
  std::string tls_key;
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
  // [http] the admin API (and later HTTP injection and /metrics); empty = no HTTP listener
  std::vector<std::string> http_listen = {"127.0.0.1:8025"};
  std::string admin_key;  // empty: the admin API serves loopback clients only
  std::uint64_t http_body_bytes_max = 64ULL * 1024 * 1024;  // a request body; more is 413
  // [[http.api_key]]: bearer keys of the injection API (/v1/); none = loopback clients only
  struct ApiKey {
    std::string name;
    std::array<std::uint8_t, 32> sha256{};  // key_sha256 (hex, from `outpost passwd --api-key`)
    injection::Rate rate;                   // messages for the whole node; unlimited by default
    std::string tenant;  // its messages are this tenant's and may name no other ("" = any)
  };
  std::vector<ApiKey> api_keys;
  // [bounce] where bounces come back: with a domain, every recipient gets a VERP return path
  // <verp_prefix>+<id>+<tag>+<local>=<domain>@<bounce.domain>
  std::string bounce_domain;
  std::string verp_prefix = "bounce";
  bool verp = true;
  // Inbound SMTP for asynchronous bounces and complaints (mail for bounce.domain only), on the
  // mailbox shard; empty = none.
  std::vector<std::string> bounce_listen;
  std::string bounce_rules;  // a classification rules file; empty = the built-in rules
  // Bounce keys (queue/bounce_keys.h, issue 21): the file of HMAC keys that tag VERP return
  // paths and X-Outpost-Ref ("" = <spool.path>/bounce-keys, made at first start, mode 0600),
  // and how long a key still verifies after it stopped signing, beyond queue.max_age.
  std::string bounce_key_file;
  Clock::Duration bounce_key_grace = std::chrono::hours(24 * 30);
  // [mailbox] who may read the bounce mailbox over IMAP and POP3 ([[mailbox.user]]); they all
  // see the same mailbox.
  std::vector<User> mailbox_users;
  Clock::Duration mailbox_auth_failure_delay = std::chrono::seconds(2);
  // What the bounce intake takes and keeps (issue 21). [bounce]: per client address (IPv6: per
  // /64) for the whole node, messages (MAIL commands) and message octets a minute; over
  // either, MAIL gets 450 4.7.1. 0 = unlimited. [mailbox]: the octets of all stored messages
  // and how long one is kept; past either the oldest are expired first. 0 = none.
  std::uint64_t bounce_messages_per_ip_per_minute = 300;
  std::uint64_t bounce_bytes_per_ip_per_minute = 32ULL * 1024 * 1024;
  std::uint64_t mailbox_quota_bytes = 1024ULL * 1024 * 1024;
  Clock::Duration mailbox_retention = std::chrono::hours(24 * 30);
  // [auth] failed logins on submission, IMAP and POP3, counted per client address and per
  // account for the whole node (base/auth_throttle.h): failures_max, failure_window, lockout,
  // failure_delay_max, entries_max.
  AuthThrottleOptions auth_throttle;
  // [imap] and [pop3]: plaintext listeners offer STARTTLS/STLS; tls_listen is implicit TLS
  // (993/995 style). Passwords travel only inside TLS unless login_without_tls.
  struct MailboxListen {
    std::vector<std::string> listen;
    std::vector<std::string> tls_listen;
    bool login_without_tls = false;
    Clock::Duration idle_timeout = std::chrono::minutes(30);
  };
  MailboxListen imap;
  MailboxListen pop3{.idle_timeout = std::chrono::minutes(10)};
  // [limits]: what every listener allows one client (engine/limits.h), each key overridable in
  // a listener's own section ([submission], [http], [bounce], [imap], [pop3]). Unset: the
  // section's value, else [limits]', else the listener's default (listener_limits()).
  struct Limits {
    std::optional<std::uint64_t> connections_per_ip;  // 0 = no cap
    std::optional<Clock::Duration> command_timeout;   // 0 = none
    std::optional<Clock::Duration> write_timeout;     // 0 = none
    std::optional<Clock::Duration> session_max;       // 0 = none
    std::optional<std::uint64_t> output_buffer_max;
  };
  enum class Listener { submission, http, bounce, imap, pop3 };
  Limits limits;  // [limits]
  std::map<Listener, Limits> listener_limit_overrides;
  // Defaults: 50 connections per IP for SMTP and HTTP, 20 for IMAP and POP3; command_timeout
  // 30s; write_timeout 60s; session_max 1h (IMAP 24h); output_buffer_max 256 KiB.
  engine::ListenerLimits listener_limits(Listener listener) const;
  // [metrics] GET /metrics (Prometheus text format); empty = served on the [http] listeners
  std::vector<std::string> metrics_listen;
  std::uint32_t metrics_destinations_max = 50;  // destination label values with own series
  // [dns] MX resolution when delivery.relay is empty
  std::vector<std::string> dns_servers;                   // "IP[:PORT]"; empty = /etc/resolv.conf
  Clock::Duration dns_timeout = std::chrono::seconds(2);  // per try, doubled each round
  std::uint32_t dns_tries = 2;
  bool dns_prefer_ipv6 = false;
  Clock::Duration dns_ttl_floor = std::chrono::seconds(30);
  Clock::Duration dns_ttl_ceiling = std::chrono::hours(24);
  Clock::Duration dns_negative_ttl = std::chrono::minutes(5);  // NXDOMAIN/NODATA without an SOA
  // [delivery]
  std::string relay;  // "host:port"; empty = MX delivery (not built yet)
  std::uint16_t remote_port = 25;
  std::uint32_t connections_max = 8;
  std::uint32_t messages_per_connection_max = 1000;
  std::uint32_t recipients_per_message_max = 100;  // RFC 5321 4.5.3.1.8: what every server takes
  std::uint32_t connections_per_source_max = 0;    // to one destination from one source; 0: none
  Clock::Duration connect_timeout = std::chrono::seconds(30);
  Clock::Duration reply_timeout = std::chrono::minutes(5);
  Clock::Duration connection_idle_timeout = std::chrono::seconds(10);
  Clock::Duration reconnect_delay = std::chrono::seconds(1);
  // Outbound TLS: "none" | "opportunistic" | "required" | "verify", per recipient domain in
  // tls_policy (domain -> policy), else `tls`. verify checks the chain against tls_ca_file (or
  // the system store) and the MX host name.
  std::string tls_policy = "opportunistic";
  std::map<std::string, std::string> tls_policies;
  // [[delivery.source]]: local addresses outbound connections go out from, each with its EHLO
  // name, weighted; none = the kernel's choice of address, node.hostname.
  struct Source {
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
  std::vector<Source> sources;
  // [[warmup]]: daily caps of a source by the day of its warm-up, named for
  // [[delivery.source]] warmup; "default" is built in (delivery::WarmupSchedule::standard()).
  struct Warmup {
    std::string name;
    std::vector<std::uint64_t> daily;
  };
  std::vector<Warmup> warmups;
  // [[shaping]]: limits for a recipient domain or for every destination with an MX host
  // ending in mx_suffix; the smallest that applies wins. Unset values: no limit from this rule.
  struct ShapingRule {
    std::string domain;
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
  std::vector<ShapingRule> shaping;
  // [[tenant]]: senders sharing the node (X-Outpost-Tenant, the API's "tenant", or the tenant
  // a user or API key is bound to). Delivery takes tenants in turn; a capped tenant waits
  // (never bounces) while others go. Tenants not listed are served too, without a cap.
  struct Tenant {
    std::string name;
    double messages_per_second = 0;  // 0: no cap; for the whole node, split across shards
    double messages_per_hour = 0;
    std::string traffic_class = "transactional";  // its messages' class when they name none
    std::string source_pool;  // its messages' pool when they name none: a source's pool
  };
  std::vector<Tenant> tenants;
  // [delivery] response_rules: replies that suspend or throttle a destination
  // (delivery/response_rules.h); empty = the built-in rules.
  std::string response_rules;
  std::string tls_ca_file;
  // [cluster] fleet mode: each destination's connections and rates shared with the other nodes
  // through one Redis server (cluster/fleet.h); empty redis = this node alone.
  std::string cluster_redis;  // "host:port"
  std::string cluster_node;   // unique in the fleet; empty = this machine's name (gethostname)
  std::string cluster_prefix = "outpost";
  Clock::Duration cluster_sync_interval = std::chrono::milliseconds(500);
  Clock::Duration cluster_lease_ttl = std::chrono::seconds(5);
  Clock::Duration cluster_timeout = std::chrono::milliseconds(250);
  std::uint32_t cluster_nodes_expected = 1;  // the fleet's size until Redis has answered
  // [queue] retry schedule: initial * multiplier^(attempt-1), capped, with ± jitter, until
  // max_age after acceptance; then the recipient bounces.
  Clock::Duration retry_initial = std::chrono::minutes(1);
  double retry_multiplier = 2.0;
  Clock::Duration retry_max_delay = std::chrono::hours(4);
  double retry_jitter = 0.2;
  Clock::Duration max_age = std::chrono::hours(72);
  // How long a delivered or bounced part's final state stays readable (GET /v1/messages/{id}).
  Clock::Duration history_retention = std::chrono::hours(24 * 7);
  Clock::Duration drain_timeout = std::chrono::seconds(30);

  // [[dkim]] signing keys; `role` picks how a key is used (see deploy/outpost.toml)
  struct DkimKey {
    std::string domain;
    std::string selector;
    std::string key_path;
    std::string algorithm;             // "" = the key's own; else checked against it
    std::vector<std::string> headers;  // empty = the default list
    std::string role = "author";       // "author" | "fallback" | "platform"
  };
  std::vector<DkimKey> dkim_keys;

  // Sections the design names whose features have not landed yet: accepted, reported.
  std::vector<std::string> ignored_sections;
};

// The whole of a file (config, rule files); fails with no_such_file_or_directory.
Result<std::string> read_file(const std::string& path);

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);
Result<Config> load_config(const std::string& path);

using mta::parse_duration;  // base/duration.h: "250ms", "30s", "5m", "2h", "1d"

}  // namespace mta::app
