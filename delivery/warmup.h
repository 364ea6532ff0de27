// Warm-up of sending addresses (issue 11, item 3): receivers trust a new IP address slowly, so
// a source on a warm-up schedule sends at most a daily cap that grows with its age, and what
// it may not send goes out from the other sources of its pool (the warm ones, without a cap,
// or cold ones with room left). Pure, apart from the atomics that let every shard count a
// source's messages without a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"

namespace mta::delivery {

// daily[d]: messages a source may send on day d of its warm-up (day 0 is the day it starts);
// past the end it is warm: no cap.
struct WarmupSchedule {
  std::string name;
  std::vector<std::uint64_t> daily;
  // The built-in schedule ("default"): 50 messages on the first day, growing by at most
  // twice a day to 4 million on day 23, warm from day 24 (10.7 million messages in all).
  static WarmupSchedule standard();
};

// Days are UTC calendar days: a day's cap starts at 00:00 UTC.
std::int64_t utc_day(Clock::WallTime time);

// One source's daily budget, shared by every shard (one object per source for the node).
class SourceBudget {
 public:
  // `start`: the first day of the source's warm-up. No schedule: warm from the start.
  SourceBudget(std::optional<WarmupSchedule> schedule, std::int64_t start_day);
  SourceBudget(const SourceBudget&) = delete;
  SourceBudget& operator=(const SourceBudget&) = delete;

  // Today's cap, or nullopt when warm.
  std::optional<std::uint64_t> cap(Clock::WallTime now) const;
  bool warm(Clock::WallTime now) const { return !cap(now); }
  // Whether it may send another message today, without taking it.
  bool has_room(Clock::WallTime now) const;
  // Takes one message of today's cap; false (and nothing taken) when it is used up.
  bool take(Clock::WallTime now);
  std::uint64_t used_today(Clock::WallTime now) const;
  // Counts of `day` sent from elsewhere (fleet mode: other nodes, or before a restart), added
  // to today's; nothing when `day` is not today any more.
  std::uint64_t used_on(std::int64_t day) const;
  void add_used(std::int64_t day, std::uint64_t more);

 private:
  // Today's count and its day in one word, so a new day resets it atomically:
  // day << 32 | count.
  static constexpr std::uint64_t count_max = 0xffff'ffffU;
  static std::uint64_t pack(std::int64_t day, std::uint64_t count);
  static std::int64_t day_of(std::uint64_t word);
  static std::uint64_t count_on(std::uint64_t word, std::int64_t day);  // 0 for another day
  const std::optional<WarmupSchedule> schedule_;
  const std::int64_t start_day_;
  std::atomic<std::uint64_t> today_{0};
};

}  // namespace mta::delivery
