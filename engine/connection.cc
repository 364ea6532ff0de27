// Connection state machine. Every handler callback is reached from an operation completion,
// a timer or a deferred call, so a handler may call any member (even abort()) from inside a
// callback without re-entering itself; on_closed() is always delivered through defer().
#include "engine/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

namespace mta::engine {
namespace {

void set_nodelay(int fd) {
  const int on = 1;
  // Fails harmlessly on a non-TCP socket (tests may adopt a socketpair).
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

bool retryable(int result) { return result == -EINTR || result == -EAGAIN || result == -ENOBUFS; }

}  // namespace

Connection& Connection::adopt(Shard& shard, int fd, ConnectionHandler& handler) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  SocketAddress peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    peer = SocketAddress::from(reinterpret_cast<const sockaddr*>(&storage), length);
  }
  set_nodelay(fd);
  Connection& connection =
      shard.add_connection(std::make_unique<Connection>(Key{}, shard, fd, peer, handler));
  connection.state_ = State::open;
  connection.last_input_ = shard.clock().now();
  connection.arm_recv();
  return connection;
}

Connection& Connection::connect(Shard& shard, const SocketAddress& to, Clock::Duration timeout,
                                ConnectionHandler& handler, const SocketAddress* from) {
  Connection& connection =
      shard.add_connection(std::make_unique<Connection>(Key{}, shard, -1, to, handler));
  connection.start_connect(timeout, from);
  return connection;
}

Connection::Connection(Key, Shard& shard, int fd, const SocketAddress& peer,
                       ConnectionHandler& handler)
    : shard_(shard),
      handler_(handler),
      id_(shard.next_connection_id_++),
      fd_(fd),
      peer_(peer),
      state_(State::connecting),
      recv_op_([this](int result) { on_recv_done(result); }),
      send_op_([this](int result) { on_send_done(result); }),
      connect_op_([this](int result) { on_connect_done(result); }) {}

Connection::~Connection() {
  cancel_timers();
  if (fd_ >= 0) ::close(fd_);
}

// ---- connect ----

void Connection::start_connect(Clock::Duration timeout, const SocketAddress* from) {
  const int fd = ::socket(peer_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    close_error_ = -errno;
    defer_self(&Connection::report_socket_failure);
    return;
  }
  fd_ = fd;
  set_nodelay(fd_);
  if (from != nullptr) {
    // Without IP_BIND_ADDRESS_NO_PORT, bind() would reserve an ephemeral port for every
    // (source, any destination) pair and run out at ~28,000 connections per source.
    const int one = 1;
    (void)::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd_, from->sockaddr_ptr(), from->length) != 0) {
      close_error_ = -errno;
      defer_self(&Connection::report_socket_failure);
      return;
    }
  }
  connect_op_.prepare_connect(fd_, peer_.sockaddr_ptr(), peer_.length);
  shard_.submit(connect_op_);
  if (timeout > Clock::Duration::zero()) {
    deadline_timer_ = shard_.schedule(timeout, [this] {
      deadline_timer_ = 0;
      timed_out_ = true;
      shard_.cancel(connect_op_);
    });
  }
}

void Connection::report_socket_failure() {
  if (state_ == State::connecting) on_connect_done(close_error_);
}

void Connection::on_connect_done(int result) {
  if (deadline_timer_ != 0) {
    shard_.cancel_timer(deadline_timer_);
    deadline_timer_ = 0;
  }
  if (state_ != State::connecting) {  // aborted or closed while connecting
    maybe_finish();
    return;
  }
  if (result == -ECANCELED && timed_out_) result = -ETIMEDOUT;
  if (result < 0) {
    state_ = State::finishing;
    close_error_ = result;
    handler_.on_connected(result);
    maybe_finish();
    return;
  }
  state_ = State::open;
  last_input_ = shard_.clock().now();
  start_send();  // whatever was written before the connect completed
  arm_recv();
  handler_.on_connected(0);
}

// ---- reading ----

void Connection::arm_recv() {
  // Never while undelivered bytes wait: the handler must not see a prepared (unfilled) tail.
  if (state_ != State::open || !reading_ || undelivered_ || recv_op_.in_flight()) return;
  recv_op_.prepare_recv(fd_, input_.prepare(kRecvBytes));
  shard_.submit(recv_op_);
}

