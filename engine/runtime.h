// Runtime: the set of shards, one thread and one io_uring each, and the way in and out of
// them: start, posting work from non-shard threads, stop, and waiting for SIGINT/SIGTERM.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "engine/shard.h"

namespace mta::engine {

struct RuntimeOptions {
  std::uint32_t shard_count = 0;        // 0 = std::thread::hardware_concurrency()
  unsigned ring_entries = 1024;         // SQ size; the CQ is twice that
  std::size_t channel_capacity = 4096;  // per (from, to) pair, and for post_from_outside
  Clock::Duration drain_timeout = std::chrono::seconds(30);
  bool pin_threads = true;  // pin shard i to the i-th allowed CPU (mod count); failure ignored
  Clock* clock = nullptr;   // nullptr = an internal RealClock
};

// Lifecycle: construct (shards exist, no threads) -> start(init) -> ... -> request_stop()
// -> wait() -> destroy. The destructor requires wait() to have returned if start()
// succeeded. post_from_outside() and request_stop() may be called from any thread at any
// time; everything else from the thread that owns the Runtime.
class Runtime {
 public:
  explicit Runtime(RuntimeOptions options);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  std::uint32_t shard_count() const { return static_cast<std::uint32_t>(shards_.size()); }
  Shard& shard(ShardId id);

  // Each shard thread creates its own ring (so IORING_SETUP_SINGLE_ISSUER binds it to that
  // thread); once all rings exist, each thread runs init(shard) and then its loop. If any
  // ring cannot be set up, no init runs, every thread exits and the error is returned.
  Result<void> start(std::function<void(Shard&)> init);

  // Any thread: queue `task` onto shard `to` (a mutex-guarded queue per shard, bounded by
  // channel_capacity). False when full.
  bool post_from_outside(ShardId to, Shard::Message task);
  // Any thread; idempotent. Each shard begins its drain (see Shard::on_stop).
  void request_stop();
  // Joins all shard threads. Idempotent.
  void wait();

  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread. Call it on the main thread before
  // start(): threads inherit the signal mask, so no shard thread is killed by the signal
  // and sigwait() in run_until_signal() receives it.
  static void block_stop_signals();
  // block_stop_signals(), waits for SIGINT or SIGTERM, then request_stop() and wait().
  // Returns the signal number. Each SIGHUP meanwhile calls `on_hangup` (on this thread), or
  // is ignored when it is empty.
  int run_until_signal(const std::function<void()>& on_hangup = {});

 private:
  struct StartGate;
  void shard_main(Shard& shard);

  RuntimeOptions options_;
  RealClock real_clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  // Both outlive the threads: a thread may still be leaving the gate, or run init, after
  // start() has returned.
  std::unique_ptr<StartGate> gate_;
  std::function<void(Shard&)> init_;
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace mta::engine
