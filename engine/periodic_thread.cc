#include "engine/periodic_thread.h"

#include <utility>

namespace mta::engine {

PeriodicThread::PeriodicThread(Clock::Duration interval, std::function<void()> tick)
    : interval_(interval), tick_(std::move(tick)), thread_([this] { main(); }) {}

PeriodicThread::~PeriodicThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

void PeriodicThread::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  changed_.notify_one();
}

void PeriodicThread::main() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    tick_();
    lock.lock();
    changed_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
  }
}

}  // namespace mta::engine
