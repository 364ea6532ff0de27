// The SMTP submission listener of one shard: accepts connections, drives a
// smtp::ServerSession per connection on the engine, and makes every received message durable
// in the queue before it answers 250. What happens to a message after that is the caller's
// business (the `on_queued` callback; app/ hands it to delivery).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "engine/connection.h"
#include "engine/shard.h"
#include "injection/probe.h"
#include "proto/smtp/server_session.h"
#include "queue/message_id.h"
#include "queue/store.h"

namespace mta::injection {

struct SubmissionOptions {
  smtp::ServerOptions smtp;
  Clock::Duration idle_timeout = std::chrono::minutes(5);
  std::size_t sessions_max = 10'000;          // per shard; more connections get 421 and are closed
  std::size_t output_bytes_max = 256 * 1024;  // unsent replies before reading pauses
};

// One per shard, created and used only on that shard's thread. Owns its sessions; each
// session holds the shard's drain gate while its connection is open, so a stop waits for
// messages in flight. On stop, idle sessions are told 421 and closed; sessions in the middle
// of a transaction finish it first.
class SubmissionListener {
 public:
  using QueuedFn = std::function<void(const queue::Envelope& envelope)>;

  SubmissionListener(engine::Shard& shard, queue::Store& store, SubmissionOptions options,
                     QueuedFn on_queued);
  SubmissionListener(const SubmissionListener&) = delete;
  SubmissionListener& operator=(const SubmissionListener&) = delete;
  ~SubmissionListener();

  // Starts accepting on `listen_fd` (a SO_REUSEPORT socket of this shard); takes ownership.
  void listen(int listen_fd);

  const Probe& probe() const { return probe_; }
  std::size_t sessions_open() const { return sessions_.size(); }

 private:
  class Session;
  friend class Session;

  void on_accept(int fd);
  void on_session_closed(std::uint64_t session_id);
  void on_stop();
  // Makes one received message durable; returns the reply line for the client.
  std::string enqueue(const smtp::MessageReceived& message);

  engine::Shard& shard_;
  queue::Store& store_;
  SubmissionOptions options_;
  QueuedFn on_queued_;
  queue::MessageIdGenerator ids_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  Probe probe_;
};

}  // namespace mta::injection
