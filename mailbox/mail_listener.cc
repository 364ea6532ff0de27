// MailListener and MailConnection. A connection holds the shard's drain gate while open; on
// stop every connection is closed (neither protocol has a transaction to finish: an unfinished
// POP3 session deletes nothing, an IMAP client resynchronises).
#include "mailbox/mail_listener.h"

#include <utility>

#include "base/assert.h"
#include "base/log.h"

namespace mta::mailbox {

MailConnection::MailConnection(MailListener& owner, std::uint64_t id)
    : owner_(owner),
      id_(id),
      stream_(*this),
      deadlines_(
          owner.shard_, owner.options_.peer_limits,
          [this](engine::Deadlines::Kind kind) { on_expired(kind); }, &owner.first_commands_) {}

void MailConnection::start(int fd, bool implicit_tls, std::string peer_ip,
                           engine::PeerCounts::Ticket&& ticket) {
  owner_.shard_.hold();
  peer_ip_ = std::move(peer_ip);
  ticket_ = std::move(ticket);
  stream_.adopt(owner_.shard_, fd);
  if (implicit_tls) {
    // The greeting written below waits in the stream until the handshake is done.
    if (auto started =
            stream_.start_tls_server(*owner_.options_.tls, owner_.options_.tls_handshake_timeout);
        !started) {
      log::warning(owner_.name_ + ": TLS: " + started.error().message());
      stream_.abort();
      return;
    }
  }
  stream_.set_idle_timeout(owner_.options_.idle_timeout);
  stream_.set_write_timeout(owner_.options_.peer_limits.write_timeout);
  drive();
}

// A line took longer than command_timeout from its first byte (or the first command from the
// greeting), or the session outlived session_max, or the listener was full and this connection
// had not sent its first command yet: the client is told and dropped.
void MailConnection::on_expired(engine::Deadlines::Kind kind) {
  if (!open_) return;
  if (kind == engine::Deadlines::Kind::evicted) {
    // Made room for a newer connection: reset at once. A goodbye and the linger of a graceful
    // close would keep the slot taken for seconds, while the listener is full.
    stream_.abort();
    return;
  }
  switch (kind) {
    case engine::Deadlines::Kind::command:
      stream_.write(owner_.refusal_ + "Command timeout exceeded, closing\r\n");
      break;
    case engine::Deadlines::Kind::session:
      stream_.write(owner_.refusal_ + "Session too long, closing\r\n");
      break;
    case engine::Deadlines::Kind::evicted:
      break;
  }
  close();
}

void MailConnection::stop() { close(); }

void MailConnection::flush() {
  while (open_) {
    const std::string_view out = pending_output();
    if (out.empty() || stream_.output_pending() > owner_.options_.peer_limits.output_buffer_max) {
      break;
    }
    stream_.write(out);
    output_taken(out.size());
  }
  update_reading();
}

void MailConnection::update_reading() {
  if (!open_) return;
  // A TLS handshake in progress must read, whatever the session waits for (it waits for TLS).
  const bool handshaking = stream_.tls_started() && !stream_.tls_ready();
  const bool pause =
      !handshaking &&
      (input_blocked() || stream_.output_pending() > owner_.options_.peer_limits.output_buffer_max);
  if (pause && !reading_paused_) {
    reading_paused_ = true;
    stream_.pause_reading();
  } else if (!pause && reading_paused_) {
    reading_paused_ = false;
    stream_.resume_reading();
  }
}

void MailConnection::begin_tls() {
  if (!open_) return;
  if (auto started =
          stream_.start_tls_server(*owner_.options_.tls, owner_.options_.tls_handshake_timeout);
      !started) {
    log::warning(owner_.name_ + ": TLS: " + started.error().message());
    stream_.close();
    return;
  }
  update_reading();
}

bool MailConnection::begin_login(std::optional<AuthThrottle::Attempt>& attempt) {
  AuthThrottle* throttle = owner_.logins_.throttle;
  if (throttle == nullptr) return true;
  attempt = throttle->begin(peer_ip_, owner_.shard_.clock().now());
  if (attempt) return true;
  // Refused unchecked, but not at once: a locked-out guesser must not get a fast loop.
  log::debug("auth refused listener=" + owner_.name_ + " ip=" + peer_ip_ + ": locked out");
  MailListener& owner = owner_;
  const std::uint64_t id = id_;
  owner.shard_.schedule(owner.logins_.failure_delay, [&owner, id] {
    if (MailConnection* connection = owner.find(id)) {
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
        if (MailConnection* connection = owner.find(id)) {
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
  if (throttle != nullptr && attempt) {
    const AuthThrottle::Failure failure =
        throttle->failed(std::move(*attempt), user, delay, owner_.shard_.clock().now());
    delay = failure.delay;
    log::notice(auth_failure_line(owner_.name_, peer_ip_, user, delay));
    if (failure.locked) {
      log::notice(auth_lockout_line(owner_.name_, peer_ip_, throttle->options()));
    }
  } else {
    log::notice(auth_failure_line(owner_.name_, peer_ip_, user, delay));
  }
  MailListener& owner = owner_;
  const std::uint64_t id = id_;
  owner.shard_.schedule(delay, [&owner, id] {
    if (MailConnection* connection = owner.find(id)) connection->login_checked(false);
  });
}

void MailConnection::login_checked(bool ok) {
  ++(ok ? owner_.probe_.logins : owner_.probe_.login_failures);
  answer_login(ok);
  drive();
}

void MailConnection::on_data(Buffer& input) {
  deadlines_.on_lines(input.readable());
  feed(input.readable());
  input.consume(input.size());
  drive();
}

void MailConnection::on_drained() {
  if (!open_) return;
  drive();  // the rest of a long FETCH or RETR, and what waited behind it
}

void MailConnection::on_tls_ready(const Result<void>& result) {
  if (!result) {
    ++owner_.probe_.tls_failures;
    log::debug(owner_.name_ + ": TLS handshake with " + stream_.peer().to_string() +
               " failed: " + result.error().message());
    return;  // the stream closes; on_closed follows
  }
  ++owner_.probe_.tls_sessions;
  deadlines_.command_started();  // the session starts over: its first command is timed again
  tls_started();
  drive();
}

void MailConnection::on_closed(int /*error*/) {
  open_ = false;
  deadlines_.cancel();
  ticket_ = {};  // the address's place is free now, not when this object goes
  owner_.shard_.release();
  owner_.on_closed(id_);
}

MailListener::MailListener(engine::Shard& shard, const Logins& logins, MailListenerOptions options,
                           std::string name, std::string refusal)
    : shard_(shard),
      logins_(logins),
      options_(std::move(options)),
      name_(std::move(name)),
      refusal_(std::move(refusal)) {
  shard_.on_stop([this] {
    for (auto& [id, connection] : connections_) connection->stop();
  });
}

// Connections still listed lost their sockets when the shard stopped.
MailListener::~MailListener() = default;

void MailListener::listen(int listen_fd, bool implicit_tls) {
  MTA_ASSERT(!implicit_tls || options_.tls != nullptr);
  shard_.listen(listen_fd, [this, implicit_tls](int fd, const engine::SocketAddress& peer) {
    on_accept(fd, implicit_tls, peer);
  });
}

void MailListener::on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer) {
  engine::Admission admission =
      engine::admit(options_.peer_limits, options_.peer_counts, peer, connections_.size(),
                    shard_.stopping(), &first_commands_);
  if (!admission.admitted()) {
    ++probe_.connections_refused;
    engine::refuse(fd, refusal_ + (admission.verdict == engine::Admission::Verdict::peer_full
                                       ? "Too many connections from your address, try later\r\n"
                                       : "Too many connections, try later\r\n"));
    return;
  }
  ++probe_.connections_accepted;
  const std::uint64_t id = next_id_++;
  auto [it, inserted] = connections_.emplace(id, make_connection(id, implicit_tls));
  MTA_ASSERT(inserted);
  it->second->start(fd, implicit_tls, peer.host(), std::move(admission.ticket));
}

void MailListener::on_closed(std::uint64_t id) {
  // The connection is still calling us; free it after this turn.
  shard_.defer([this, id] { connections_.erase(id); });
}

MailConnection* MailListener::find(std::uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void MailListener::for_each_connection(const std::function<void(MailConnection&)>& visit) {
  for (auto& [id, connection] : connections_) visit(*connection);
}

}  // namespace mta::mailbox
