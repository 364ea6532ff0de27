// The operator's configuration: one TOML file, every key optional (ARCHITECTURE.md
// "Command line and configuration"). Each module declares and parses its own sections
// (<module>/config.h, on base/config_reader.h); this file only composes them and checks what
// spans sections. Parsing is strict: an unknown key or a value of the wrong type is an error
// naming the file, line and key, so a typo never silently falls back to a default.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/auth_throttle.h"
#include "base/config_reader.h"
#include "base/duration.h"
#include "base/result.h"
#include "cluster/config.h"
#include "delivery/config.h"
#include "dkim/config.h"
#include "dns/config.h"
#include "engine/config.h"
#include "engine/limits.h"
#include "injection/config.h"
#include "mailbox/config.h"
#include "metrics/config.h"
#include "queue/config.h"
#include "tls/config.h"

namespace mta::app {

// [node]
struct NodeOptions {
  std::string hostname = "outpost.localhost";
  std::uint32_t shards = 0;  // 0 = one per core
};

// One member per section of the file, declared by the module that uses it. Members are
// qualified with ::mta:: because several share their module's name.
struct Config {
  NodeOptions node;
  ::mta::metrics::LogConfig log;
  ::mta::queue::SpoolConfig spool;
  ::mta::queue::QueueConfig queue;
  ::mta::injection::SubmissionConfig submission;
  ::mta::tls::ServerTlsConfig tls;
  ::mta::injection::HttpConfig http;
  ::mta::mailbox::BounceConfig bounce;
  ::mta::mailbox::MailboxConfig mailbox;
  // [auth] failed logins on submission, IMAP and POP3, counted per client address and per
  // account for the whole node (base/auth_throttle.h).
  AuthThrottleOptions auth;
  ::mta::mailbox::MailListenConfig imap;
  ::mta::mailbox::MailListenConfig pop3{.idle_timeout = std::chrono::minutes(10)};
  // [limits]: what every listener allows one client, each key overridable in a listener's own
  // section (its `limits` member).
  ::mta::engine::LimitOverrides limits;
  ::mta::metrics::MetricsConfig metrics;
  ::mta::cluster::FleetOptions cluster;
  ::mta::dns::DnsConfig dns;
  // [delivery], [[delivery.source]], [[warmup]], [[shaping]], [[tenant]]
  ::mta::delivery::DeliveryConfig delivery;
  std::vector<::mta::dkim::SigningKeyConfig> dkim;  // [[dkim]]

  // Sections the design names whose features have not landed yet: accepted, reported.
  std::vector<std::string> ignored_sections;

  // Where each key was in the file, so the checks made after parsing (check_settings in
  // app/daemon/settings.cc: addresses, key and certificate files, rules files) name its line.
  config::Locations locations;

  enum class Listener { submission, http, bounce, imap, pop3 };
  // A listener's limits: its section's value, else [limits]', else the listener's default.
  // Defaults: 50 connections per IP for SMTP and HTTP, 20 for IMAP and POP3; command_timeout
  // 30s; write_timeout 60s; session_max 1h (IMAP 24h); output_buffer_max 256 KiB.
  ::mta::engine::ListenerLimits listener_limits(Listener listener) const;
};

using config::read_file;  // base/config_reader.h: the whole of a file (config, rule files)

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);
Result<Config> load_config(const std::string& path);

// The exit code of a configuration that `outpost run` refuses and `run --check-config`
// reports (and of a command line either refuses): stable, for scripts.
inline constexpr int exit_config_error = 2;

// Prints a configuration error for the operator: "outpost: FILE:LINE: KEY: problem" on
// stderr. An error with no detail was logged where it happened and prints nothing more.
void report_config_error(const Error& error);

using mta::parse_duration;  // base/duration.h: "250ms", "30s", "5m", "2h", "1d"

}  // namespace mta::app
