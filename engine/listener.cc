// Listener: single-shot accepts re-armed after each connection. Running out of descriptors
// (EMFILE, ENFILE, ENOBUFS, ENOMEM) pauses accepting briefly instead of spinning on the error.
#include "engine/listener.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "base/log.h"

namespace mta::engine {
namespace {

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

Error system_error(int error, const std::string& what) {
  return Error{std::error_code(error, std::system_category()), what};
}

}  // namespace

Result<int> open_listen_socket(const SocketAddress& address, int backlog) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected(system_error(errno, "socket " + address.to_string()));
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
    const int error = errno;
    ::close(fd);
    return unexpected(system_error(error, "setsockopt " + address.to_string()));
  }
  if (::bind(fd, address.sockaddr_ptr(), address.length) != 0) {
    const int error = errno;
    ::close(fd);
    return unexpected(system_error(error, "bind " + address.to_string()));
  }
  if (::listen(fd, backlog) != 0) {
    const int error = errno;
    ::close(fd);
    return unexpected(system_error(error, "listen " + address.to_string()));
  }
  return fd;
}

Result<void> check_port_free(const SocketAddress& address) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected(system_error(errno, "socket " + address.to_string()));
  const int on = 1;
  // SO_REUSEADDR only, so sockets in TIME_WAIT do not count; a listening one does.
  const bool bound = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
                     ::bind(fd, address.sockaddr_ptr(), address.length) == 0;
  const int error = errno;
  ::close(fd);
  if (!bound) {
    return unexpected(system_error(error, "another process listens on " + address.to_string()));
  }
  return {};
}

Result<SocketAddress> local_address(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return unexpected(system_error(errno, "getsockname"));
  }
  return SocketAddress::from(reinterpret_cast<const sockaddr*>(&storage), length);
}

Listener::Listener(Shard& shard, int listen_fd, AcceptFn on_accept)
    : shard_(shard),
      fd_(listen_fd),
      on_accept_(std::move(on_accept)),
      accept_op_([this](int result) { on_accept_done(result); }) {
  shard_.add_listener(this);
  if (shard_.stopping()) {
    // Too late to accept anything: behave as if closed at once.
    close();
    return;
  }
  accept();
}

Listener::~Listener() {
  MTA_ASSERT(!accept_op_.in_flight());
  if (retry_timer_ != 0) shard_.cancel_timer(retry_timer_);
  if (fd_ >= 0) ::close(fd_);
  shard_.remove_listener(this);
}

void Listener::accept() {
  accept_op_.prepare_accept(fd_, &peer_, &peer_length_);
  shard_.submit(accept_op_);
}

void Listener::close() {
  if (closing_) return;
  closing_ = true;
  if (retry_timer_ != 0) {
    shard_.cancel_timer(retry_timer_);
    retry_timer_ = 0;
  }
  if (accept_op_.in_flight()) {
    shard_.cancel(accept_op_);  // finish_close() runs when the accept comes back
  } else {
    finish_close();
  }
}

void Listener::finish_close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

void Listener::on_accept_done(int result) {
  if (closing_) {
    if (result >= 0) ::close(result);  // raced with the cancel
    finish_close();
    return;
  }
  if (result >= 0) {
    const SocketAddress peer =
        SocketAddress::from(reinterpret_cast<const sockaddr*>(&peer_), peer_length_);
    on_accept_(result, peer);  // may close() this listener
    if (!closing_) accept();
    return;
  }
  switch (-result) {
    case EINTR:
    case EAGAIN:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:  // a firewall rule refused this one connection
      accept();
      return;
    case ECANCELED:  // the shard is shutting down and refuses new operations
      close();
      return;
    default:
      log::warning("accept failed: " + std::string(std::strerror(-result)) + "; retrying");
      retry_timer_ = shard_.schedule(kAcceptRetryDelay, [this] {
        retry_timer_ = 0;
        if (!closing_) accept();
      });
  }
}

}  // namespace mta::engine
