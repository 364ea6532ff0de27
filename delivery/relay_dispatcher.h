// Delivery to one destination host (the `delivery.relay` smarthost of the walking skeleton;
// MX destinations come with dns/). Owns a small pool of SMTP client connections on one
// shard, feeds them due messages one after another (RSET between, the session pipelines),
// and records each recipient's outcome in the queue.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "delivery/disposition.h"
#include "delivery/probe.h"
#include "engine/address.h"
#include "engine/shard.h"
#include "queue/store.h"

namespace mta::delivery {

struct RelayOptions {
  engine::SocketAddress address;
  std::string helo_name = "outpost.localhost";
  std::size_t connections_max = 8;
  std::size_t messages_per_connection_max = 1000;
  Clock::Duration connect_timeout = std::chrono::seconds(30);
  Clock::Duration reply_timeout = std::chrono::minutes(5);  // no server bytes for this long
  Clock::Duration idle_timeout = std::chrono::seconds(10);  // unused connection then QUITs
  Clock::Duration reconnect_delay = std::chrono::seconds(1);
  RetryPolicy retry;
};

// Lives on the shard that owns the destination and is used only there. Messages arrive by
// id (enqueue), bodies are read from the store only when a connection takes the message, so
// a long queue costs memory for ids only. Holds the shard's drain gate while a connection is
// open; on stop no new transaction starts and connections QUIT once their current one ends.
class RelayDispatcher {
 public:
  RelayDispatcher(engine::Shard& shard, queue::Store& store, RelayOptions options);
  RelayDispatcher(const RelayDispatcher&) = delete;
  RelayDispatcher& operator=(const RelayDispatcher&) = delete;
  ~RelayDispatcher();

  // A message is due now.
  void enqueue(MessageId id);
  // Start-up: every message already in the store is due at its next_attempt_at.
  Result<std::uint64_t> recover();

  const Probe& probe() const { return probe_; }
  std::size_t ready_count() const { return ready_.size(); }
  std::size_t connection_count() const { return connections_.size(); }

 private:
  class Connection;
  friend class Connection;

  void pump();
  void schedule_pump_at(Clock::TimePoint when);
  void schedule_retry(MessageId id, Clock::WallTime at);
  // Called by a connection that can take a message; returns false when none is due.
  bool assign(Connection& connection);
  // Outcomes of a transaction, or of losing the connection during one, go to the queue.
  void finish(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
              const smtp::TransactionResult& result);
  void finish_with_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                           const std::string& reason);
  void record(queue::Envelope& envelope, NextStep step);
  void arm_retry_timer();
  void on_connection_failed();
  void on_connection_closed(std::uint64_t connection_id);
  void on_stop();

  engine::Shard& shard_;
  queue::Store& store_;
  RelayOptions options_;
  std::deque<MessageId> ready_;
  // Messages waiting for a retry, by due time; one shard timer is armed for the earliest.
  std::multimap<Clock::WallTime, MessageId> retry_at_;
  engine::TimerId retry_timer_ = 0;
  Clock::WallTime retry_timer_due_{};
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  Clock::TimePoint connect_blocked_until_{};
  bool pump_scheduled_ = false;
  bool stopping_ = false;
  Probe probe_;
};

}  // namespace mta::delivery
