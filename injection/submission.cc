// SubmissionListener and its per-connection Session: bytes from the socket go into the
// ServerSession; each MessageReceived becomes a synced queue write, and only then the 250.
#include "injection/submission.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "queue/errc.h"

namespace mta::injection {

// One SMTP connection. Lives in SubmissionListener::sessions_ from accept until the
// connection's on_closed; the listener erases it at the end of that loop turn.
class SubmissionListener::Session final : public engine::ConnectionHandler {
 public:
  Session(SubmissionListener& owner, std::uint64_t id, int fd)
      : owner_(owner),
        id_(id),
        smtp_(owner.options_.smtp),
        connection_(&engine::Connection::adopt(owner.shard_, fd, *this)) {
    owner_.shard_.hold();
    connection_->set_idle_timeout(owner_.options_.idle_timeout);
    flush();
  }

  void on_data(Buffer& input) override {
    smtp_.on_bytes(input.readable());
    input.consume(input.size());
    drive();
    // A client that pipelines commands but never reads our replies must not grow our output
    // buffer without bound: stop reading until the replies have drained.
    if (connection_ != nullptr && !reading_paused_ &&
        connection_->output_pending() > owner_.options_.output_bytes_max) {
      reading_paused_ = true;
      connection_->pause_reading();
    }
  }

  void on_drained() override {
    if (connection_ != nullptr && reading_paused_) {
      reading_paused_ = false;
      connection_->resume_reading();
    }
  }

  void on_closed(int /*error*/) override {
    connection_ = nullptr;
    owner_.shard_.release();
    owner_.on_session_closed(id_);
  }

  // Stop requested: an idle session is told the service is going away; one in the middle of
  // a transaction finishes it (the drain gate waits) and is closed when it next goes idle.
  void on_stop() {
    stopping_ = true;
    if (connection_ != nullptr && !smtp_.awaiting_decision()) {
      connection_->write("421 4.3.2 " + owner_.options_.smtp.hostname +
                         " Service shutting down\r\n");
      connection_->close();
    }
  }

 private:
  void drive() {
    while (auto event = smtp_.next_event()) {
      if (auto* message = std::get_if<smtp::MessageReceived>(&*event)) {
        smtp_.complete_message(owner_.enqueue(*message));
      } else if (std::holds_alternative<smtp::SessionEnded>(*event)) {
        ended_ = true;
      }
    }
    flush();
    if (connection_ != nullptr && (ended_ || smtp_.ended())) {
      connection_->close();
    } else if (connection_ != nullptr && stopping_ && !smtp_.awaiting_decision()) {
      on_stop();
    }
  }

  void flush() {
    if (connection_ == nullptr) return;
    const std::string_view out = smtp_.bytes_to_send();
    if (!out.empty()) {
      connection_->write(out);
      smtp_.on_sent(out.size());
    }
  }

  SubmissionListener& owner_;
  const std::uint64_t id_;
  smtp::ServerSession smtp_;
  engine::Connection* connection_;
  bool ended_ = false;
  bool stopping_ = false;
  bool reading_paused_ = false;
};

SubmissionListener::SubmissionListener(engine::Shard& shard, queue::Store& store,
                                       SubmissionOptions options, QueuedFn on_queued)
    : shard_(shard),
      store_(store),
      options_(std::move(options)),
      on_queued_(std::move(on_queued)),
      ids_(shard.id(), shard.clock()) {
  shard_.on_stop([this] { on_stop(); });
}

// Sessions still listed here lost their connections when the shard stopped; nothing to flush.
SubmissionListener::~SubmissionListener() = default;

void SubmissionListener::listen(int listen_fd) {
  shard_.listen(listen_fd,
                [this](int fd, const engine::SocketAddress& /*peer*/) { on_accept(fd); });
}

void SubmissionListener::on_accept(int fd) {
  if (shard_.stopping() || sessions_.size() >= options_.sessions_max) {
    ++probe_.connections_refused;
    static constexpr std::string_view busy = "421 4.3.2 Too many connections, try later\r\n";
    // Best effort on a fresh socket whose buffer is empty: a short blocking-free write.
    (void)!::write(fd, busy.data(), busy.size());
    ::close(fd);
    return;
  }
  ++probe_.connections_accepted;
  const std::uint64_t id = next_session_id_++;
  sessions_.emplace(id, std::make_unique<Session>(*this, id, fd));
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

std::string SubmissionListener::enqueue(const smtp::MessageReceived& message) {
  queue::Envelope envelope;
  envelope.id = ids_.next();
  envelope.mail_from = message.mail_from;
  envelope.recipients.reserve(message.recipients.size());
  for (const auto& address : message.recipients) {
    envelope.recipients.push_back(queue::Recipient{.address = address});
  }
  envelope.received_at = shard_.clock().wall_now();
  envelope.next_attempt_at = envelope.received_at;
  envelope.body_bytes = message.body.size();

  if (auto stored = store_.put(envelope, message.body); !stored) {
    ++probe_.store_failures;
    // Nothing was acknowledged and the store wrote nothing: the client keeps the message and
    // retries (RFC 5321 §4.2.5: a 4yz after DATA means the server did not take responsibility).
    if (stored.error().code == queue::Errc::no_space) {
      return "452 4.3.1 Insufficient system storage";
    }
    return "451 4.3.0 Error: queue write failed, try again later";
  }
  ++probe_.messages_queued;
  probe_.bytes_queued += message.body.size();
  on_queued_(envelope);
  return "250 2.0.0 Ok: queued as " + to_hex(envelope.id);
}

}  // namespace mta::injection
