// A shard's bounce mailbox (on mailbox_shard only): the intake and its SMTP listener, and the
// POP3 and IMAP listeners over the store.
#include "app/daemon/daemon.h"

namespace mta::app {
namespace {

// One message for the bounce mailbox, on its shard: the answer the SMTP intake gets. Durable
// when queued.
injection::Injected store_bounce(engine::Shard& shard, mailbox::BounceIntake& intake,
                                 std::string_view mail_from,
                                 const std::vector<std::string>& recipients,
                                 std::string_view body) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(shard.clock().wall_now().time_since_epoch())
          .count();
  mailbox::StoreResult stored = intake.store(mail_from, recipients, body, now);
  using Status = injection::Injected::Status;
  switch (stored.status) {
    case mailbox::StoreResult::Status::stored:
      return injection::Injected{.status = Status::queued, .detail = std::move(stored.detail)};
    case mailbox::StoreResult::Status::refused:
      return injection::Injected{.status = Status::refused, .detail = std::move(stored.detail)};
    case mailbox::StoreResult::Status::no_space:
      return injection::Injected{.status = Status::no_space, .detail = std::move(stored.detail)};
    case mailbox::StoreResult::Status::failed:
      break;
  }
  return injection::Injected{.status = Status::failed, .detail = std::move(stored.detail)};
}

}  // namespace

void Daemon::start_mailbox(engine::Shard& shard, ShardServices& mine) {
  const Config& config = config_;
  mailbox::MailStore& mail = *stores_->mail;
  mine.mail = &mail;
  mailbox::expire_every_minute(shard, mail);
  mine.intake = std::make_unique<mailbox::BounceIntake>(
      mail,
      mailbox::IntakeOptions{.bounce_domain = config.bounce_domain,
                             .verp_prefix = config.verp_prefix,
                             .rules = stores_->bounce_rules ? &*stores_->bounce_rules : nullptr,
                             .keys = &*stores_->bounce_keys,
                             .recipient_of = mailbox::recipient_in_queue(*stores_->spool)});
  own_dsns_->attach(*mine.intake);
  if (config.bounce_listen.empty()) return;
  injection::SubmissionOptions intake_options{
      .smtp = submission_smtp_options(config),
      .idle_timeout = config.session_idle_timeout,
      .peer_limits = with_shard_cap(access_->bounce_limits, 10'000),
      .peer_counts = &access_->bounce_peers,
      .tls = mine.tls_server.get(),
      .tls_handshake_timeout = config.tls_handshake_timeout,
      .accept_domain = config.bounce_domain};
  intake_options.smtp.auth_mechanisms.clear();
  // Per client: MAIL is refused (450 4.7.1) over the messages or octets of the last
  // minute; a message's octets count once it is read, stored or not.
  mine.bounce_limits = std::make_unique<mailbox::IntakeLimiter>(
      mailbox::IntakeLimits{.messages_per_minute = config.bounce_messages_per_ip_per_minute,
                            .bytes_per_minute = config.bounce_bytes_per_ip_per_minute});
  intake_options.check_client = [&shard,
                                 limits = mine.bounce_limits.get()](std::string_view client_ip) {
    return limits->admit(client_ip, shard.clock().now());
  };
  mine.bounce_smtp = std::make_unique<injection::SubmissionListener>(
      shard,
      [&shard, intake = mine.intake.get(), limits = mine.bounce_limits.get()](
          injection::Inbound&& message, injection::TraceFacts* trace, injection::Probe& /*probe*/,
          const injection::Injector::Done& done) {
        if (trace != nullptr) {
          limits->charge(trace->client_ip, message.body.size(), shard.clock().now());
        }
        done(store_bounce(shard, *intake, message.mail_from, message.recipients, message.body));
      },
      std::move(intake_options));
}

void Daemon::start_mail_access(engine::Shard& shard, ShardServices& mine) {
  const Config& config = config_;
  mailbox::MailStore& mail = *stores_->mail;
  mine.pop3 = std::make_unique<mailbox::Pop3Listener>(
      shard, mail, access_->logins,
      mailbox::MailListenerOptions{.hostname = config.hostname,
                                   .idle_timeout = config.pop3.idle_timeout,
                                   .peer_limits = with_shard_cap(access_->pop3_limits, 1000),
                                   .peer_counts = &access_->pop3_peers,
                                   .tls = mine.tls_server.get(),
                                   .tls_handshake_timeout = config.tls_handshake_timeout,
                                   .login_without_tls = config.pop3.login_without_tls});
  mine.imap = std::make_unique<mailbox::ImapListener>(
      shard, mail, access_->logins,
      mailbox::MailListenerOptions{.hostname = config.hostname,
                                   .idle_timeout = config.imap.idle_timeout,
                                   .peer_limits = with_shard_cap(access_->imap_limits, 1000),
                                   .peer_counts = &access_->imap_peers,
                                   .tls = mine.tls_server.get(),
                                   .tls_handshake_timeout = config.tls_handshake_timeout,
                                   .login_without_tls = config.imap.login_without_tls},
      config.message_bytes_max);
}

}  // namespace mta::app
