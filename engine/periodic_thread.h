// PeriodicThread: a thread of its own for blocking work that must stall neither a shard's loop
// nor its worker (a network call with a timeout, such as fleet mode's Redis exchange): runs
// `tick` every `interval` until it is destroyed; wake() runs it early.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/clock.h"

namespace mta::engine {

class PeriodicThread {
 public:
  // The first tick runs at once. `tick` runs on the thread only, one at a time.
  PeriodicThread(Clock::Duration interval, std::function<void()> tick);
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;
  // Stops and joins: waits for a tick in progress.
  ~PeriodicThread();

  // Any thread: the next tick starts now (or right after the one in progress).
  void wake();

 private:
  void main();

  const Clock::Duration interval_;
  const std::function<void()> tick_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool woken_ = false;     // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;     // last: started once the rest is set up
};

}  // namespace mta::engine
