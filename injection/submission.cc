// SubmissionListener and its per-connection Session: bytes from the socket go into the
// ServerSession; each MessageReceived goes to the group commit, and only when its batch is
// durable does the client get 250. Reading pauses meanwhile, so a client that pipelines the
// next transaction costs at most what the kernel buffers.
#include "injection/submission.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/log.h"
#include "injection/trace.h"
#include "tls/stream.h"

namespace mta::injection {

// One SMTP connection. Lives in SubmissionListener::sessions_ from accept until the
// connection's on_closed; the listener erases it at the end of that loop turn. Speaks through a
// tls::Stream: plaintext, upgraded by STARTTLS, or TLS from the start.
class SubmissionListener::Session final : public tls::StreamHandler {
 public:
  Session(SubmissionListener& owner, std::uint64_t id, int fd, bool implicit_tls,
          const engine::SocketAddress& peer, engine::PeerCounts::Ticket&& ticket)
      : owner_(owner),
        id_(id),
        opened_(std::chrono::steady_clock::now()),
        smtp_(smtp_options(owner, implicit_tls)),
        stream_(*this),
        ticket_(std::move(ticket)),
        deadlines_(
            owner.shard_, owner.options_.peer_limits,
            [this](engine::Deadlines::Kind kind) { on_expired(kind); }, &owner.first_commands_) {
    owner_.shard_.hold();
    // For the Received field of every message of this session: the address without the port.
    client_ip_ = peer.host();
    trusted_ = owner_.options_.trusted != nullptr && owner_.options_.trusted->contains(peer);
    smtp_.check_recipient = [this](std::string_view recipient) -> std::optional<std::string> {
      if (const std::string& domain = owner_.options_.accept_domain; !domain.empty()) {
        const auto at = recipient.rfind('@');
        if (at != std::string_view::npos && iequals(recipient.substr(at + 1), domain)) {
          return std::nullopt;
        }
        ++owner_.probe_.relay_denied;
        return "550 5.7.1 <" + std::string(recipient) + ">: Recipient address rejected: only " +
               domain + " is served here";
      }
      if (trusted_ || !smtp_.authenticated_user().empty()) return std::nullopt;
      ++owner_.probe_.relay_denied;
      return "554 5.7.1 <" + std::string(recipient) + ">: Relay access denied";
    };
    smtp_.check_sender = [this](std::string_view /*mail_from*/) -> std::optional<std::string> {
      if (auto refused = owner_.check_rate(client_ip_, smtp_.authenticated_user())) return refused;
      if (owner_.options_.check_client) return owner_.options_.check_client(client_ip_);
      return std::nullopt;
    };
    stream_.adopt(owner_.shard_, fd);
    if (implicit_tls) {
      // The greeting written below waits in the stream until the handshake is done.
      if (auto started =
              stream_.start_tls_server(*owner_.options_.tls, owner_.options_.tls_handshake_timeout);
          !started) {
        log::warning("submission: TLS: " + started.error().message());
        stream_.abort();
        return;
      }
    }
    stream_.set_idle_timeout(owner_.options_.idle_timeout);
    stream_.set_write_timeout(owner_.options_.peer_limits.write_timeout);
    flush();
  }

  void on_data(Buffer& input) override {
    deadlines_.on_lines(input.readable());
    smtp_.on_bytes(input.readable());
    input.consume(input.size());
    drive();
    // A client that pipelines commands but never reads our replies must not grow our output
    // buffer without bound: stop reading until the replies have drained (and drop it when it
    // reads nothing for write_timeout).
    if (open_ && !reading_paused_ &&
        stream_.output_pending() > owner_.options_.peer_limits.output_buffer_max) {
      reading_paused_ = true;
      stream_.pause_reading();
    }
  }

