// Group commit for one shard (ARCHITECTURE.md "Persistence"): messages accepted on the shard
// are written to the spool in batches, one synced write per batch, on the shard's blocking
// worker (Executor::offload, which engine::Shard implements) so the reactor keeps serving while
// the disk syncs. The next batch gathers while one is being written; `window` can hold a batch
// back to gather more. Used by injection/ for accepted mail and by delivery's bouncer (through
// app/) for DSNs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/executor.h"
#include "base/result.h"
#include "metrics/registry.h"
#include "queue/store.h"

namespace mta::queue {

struct GroupCommitOptions {
  // How long the first message of a batch may wait for company when no write is in flight.
  // 0 = write at once; batches still form while the previous write syncs.
  Clock::Duration window = Clock::Duration::zero();
  std::size_t batch_messages_max = 256;
  std::size_t batch_bytes_max = 32 * 1024 * 1024;
};

struct GroupCommitProbe {
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
class GroupCommit {
 public:
  using Done = std::function<void(const Result<void>& result)>;

  GroupCommit(Executor& executor, Store& store, GroupCommitOptions options);
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;
  ~GroupCommit();

  // One message: its parts and the body they share.
  struct Message {
    std::vector<Envelope> parts;
    std::string body;
  };

  void submit(std::vector<Envelope>&& parts, std::string&& body, Done done);
  // submit() as a function (what delivery's bouncer takes for its DSNs).
  std::function<void(std::vector<Envelope>&&, std::string&&, Done)> submitter() {
    return [this](std::vector<Envelope>&& parts, std::string&& body, Done done) {
      submit(std::move(parts), std::move(body), std::move(done));
    };
  }
  // Every message of `messages` in the same batch, so they are stored all or none, with one
  // `done` (an HTTP bulk request is answered once, for all of its messages). A group larger
  // than batch_messages_max or batch_bytes_max is written alone, in one batch all the same.
  void submit_group(std::vector<Message>&& messages, Done done);

  std::size_t waiting() const { return waiting_messages_; }  // messages not yet with the worker
  bool writing() const { return !writing_.empty(); }         // a batch is with the worker
  const GroupCommitProbe& probe() const { return probe_; }
  GroupCommitProbe& probe() { return probe_; }  // app/ sets its histogram handle

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

  Executor& executor_;
  Store& store_;
  GroupCommitOptions options_;
  std::vector<Pending> waiting_;
  std::size_t waiting_messages_ = 0;
  std::size_t waiting_bytes_ = 0;
  // The batch in flight: read by the worker thread only between write() and on_written().
  std::vector<Pending> writing_;
  std::vector<MessageWrite> writes_;
  Result<void> result_;
  Executor::TimerId window_timer_ = 0;
  GroupCommitProbe probe_;
  std::chrono::steady_clock::time_point write_started_;
};

}  // namespace mta::queue
