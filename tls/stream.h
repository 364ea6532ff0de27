// Stream: the TCP connection a protocol speaks through, plaintext at first and TLS after
// start_tls_client() / start_tls_server(). It is the engine::Connection's handler and offers
// the protocol code the Connection's operations plus the TLS upgrade, so SMTP, IMAP and POP3
// run the same code over plaintext, STARTTLS and implicit TLS.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "base/buffer.h"
#include "base/clock.h"
#include "base/result.h"
#include "engine/address.h"
#include "engine/connection.h"
#include "engine/shard.h"
#include "tls/context.h"
#include "tls/session.h"

namespace mta::tls {

// Callbacks run on the stream's shard from the loop, never from inside a Stream member the
// handler called, exactly like engine::ConnectionHandler.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // Outbound only: 0 or -errno; after a failure on_closed(same error) follows.
  virtual void on_connected(int error) { (void)error; }
  // Plaintext arrived (decrypted when TLS is on). consume() what was used; the rest stays.
  virtual void on_data(Buffer& input) = 0;
  virtual void on_drained() {}  // every byte written so far was handed to the kernel
  // Once per start_tls_*: the handshake finished (tls_info() is set) or failed (the stream
  // then closes and on_closed(-EPROTO or -ETIMEDOUT) follows).
  virtual void on_tls_ready(const Result<void>& result) { (void)result; }
  // Exactly once, the last callback: the Connection's codes (0, -ETIMEDOUT, -ECONNABORTED,
  // -errno), plus -EPROTO when TLS failed (see last_error()) and -ETIMEDOUT when the
  // handshake timed out.
  virtual void on_closed(int error) = 0;
};

// Owned by the caller (e.g. a member of the SMTP session object), which must keep it alive
// until on_closed() has returned; one Stream carries one connection. Runs on one shard.
//
// STARTTLS and injection (CVE-2011-0411): plaintext that arrived before start_tls_* but was
// not consumed by the handler is DISCARDED, never decrypted or delivered after the
// handshake; discarded_plaintext() counts those bytes. A pipelining client cannot smuggle
// commands into the TLS session that way, nor a server smuggle replies.
class Stream final : private engine::ConnectionHandler {
 public:
  explicit Stream(StreamHandler& handler);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() override;

  // Exactly one of these, once. Implicit TLS (465, 993, 995): start_tls_server() right
  // after adopt().
  void adopt(engine::Shard& shard, int fd);
  // `from`: the local address (port 0) to send from, or nullptr for the kernel's choice.
  void connect(engine::Shard& shard, const engine::SocketAddress& to, Clock::Duration timeout,
               const engine::SocketAddress* from = nullptr);

  // From now on the bytes are TLS. The handshake must finish within `timeout` (0 = no
  // limit). Errors here are set-up failures; the handshake's result comes in on_tls_ready().
  Result<void> start_tls_client(ClientContext& context, std::string_view sni_host,
                                std::string_view cache_key, Clock::Duration timeout);
  Result<void> start_tls_server(ServerContext& context, Clock::Duration timeout);

  // Encrypted when TLS is on (held until the handshake finished). Ignored after close/abort.
  void write(std::string_view bytes);
  // Writes what a protocol session (anything with bytes_to_send() and on_sent(), such as
  // smtp::ServerSession or smtp::ClientSession) has ready, and tells it so.
  template <typename Session>
  void write_from(Session& session) {
    const std::string_view out = session.bytes_to_send();
    if (out.empty()) return;
    write(out);
    session.on_sent(out.size());
  }
  // Sends our close_notify first when TLS is on, then closes like Connection::close().
  void close();
  void abort();
  void pause_reading();
  void resume_reading();
  void set_idle_timeout(Clock::Duration timeout);
  void set_write_timeout(Clock::Duration timeout);  // engine::Connection::set_write_timeout
  std::size_t output_pending() const;
  const engine::SocketAddress& peer() const;
  engine::Shard& shard();

  bool is_open() const { return connection_ != nullptr && !closing_; }
  bool tls_started() const { return session_.has_value(); }
  bool tls_ready() const { return session_ && session_->handshake_done() && !session_->failed(); }
  const Info* tls_info() const;  // null until the handshake finished
  std::size_t discarded_plaintext() const { return discarded_plaintext_; }
  // The TLS failure that ended or is ending the stream (handshake error, timeout, bad record).
  const std::optional<Error>& last_error() const { return last_error_; }

 private:
  // engine::ConnectionHandler
  void on_connected(int error) override;
  void on_data(Buffer& input) override;
  void on_drained() override;
  void on_closed(int error) override;

  Result<void> begin_tls(Result<Session> session, Clock::Duration timeout);
  void on_ciphertext(Buffer& input);
  void flush();
  void handshake_finished(const Result<void>& result);
  void on_handshake_timeout();
  void fail_tls(const Error& error, int close_error);
  void cancel_timers();
  void redeliver();

  StreamHandler& handler_;
  engine::Connection* connection_ = nullptr;  // null before adopt/connect and after on_closed
  std::optional<Session> session_;
  Buffer plaintext_in_;    // decrypted, not yet consumed by the handler
  Buffer ciphertext_out_;  // reused for moving the session's output to the connection
  bool in_on_data_ = false;
  bool closing_ = false;
  bool tls_reported_ = false;        // on_tls_ready() was called for the current handshake
  std::size_t stale_plaintext_ = 0;  // unconsumed plaintext left in the Connection's input
  std::size_t discard_pending_ = 0;  // of it, to drop at the next on_data
  std::size_t discarded_plaintext_ = 0;
  std::optional<Error> last_error_;
  int close_error_override_ = 0;  // reported instead of the Connection's code when set
  engine::TimerId handshake_timer_ = 0;
  engine::TimerId redeliver_timer_ = 0;  // resume_reading() with decrypted bytes waiting
  engine::Shard* shard_ = nullptr;
  engine::SocketAddress peer_;
};

}  // namespace mta::tls