  void on_tls_ready(const Result<void>& result) override {
    if (!result) {
      ++owner_.probe_.tls_failures;
      log::debug("submission: TLS handshake with " + stream_.peer().to_string() +
                 " failed: " + result.error().message());
      return;  // the stream closes; on_closed follows
    }
    ++owner_.probe_.tls_sessions;
    if (const tls::Info* info = stream_.tls_info(); info != nullptr) {
      if (info->resumed) ++owner_.probe_.tls_resumed;
      tls_details_ = info->protocol + " " + info->cipher;
    }
    // Implicit TLS: the session was TLS from the start; STARTTLS: it starts over now, and so
    // does the time allowed for its first command.
    if (!smtp_.tls()) smtp_.tls_started();
    deadlines_.command_started();
    drive();
  }

  // What the Received field says of this session (views into the session's own strings,
  // which outlive the Injector's synchronous use of them).
  void trace(TraceFacts& facts) {
    facts.client_ip = client_ip_;
    facts.client_name = smtp_.client_name();
    facts.extended = smtp_.extended();
    facts.tls = smtp_.tls();
    facts.authenticated = !smtp_.authenticated_user().empty();
    facts.tls_details = tls_details_;
  }

  const std::string& user() const { return smtp_.authenticated_user(); }

  // The worker checked this session's AUTH.
  void auth_checked(std::optional<std::string> user) {
    if (user) {
      ++owner_.probe_.auth_successes;
    } else {
      ++owner_.probe_.auth_failures;
    }
    smtp_.complete_auth(std::move(user));
    if (open_ && !reading_paused_) stream_.resume_reading();
    drive();
  }

  // This session's address is locked out: 454, nothing checked.
  void auth_refused() {
    ++owner_.probe_.auth_refused;
    smtp_.refuse_auth();
    if (open_ && !reading_paused_) stream_.resume_reading();
    drive();
  }

  // The group commit answered for this session's message.
  void complete(std::string_view reply_line) {
    smtp_.complete_message(reply_line);
    if (open_ && !reading_paused_) stream_.resume_reading();
    drive();
  }

  void on_drained() override {
    if (open_ && reading_paused_) {
      reading_paused_ = false;
      if (!smtp_.awaiting_decision()) stream_.resume_reading();
    }
  }

  void on_closed(int /*error*/) override {
    open_ = false;
    deadlines_.cancel();
    ticket_ = {};  // the address's place is free now, not when this object goes
    if (owner_.probe_.session_seconds != nullptr) {
      owner_.probe_.session_seconds->observe(std::chrono::steady_clock::now() - opened_);
    }
    owner_.shard_.release();
    owner_.on_session_closed(id_);
  }

  // Stop requested: an idle session is told the service is going away; one in the middle of
  // a transaction finishes it (the drain gate waits) and is closed when it next goes idle.
  void on_stop() {
    stopping_ = true;
    if (open_ && !smtp_.awaiting_decision()) {
      stream_.write("421 4.3.2 " + owner_.options_.smtp.hostname + " Service shutting down\r\n");
      stream_.close();
    }
  }

 private:
  static smtp::ServerOptions smtp_options(const SubmissionListener& owner, bool implicit_tls) {
    smtp::ServerOptions options = owner.options_.smtp;
    options.starttls = options.starttls && owner.options_.tls != nullptr;
    options.tls = implicit_tls;
    if (owner.options_.users == nullptr || owner.options_.users->empty()) {
      options.auth_mechanisms.clear();
    }
    return options;
  }

  void drive() {
    while (auto event = smtp_.next_event()) {
      if (auto* message = std::get_if<smtp::MessageReceived>(&*event)) {
        if (open_) stream_.pause_reading();
        owner_.enqueue(id_, std::move(*message));
      } else if (auto* auth = std::get_if<smtp::AuthRequested>(&*event)) {
        if (open_) stream_.pause_reading();
        owner_.check_auth(id_, client_ip_, std::move(*auth));
      } else if (std::holds_alternative<smtp::StartTlsRequested>(*event)) {
        flush();  // the 220 goes out in plaintext; what the client sent after STARTTLS is gone
        if (!open_) return;
        if (auto started = stream_.start_tls_server(*owner_.options_.tls,
                                                    owner_.options_.tls_handshake_timeout);
            !started) {
          log::warning("submission: TLS: " + started.error().message());
          stream_.close();
        }
        return;  // on_tls_ready() resumes
      }          // SessionEnded: smtp_.ended() says the same, checked below
    }
    flush();
    if (open_ && smtp_.ended()) {
      stream_.close();
    } else if (open_ && stopping_ && !smtp_.awaiting_decision()) {
      on_stop();
    }
  }

