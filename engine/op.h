// Op: one io_uring operation, embedded as a member in the object that starts it (a
// connection's recv, a listener's accept). The engine allocates nothing per operation: the
// Op carries the request and the completion callback, and the shard gives it to the kernel.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <utility>

#include "base/assert.h"

namespace mta::engine {

class Shard;

// Lifecycle: prepare_*() describes the request, Shard::submit() starts it, and the completion
// callback runs on the shard's thread with the kernel's result (bytes or fd >= 0, or -errno;
// -ECANCELED after Shard::cancel()). Between submit and completion the Op, and every buffer
// or address it points at, belongs to the kernel: the owner must not touch or destroy them.
// Completions are never delivered from inside submit() or cancel(), always from the loop.
class Op {
 public:
  using Completion = std::function<void(int result)>;

  explicit Op(Completion on_complete) : on_complete_(std::move(on_complete)) {}
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;
  ~Op() { MTA_ASSERT(!in_flight_); }

  // Submitted (or waiting for a free in-flight slot) and not yet completed.
  bool in_flight() const { return in_flight_; }

  void prepare_recv(int fd, std::span<char> into) { set(Kind::recv, fd, into.data(), into.size()); }
  // Sends carry MSG_NOSIGNAL: a peer that went away is an EPIPE result, not a SIGPIPE.
  void prepare_send(int fd, std::string_view bytes) {
    set(Kind::send, fd, const_cast<char*>(bytes.data()), bytes.size());
  }
  void prepare_read(int fd, std::span<char> into) { set(Kind::read, fd, into.data(), into.size()); }
  // The kernel writes the peer address into *peer and its length into *peer_length.
  void prepare_accept(int fd, sockaddr_storage* peer, socklen_t* peer_length) {
    set(Kind::accept, fd, peer, 0);
    *peer_length = sizeof(sockaddr_storage);
    address_length_ = peer_length;
  }
  void prepare_connect(int fd, const sockaddr* to, socklen_t length) {
    set(Kind::connect, fd, const_cast<sockaddr*>(to), length);
  }
  // One-shot readiness poll (IORING_OP_POLL_ADD) for `poll_events` (POLLIN, POLLOUT...): the
  // result is the revents mask, or -errno. For sockets that another library reads itself
  // (c-ares): the engine only says when they are ready.
  void prepare_poll(int fd, unsigned poll_events) { set(Kind::poll, fd, nullptr, poll_events); }

 private:
  friend class Shard;
  enum class Kind : std::uint8_t { none, recv, send, read, accept, connect, poll };

  void set(Kind kind, int fd, void* data, std::size_t length) {
    MTA_ASSERT(!in_flight_);
    kind_ = kind;
    fd_ = fd;
    data_ = data;
    length_ = length;
    address_length_ = nullptr;
  }

  Completion on_complete_;
  Kind kind_ = Kind::none;
  int fd_ = -1;
  void* data_ = nullptr;
  std::size_t length_ = 0;
  socklen_t* address_length_ = nullptr;
  std::uint64_t user_data_ = 0;  // slot + generation while in the kernel
  bool in_flight_ = false;
  bool queued_ = false;            // waiting in the shard for an in-flight slot
  bool cancel_requested_ = false;  // at most one cancel per submission
};

}  // namespace mta::engine