void Connection::on_recv_done(int result) {
  input_.commit(result > 0 ? static_cast<std::size_t>(result) : 0);
  if (state_ == State::closing) {  // the handler is done with input: discard it
    input_.clear();
    if (result > 0 || retryable(result)) {
      arm_discard_recv();
    } else if (result == 0 || write_shut_) {
      peer_eof_ = result == 0;
      // Our output is out (or on its way); a reset by the peer now loses nothing of ours.
      if (write_shut_) finish_graceful();
    } else {
      fail(result);
    }
    return;
  }
  if (state_ != State::open) {  // failing: the input is of no use now
    maybe_finish();
    return;
  }
  if (result == 0) {  // the peer's EOF: flush what we owe it, then on_closed(0)
    peer_eof_ = true;
    close();
    return;
  }
  if (result < 0) {
    if (retryable(result)) {
      arm_recv();
    } else {
      fail(result);
    }
    return;
  }
  last_input_ = shard_.clock().now();
  undelivered_ = true;
  if (!reading_) return;  // paused: the bytes wait for resume_reading()
  deliver_input();
}

void Connection::arm_discard_recv() {
  if (recv_op_.in_flight() || peer_eof_) return;
  input_.clear();
  recv_op_.prepare_recv(fd_, input_.prepare(kRecvBytes));
  shard_.submit(recv_op_);
}

void Connection::deliver_input() {
  if (state_ != State::open || !undelivered_) return;
  undelivered_ = false;
  delivering_ = true;
  handler_.on_data(input_);
  delivering_ = false;
  if (state_ == State::closing) {  // closed from on_data: read and discard until the EOF
    arm_discard_recv();
    return;
  }
  arm_recv();
}

void Connection::pause_reading() { reading_ = false; }

void Connection::resume_reading() {
  if (reading_) return;
  reading_ = true;
  last_input_ = shard_.clock().now();  // the pause does not count as idleness
  // Inside on_data the handler still holds the input buffer: deliver_input() arms the next
  // receive once it has returned (arming now would hand the kernel a buffer the handler is
  // about to consume from).
  if (delivering_) return;
  if (undelivered_) {
    defer_self(&Connection::deliver_input);
  } else {
    arm_recv();
  }
}

void Connection::set_idle_timeout(Clock::Duration timeout) {
  idle_timeout_ = timeout;
  if (idle_timer_ != 0) {
    shard_.cancel_timer(idle_timer_);
    idle_timer_ = 0;
  }
  if (timeout <= Clock::Duration::zero()) return;
  if (state_ != State::connecting && state_ != State::open) return;
  last_input_ = shard_.clock().now();
  idle_timer_ = shard_.schedule(timeout, [this] { on_idle_timer(); });
}

void Connection::on_idle_timer() {
  idle_timer_ = 0;
  if (state_ != State::connecting && state_ != State::open) return;
  if (state_ == State::connecting || !reading_) {
    // The connect has its own timeout and a paused reader is not idle: look again later.
    idle_timer_ = shard_.schedule(idle_timeout_, [this] { on_idle_timer(); });
    return;
  }
  const Clock::TimePoint now = shard_.clock().now();
  const Clock::TimePoint due = last_input_ + idle_timeout_;
  if (now >= due) {
    fail(-ETIMEDOUT);
    return;
  }
  idle_timer_ = shard_.schedule(due - now, [this] { on_idle_timer(); });
}

void Connection::set_write_timeout(Clock::Duration timeout) {
  write_timeout_ = timeout;
  if (write_timer_ != 0) {
    shard_.cancel_timer(write_timer_);
    write_timer_ = 0;
  }
  last_output_ = shard_.clock().now();
  arm_write_timer();
}

void Connection::arm_write_timer() {
  if (write_timer_ != 0 || write_timeout_ <= Clock::Duration::zero()) return;
  if (output_pending() == 0) return;
  write_timer_ = shard_.schedule(write_timeout_, [this] { on_write_timer(); });
}

void Connection::on_write_timer() {
  write_timer_ = 0;
  if (state_ != State::open && state_ != State::closing) return;
  if (output_pending() == 0) return;  // armed again by the next write
  const Clock::TimePoint now = shard_.clock().now();
  const Clock::TimePoint due = last_output_ + write_timeout_;
  if (now >= due) {
    fail(-ETIMEDOUT);
    return;
  }
  write_timer_ = shard_.schedule(due - now, [this] { on_write_timer(); });
}

// ---- writing ----

