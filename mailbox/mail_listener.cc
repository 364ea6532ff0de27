// MailListener and MailConnection: logins on top of server/'s line-protocol life cycle. On stop
// every connection is closed (neither protocol has a transaction to finish: an unfinished POP3
// session deletes nothing, an IMAP client resynchronises).
#include "mailbox/mail_listener.h"

#include <utility>

#include "base/log.h"

namespace mta::mailbox {
namespace {

server::LineOptions line_options(const MailListenerOptions& options) {
  return server::LineOptions{.idle_timeout = options.idle_timeout,
                             .peer_limits = options.peer_limits,
                             .peer_counts = options.peer_counts,
                             .tls = options.tls,
                             .tls_handshake_timeout = options.tls_handshake_timeout};
}

}  // namespace

MailConnection::MailConnection(MailListener& owner, std::uint64_t id)
    : LineConnection(owner, id), owner_(owner) {}

bool MailConnection::begin_login(std::optional<AuthThrottle::Attempt>& attempt) {
  AuthThrottle* throttle = owner_.logins_.throttle;
  if (throttle == nullptr) return true;
  attempt = throttle->begin(peer_ip(), owner_.shard_.clock().now());
  if (attempt) return true;
  // Refused unchecked, but not at once: a locked-out guesser must not get a fast loop.
  log::debug("auth refused listener=" + owner_.name() + " ip=" + peer_ip() + ": locked out");
  MailListener& owner = owner_;
  const std::uint64_t id = id_;
  owner.shard_.schedule(owner.logins_.failure_delay, [&owner, id] {
    if (MailConnection* connection = owner.find_mail(id)) {
      ++owner.probe_.login_refused;
      connection->refuse_login();
      connection->drive();
    }
  });
  return false;
}

void MailConnection::check_login(const std::string& user, const std::string& password) {
  std::optional<AuthThrottle::Attempt> attempt;
  if (!begin_login(attempt)) return;
  if (has_control_character(user) || has_control_character(password)) {
    return finish_login(std::move(attempt), user, false);  // no hash to compute
  }
  MailListener& owner = owner_;
  const std::uint64_t id = id_;
  // The worker's task and the completion are std::functions (copyable): they share the state.
  struct Check {
    std::string user, password;
    std::optional<AuthThrottle::Attempt> attempt;
    bool ok = false;
  };
  auto check = std::make_shared<Check>(
      Check{.user = user, .password = password, .attempt = std::move(attempt)});
  const Logins& logins = owner.logins_;
  owner.shard_.offload(
      [&logins, check] {
        check->ok = logins.check_password && logins.check_password(check->user, check->password);
      },
      [&owner, id, check] {
        if (MailConnection* connection = owner.find_mail(id)) {
          connection->finish_login(std::move(check->attempt), check->user, check->ok);
        }
      });
}

void MailConnection::report_login(const std::string& user, bool ok) {
  std::optional<AuthThrottle::Attempt> attempt;
  if (!begin_login(attempt)) return;
  finish_login(std::move(attempt), user, ok);
}

void MailConnection::finish_login(std::optional<AuthThrottle::Attempt> attempt,
                                  const std::string& user, bool ok) {
  AuthThrottle* throttle = owner_.logins_.throttle;
  if (ok) {
    if (throttle != nullptr && attempt) throttle->succeeded(std::move(*attempt));
    return login_checked(true);
  }
  // A wrong guess costs the guesser time, longer for an account that keeps failing.
  Clock::Duration delay = owner_.logins_.failure_delay;
  const std::string& name = owner_.name();
  if (throttle != nullptr && attempt) {
    const AuthThrottle::Failure failure =
        throttle->failed(std::move(*attempt), user, delay, owner_.shard_.clock().now());
    delay = failure.delay;
    log::notice(auth_failure_line(name, peer_ip(), user, delay));
    if (failure.locked) log::notice(auth_lockout_line(name, peer_ip(), throttle->options()));
  } else {
    log::notice(auth_failure_line(name, peer_ip(), user, delay));
  }
  MailListener& owner = owner_;
  const std::uint64_t id = id_;
  owner.shard_.schedule(delay, [&owner, id] {
    if (MailConnection* connection = owner.find_mail(id)) connection->login_checked(false);
  });
}

void MailConnection::login_checked(bool ok) {
  ++(ok ? owner_.probe_.logins : owner_.probe_.login_failures);
  answer_login(ok);
  drive();
}

MailListener::MailListener(engine::Shard& shard, const Logins& logins, MailListenerOptions options,
                           std::string name, std::string refusal)
    : LineListener(shard, line_options(options), std::move(name), std::move(refusal), probe_),
      logins_(logins),
      options_(std::move(options)) {}

MailListener::~MailListener() = default;

std::unique_ptr<server::LineConnection> MailListener::open_connection(std::uint64_t id,
                                                                      bool implicit_tls) {
  return make_connection(id, implicit_tls);
}

// Every connection of this listener is a MailConnection (open_connection() made it).
MailConnection* MailListener::find_mail(std::uint64_t id) {
  return static_cast<MailConnection*>(find(id));
}

void MailListener::for_each_connection(const std::function<void(MailConnection&)>& visit) {
  LineListener::for_each_connection([&visit](server::LineConnection& connection) {
    visit(static_cast<MailConnection&>(connection));
  });
}

}  // namespace mta::mailbox
