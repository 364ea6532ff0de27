// Helpers shared by the engine tests: runtime options for tests, a one-shot signal from a
// shard thread to the test thread, and blocking loopback sockets that play the peer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>

#include "engine/address.h"
#include "engine/runtime.h"

namespace mta::engine::testing {

inline RuntimeOptions test_options(std::uint32_t shards) {
  RuntimeOptions options;
  options.shard_count = shards;
  options.ring_entries = 256;
  options.pin_threads = false;
  options.drain_timeout = std::chrono::seconds(5);
  return options;
}

// Set once from any thread; the test thread waits for it with a deadline.
class Signal {
 public:
  void notify() {
    if (!done_.exchange(true)) promise_.set_value();
  }
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return future_.wait_for(limit) == std::future_status::ready;
  }

 private:
  std::atomic<bool> done_{false};
  std::promise<void> promise_;
  std::future<void> future_ = promise_.get_future();
};

inline SocketAddress loopback(std::uint16_t port) {
  return SocketAddress::parse("127.0.0.1:" + std::to_string(port)).value();
}

// A blocking client socket connected to `to`, with a receive timeout so a broken test
// fails instead of hanging. -1 on failure.
inline int blocking_connect(const SocketAddress& to) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{};
  timeout.tv_sec = 5;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, to.sockaddr_ptr(), to.length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until EOF (or error/timeout); returns what arrived.
inline std::string read_all(int fd) {
  std::string out;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace mta::engine::testing
