// Group commit for one shard (ARCHITECTURE.md "Persistence"): messages accepted on the shard
// are written to the spool in batches, one synced write per batch, on the shard's blocking
// worker (engine::Shard::offload) so the reactor keeps serving while the disk syncs. The next
// batch gathers while one is being written; `window` can hold a batch back to gather more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/shard.h"
#include "metrics/registry.h"
#include "queue/store.h"

namespace mta::injection {

struct CommitOptions {
  // How long the first message of a batch may wait for company when no write is in flight.
  // 0 = write at once; batches still form while the previous write syncs.
  Clock::Duration window = Clock::Duration::zero();
  std::size_t batch_messages_max = 256;
  std::size_t batch_bytes_max = 32 * 1024 * 1024;
};

struct CommitProbe {
  std::uint64_t batches = 0;
  std::uint64_t messages = 0;
  std::uint64_t failed_batches = 0;
  std::uint64_t largest_batch = 0;
  metrics::Histogram* commit_seconds = nullptr;  // one batch's synced write, when app/ set it
};

// One per shard, used only on its thread. A message handed to submit() is owned here until
// its batch's write returned; `done` then runs on the shard with the write's result. Nothing
// is acknowledged before that, and a failed batch stored nothing (Store::write_batch is all
// or nothing).
class Committer {
 public:
  using Done = std::function<void(const Result<void>& result)>;

  Committer(engine::Shard& shard, queue::Store& store, CommitOptions options);
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;
  ~Committer();

  // One message: its parts and the body they share.
  struct Message {
    std::vector<queue::Envelope> parts;
    std::string body;
  };

  void submit(std::vector<queue::Envelope>&& parts, std::string&& body, Done done);
  // Every message of `messages` in the same batch, so they are stored all or none, with one
  // `done` (an HTTP bulk request is answered once, for all of its messages). A group larger
  // than batch_messages_max or batch_bytes_max is written alone, in one batch all the same.
  void submit_group(std::vector<Message>&& messages, Done done);

  std::size_t waiting() const { return waiting_messages_; }  // messages not yet with the worker
  bool writing() const { return !writing_.empty(); }         // a batch is with the worker
  const CommitProbe& probe() const { return probe_; }
  CommitProbe& probe() { return probe_; }  // app/ sets its histogram handle

 private:
  struct Pending {
    std::vector<Message> messages;  // never split across batches
    std::size_t bytes = 0;          // of the bodies
    Done done;
  };

  bool batch_full() const;
  void maybe_write();
  void write();
  void on_written();

  engine::Shard& shard_;
  queue::Store& store_;
  CommitOptions options_;
  std::vector<Pending> waiting_;
  std::size_t waiting_messages_ = 0;
  std::size_t waiting_bytes_ = 0;
  // The batch in flight: read by the worker thread only between write() and on_written().
  std::vector<Pending> writing_;
  std::vector<queue::MessageWrite> writes_;
  Result<void> result_;
  engine::TimerId window_timer_ = 0;
  CommitProbe probe_;
  std::chrono::steady_clock::time_point write_started_;
};

}  // namespace mta::injection