void Connection::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (state_ != State::connecting && state_ != State::open) return;
  if (output_pending() == 0) last_output_ = shard_.clock().now();
  output_.append(bytes);
  arm_write_timer();
  if (state_ == State::open) start_send();
}

void Connection::start_send() {
  if (send_op_.in_flight()) return;
  if (sending_.empty()) {
    if (output_.empty()) return;
    // sending_ belongs to the op until completion; new writes go to output_ meanwhile.
    std::swap(sending_, output_);
  }
  send_op_.prepare_send(fd_, sending_.readable());
  shard_.submit(send_op_);
}

void Connection::on_send_done(int result) {
  if (result > 0) {
    sending_.consume(static_cast<std::size_t>(result));
    last_output_ = shard_.clock().now();
  }
  if (state_ == State::finishing || state_ == State::closed) {
    maybe_finish();
    return;
  }
  if (result < 0 && !retryable(result)) {
    fail(result);
    return;
  }
  if (output_pending() > 0) {
    start_send();
    return;
  }
  if (state_ == State::closing) {
    shutdown_write();
    return;
  }
  handler_.on_drained();
}

// ---- closing ----

void Connection::close() {
  if (state_ == State::connecting) {
    fail(-ECONNABORTED);
    return;
  }
  if (state_ != State::open) return;
  state_ = State::closing;
  if (idle_timer_ != 0) {
    shard_.cancel_timer(idle_timer_);
    idle_timer_ = 0;
  }
  // Keep reading (and discarding) so unread input cannot turn our FIN into a RST.
  undelivered_ = false;
  // Inside on_data the handler still holds the input buffer (it may consume() after closing):
  // deliver_input() starts the discarding once it has returned.
  if (!recv_op_.in_flight() && !delivering_) arm_discard_recv();
  if (output_pending() == 0 && !send_op_.in_flight()) {
    shutdown_write();
    return;
  }
  start_send();
  deadline_timer_ = shard_.schedule(kCloseTimeout, [this] {
    deadline_timer_ = 0;
    fail(-ETIMEDOUT);
  });
}

void Connection::abort() { fail(-ECONNABORTED); }

void Connection::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
  write_shut_ = true;
  if (deadline_timer_ != 0) shard_.cancel_timer(deadline_timer_);
  deadline_timer_ = 0;
  if (peer_eof_ || !recv_op_.in_flight()) {
    finish_graceful();
    return;
  }
  deadline_timer_ = shard_.schedule(kLingerTimeout, [this] {
    deadline_timer_ = 0;
    finish_graceful();
  });
}

void Connection::finish_graceful() {
  if (state_ != State::closing) return;
  state_ = State::finishing;
  close_error_ = 0;
  cancel_timers();
  shard_.cancel(recv_op_);
  maybe_finish();
}

void Connection::fail(int error) {
  if (state_ == State::finishing || state_ == State::closed) return;
  state_ = State::finishing;
  close_error_ = error;
  cancel_timers();
  shard_.cancel(recv_op_);
  shard_.cancel(send_op_);
  shard_.cancel(connect_op_);
  maybe_finish();
}

void Connection::maybe_finish() {
  if (state_ != State::finishing || ops_in_flight() || finish_pending_) return;
  finish_pending_ = true;
  defer_self(&Connection::finish);
}

void Connection::finish() {
  finish_pending_ = false;
  if (state_ != State::finishing) return;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  state_ = State::closed;
  cancel_timers();
  shard_.on_connection_closed(id_);
  handler_.on_closed(close_error_);
}

// ---- helpers ----

void Connection::defer_self(void (Connection::*member)()) {
  // The shard frees a closed connection only when no deferred call still points at it.
  ++deferred_refs_;
  shard_.defer([this, member] {
    --deferred_refs_;
    (this->*member)();
  });
}

void Connection::cancel_timers() {
  if (idle_timer_ != 0) shard_.cancel_timer(idle_timer_);
  if (deadline_timer_ != 0) shard_.cancel_timer(deadline_timer_);
  if (write_timer_ != 0) shard_.cancel_timer(write_timer_);
  idle_timer_ = 0;
  deadline_timer_ = 0;
  write_timer_ = 0;
}

bool Connection::ops_in_flight() const {
  return recv_op_.in_flight() || send_op_.in_flight() || connect_op_.in_flight();
}

bool Connection::releasable() const {
  return state_ == State::closed && !ops_in_flight() && deferred_refs_ == 0;
}

}  // namespace mta::engine
