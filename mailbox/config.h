// [bounce], [mailbox], [imap] and [pop3] of the configuration: where bounces come back (VERP,
// the inbound intake and its limits, the bounce keys), the bounce mailbox's users, quota and
// retention, and the IMAP and POP3 listeners that read it. Parsed here through
// base/config_reader.h; app/ composes the sections.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"
#include "engine/config.h"

namespace mta::mailbox {

// [bounce]: with a domain, every recipient gets a VERP return path
// <verp_prefix>+<id>+<tag>+<local>=<domain>@<bounce.domain>
struct BounceConfig {
  std::string domain;
  std::string verp_prefix = "bounce";
  bool verp = true;
  // Inbound SMTP for asynchronous bounces and complaints (mail for `domain` only), on the
  // mailbox shard; empty = none.
  std::vector<std::string> listen;
  std::string rules;  // a classification rules file; empty = the built-in rules
  // Bounce keys (queue/bounce_keys.h): the file of HMAC keys that tag VERP return paths and
  // X-Outpost-Ref ("" = <spool.path>/bounce-keys, made at first start, mode 0600), and how long
  // a key still verifies after it stopped signing, beyond queue.max_age.
  std::string key_file;
  Clock::Duration key_grace = std::chrono::hours(24 * 30);
  // Per client address (IPv6: per /64) for the whole node, messages (MAIL commands) and message
  // octets a minute; over either, MAIL gets 450 4.7.1. 0 = unlimited.
  std::uint64_t messages_per_ip_per_minute = 300;
  std::uint64_t bytes_per_ip_per_minute = 32ULL * 1024 * 1024;
  engine::LimitOverrides limits;  // [limits] keys set in [bounce]
};

// [[mailbox.user]]: who may read the bounce mailbox; they all see the same mailbox.
struct MailboxUser {
  std::string name;
  std::string password_hash;  // crypt(3): "$y$..." from `outpost passwd`
  std::string apop_secret;    // the shared secret POP3 APOP needs
};

// [mailbox]: the octets of all stored messages and how long one is kept; past either the
// oldest are expired first. 0 = none.
struct MailboxConfig {
  std::vector<MailboxUser> users;
  Clock::Duration auth_failure_delay = std::chrono::seconds(2);
  std::uint64_t quota_bytes = 1024ULL * 1024 * 1024;
  Clock::Duration retention = std::chrono::hours(24 * 30);
};

// [imap] and [pop3]: plaintext listeners offer STARTTLS/STLS; tls_listen is implicit TLS
// (993/995 style). Passwords travel only inside TLS unless login_without_tls.
struct MailListenConfig {
  std::vector<std::string> listen;
  std::vector<std::string> tls_listen;
  bool login_without_tls = false;
  Clock::Duration idle_timeout = std::chrono::minutes(30);
  engine::LimitOverrides limits;  // [limits] keys set in [imap] or [pop3]
};

Result<void> parse_bounce(config::Table& section, BounceConfig& out);
Result<void> parse_mailbox(config::Table& section, MailboxConfig& out);
Result<void> parse_mail_listen(config::Table& section, MailListenConfig& out);  // imap, pop3

}  // namespace mta::mailbox
