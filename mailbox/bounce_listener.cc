// BounceListener: the intake's answers to server::SmtpListener's questions. MAIL: the client's
// budget of messages and octets (IntakeLimiter); RCPT: the bounce domain only; a message: its
// octets are charged to the client, stored or not, and the store's answer is the reply.
#include "mailbox/bounce_listener.h"

#include <chrono>
#include <utility>

#include "base/ascii.h"

namespace mta::mailbox {
namespace {

server::SmtpOptions without_auth(server::SmtpOptions options) {
  options.smtp.auth_mechanisms.clear();
  return options;
}

}  // namespace

std::optional<std::string> refuse_other_domain(std::string_view recipient,
                                               std::string_view domain) {
  const auto at = recipient.rfind('@');
  if (at != std::string_view::npos && iequals(recipient.substr(at + 1), domain)) {
    return std::nullopt;
  }
  return "550 5.7.1 <" + std::string(recipient) + ">: Recipient address rejected: only " +
         std::string(domain) + " is served here";
}

BounceListener::BounceListener(engine::Shard& shard, IntakeLimiter& limits,
                               BounceListenerOptions options, StoreFn store)
    : shard_(shard),
      limits_(limits),
      bounce_domain_(std::move(options.bounce_domain)),
      store_(std::move(store)),
      listener_(shard, without_auth(std::move(options.listener)), *this, probe_) {}

BounceListener::BounceListener(engine::Shard& shard, IntakeLimiter& limits,
                               BounceListenerOptions options, BounceIntake& intake)
    : BounceListener(
          shard, limits, std::move(options),
          [&shard, &intake](std::string_view mail_from, const std::vector<std::string>& recipients,
                            std::string_view body) {
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                 shard.clock().wall_now().time_since_epoch())
                                 .count();
            return outcome_of(intake.store(mail_from, recipients, body, now));
          }) {}

BounceListener::~BounceListener() = default;

server::MessageOutcome outcome_of(StoreResult&& stored) {
  using Status = server::MessageOutcome::Status;
  switch (stored.status) {
    case StoreResult::Status::stored:
      return {.status = Status::queued, .detail = std::move(stored.detail)};
    case StoreResult::Status::refused:
      return {.status = Status::refused, .detail = std::move(stored.detail)};
    case StoreResult::Status::no_space:
      return {.status = Status::no_space, .detail = std::move(stored.detail)};
    case StoreResult::Status::failed:
      break;
  }
  return {.status = Status::failed, .detail = std::move(stored.detail)};
}

std::optional<std::string> BounceListener::check_sender(const server::SmtpClient& client) {
  // Per client: MAIL is refused (450 4.7.1) over the messages or octets of the last minute.
  return limits_.admit(client.ip, shard_.clock().now());
}

std::optional<std::string> BounceListener::check_recipient(const server::SmtpClient& /*client*/,
                                                           std::string_view recipient) {
  auto refused = refuse_other_domain(recipient, bounce_domain_);
  if (refused) ++probe_.relay_denied;
  return refused;
}

// Never called: no SASL mechanism is offered.
void BounceListener::on_auth(const server::SmtpClient& /*client*/, smtp::AuthRequested&& /*auth*/,
                             AuthDone done) {
  done(server::AuthVerdict{});
}

void BounceListener::on_message(const server::SmtpClient& client, smtp::MessageReceived&& message,
                                MessageDone done) {
  probe_.bare_line_endings_repaired += message.bare_line_endings_repaired;
  // A message's octets count once it is read, stored or not.
  limits_.charge(client.ip, message.body.size(), shard_.clock().now());
  done(store_(message.mail_from, message.recipients, message.body));
}

}  // namespace mta::mailbox