  void flush() {
    if (open_) stream_.write_from(smtp_);
  }

  // A line took longer than command_timeout from its first byte (or the first command from the
  // greeting), or the session outlived session_max: whatever the client is in the middle of, it
  // is told and dropped. A message whose commit is in flight is still committed. Evicted: the
  // listener was full and this session had not sent its first command yet.
  void on_expired(engine::Deadlines::Kind kind) {
    if (!open_) return;
    if (kind == engine::Deadlines::Kind::evicted) {
      // Made room for a newer connection: reset at once. A goodbye and the linger of a
      // graceful close would keep the slot taken for seconds, while the listener is full.
      stream_.abort();
      return;
    }
    const std::string& host = owner_.options_.smtp.hostname;
    switch (kind) {
      case engine::Deadlines::Kind::command:
        stream_.write("421 4.4.2 " + host + " Error: command timeout exceeded, closing\r\n");
        break;
      case engine::Deadlines::Kind::session:
        stream_.write("421 4.4.2 " + host + " Error: session too long, closing\r\n");
        break;
      case engine::Deadlines::Kind::evicted:
        break;
    }
    stream_.close();
  }

  SubmissionListener& owner_;
  const std::uint64_t id_;
  const std::chrono::steady_clock::time_point opened_;
  smtp::ServerSession smtp_;
  tls::Stream stream_;
  bool open_ = true;         // until on_closed
  bool trusted_ = false;     // the peer is in options.trusted: may relay without AUTH
  std::string client_ip_;    // for trace(): set once per session
  std::string tls_details_;  // for trace(): "TLSv1.3 <cipher>" once the handshake is done
  bool stopping_ = false;
  bool reading_paused_ = false;
  engine::PeerCounts::Ticket ticket_;  // this connection's place in the per-address count
  engine::Deadlines deadlines_;
};

SubmissionListener::SubmissionListener(engine::Shard& shard, Injector& injector,
                                       SubmissionOptions options)
    : SubmissionListener(
          shard,
          [&injector](Inbound&& message, TraceFacts* trace, Probe& probe, Injector::Done done) {
            injector.submit(std::move(message), trace, probe, std::move(done));
          },
          std::move(options)) {}

SubmissionListener::SubmissionListener(engine::Shard& shard, SubmitFn submit,
                                       SubmissionOptions options)
    : shard_(shard),
      submit_(std::move(submit)),
      options_(std::move(options)),
      per_ip_(options_.rate_per_ip),
      per_user_(options_.rate_per_user) {
  shard_.on_stop([this] { on_stop(); });
}

// Sessions still listed here lost their connections when the shard stopped; nothing to flush.
SubmissionListener::~SubmissionListener() = default;

void SubmissionListener::listen(int listen_fd, bool implicit_tls) {
  MTA_ASSERT(!implicit_tls || options_.tls != nullptr);
  shard_.listen(listen_fd, [this, implicit_tls](int fd, const engine::SocketAddress& peer) {
    on_accept(fd, implicit_tls, peer);
  });
}

void SubmissionListener::on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer) {
  engine::Admission admission =
      engine::admit(options_.peer_limits, options_.peer_counts, peer, sessions_.size(),
                    shard_.stopping(), &first_commands_);
  if (!admission.admitted()) {
    ++probe_.connections_refused;
    engine::refuse(
        fd, admission.verdict == engine::Admission::Verdict::peer_full
                ? "421 4.7.0 " + options_.smtp.hostname +
                      " Too many connections from your address, try later\r\n"
                : "421 4.3.2 " + options_.smtp.hostname + " Too many connections, try later\r\n");
    return;
  }
  ++probe_.connections_accepted;
  const std::uint64_t id = next_session_id_++;
  sessions_.emplace(id, std::make_unique<Session>(*this, id, fd, implicit_tls, peer,
                                                  std::move(admission.ticket)));
}

