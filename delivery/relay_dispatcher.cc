// RelayDispatcher: a FIFO of due message ids, a time-ordered set of messages waiting for a
// retry (one shard timer for the earliest), and up to connections_max SMTP client
// connections. A connection that finishes its handshake, or a transaction, asks for the next
// message; the session pipelines each transaction (RSET, MAIL, RCPT..., DATA in one write).
#include "delivery/relay_dispatcher.h"

#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "base/log.h"
#include "engine/connection.h"
#include "queue/errc.h"

namespace mta::delivery {

// One SMTP client connection to the relay. Lives in RelayDispatcher::connections_ from
// creation until its engine connection closes; erased at the end of that loop turn.
class RelayDispatcher::Connection final : public engine::ConnectionHandler {
 public:
  Connection(RelayDispatcher& owner, std::uint64_t id)
      : owner_(owner),
        id_(id),
        session_(smtp::ClientOptions{.helo_name = owner.options_.helo_name}) {
    owner_.shard_.hold();
    connection_ = &engine::Connection::connect(owner_.shard_, owner_.options_.address,
                                               owner_.options_.connect_timeout, *this);
  }

  bool idle() const { return ready_ && !busy_ && !quitting_; }
  bool ready() const { return ready_; }

  void on_connected(int error) override {
    if (error != 0) {
      failure_ =
          "connect to " + owner_.options_.address.to_string() + " failed: " + std::strerror(-error);
      return;
    }
    connection_->set_idle_timeout(owner_.options_.reply_timeout);
  }

  void on_data(Buffer& input) override {
    (void)session_.on_bytes(input.readable());  // a failure arrives as SessionFailed
    input.consume(input.size());
    drive();
  }

  void on_closed(int error) override {
    owner_.shard_.cancel_timer(idle_timer_);
    if (failure_.empty()) {
      failure_ = error != 0 ? std::string("connection to relay lost: ") + std::strerror(-error)
                            : std::string("connection to relay closed");
    }
    if (busy_) {
      owner_.finish_with_failure(envelope_, tried_, failure_);
      busy_ = false;
    }
    if (!ready_) {
      log::warning(failure_);
      owner_.on_connection_failed();
    }
    connection_ = nullptr;
    owner_.shard_.release();
    owner_.on_connection_closed(id_);
  }

  // Takes the next due message, or goes idle (and QUITs after idle_timeout).
  void take_next() {
    MTA_ASSERT(ready_ && !busy_);
    if (quitting_) return;
    if (owner_.stopping_ || sent_ >= owner_.options_.messages_per_connection_max) {
      quit();
      return;
    }
    if (!owner_.assign(*this)) {
      owner_.shard_.cancel_timer(idle_timer_);
      idle_timer_ = owner_.shard_.schedule(owner_.options_.idle_timeout, [this] {
        idle_timer_ = 0;
        if (idle()) quit();
      });
    }
  }

  void start(queue::Envelope&& envelope, std::vector<std::size_t>&& tried,
             const std::string& body) {
    owner_.shard_.cancel_timer(idle_timer_);
    idle_timer_ = 0;
    envelope_ = std::move(envelope);
    tried_ = std::move(tried);
    smtp::Envelope smtp_envelope{.mail_from = envelope_.mail_from, .recipients = {}};
    for (std::size_t index : tried_) {
      smtp_envelope.recipients.push_back(envelope_.recipients[index].address);
    }
    busy_ = true;
    session_.begin_transaction(smtp_envelope, body);
    flush();
  }

  void quit() {
    if (quitting_ || connection_ == nullptr) return;
    quitting_ = true;
    session_.quit();
    flush();
  }

