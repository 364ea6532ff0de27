// SubmissionListener: submission's answers to server::SmtpListener's questions. RCPT: trusted
// or authenticated clients may relay; MAIL: a client over its rate waits; AUTH: checked on the
// shard's worker behind the node's throttle; a message: the Injector, answered when durable.
#include "injection/submission.h"

#include <memory>
#include <string>
#include <utility>

#include "base/log.h"
#include "injection/trace.h"

namespace mta::injection {
namespace {

server::SmtpOptions listener_options(const SubmissionOptions& options) {
  server::SmtpOptions listener{.smtp = options.smtp,
                               .idle_timeout = options.idle_timeout,
                               .peer_limits = options.peer_limits,
                               .peer_counts = options.peer_counts,
                               .tls = options.tls,
                               .tls_handshake_timeout = options.tls_handshake_timeout};
  if (options.users == nullptr || options.users->empty()) listener.smtp.auth_mechanisms.clear();
  return listener;
}

server::MessageOutcome outcome_of(const Injected& result) {
  server::MessageOutcome outcome{.detail = result.detail};
  switch (result.status) {
    case Injected::Status::queued:
      outcome.status = server::MessageOutcome::Status::queued;
      if (!result.ids.empty()) outcome.queued_as = result.ids.front();
      break;
    case Injected::Status::refused:
      outcome.status = server::MessageOutcome::Status::refused;
      break;
    case Injected::Status::no_space:
      outcome.status = server::MessageOutcome::Status::no_space;
      break;
    case Injected::Status::failed:
      outcome.status = server::MessageOutcome::Status::failed;
      break;
  }
  return outcome;
}

}  // namespace

SubmissionListener::SubmissionListener(engine::Shard& shard, Injector& injector,
                                       SubmissionOptions options)
    : shard_(shard),
      injector_(injector),
      options_(std::move(options)),
      per_ip_(options_.rate_per_ip),
      per_user_(options_.rate_per_user),
      listener_(shard, listener_options(options_), *this, probe_) {}

SubmissionListener::~SubmissionListener() = default;

std::optional<std::string> SubmissionListener::check_sender(const server::SmtpClient& client) {
  return check_rate(client.ip, client.session.authenticated_user());
}

std::optional<std::string> SubmissionListener::check_recipient(const server::SmtpClient& client,
                                                               std::string_view recipient) {
  const bool trusted = options_.trusted != nullptr && options_.trusted->contains(client.peer);
  if (trusted || !client.session.authenticated_user().empty()) return std::nullopt;
  ++probe_.relay_denied;
  return "554 5.7.1 <" + std::string(recipient) + ">: Relay access denied";
}

void SubmissionListener::on_auth(const server::SmtpClient& client, smtp::AuthRequested&& auth,
                                 AuthDone done) {
  const std::string& ip = client.ip;
  std::optional<AuthThrottle::Attempt> attempt;
  if (options_.auth_throttle != nullptr) {
    attempt = options_.auth_throttle->begin(ip, shard_.clock().now());
    if (!attempt) {
      // Refused unchecked, but not at once: a locked-out guesser must not get a fast loop.
      log::debug("auth refused listener=submission ip=" + ip + ": locked out");
      shard_.schedule(options_.auth_failure_delay, [this, done = std::move(done)] {
        ++probe_.auth_refused;
        done(server::AuthVerdict{.locked_out = true});
      });
      return;
    }
  }
  Users::Credentials credentials = Users::decode(auth.mechanism, auth.responses);
  if (!credentials.usable) {
    // Malformed, or a NUL or control character in a field: a failure, with no hash to compute.
    return on_auth_checked(ip, std::move(attempt), std::move(credentials.name), false, done);
  }
  // The worker's task and the completion are std::functions (copyable): they share the state.
  struct Check {
    Users::Credentials credentials;
    std::optional<AuthThrottle::Attempt> attempt;
    bool ok = false;
  };
  auto check = std::make_shared<Check>(
      Check{.credentials = std::move(credentials), .attempt = std::move(attempt)});
  const Users* users = options_.users;
  shard_.offload(
      [users, check] {
        check->ok = users->check_password(check->credentials.name, check->credentials.password);
      },
      [this, ip, check, done = std::move(done)] {
        on_auth_checked(ip, std::move(check->attempt), std::move(check->credentials.name),
                        check->ok, done);
      });
}

void SubmissionListener::on_auth_checked(const std::string& ip,
                                         std::optional<AuthThrottle::Attempt> attempt,
                                         std::string&& user, bool ok, const AuthDone& done) {
  AuthThrottle* throttle = options_.auth_throttle;
  if (ok) {
    if (throttle != nullptr && attempt) throttle->succeeded(std::move(*attempt));
    ++probe_.auth_successes;
    return done(server::AuthVerdict{.user = std::move(user)});
  }
  // A wrong guess costs the guesser time: the 535 waits (RFC 4954 §4 leaves it to us), longer
  // for an account that keeps failing.
  Clock::Duration delay = options_.auth_failure_delay;
  if (throttle != nullptr && attempt) {
    const AuthThrottle::Failure failure =
        throttle->failed(std::move(*attempt), user, delay, shard_.clock().now());
    delay = failure.delay;
    log::notice(auth_failure_line("submission", ip, user, delay));
    if (failure.locked) log::notice(auth_lockout_line("submission", ip, throttle->options()));
  } else {
    log::notice(auth_failure_line("submission", ip, user, delay));
  }
  shard_.schedule(delay, [this, done] {
    ++probe_.auth_failures;
    done(server::AuthVerdict{});
  });
}

void SubmissionListener::on_message(const server::SmtpClient& client,
                                    smtp::MessageReceived&& message, MessageDone done) {
  probe_.bare_line_endings_repaired += message.bare_line_endings_repaired;
  // What the Received field says of this session (views into the session's own strings,
  // which outlive the Injector's synchronous use of them).
  TraceFacts trace{.client_name = client.session.client_name(),
                   .client_ip = client.ip,
                   .extended = client.session.extended(),
                   .tls = client.session.tls(),
                   .authenticated = !client.session.authenticated_user().empty(),
                   .tls_details = client.tls_details};
  std::string tenant;
  if (options_.users != nullptr)
    tenant = options_.users->tenant_of(client.session.authenticated_user());
  injector_.submit(Inbound{.mail_from = std::move(message.mail_from),
                           .recipients = std::move(message.recipients),
                           .body = std::move(message.body),
                           .tags = {},
                           .bound_tenant = std::move(tenant)},
                   &trace, probe_,
                   [done = std::move(done)](const Injected& result) { done(outcome_of(result)); });
}

std::optional<std::string> SubmissionListener::check_rate(std::string_view ip,
                                                          std::string_view user) {
  const Clock::TimePoint now = shard_.clock().now();
  // The user's limit when authenticated (many users may share one address, e.g. a NAT), the
  // address's otherwise.
  RateLimiter& limiter = user.empty() ? per_ip_ : per_user_;
  if (limiter.take(user.empty() ? ip : user, now)) return std::nullopt;
  ++probe_.rate_limited;
  return "451 4.7.1 Sending rate exceeded for " +
         std::string(user.empty() ? "address " + std::string(ip) : "user " + std::string(user)) +
         ", try again later";
}

}  // namespace mta::injection
