// A shard's bounce mailbox (on mailbox_shard only): the intake and its SMTP listener, and the
// POP3 and IMAP listeners over the store.
#include "app/daemon/daemon.h"

namespace mta::app {
void Daemon::start_mailbox(engine::Shard& shard, ShardServices& mine) {
  const Config& config = config_;
  mailbox::MailStore& mail = *stores_->mail;
  mine.mail = &mail;
  mailbox::expire_every_minute(shard, mail);
  mine.intake = std::make_unique<mailbox::BounceIntake>(
      mail,
      mailbox::IntakeOptions{.bounce_domain = config.bounce.domain,
                             .verp_prefix = config.bounce.verp_prefix,
                             .rules = settings_->bounce_rules ? &*settings_->bounce_rules : nullptr,
                             .keys = &*stores_->bounce_keys,
                             .recipient_of = mailbox::recipient_in_queue(*stores_->spool)});
  own_dsns_->attach(*mine.intake);
  if (config.bounce.listen.empty()) return;
  // Per client: MAIL is refused (450 4.7.1) over the messages or octets of the last minute; a
  // message's octets count once it is read, stored or not.
  mine.bounce_limits = std::make_unique<mailbox::IntakeLimiter>(
      mailbox::IntakeLimits{.messages_per_minute = config.bounce.messages_per_ip_per_minute,
                            .bytes_per_minute = config.bounce.bytes_per_ip_per_minute});
  mine.bounce_smtp = std::make_unique<mailbox::BounceListener>(
      shard, *mine.bounce_limits,
      mailbox::BounceListenerOptions{
          .listener = {.smtp = submission_smtp_options(config),
                       .idle_timeout = config.submission.idle_timeout,
                       .peer_limits = with_shard_cap(access_->bounce_limits, 10'000),
                       .peer_counts = &access_->bounce_peers,
                       .tls = mine.tls_server.get(),
                       .tls_handshake_timeout = config.tls.handshake_timeout},
          .bounce_domain = config.bounce.domain},
      *mine.intake);
}

namespace {

// One mailbox listener's options: its section ([imap] or [pop3]), its limits and per-address
// counts, the shard's certificate.
mailbox::MailListenerOptions mail_listener_options(const Config& config,
                                                   const mailbox::MailListenConfig& section,
                                                   const engine::ListenerLimits& limits,
                                                   engine::PeerCounts& peers,
                                                   tls::ServerContext* tls) {
  return mailbox::MailListenerOptions{.hostname = config.node.hostname,
                                      .idle_timeout = section.idle_timeout,
                                      .peer_limits = with_shard_cap(limits, 1000),
                                      .peer_counts = &peers,
                                      .tls = tls,
                                      .tls_handshake_timeout = config.tls.handshake_timeout,
                                      .login_without_tls = section.login_without_tls};
}

}  // namespace

void Daemon::start_mail_access(engine::Shard& shard, ShardServices& mine) {
  mailbox::MailStore& mail = *stores_->mail;
  mine.pop3 = std::make_unique<mailbox::Pop3Listener>(
      shard, mail, access_->logins,
      mail_listener_options(config_, config_.pop3, access_->pop3_limits, access_->pop3_peers,
                            mine.tls_server.get()));
  mine.imap = std::make_unique<mailbox::ImapListener>(
      shard, mail, access_->logins,
      mail_listener_options(config_, config_.imap, access_->imap_limits, access_->imap_peers,
                            mine.tls_server.get()),
      config_.submission.message_bytes_max);
}

}  // namespace mta::app
