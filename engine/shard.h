// Shard: one thread, one io_uring. Runs operations (Op), timers, deferred tasks and messages
// from other shards, owns the connections and listeners opened on it, runs blocking work
// (an fsync) on its own worker thread (its Executor side: base/executor.h), and implements the
// drain gate used at shutdown.
// Runtime creates the shards and their threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/executor.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "engine/address.h"
#include "engine/channel.h"
#include "engine/op.h"

struct io_uring;

namespace mta::engine {

using TimerId = Executor::TimerId;
class Runtime;
class Listener;
class Connection;
struct RuntimeOptions;

// Threading: every member is called only on the shard's own thread, except the constructor
// and destructor (Runtime, on the thread that owns the Runtime) and the members marked
// "any thread". Nothing here throws; a failure to set up the ring is reported by
// Runtime::start.
//
// One loop turn: submit pending operations and wait (until a completion, the nearest timer,
// or a wake-up by another thread) -> run completions -> run messages from other shards and
// from outside -> run the `done` of finished offloads -> run due timers -> start a requested
// stop -> run deferred tasks -> free closed connections -> check whether the drained shard
// may exit.
class Shard final : public Executor {
 public:
  using Task = Executor::Task;
  using Message = std::function<void(Shard&)>;
  using AcceptFn = std::function<void(int fd, const SocketAddress& peer)>;

  // Created by Runtime only.
  Shard(Runtime& runtime, ShardId id, const RuntimeOptions& options, Clock& clock);
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard() override;

  ShardId id() const { return id_; }
  Runtime& runtime() { return runtime_; }
  Clock& clock() { return clock_; }

  // One-shot timer on this shard. Timers due at the same instant run in scheduling order.
  TimerId schedule(Clock::Duration delay, Task task) override;
  // No-op if already fired or cancelled; ids start at 1, so 0 = none.
  void cancel_timer(TimerId id) override;
  // Runs at the end of this loop turn (after completions, messages and timers). A task
  // deferred by a deferred task runs in the next turn.
  void defer(Task task);

  // Queues `task` to run on shard `to` (may be this shard). One bounded lock-free channel
  // per (from, to) pair keeps order; false when that channel is full (retry later, e.g. from
  // a timer; the task was taken by value and is dropped, so build it again). A message to a
  // shard whose loop has already exited is never run.
  bool post(ShardId to, Message task);
  // post(), tried again every millisecond while the channel is full: for a message that must
  // arrive (its effect is durable elsewhere, so a short delay loses nothing). Keeps order
  // only while the channel has room.
  void post_until_taken(ShardId to, const Message& task);

  // Drain gate. Hooks run once, on this shard, when the stop is seen (after the shard has
  // closed its listeners). A hook registered after that runs at the end of the turn.
  // While holds are taken the shard keeps running; when the count reaches 0 (or
  // RuntimeOptions::drain_timeout has passed), every connection still open is aborted,
  // every operation still in flight is cancelled, and the loop exits once the kernel has
  // returned them all. So hold() whatever must finish (an SMTP transaction, a delivery).
  void on_stop(Task hook);
  bool stopping() const { return stopping_; }
  void hold() { ++holds_; }
  void release();
  std::uint32_t holds() const { return holds_; }

  // Runs `work` on this shard's blocking worker thread (one per shard, started with the shard,
  // joined when it stops), then `done` on this shard. Work items run one at a time in order.
  // Counts as work in flight for the drain gate: the shard does not exit before `done` ran.
  // `work` must not touch shard state; capture what it needs by value or by pointer to data
  // that outlives `done`.
  //
  // For what would stall the loop: an fsync, a synced RocksDB write batch. `work` and its
  // captures are destroyed on the worker thread before `done` runs; `done` may be empty.
  // An offload in flight acts as a hold() that the drain timeout cannot end: the work cannot
  // be interrupted, so after the timeout connections are aborted but the shard still waits
  // for the work and runs its `done` (which must then expect closed connections). The worker
  // queue is unbounded: callers keep their own cap (a group commit has one batch in flight).
  void offload(std::function<void()> work, Task done) override;
  std::size_t offloads_in_flight() const { return offload_done_.size(); }  // `done` not yet run

  // Accepts on `listen_fd` (from open_listen_socket; the shard takes ownership). The
  // listener belongs to the shard and is closed when the stop begins.
  Listener& listen(int listen_fd, AcceptFn on_accept);

  // Low-level operations. submit() starts `op` (or queues it while the in-flight cap, half
  // the completion queue, is reached); cancel() asks the kernel to finish it early with
  // -ECANCELED (or whatever result it already had). Both never call the completion inline.
  void submit(Op& op);
  void cancel(Op& op);

