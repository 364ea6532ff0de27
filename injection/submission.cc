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

#include "base/assert.h"
#include "dkim/errc.h"
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

  // The group commit answered for this session's message.
  void complete(std::string_view reply_line) {
    smtp_.complete_message(reply_line);
    if (connection_ != nullptr && !reading_paused_) connection_->resume_reading();
    drive();
  }

  void on_drained() override {
    if (connection_ != nullptr && reading_paused_) {
      reading_paused_ = false;
      if (!smtp_.awaiting_decision()) connection_->resume_reading();
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
        if (connection_ != nullptr) connection_->pause_reading();
        owner_.enqueue(id_, std::move(*message));
      }  // SessionEnded: smtp_.ended() says the same, checked below
    }
    flush();
    if (connection_ != nullptr && smtp_.ended()) {
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
  bool stopping_ = false;
  bool reading_paused_ = false;
};

SubmissionListener::SubmissionListener(engine::Shard& shard, Committer& committer,
                                       queue::MessageIdGenerator& ids, SubmissionOptions options,
                                       RouteFn route, QueuedFn on_queued)
    : shard_(shard),
      committer_(committer),
      ids_(ids),
      options_(std::move(options)),
      route_(std::move(route)),
      on_queued_(std::move(on_queued)) {
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

void SubmissionListener::enqueue(std::uint64_t session_id, smtp::MessageReceived&& message) {
  const Clock::WallTime now = shard_.clock().wall_now();
  if (options_.signing != nullptr) {
    if (auto refused = sign(message.body, now)) {
      if (auto session = sessions_.find(session_id); session != sessions_.end()) {
        session->second->complete(*refused);
      }
      return;
    }
  }
  const MessageId id = ids_.next();
  const auto expires =
      now + std::chrono::duration_cast<Clock::WallTime::duration>(options_.max_age);
  // One part per destination, recipients in the order the client gave them.
  std::vector<queue::Envelope> parts;
  for (auto& address : message.recipients) {
    std::string destination = route_(address);
    auto part = std::find_if(parts.begin(), parts.end(), [&](const queue::Envelope& e) {
      return e.destination == destination;
    });
    if (part == parts.end()) {
      queue::Envelope envelope;
      envelope.id = id;
      envelope.part = static_cast<std::uint32_t>(parts.size());
      envelope.destination = std::move(destination);
      envelope.mail_from = message.mail_from;
      envelope.received_at = now;
      envelope.next_attempt_at = now;
      envelope.expires_at = expires;
      envelope.body_bytes = message.body.size();
      parts.push_back(std::move(envelope));
      part = parts.end() - 1;
    }
    part->recipients.push_back(queue::Recipient{.address = std::move(address)});
  }
  std::vector<queue::ScheduledItem> items;
  items.reserve(parts.size());
  for (const auto& part : parts) {
    items.push_back(queue::ScheduledItem{.due = part.next_attempt_at,
                                         .key = {.message = id, .part = part.part},
                                         .destination = part.destination});
  }
  const std::size_t body_bytes = message.body.size();
  committer_.submit(
      std::move(parts), std::move(message.body),
      [this, session_id, id, body_bytes, items = std::move(items)](const Result<void>& result) {
        if (result) {
          ++probe_.messages_queued;
          probe_.bytes_queued += body_bytes;
        }
        on_committed(session_id, id, items, result);
      });
}

std::optional<std::string> SubmissionListener::sign(std::string& body, Clock::WallTime now) {
  auto fields = dkim::sign_message(*options_.signing, body, now);
  if (!fields) {
    ++probe_.sign_failures;
    // A header block DKIM cannot parse would be refused by receivers as well; anything else
    // is our failure, and the client may try again.
    return fields.error().code == dkim::Errc::malformed_message
               ? "554 5.6.0 Message header cannot be DKIM-signed: " + fields.error().detail
               : "451 4.7.0 DKIM signing failed, try again later";
  }
  if (!fields->empty()) {
    ++probe_.messages_signed;
    std::size_t count = 0;
    for (std::size_t at = fields->find("DKIM-Signature:"); at != std::string::npos;
         at = fields->find("DKIM-Signature:", at + 1)) {
      ++count;
    }
    probe_.signatures += count;
    body.insert(0, *fields);
  }
  return std::nullopt;
}

void SubmissionListener::on_committed(std::uint64_t session_id, MessageId id,
                                      const std::vector<queue::ScheduledItem>& parts,
                                      const Result<void>& result) {
  std::string reply;
  if (result) {
    on_queued_(parts);
    reply = "250 2.0.0 Ok: queued as " + to_hex(id);
  } else {
    ++probe_.store_failures;
    // Nothing was acknowledged and the batch wrote nothing: the client keeps the message and
    // retries (RFC 5321 §4.2.5: a 4yz after DATA means the server did not take responsibility).
    reply = result.error().code == queue::Errc::no_space
                ? "452 4.3.1 Insufficient system storage"
                : "451 4.3.0 Error: queue write failed, try again later";
  }
  // The client may have gone while the batch was written; the message is then queued (if the
  // write worked) without its 250, and the client's retry may deliver it twice: at least once.
  if (auto session = sessions_.find(session_id); session != sessions_.end()) {
    session->second->complete(reply);
  }
}

}  // namespace mta::injection
