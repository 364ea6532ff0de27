// SpscChannel: the bounded single-producer, single-consumer queue between two shards. One
// exists per (from, to) pair, so shards exchange messages without locks. Storage is allocated
// by the producer on its first push: with N shards there are N*N channels, most never used.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

#include "base/assert.h"

namespace mta::engine {

// try_push() is called only by the producer thread, try_pop() only by the consumer thread
// (the same thread may be both). Head and tail only grow; index = counter % capacity.
template <typename T>
class SpscChannel {
 public:
  explicit SpscChannel(std::size_t capacity) : capacity_(capacity) { MTA_ASSERT(capacity > 0); }
  SpscChannel(const SpscChannel&) = delete;
  SpscChannel& operator=(const SpscChannel&) = delete;

  // Moves from `value` only on success (so the caller may retry with it); false when full.
  bool try_push(T& value) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ >= capacity_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ >= capacity_) return false;
    }
    // The consumer reads slots_ only after seeing a tail past 0, which is published below
    // with release ordering, so this lazy allocation is visible to it.
    if (!slots_) slots_ = std::make_unique<T[]>(capacity_);
    slots_[tail % capacity_] = std::move(value);
    tail_.store(tail + 1, std::memory_order_seq_cst);
    return true;
  }

  bool try_pop(T& out) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_seq_cst)) return false;
    T& slot = slots_[head % capacity_];
    out = std::move(slot);
    slot = T();
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side: a snapshot, exact for the consumer as a lower bound.
  std::size_t size() const {
    return tail_.load(std::memory_order_seq_cst) - head_.load(std::memory_order_relaxed);
  }
  std::size_t capacity() const { return capacity_; }

 private:
  static constexpr std::size_t kCacheLine = 64;

  const std::size_t capacity_;
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};  // written by the consumer
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};  // written by the producer
  std::size_t head_cache_ = 0;                            // producer's last view of head_
};

}  // namespace mta::engine
