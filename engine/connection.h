// Connection: a TCP stream on the shard's ring with one recv, one send and one connect
// operation as members and its buffers owned here, never on a stack. It moves bytes and
// reports events to a ConnectionHandler; what the bytes mean is the handler's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "base/clock.h"
#include "engine/address.h"
#include "engine/op.h"
#include "engine/shard.h"

namespace mta::engine {

// Callbacks run on the connection's shard, never from inside a Connection member the
// handler called (write, close, abort...): always from the loop.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Outbound only: 0, or -errno (-ETIMEDOUT when the connect timeout passed). After a
  // failure on_closed(same error) follows. Not called if the connection is aborted or
  // closed before the connect completed.
  virtual void on_connected(int error) { (void)error; }
  // New bytes arrived. consume() what was used; the rest stays for next time. `input` may
  // be touched only inside on_data.
  virtual void on_data(Buffer& input) = 0;
  virtual void on_drained() {}  // every byte written so far was handed to the kernel
  // Exactly once, the last callback: 0 = closed cleanly (close(), or the peer's EOF),
  // -ETIMEDOUT (idle or close timeout), -ECONNABORTED (abort(), or the shard's drain ran
  // out), or the socket's -errno.
  virtual void on_closed(int error) = 0;
};

// Owned by its shard. Created by adopt() or connect(); the reference stays valid until
// on_closed() has returned, after which the shard frees it at the end of the loop turn. The
// handler must outlive the connection (until on_closed). An object with operations in flight
// is never freed: close() and abort() cancel them and the connection waits for the kernel.
//
// States: connecting -> open -> closing (close(): flushing output, then SHUT_WR and a short
// linger) -> finishing (waiting for cancelled ops) -> closed (on_closed called).
class Connection {
 private:
  struct Key {
    explicit Key() = default;
  };

 public:
  // Bytes read per recv operation (the recv buffer grows the input Buffer by this much).
  static constexpr std::size_t kRecvBytes = 16 * 1024;
  // How long close() waits for pending output before giving up with -ETIMEDOUT.
  static constexpr Clock::Duration kCloseTimeout = std::chrono::seconds(10);
  // After SHUT_WR, how long close() keeps reading (and discarding) while waiting for the
  // peer's EOF. Closing a socket with unread input makes the kernel send RST, which can
  // destroy the reply the peer has not read yet (a 221 or 421); lingering avoids that.
  static constexpr Clock::Duration kLingerTimeout = std::chrono::seconds(2);

  // Takes ownership of a connected socket (from a Listener) and starts reading at once.
  static Connection& adopt(Shard& shard, int fd, ConnectionHandler& handler);
  // Nonblocking socket + IORING_OP_CONNECT; `timeout` (0 = none) cancels it through a shard
  // timer. Reading starts after a successful connect; write() before that is buffered.
  // `from`: the local address to send from, with port 0 (the kernel picks the port at connect
  // time, IP_BIND_ADDRESS_NO_PORT); a failed bind fails the connect with its errno.
  static Connection& connect(Shard& shard, const SocketAddress& to, Clock::Duration timeout,
                             ConnectionHandler& handler, const SocketAddress* from = nullptr);

  Connection(Key, Shard& shard, int fd, const SocketAddress& peer, ConnectionHandler& handler);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Appends to the output buffer and sends when possible. Ignored after close()/abort().
  void write(std::string_view bytes);
  std::size_t output_pending() const { return sending_.size() + output_.size(); }

  // Flow control: while paused no recv is issued, so data stays in the kernel (a recv
  // already in flight may still complete; its bytes are kept until resume_reading()). The
  // idle timeout does not run while paused.
  void pause_reading();
  void resume_reading();
  // Close with -ETIMEDOUT when no bytes arrive for this long; 0 = none.
  void set_idle_timeout(Clock::Duration timeout);
  // Close with -ETIMEDOUT when output has been waiting this long without the kernel taking a
  // byte of it (the peer does not read, so its window stays shut); 0 = none. Unlike the idle
  // timeout it runs while reading is paused: that is when a peer that never reads is caught.
  void set_write_timeout(Clock::Duration timeout);

  // Graceful: stop delivering input, send what is pending (at most kCloseTimeout),
  // shutdown(SHUT_WR), read and discard until the peer's EOF (at most kLingerTimeout),
  // close the socket, then on_closed(0). Before the connect completed, same as abort().
  void close();
  // Immediate: cancel every operation, close the socket, on_closed(-ECONNABORTED).
  void abort();

  const SocketAddress& peer() const { return peer_; }
  Shard& shard() { return shard_; }
  std::uint64_t id() const { return id_; }
  bool is_open() const { return state_ == State::open; }

 private:
  friend class Shard;
  enum class State { connecting, open, closing, finishing, closed };

  void start_connect(Clock::Duration timeout, const SocketAddress* from);
  void arm_recv();
  void start_send();
  void on_connect_done(int result);
  void on_recv_done(int result);
  void on_send_done(int result);
  void on_idle_timer();
  void arm_write_timer();
  void on_write_timer();
  void report_socket_failure();
  void deliver_input();
  void arm_discard_recv();
  void shutdown_write();
  void finish_graceful();
  // Ends the connection with `error`: cancels everything and reports once all is back.
  void fail(int error);
  void maybe_finish();
  void finish();
  void defer_self(void (Connection::*member)());
  void cancel_timers();
  bool ops_in_flight() const;
  bool releasable() const;

  Shard& shard_;
  ConnectionHandler& handler_;
  const std::uint64_t id_;
  int fd_;
  SocketAddress peer_;  // also the connect op's address while connecting
  State state_;
  int close_error_ = 0;

  Buffer input_;    // the recv op writes into input_.prepare() while in flight
  Buffer sending_;  // owned by send_op_ while in flight
  Buffer output_;   // written by write(); swapped into sending_ when the send is free
  Op recv_op_;
  Op send_op_;
  Op connect_op_;

  bool reading_ = true;          // false while paused
  bool undelivered_ = false;     // input_ holds bytes the handler has not seen yet
  bool delivering_ = false;      // handler_.on_data() is on the stack
  bool timed_out_ = false;       // the connect timer fired and cancelled the connect
  bool peer_eof_ = false;        // recv returned 0
  bool write_shut_ = false;      // shutdown(SHUT_WR) done: closing only lingers now
  bool finish_pending_ = false;  // a deferred finish() is queued
  int deferred_refs_ = 0;        // deferred calls that still point at this connection
  Clock::Duration idle_timeout_{};
  Clock::TimePoint last_input_{};
  TimerId idle_timer_ = 0;
  Clock::Duration write_timeout_{};
  Clock::TimePoint last_output_{};  // output went from none to some, or the kernel took some
  TimerId write_timer_ = 0;
  TimerId deadline_timer_ = 0;  // connect timeout or close timeout
};

}  // namespace mta::engine
