// Executor: what code outside engine/ needs from the thread it runs on: timers and a blocking
// worker. engine::Shard implements it; queue/ (group commit) uses it, so queue/ never includes
// engine/ and its tests run on a hand-driven fake. Every member is called on the executor's
// own thread.
#pragma once

#include <cstdint>
#include <functional>

#include "base/clock.h"

namespace mta {

class Executor {
 public:
  using Task = std::function<void()>;
  using TimerId = std::uint64_t;  // ids start at 1, so 0 = none

  virtual ~Executor() = default;

  // One-shot timer; timers due at the same instant run in scheduling order.
  virtual TimerId schedule(Clock::Duration delay, Task task) = 0;
  // No-op if already fired or cancelled, or for 0.
  virtual void cancel_timer(TimerId id) = 0;
  // Runs `work` on a blocking worker thread (items one at a time, in order), then `done` on
  // this executor's thread. `work` must not touch this thread's state.
  virtual void offload(std::function<void()> work, Task done) = 0;

 protected:
  Executor() = default;
  Executor(const Executor&) = default;
  Executor& operator=(const Executor&) = default;
};

}  // namespace mta
