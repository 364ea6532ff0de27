// Who may connect and log in: listener limits, per-client connection counts, mailbox logins.
#include "app/daemon/daemon.h"
#include "base/log.h"

namespace mta::app {

using LimitsFor = Config::Listener;

Access::Access(const Config& config)
    : submission_limits(config.listener_limits(LimitsFor::submission)),
      http_limits(config.listener_limits(LimitsFor::http)),
      bounce_limits(config.listener_limits(LimitsFor::bounce)),
      imap_limits(config.listener_limits(LimitsFor::imap)),
      pop3_limits(config.listener_limits(LimitsFor::pop3)),
      submission_peers(submission_limits.connections_per_ip),
      http_peers(http_limits.connections_per_ip),
      metrics_peers(http_limits.connections_per_ip),
      bounce_peers(bounce_limits.connections_per_ip),
      imap_peers(imap_limits.connections_per_ip),
      pop3_peers(pop3_limits.connections_per_ip),
      auth_throttle(config.auth) {
  // Mailbox logins: checked like submission's, with an optional APOP secret.
  for (const auto& user : config.mailbox.users) {
    mailbox_users.add(user.name, user.password_hash);
    if (!user.apop_secret.empty()) apop_secrets[user.name] = user.apop_secret;
  }
  const bool mailbox_served = !config.imap.listen.empty() || !config.imap.tls_listen.empty() ||
                              !config.pop3.listen.empty() || !config.pop3.tls_listen.empty();
  if (mailbox_served && config.mailbox.users.empty()) {
    log::warning("[imap]/[pop3] listen, but no [[mailbox.user]]: nobody can log in");
  }
  logins =
      mailbox::Logins{.check_password =
                          [this](const std::string& user, const std::string& password) {
                            return mailbox_users.check_password(user, password);
                          },
                      .apop_secret = [this](const std::string& user) -> std::optional<std::string> {
                        auto found = apop_secrets.find(user);
                        if (found == apop_secrets.end()) return std::nullopt;
                        return found->second;
                      },
                      .failure_delay = config.mailbox.auth_failure_delay,
                      .throttle = &auth_throttle};
}

engine::ListenerLimits with_shard_cap(engine::ListenerLimits limits, std::size_t connections_max) {
  limits.connections_max = connections_max;
  return limits;
}

}  // namespace mta::app
