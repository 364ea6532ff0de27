// SmtpListener and its per-connection Session: bytes from the socket go into the
// ServerSession; each MessageReceived goes to the handler, and the client hears its reply only
// when the handler answers (for submission: when the message is durable). Reading pauses
// meanwhile, so a client that pipelines the next transaction costs at most what the kernel
// buffers.
#include "server/smtp_listener.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "base/log.h"
#include "tls/stream.h"

namespace mta::server {

std::string smtp_reply(const MessageOutcome& outcome) {
  switch (outcome.status) {
    case MessageOutcome::Status::queued:
      if (outcome.queued_as) return "250 2.0.0 Ok: queued as " + to_hex(*outcome.queued_as);
      return "250 2.0.0 Ok" + (outcome.detail.empty() ? std::string() : ": " + outcome.detail);
    case MessageOutcome::Status::refused:
      return "554 5.6.0 " + outcome.detail;
    case MessageOutcome::Status::no_space:
      return "452 4.3.1 Insufficient system storage";
    case MessageOutcome::Status::failed:
      break;
  }
  return "451 4.3.0 Error: " + outcome.detail + ", try again later";
}

// One SMTP connection. Lives in SmtpListener::sessions_ from accept until the connection's
// on_closed; the listener erases it at the end of that loop turn. Speaks through a
// tls::Stream: plaintext, upgraded by STARTTLS, or TLS from the start.
class SmtpListener::Session final : public tls::StreamHandler {
 public:
  Session(SmtpListener& owner, std::uint64_t id, int fd, bool implicit_tls,
          const engine::SocketAddress& peer, engine::PeerCounts::Ticket&& ticket)
      : owner_(owner),
        id_(id),
        opened_(std::chrono::steady_clock::now()),
        peer_(peer),
        client_ip_(peer.host()),
        smtp_(smtp_options(owner.options_, implicit_tls)),
        stream_(*this),
        ticket_(std::move(ticket)),
        deadlines_(
            owner.shard_, owner.options_.peer_limits,
            [this](engine::Deadlines::Kind kind) { on_expired(kind); }, &owner.first_commands_) {
    owner_.shard_.hold();
    smtp_.check_recipient = [this](std::string_view recipient) {
      return owner_.handler_.check_recipient(client(), recipient);
    };
    smtp_.check_sender = [this](std::string_view /*mail_from*/) {
      return owner_.handler_.check_sender(client());
    };
    start(fd, implicit_tls);
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
      log::debug(owner_.options_.name + ": TLS handshake with " + stream_.peer().to_string() +
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

  // The handler's verdict on this session's AUTH.
  void auth_answered(AuthVerdict verdict) {
    if (verdict.locked_out) {
      smtp_.refuse_auth();
    } else {
      smtp_.complete_auth(std::move(verdict.user));
    }
    resume();
  }

  // The handler answered for this session's message.
  void complete(std::string_view reply_line) {
    smtp_.complete_message(reply_line);
    resume();
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
  static smtp::ServerOptions smtp_options(const SmtpOptions& options, bool implicit_tls) {
    smtp::ServerOptions smtp = options.smtp;
    smtp.starttls = smtp.starttls && options.tls != nullptr;
    smtp.tls = implicit_tls;
    return smtp;
  }

  SmtpClient client() const {
    return SmtpClient{
        .peer = peer_, .ip = client_ip_, .session = smtp_, .tls_details = tls_details_};
  }

  // Adopts the socket and queues the greeting (after the handshake, for implicit TLS).
  void start(int fd, bool implicit_tls) {
    stream_.adopt(owner_.shard_, fd);
    if (implicit_tls) {
      // The greeting written below waits in the stream until the handshake is done.
      if (auto started =
              stream_.start_tls_server(*owner_.options_.tls, owner_.options_.tls_handshake_timeout);
          !started) {
        log::warning(owner_.options_.name + ": TLS: " + started.error().message());
        stream_.abort();
        return;
      }
    }
    stream_.set_idle_timeout(owner_.options_.idle_timeout);
    stream_.set_write_timeout(owner_.options_.peer_limits.write_timeout);
    flush();
  }

  // A decision came in: read again (unless the output is backed up) and go on.
  void resume() {
    if (open_ && !reading_paused_) stream_.resume_reading();
    drive();
  }

  void drive() {
    while (auto event = smtp_.next_event()) {
      if (auto* message = std::get_if<smtp::MessageReceived>(&*event)) {
        if (open_) stream_.pause_reading();
        owner_.handler_.on_message(client(), std::move(*message), owner_.message_done(id_));
      } else if (auto* auth = std::get_if<smtp::AuthRequested>(&*event)) {
        if (open_) stream_.pause_reading();
        owner_.handler_.on_auth(client(), std::move(*auth), owner_.auth_done(id_));
      } else if (std::holds_alternative<smtp::StartTlsRequested>(*event)) {
        start_tls();
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

  void start_tls() {
    flush();  // the 220 goes out in plaintext; what the client sent after STARTTLS is gone
    if (!open_) return;
    if (auto started =
            stream_.start_tls_server(*owner_.options_.tls, owner_.options_.tls_handshake_timeout);
        !started) {
      log::warning(owner_.options_.name + ": TLS: " + started.error().message());
      stream_.close();
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

  SmtpListener& owner_;
  const std::uint64_t id_;
  const std::chrono::steady_clock::time_point opened_;
  const engine::SocketAddress peer_;
  const std::string client_ip_;  // for the handler and the Received field
  smtp::ServerSession smtp_;
  tls::Stream stream_;
  bool open_ = true;         // until on_closed
  std::string tls_details_;  // "TLSv1.3 <cipher>" once the handshake is done
  bool stopping_ = false;
  bool reading_paused_ = false;
  engine::PeerCounts::Ticket ticket_;  // this connection's place in the per-address count
  engine::Deadlines deadlines_;
};

SmtpListener::SmtpListener(engine::Shard& shard, SmtpOptions options, SmtpHandler& handler,
                           ListenerProbe& probe)
    : shard_(shard), options_(std::move(options)), handler_(handler), probe_(probe) {
  shard_.on_stop([this] { on_stop(); });
}

// Sessions still listed here lost their connections when the shard stopped; nothing to flush.
SmtpListener::~SmtpListener() = default;

void SmtpListener::listen(int listen_fd, bool implicit_tls) {
  MTA_ASSERT(!implicit_tls || options_.tls != nullptr);
  shard_.listen(listen_fd, [this, implicit_tls](int fd, const engine::SocketAddress& peer) {
    on_accept(fd, implicit_tls, peer);
  });
}

void SmtpListener::on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer) {
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

SmtpListener::Session* SmtpListener::find(std::uint64_t session_id) {
  const auto found = sessions_.find(session_id);
  return found == sessions_.end() ? nullptr : found->second.get();
}

SmtpHandler::AuthDone SmtpListener::auth_done(std::uint64_t session_id) {
  return [this, session_id](AuthVerdict verdict) {
    if (Session* session = find(session_id)) session->auth_answered(std::move(verdict));
  };
}

SmtpHandler::MessageDone SmtpListener::message_done(std::uint64_t session_id) {
  return [this, session_id](const MessageOutcome& outcome) {
    // The client may have gone while the message was being stored; it is then kept (if the
    // write worked) without its 250, and the client's retry may deliver it twice: at least
    // once.
    if (Session* session = find(session_id)) session->complete(smtp_reply(outcome));
  };
}

void SmtpListener::on_session_closed(std::uint64_t session_id) {
  // The connection is still calling us; free the session after this turn.
  shard_.defer([this, session_id] { sessions_.erase(session_id); });
}

void SmtpListener::on_stop() {
  for (auto& [id, session] : sessions_) session->on_stop();
}

}  // namespace mta::server