void SubmissionListener::check_auth(std::uint64_t session_id, const std::string& ip,
                                    smtp::AuthRequested&& auth) {
  std::optional<AuthThrottle::Attempt> attempt;
  if (options_.auth_throttle != nullptr) {
    attempt = options_.auth_throttle->begin(ip, shard_.clock().now());
    if (!attempt) {
      // Refused unchecked, but not at once: a locked-out guesser must not get a fast loop.
      log::debug("auth refused listener=submission ip=" + ip + ": locked out");
      shard_.schedule(options_.auth_failure_delay, [this, session_id] {
        if (auto session = sessions_.find(session_id); session != sessions_.end()) {
          session->second->auth_refused();
        }
      });
      return;
    }
  }
  Users::Credentials credentials = Users::decode(auth.mechanism, auth.responses);
  if (!credentials.usable) {
    // Malformed, or a NUL or control character in a field: a failure, with no hash to compute.
    return on_auth_checked(session_id, ip, std::move(attempt), std::move(credentials.name), false);
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
      [this, session_id, ip, check] {
        on_auth_checked(session_id, ip, std::move(check->attempt),
                        std::move(check->credentials.name), check->ok);
      });
}

void SubmissionListener::on_auth_checked(std::uint64_t session_id, const std::string& ip,
                                         std::optional<AuthThrottle::Attempt> attempt,
                                         std::string&& user, bool ok) {
  AuthThrottle* throttle = options_.auth_throttle;
  if (ok) {
    if (throttle != nullptr && attempt) throttle->succeeded(std::move(*attempt));
    if (auto session = sessions_.find(session_id); session != sessions_.end()) {
      session->second->auth_checked(std::move(user));
    }
    return;
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
  shard_.schedule(delay, [this, session_id] {
    if (auto session = sessions_.find(session_id); session != sessions_.end()) {
      session->second->auth_checked(std::nullopt);
    }
  });
}

void SubmissionListener::on_session_closed(std::uint64_t session_id) {
  // The connection is still calling us; free the session after this turn.
  shard_.defer([this, session_id] { sessions_.erase(session_id); });
}

void SubmissionListener::on_stop() {
  for (auto& [id, session] : sessions_) {
    session->on_stop();
  }
}

void SubmissionListener::enqueue(std::uint64_t session_id, smtp::MessageReceived&& message) {
  probe_.bare_line_endings_repaired += message.bare_line_endings_repaired;
  TraceFacts facts;
  TraceFacts* trace = nullptr;
  std::string tenant;
  if (auto session = sessions_.find(session_id); session != sessions_.end()) {
    session->second->trace(facts);
    trace = &facts;
    if (options_.users != nullptr) tenant = options_.users->tenant_of(session->second->user());
  }
  submit_(Inbound{.mail_from = std::move(message.mail_from),
                  .recipients = std::move(message.recipients),
                  .body = std::move(message.body),
                  .tags = {},
                  .bound_tenant = std::move(tenant)},
          trace, probe_, [this, session_id](const Injected& result) {
            std::string reply;
            switch (result.status) {
              case Injected::Status::queued:
                reply = result.ids.empty()
                            ? "250 2.0.0 Ok" +
                                  (result.detail.empty() ? std::string() : ": " + result.detail)
                            : "250 2.0.0 Ok: queued as " + to_hex(result.ids.front());
                break;
              case Injected::Status::refused:
                reply = "554 5.6.0 " + result.detail;
                break;
              case Injected::Status::no_space:
                reply = "452 4.3.1 Insufficient system storage";
                break;
              case Injected::Status::failed:
                reply = "451 4.3.0 Error: " + result.detail + ", try again later";
                break;
            }
            // The client may have gone while the batch was written; the message is then
            // queued (if the write worked) without its 250, and the client's retry may
            // deliver it twice: at least once.
            if (auto session = sessions_.find(session_id); session != sessions_.end()) {
              session->second->complete(reply);
            }
          });
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