 private:
  void drive() {
    while (auto event = session_.next_event()) {
      if (std::holds_alternative<smtp::SessionReady>(*event)) {
        ready_ = true;
        take_next();
      } else if (auto* result = std::get_if<smtp::TransactionResult>(&*event)) {
        busy_ = false;
        ++sent_;
        owner_.finish(envelope_, tried_, *result);
        take_next();
      } else if (auto* failed = std::get_if<smtp::SessionFailed>(&*event)) {
        failure_ = "relay " + owner_.options_.address.to_string() + ": " + failed->reason;
        if (failed->reply.code != 0) failure_ += " (" + failed->reply.to_string() + ")";
        if (connection_ != nullptr) connection_->close();
        return;
      } else if (std::holds_alternative<smtp::SessionClosed>(*event)) {
        if (connection_ != nullptr) connection_->close();
        return;
      }
    }
    flush();
  }

  void flush() {
    if (connection_ == nullptr) return;
    const std::string_view out = session_.bytes_to_send();
    if (!out.empty()) {
      connection_->write(out);
      session_.on_sent(out.size());
    }
  }

  RelayDispatcher& owner_;
  const std::uint64_t id_;
  smtp::ClientSession session_;
  engine::Connection* connection_ = nullptr;
  engine::TimerId idle_timer_ = 0;
  queue::Envelope envelope_;
  std::vector<std::size_t> tried_;
  std::string failure_;
  std::size_t sent_ = 0;
  bool ready_ = false;
  bool busy_ = false;
  bool quitting_ = false;
};

RelayDispatcher::RelayDispatcher(engine::Shard& shard, queue::Store& store, RelayOptions options)
    : shard_(shard), store_(store), options_(std::move(options)) {
  shard_.on_stop([this] { on_stop(); });
}

RelayDispatcher::~RelayDispatcher() { shard_.cancel_timer(retry_timer_); }

void RelayDispatcher::enqueue(MessageId id) {
  ready_.push_back(id);
  pump();
}

Result<std::uint64_t> RelayDispatcher::recover() {
  std::uint64_t recovered = 0;
  const Clock::WallTime now = shard_.clock().wall_now();
  auto scanned = store_.for_each_envelope([&](queue::Envelope&& envelope) {
    ++recovered;
    if (envelope.next_attempt_at <= now) {
      ready_.push_back(envelope.id);
    } else {
      retry_at_.emplace(envelope.next_attempt_at, envelope.id);
    }
    return true;
  });
  if (!scanned) return unexpected(scanned.error());
  arm_retry_timer();
  pump();
  return recovered;
}

void RelayDispatcher::pump() {
  if (stopping_) return;
  for (auto& [id, connection] : connections_) {
    if (ready_.empty()) return;
    if (connection->idle()) connection->take_next();
  }
  if (ready_.empty()) return;
  const Clock::TimePoint now = shard_.clock().now();
  if (now < connect_blocked_until_) {
    if (!pump_scheduled_) {
      pump_scheduled_ = true;
      shard_.schedule(connect_blocked_until_ - now, [this] {
        pump_scheduled_ = false;
        pump();
      });
    }
    return;
  }
  std::size_t connecting = 0;
  for (auto& [id, connection] : connections_) {
    if (!connection->ready()) ++connecting;
  }
  while (connections_.size() < options_.connections_max && connecting < ready_.size()) {
    const std::uint64_t id = next_connection_id_++;
    connections_.emplace(id, std::make_unique<Connection>(*this, id));
    ++probe_.connections_opened;
    ++connecting;
  }
}

bool RelayDispatcher::assign(Connection& connection) {
  while (!ready_.empty()) {
    const MessageId id = ready_.front();
    ready_.pop_front();
    auto envelope = store_.read_envelope(id);
    if (!envelope) {
      // Gone (finished by another path) or unreadable: the store logged what it could.
      if (envelope.error().code != queue::Errc::not_found) {
        ++probe_.store_failures;
        log::error("queue: cannot read " + to_hex(id) + ": " + envelope.error().message());
      }
      continue;
    }
    std::vector<std::size_t> tried = recipients_to_try(*envelope);
    if (tried.empty()) {
      (void)store_.remove(id);
      continue;
    }
    auto body = store_.read_body(id);
    if (!body) {
      ++probe_.store_failures;
      log::error("queue: cannot read body of " + to_hex(id) + ": " + body.error().message());
      schedule_retry(
          id, shard_.clock().wall_now() + std::chrono::duration_cast<Clock::WallTime::duration>(
                                              options_.retry.retry_delay));
      continue;
    }
    connection.start(std::move(envelope).value(), std::move(tried), *body);
    return true;
  }
  return false;
}

void RelayDispatcher::finish(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                             const smtp::TransactionResult& result) {
  ++probe_.transactions;
  record(envelope,
         apply_transaction(envelope, tried, result, shard_.clock().wall_now(), options_.retry));
}

void RelayDispatcher::finish_with_failure(queue::Envelope& envelope,
                                          const std::vector<std::size_t>& tried,
                                          const std::string& reason) {
  record(envelope, apply_connection_failure(envelope, tried, reason, shard_.clock().wall_now(),
                                            options_.retry));
}

void RelayDispatcher::record(queue::Envelope& envelope, NextStep step) {
  for (const auto& recipient : envelope.recipients) {
    switch (recipient.state) {
      case queue::RecipientState::delivered:
        ++probe_.recipients_delivered;
        break;
      case queue::RecipientState::deferred:
        ++probe_.recipients_deferred;
        break;
      case queue::RecipientState::bounced:
        ++probe_.recipients_bounced;
        break;
      case queue::RecipientState::pending:
        break;
    }
    if (log::enabled(log::Level::debug)) {
      log::debug("delivery " + to_hex(envelope.id) + " <" + recipient.address +
                 ">: " + recipient.last_reply);
    }
  }
  // TODO(outpost): bounced recipients get a DSN once the queue issue lands; until then the
  // record goes when nobody is left to try.
  if (step == NextStep::remove) {
    if (auto removed = store_.remove(envelope.id); !removed) {
      ++probe_.store_failures;
      log::error("queue: cannot remove " + to_hex(envelope.id) + ": " + removed.error().message());
    }
    return;
  }
  if (auto updated = store_.update_envelope(envelope); !updated) {
    ++probe_.store_failures;
    log::error("queue: cannot update " + to_hex(envelope.id) + ": " + updated.error().message());
  }
  schedule_retry(envelope.id, envelope.next_attempt_at);
}

void RelayDispatcher::schedule_retry(MessageId id, Clock::WallTime at) {
  retry_at_.emplace(at, id);
  arm_retry_timer();
}

void RelayDispatcher::arm_retry_timer() {
  if (retry_at_.empty()) return;
  const Clock::WallTime first = retry_at_.begin()->first;
  if (retry_timer_ != 0 && first >= retry_timer_due_) return;
  shard_.cancel_timer(retry_timer_);
  retry_timer_due_ = first;
  const auto delay =
      std::max<Clock::Duration>(first - shard_.clock().wall_now(), Clock::Duration::zero());
  retry_timer_ = shard_.schedule(delay, [this] {
    retry_timer_ = 0;
    const Clock::WallTime now = shard_.clock().wall_now();
    while (!retry_at_.empty() && retry_at_.begin()->first <= now) {
      ready_.push_back(retry_at_.begin()->second);
      retry_at_.erase(retry_at_.begin());
    }
    arm_retry_timer();
    pump();
  });
}

void RelayDispatcher::on_connection_failed() {
  ++probe_.connection_failures;
  connect_blocked_until_ = shard_.clock().now() + options_.reconnect_delay;
}

void RelayDispatcher::on_connection_closed(std::uint64_t connection_id) {
  shard_.defer([this, connection_id] {
    connections_.erase(connection_id);
    pump();
  });
}

void RelayDispatcher::on_stop() {
  stopping_ = true;
  shard_.cancel_timer(retry_timer_);
  retry_timer_ = 0;
  for (auto& [id, connection] : connections_) {
    if (connection->idle()) connection->quit();
  }
}

}  // namespace mta::delivery
