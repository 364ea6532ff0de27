// SmtpListener and its per-connection Session: bytes from the socket go into the
// ServerSession; each MessageReceived goes to the handler, and the client hears its reply only
// when the handler answers (for submission: when the message is durable). Reading pauses
// meanwhile, so a client that pipelines the next transaction costs at most what the kernel
// buffers. Accept, limits, deadlines and TLS are LineListener's.
#include "server/smtp_listener.h"

#include <string>
#include <utility>
#include <variant>

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

// One SMTP connection: its ServerSession's bytes through LineConnection's stream. Reading
// pauses while the handler decides (a message, an AUTH) and while the output is backed up.
class SmtpListener::Session final : public LineConnection {
 public:
  Session(SmtpListener& owner, std::uint64_t id, bool implicit_tls)
      : LineConnection(owner, id),
        owner_(owner),
        smtp_(smtp_options(owner.options_, implicit_tls)) {
    smtp_.check_recipient = [this](std::string_view recipient) {
      return owner_.handler_.check_recipient(client(), recipient);
    };
    smtp_.check_sender = [this](std::string_view /*mail_from*/) {
      return owner_.handler_.check_sender(client());
    };
  }

  // The handler's verdict on this session's AUTH.
  void auth_answered(AuthVerdict verdict) {
    if (verdict.locked_out) {
      smtp_.refuse_auth();
    } else {
      smtp_.complete_auth(std::move(verdict.user));
    }
    drive();
  }

  // The handler answered for this session's message.
  void complete(std::string_view reply_line) {
    smtp_.complete_message(reply_line);
    drive();
  }

  // Stop requested: an idle session is told the service is going away; one in the middle of
  // a transaction finishes it (the drain gate waits) and is closed when it next goes idle.
  void stop() override {
    stopping_ = true;
    if (open_ && !smtp_.awaiting_decision()) {
      stream_.write("421 4.3.2 " + owner_.options_.smtp.hostname + " Service shutting down\r\n");
      close();
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
        .peer = peer(), .ip = peer_ip(), .session = smtp_, .tls_details = tls_details_};
  }

  void feed(std::string_view bytes) override { smtp_.on_bytes(bytes); }
  std::string_view pending_output() const override { return smtp_.bytes_to_send(); }
  void output_taken(std::size_t bytes) override { smtp_.on_sent(bytes); }
  bool input_blocked() const override { return smtp_.awaiting_decision(); }

  void tls_started() override {
    if (const tls::Info* info = stream_.tls_info(); info != nullptr) {
      tls_details_ = info->protocol + " " + info->cipher;
    }
    // Implicit TLS: the session was TLS from the start; STARTTLS: it starts over now.
    if (!smtp_.tls()) smtp_.tls_started();
  }

  void drive() override {
    while (auto event = smtp_.next_event()) {
      if (auto* message = std::get_if<smtp::MessageReceived>(&*event)) {
        owner_.handler_.on_message(client(), std::move(*message), owner_.message_done(id_));
      } else if (auto* auth = std::get_if<smtp::AuthRequested>(&*event)) {
        owner_.handler_.on_auth(client(), std::move(*auth), owner_.auth_done(id_));
      } else if (std::holds_alternative<smtp::StartTlsRequested>(*event)) {
        // The 220 goes out in plaintext, whatever the output cap; what the client sent after
        // STARTTLS is gone.
        if (open_) stream_.write_from(smtp_);
        begin_tls();
        return;  // on_tls_ready() resumes
      }          // SessionEnded: smtp_.ended() says the same, checked below
    }
    flush();
    if (!open_) return;
    if (smtp_.ended()) {
      if (smtp_.bytes_to_send().empty()) close();  // else on_drained() comes back here
    } else if (stopping_ && !smtp_.awaiting_decision()) {
      stop();
    }
  }

  SmtpListener& owner_;
  smtp::ServerSession smtp_;
  std::string tls_details_;  // "TLSv1.3 <cipher>" once the handshake is done
  bool stopping_ = false;
};

SmtpListener::SmtpListener(engine::Shard& shard, SmtpOptions options, SmtpHandler& handler,
                           ListenerProbe& probe)
    : LineListener(shard,
                   LineOptions{.idle_timeout = options.idle_timeout,
                               .peer_limits = options.peer_limits,
                               .peer_counts = options.peer_counts,
                               .tls = options.tls,
                               .tls_handshake_timeout = options.tls_handshake_timeout},
                   options.name, "", probe),
      options_(std::move(options)),
      handler_(handler) {}

// Sessions still listed lost their connections when the shard stopped; nothing to flush.
SmtpListener::~SmtpListener() = default;

std::unique_ptr<LineConnection> SmtpListener::open_connection(std::uint64_t id, bool implicit_tls) {
  return std::make_unique<Session>(*this, id, implicit_tls);
}

std::string SmtpListener::refusal_line(engine::Admission::Verdict verdict) const {
  const std::string& host = options_.smtp.hostname;
  if (verdict == engine::Admission::Verdict::peer_full) {
    return "421 4.7.0 " + host + " Too many connections from your address, try later\r\n";
  }
  return "421 4.3.2 " + host + " Too many connections, try later\r\n";
}

// A line took longer than command_timeout from its first byte (or the first command from the
// greeting), or the session outlived session_max: whatever the client is in the middle of, it
// is told and dropped. A message whose commit is in flight is still committed.
std::string SmtpListener::goodbye_line(engine::Deadlines::Kind kind) const {
  const std::string& host = options_.smtp.hostname;
  if (kind == engine::Deadlines::Kind::session) {
    return "421 4.4.2 " + host + " Error: session too long, closing\r\n";
  }
  return "421 4.4.2 " + host + " Error: command timeout exceeded, closing\r\n";
}

// Every connection of this listener is a Session (open_connection() made it).
SmtpListener::Session* SmtpListener::find_session(std::uint64_t session_id) {
  return static_cast<Session*>(find(session_id));
}

SmtpHandler::AuthDone SmtpListener::auth_done(std::uint64_t session_id) {
  return [this, session_id](AuthVerdict verdict) {
    if (Session* session = find_session(session_id)) session->auth_answered(std::move(verdict));
  };
}

SmtpHandler::MessageDone SmtpListener::message_done(std::uint64_t session_id) {
  return [this, session_id](const MessageOutcome& outcome) {
    // The client may have gone while the message was being stored; it is then kept (if the
    // write worked) without its 250, and the client's retry may deliver it twice: at least
    // once.
    if (Session* session = find_session(session_id)) session->complete(smtp_reply(outcome));
  };
}

}  // namespace mta::server
