// Clock: the only way code reads time, so retries and timeouts are deterministic in tests.
// RealClock reads the system clocks; ManualClock moves only when a test advances it.
// A clock is read on one shard at a time; ManualClock is not thread-safe.
#pragma once

#include <chrono>

namespace mta {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time for timeouts and schedules.
  virtual TimePoint now() const = 0;
  // Calendar time for Date and Received headers and for ids that must survive a restart.
  virtual WallTime wall_now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  ManualClock() = default;
  ManualClock(TimePoint now, WallTime wall) : now_(now), wall_(wall) {}

  TimePoint now() const override { return now_; }
  WallTime wall_now() const override { return wall_; }
  void advance(Duration by) {
    now_ += by;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  }

 private:
  TimePoint now_{};
  WallTime wall_{};
};

}  // namespace mta
