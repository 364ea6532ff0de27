#include "mailbox/config.h"

namespace mta::mailbox {
namespace {

Result<void> parse_user(config::Table& entry, std::vector<MailboxUser>& out) {
  MailboxUser user;
  CONFIG_TRY(entry.string("name", user.name));
  CONFIG_TRY(entry.string("password_hash", user.password_hash));
  CONFIG_TRY(entry.string("apop_secret", user.apop_secret));
  CONFIG_TRY(entry.no_unknown_keys());
  if (user.name.empty() || !user.password_hash.starts_with("$")) {
    return entry.error("needs a name and a crypt(3) password_hash (outpost passwd)");
  }
  out.push_back(std::move(user));
  return {};
}

}  // namespace

Result<void> parse_bounce(config::Table& section, BounceConfig& out) {
  CONFIG_TRY(section.string("domain", out.domain));
  CONFIG_TRY(section.string("verp_prefix", out.verp_prefix));
  CONFIG_TRY(section.boolean("verp", out.verp));
  CONFIG_TRY(section.string_list("listen", out.listen));
  CONFIG_TRY(section.string("rules", out.rules));
  CONFIG_TRY(section.string("key_file", out.key_file));
  CONFIG_TRY(section.duration("key_grace", out.key_grace));
  CONFIG_TRY(section.integer("messages_per_ip_per_minute", out.messages_per_ip_per_minute, 0,
                             1'000'000'000));
  CONFIG_TRY(section.integer("bytes_per_ip_per_minute", out.bytes_per_ip_per_minute, 0,
                             std::int64_t{1} << 50));
  CONFIG_TRY(engine::parse_limit_overrides(section, out.limits));
  CONFIG_TRY(section.no_unknown_keys());
  if (!out.listen.empty() && out.domain.empty()) {
    return section.error("listen", "needs bounce.domain: the intake takes mail for it only");
  }
  if (out.verp_prefix.empty() || out.verp_prefix.find_first_of("+@= \"\t") != std::string::npos) {
    return section.error("verp_prefix", "must be a non-empty local part without + = @");
  }
  return {};
}

Result<void> parse_mailbox(config::Table& section, MailboxConfig& out) {
  CONFIG_TRY(
      section.each("user", [&](config::Table& entry) { return parse_user(entry, out.users); }));
  CONFIG_TRY(section.duration("auth_failure_delay", out.auth_failure_delay));
  CONFIG_TRY(section.integer("quota_bytes", out.quota_bytes, 0, std::int64_t{1} << 50));
  CONFIG_TRY(section.duration("retention", out.retention));
  return section.no_unknown_keys();
}

Result<void> parse_mail_listen(config::Table& section, MailListenConfig& out) {
  CONFIG_TRY(engine::parse_limit_overrides(section, out.limits));
  CONFIG_TRY(section.string_list("listen", out.listen));
  CONFIG_TRY(section.string_list("tls_listen", out.tls_listen));
  CONFIG_TRY(section.boolean("login_without_tls", out.login_without_tls));
  CONFIG_TRY(section.duration("idle_timeout", out.idle_timeout));
  return section.no_unknown_keys();
}

}  // namespace mta::mailbox