  std::size_t ops_in_flight() const;  // the shard's own wake-up read excluded
  std::size_t connection_count() const { return connections_.size(); }
  std::size_t timer_count() const { return timer_tasks_.size(); }

 private:
  friend class Runtime;
  friend class Connection;
  friend class Listener;

  struct Slot {
    Op* op = nullptr;
    std::uint32_t generation = 0;
  };
  struct TimerEntry {
    Clock::TimePoint deadline;
    TimerId id;
  };

  // Runtime, on the shard's thread.
  Result<void> setup_ring();
  void run_loop();
  void teardown();
  // Runtime: the worker is started on the thread calling Runtime::start (so it is not pinned
  // to this shard's core) and joined at the end of teardown(). stop_worker() is idempotent.
  void start_worker();
  void stop_worker();
  // Any thread.
  void request_stop();
  bool post_from_outside(Message task);
  void wake();

  void wait_for_events();
  void reap_completions();
  void run_local_completions();
  void drain_messages();
  void run_due_timers();
  void run_deferred();
  void run_finished_offloads();
  bool offloads_finished_unseen() const;
  void worker_main();
  void begin_stop();
  void abort_everything();
  void free_closed_connections();
  bool has_immediate_work() const;

  void start_op(Op& op);
  void promote_waiting_ops();
  void complete(Op& op, int result);
  void on_wake_done(int result);

  Connection& add_connection(std::unique_ptr<Connection> connection);
  void on_connection_closed(std::uint64_t connection_id);
  void add_listener(Listener* listener);
  void remove_listener(Listener* listener);

  Runtime& runtime_;
  const ShardId id_;
  Clock& clock_;
  const unsigned ring_entries_;
  const Clock::Duration drain_timeout_;

  std::unique_ptr<io_uring> ring_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t kernel_ops_ = 0;      // submitted operations not yet completed
  std::size_t kernel_ops_max_ = 0;  // half the CQ: cancels of those ops fit in the rest
  std::size_t kernel_cancels_ = 0;  // cancel requests in the kernel
  std::deque<Op*> waiting_ops_;     // over the cap; started as completions free slots
  std::deque<std::pair<Op*, int>> local_completions_;  // finished without reaching the kernel
  std::vector<std::pair<std::uint64_t, int>> reaped_;
  bool refusing_ops_ = false;  // after abort_everything: every new op ends with -ECANCELED
  bool exiting_ = false;

  // Cross-thread wake-up: an eventfd read always armed on the ring. wake_pending_ saves
  // the write() syscall when a wake-up is already on its way.
  int wake_fd_ = -1;
  std::atomic<bool> wake_pending_{false};
  std::uint64_t wake_value_ = 0;
  Op wake_op_;

  std::vector<TimerEntry> timer_heap_;  // min-heap on (deadline, id); cancelled ids linger
  std::unordered_map<TimerId, Task> timer_tasks_;
  std::vector<TimerId> due_timers_;
  TimerId next_timer_id_ = 1;
  std::vector<Task> deferred_;

  // inbound_[from]: messages from shard `from`; only that shard pushes, only we pop.
  std::vector<std::unique_ptr<SpscChannel<Message>>> inbound_;
  std::mutex outside_mutex_;
  std::deque<Message> outside_;  // guarded by outside_mutex_
  std::atomic<std::size_t> outside_size_{0};
  const std::size_t outside_capacity_;

  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;
  bool aborted_ = false;
  Clock::TimePoint drain_deadline_{};
  std::uint32_t holds_ = 0;
  std::vector<Task> stop_hooks_;

  // Offloads. The shard keeps every `done` in FIFO order; the worker runs the work items in
  // the same order and counts them in offloads_finished_, then wakes the shard, which runs
  // one `done` per newly counted item. So no `done` ever crosses threads.
  std::deque<Task> offload_done_;                    // shard thread only
  std::uint64_t offloads_done_ran_ = 0;              // shard thread only
  std::atomic<std::uint64_t> offloads_finished_{0};  // written by the worker
  std::thread worker_;
  std::mutex worker_mutex_;
  std::condition_variable worker_changed_;
  std::deque<std::function<void()>> worker_queue_;  // guarded by worker_mutex_
  bool worker_stop_ = false;                        // guarded by worker_mutex_

  std::vector<Listener*> listeners_;  // every open listener on this shard, owned or not
  std::vector<std::unique_ptr<Listener>> owned_listeners_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::uint64_t> closed_connections_;
  std::uint64_t next_connection_id_ = 1;
};

}  // namespace mta::engine
