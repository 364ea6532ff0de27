// Listening sockets: open_listen_socket() binds one SO_REUSEPORT socket (one per shard on
// the same port, so the kernel spreads connections across shards), and Listener accepts on
// it through the shard's ring. What to do with an accepted socket is the caller's business.
#pragma once

#include <sys/socket.h>

#include <functional>

#include "base/result.h"
#include "engine/address.h"
#include "engine/op.h"
#include "engine/shard.h"

namespace mta::engine {

// Binds and listens with SO_REUSEADDR and SO_REUSEPORT (close-on-exec, blocking: the ring
// does not need O_NONBLOCK). For port 0, open the first socket, read its port with
// local_address(), then open the others on that port.
Result<int> open_listen_socket(const SocketAddress& address, int backlog = 1024);
// Fails with EADDRINUSE when another socket already listens on `address`, whoever owns it.
// SO_REUSEPORT lets a second process of the same user bind the port silently and take half
// of its connections; a probe bound without SO_REUSEPORT is refused by any such socket, so
// call this before the first open_listen_socket of a fixed port.
Result<void> check_port_free(const SocketAddress& address);
Result<SocketAddress> local_address(int fd);

// Accepts connections one accept operation at a time, on its shard's thread, and hands each
// new socket to `on_accept` (which owns it from then on). Owned by whoever constructed it;
// Shard::listen() makes one the shard owns. Every listener of a shard is closed when the
// shard's stop begins. After close(), wait for closed() before destroying it (the accept
// operation is cancelled and must come back first); the destructor asserts that.
class Listener {
 public:
  using AcceptFn = std::function<void(int fd, const SocketAddress& peer)>;

  Listener(Shard& shard, int listen_fd, AcceptFn on_accept);  // takes ownership of the fd
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  void close();
  bool closed() const { return closed_; }
  Shard& shard() { return shard_; }

 private:
  void accept();
  void on_accept_done(int result);
  void finish_close();

  Shard& shard_;
  int fd_;
  AcceptFn on_accept_;
  sockaddr_storage peer_{};  // written by the kernel while accept_op_ is in flight
  socklen_t peer_length_ = sizeof(sockaddr_storage);
  Op accept_op_;
  TimerId retry_timer_ = 0;  // pending re-arm after a resource error (EMFILE and friends)
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace mta::engine
