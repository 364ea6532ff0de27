// Stream: plaintext passthrough until start_tls_*, then every byte from the Connection goes
// through the Session and every write comes out of it. The discarding of pre-TLS plaintext
// works whether start_tls_* is called inside on_data (the usual STARTTLS case: whatever is
// left in the input then is dropped) or later (the bytes the handler left in the Connection's
// input are remembered and dropped at the next delivery, before any TLS byte).
#include "tls/stream.h"

#include <cerrno>
#include <string>
#include <utility>

#include "base/assert.h"
#include "tls/errc.h"

namespace mta::tls {

Stream::Stream(StreamHandler& handler) : handler_(handler) {}

Stream::~Stream() {
  // The owner must keep the stream until on_closed (the Connection points at it).
  MTA_ASSERT(connection_ == nullptr);
}

void Stream::adopt(engine::Shard& shard, int fd) {
  MTA_ASSERT(connection_ == nullptr && shard_ == nullptr);
  shard_ = &shard;
  connection_ = &engine::Connection::adopt(shard, fd, *this);
  peer_ = connection_->peer();
}

void Stream::connect(engine::Shard& shard, const engine::SocketAddress& to, Clock::Duration timeout,
                     const engine::SocketAddress* from) {
  MTA_ASSERT(connection_ == nullptr && shard_ == nullptr);
  shard_ = &shard;
  peer_ = to;
  connection_ = &engine::Connection::connect(shard, to, timeout, *this, from);
}

Result<void> Stream::start_tls_client(ClientContext& context, std::string_view sni_host,
                                      std::string_view cache_key, Clock::Duration timeout) {
  if (connection_ == nullptr || closing_ || session_) {
    return unexpected(Errc::closed, "stream not open or TLS already started");
  }
  return begin_tls(Session::client(context, sni_host, cache_key), timeout);
}

Result<void> Stream::start_tls_server(ServerContext& context, Clock::Duration timeout) {
  if (connection_ == nullptr || closing_ || session_) {
    return unexpected(Errc::closed, "stream not open or TLS already started");
  }
  return begin_tls(Session::server(context), timeout);
}

Result<void> Stream::begin_tls(Result<Session> session, Clock::Duration timeout) {
  if (!session) return unexpected(session.error());
  session_.emplace(std::move(*session));
  tls_reported_ = false;
  // Inside on_data the rest of the input is dropped when the handler returns (on_data);
  // outside it, what the handler left in the Connection's input is dropped next time.
  if (!in_on_data_) {
    discard_pending_ = stale_plaintext_;
    stale_plaintext_ = 0;
  }
  if (timeout > Clock::Duration::zero()) {
    handshake_timer_ = shard_->schedule(timeout, [this] {
      handshake_timer_ = 0;
      on_handshake_timeout();
    });
  }
  flush();  // a client's ClientHello
  return {};
}

void Stream::on_data(Buffer& input) {
  in_on_data_ = true;
  if (discard_pending_ > 0) {
    const std::size_t dropped = std::min(discard_pending_, input.size());
    input.consume(dropped);
    discard_pending_ -= dropped;
    discarded_plaintext_ += dropped;
  }
  if (session_) {
    on_ciphertext(input);
  } else if (!input.empty()) {
    handler_.on_data(input);
    if (session_) {
      // STARTTLS was accepted inside the handler: nothing received before it may count.
      discarded_plaintext_ += input.size();
      input.consume(input.size());
    }
    stale_plaintext_ = input.size();
  }
  in_on_data_ = false;
}

void Stream::on_ciphertext(Buffer& input) {
  if (closing_) {
    input.consume(input.size());
    return;
  }
  auto fed = session_->feed(input.readable());
  input.consume(input.size());
  if (!fed) {
    fail_tls(fed.error(), -EPROTO);
    return;
  }
  if (!tls_reported_ && session_->handshake_done()) {
    flush();
    handshake_finished({});
    if (closing_ || connection_ == nullptr) return;
  }
  auto got = session_->read(plaintext_in_);
  flush();
  if (!plaintext_in_.empty()) handler_.on_data(plaintext_in_);
  if (closing_ || connection_ == nullptr) return;
  if (!got) {
    fail_tls(got.error(), -EPROTO);
    return;
  }
  // The peer's close_notify: answer with ours and close (mail protocols never half-close).
  if (session_->peer_closed()) close();
}

void Stream::flush() {
  if (!session_ || connection_ == nullptr) return;
  session_->take_output(ciphertext_out_);
  if (ciphertext_out_.empty()) return;
  connection_->write(ciphertext_out_.readable());
  ciphertext_out_.consume(ciphertext_out_.size());
}

void Stream::handshake_finished(const Result<void>& result) {
  tls_reported_ = true;
  if (handshake_timer_ != 0) {
    shard_->cancel_timer(handshake_timer_);
    handshake_timer_ = 0;
  }
  handler_.on_tls_ready(result);
}

void Stream::on_handshake_timeout() {
  if (tls_reported_ || connection_ == nullptr) return;
  Error error{Errc::handshake_timeout, "no TLS handshake in time"};
  last_error_ = error;
  close_error_override_ = -ETIMEDOUT;
  handshake_finished(unexpected(error));
  if (connection_ != nullptr && !closing_) {
    closing_ = true;
    connection_->abort();  // a peer that does not answer would not read our FIN either
  }
}

void Stream::fail_tls(const Error& error, int close_error) {
  if (!last_error_) last_error_ = error;
  close_error_override_ = close_error;
  flush();  // the alert that tells the peer why
  if (!tls_reported_) handshake_finished(unexpected(error));
  if (connection_ != nullptr && !closing_) {
    closing_ = true;
    connection_->close();
  }
}

void Stream::write(std::string_view bytes) {
  if (connection_ == nullptr || closing_) return;
  if (!session_) {
    connection_->write(bytes);
    return;
  }
  auto written = session_->write(bytes);
  if (!written) {
    // Only after a failure already seen by on_data; no callback from inside a member.
    if (!last_error_) last_error_ = written.error();
    close_error_override_ = -EPROTO;
    closing_ = true;
    connection_->close();
    return;
  }
  flush();
}

void Stream::close() {
  if (connection_ == nullptr || closing_) return;
  closing_ = true;
  if (session_) {
    session_->close_notify();
    flush();
  }
  connection_->close();
}

void Stream::abort() {
  if (connection_ == nullptr) return;
  closing_ = true;
  connection_->abort();
}

void Stream::pause_reading() {
  if (connection_ != nullptr) connection_->pause_reading();
}

void Stream::resume_reading() {
  if (connection_ == nullptr) return;
  connection_->resume_reading();
  // Decrypted bytes the handler left while paused: offer them again from the loop.
  if (session_ && !plaintext_in_.empty() && redeliver_timer_ == 0) {
    redeliver_timer_ = shard_->schedule(Clock::Duration::zero(), [this] {
      redeliver_timer_ = 0;
      redeliver();
    });
  }
}

void Stream::redeliver() {
  if (connection_ == nullptr || closing_ || plaintext_in_.empty()) return;
  handler_.on_data(plaintext_in_);
}

void Stream::set_idle_timeout(Clock::Duration timeout) {
  if (connection_ != nullptr) connection_->set_idle_timeout(timeout);
}

void Stream::set_write_timeout(Clock::Duration timeout) {
  if (connection_ != nullptr) connection_->set_write_timeout(timeout);
}

std::size_t Stream::output_pending() const {
  std::size_t pending = connection_ != nullptr ? connection_->output_pending() : 0;
  if (session_) pending += session_->plaintext_pending() + session_->output_pending();
  return pending;
}

const engine::SocketAddress& Stream::peer() const { return peer_; }

engine::Shard& Stream::shard() {
  MTA_ASSERT(shard_ != nullptr);
  return *shard_;
}

const Info* Stream::tls_info() const {
  return session_ && session_->handshake_done() ? &session_->info() : nullptr;
}

void Stream::on_connected(int error) { handler_.on_connected(error); }

void Stream::on_drained() { handler_.on_drained(); }

void Stream::cancel_timers() {
  if (shard_ == nullptr) return;
  if (handshake_timer_ != 0) shard_->cancel_timer(handshake_timer_);
  if (redeliver_timer_ != 0) shard_->cancel_timer(redeliver_timer_);
  handshake_timer_ = 0;
  redeliver_timer_ = 0;
}

void Stream::on_closed(int error) {
  connection_ = nullptr;
  closing_ = true;
  cancel_timers();
  int reported = close_error_override_ != 0 ? close_error_override_ : error;
  if (session_ && !tls_reported_) {
    // The connection ended while the handshake was still running.
    Error failure{Errc::handshake_failed, "connection closed during the handshake"};
    if (!last_error_) last_error_ = failure;
    if (reported == 0) reported = -EPROTO;
    tls_reported_ = true;
    handler_.on_tls_ready(unexpected(failure));
  }
  handler_.on_closed(reported);
}

}  // namespace mta::tls
