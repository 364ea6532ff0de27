// [submission] and [http] of the configuration: the SMTP submission listeners with their
// relaying rules, users and rates, and the HTTP listeners with the admin key and the injection
// API's keys ([[http.api_key]]). Parsed here through base/config_reader.h; app/ composes the
// sections.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"
#include "engine/config.h"
#include "injection/access.h"
#include "injection/rate_limit.h"

namespace mta::injection {

// [[submission.user]]
struct SubmissionUser {
  std::string name;
  std::string password_hash;  // crypt(3): "$y$..." from `outpost passwd`
  std::string tenant;         // its messages are this tenant's ("" = any)
};

// [submission]
struct SubmissionConfig {
  std::vector<std::string> listen = {"127.0.0.1:2525"};
  std::vector<std::string> tls_listen;  // implicit TLS (port 465 style)
  std::uint64_t message_bytes_max = 50ULL * 1024 * 1024;
  std::uint32_t recipients_max = 1000;
  Clock::Duration idle_timeout = std::chrono::minutes(5);
  bool starttls = true;  // offer STARTTLS on `listen`
  // Relaying: clients from trusted_networks as they are, others after AUTH as one of `users`.
  std::vector<std::string> trusted_networks = {"127.0.0.0/8", "::1/128"};
  std::vector<std::string> auth_mechanisms = {"PLAIN", "LOGIN"};  // key `auth`, upper-cased
  bool auth_without_tls = false;
  std::vector<SubmissionUser> users;
  // Messages per client address, and per authenticated user, for the whole node: "100/s";
  // unlimited when empty. Over it, MAIL gets 451 4.7.1.
  Rate rate_per_ip;
  Rate rate_per_user;
  engine::LimitOverrides limits;  // [limits] keys set in [submission]
};

// [[http.api_key]]: a bearer key of the injection API (/v1/)
struct ApiKeyConfig {
  std::string name;
  std::array<std::uint8_t, 32> sha256{};  // key_sha256 (hex, from `outpost passwd --api-key`)
  Rate rate;                              // messages for the whole node; unlimited by default
  std::string tenant;  // its messages are this tenant's and may name no other ("" = any)
};

// [http] the admin API, HTTP injection and /metrics; empty listen = no HTTP listener
struct HttpConfig {
  std::vector<std::string> listen = {"127.0.0.1:8025"};
  std::string admin_key;  // empty: the admin API serves loopback clients only
  std::uint64_t body_bytes_max = 64ULL * 1024 * 1024;  // a request body; more is 413
  std::vector<ApiKeyConfig> api_keys;                  // none = loopback clients only
  engine::LimitOverrides limits;                       // [limits] keys set in [http]
};

Result<void> parse_submission(config::Table& section, SubmissionConfig& out);
Result<void> parse_http(config::Table& section, HttpConfig& out);

// [[submission.user]] as the logins submission checks, each bound to its tenant when it names
// one.
Users load_users(const std::vector<SubmissionUser>& users);

}  // namespace mta::injection
