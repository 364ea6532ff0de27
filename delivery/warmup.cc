#include "delivery/warmup.h"

#include <algorithm>
#include <chrono>

namespace mta::delivery {

WarmupSchedule WarmupSchedule::standard() {
  return WarmupSchedule{
      .name = "default",
      .daily = {50,      100,     200,     400,     800,       1'500,     2'500,     4'000,
                6'000,   9'000,   13'000,  20'000,  30'000,    45'000,    65'000,    100'000,
                150'000, 250'000, 400'000, 650'000, 1'000'000, 1'500'000, 2'500'000, 4'000'000}};
}

std::int64_t utc_day(Clock::WallTime time) {
  return std::chrono::floor<std::chrono::days>(time).time_since_epoch().count();
}

SourceBudget::SourceBudget(std::optional<WarmupSchedule> schedule, std::int64_t start_day)
    : schedule_(std::move(schedule)), start_day_(start_day) {}

std::uint64_t SourceBudget::pack(std::int64_t day, std::uint64_t count) {
  return static_cast<std::uint64_t>(day) << 32 | (count & count_max);
}

std::int64_t SourceBudget::day_of(std::uint64_t word) {
  return static_cast<std::int64_t>(word >> 32);
}

std::uint64_t SourceBudget::count_on(std::uint64_t word, std::int64_t day) {
  return day_of(word) == day ? word & count_max : 0;
}

std::optional<std::uint64_t> SourceBudget::cap(Clock::WallTime now) const {
  if (!schedule_) return std::nullopt;
  const std::int64_t age = utc_day(now) - start_day_;
  if (age < 0) return schedule_->daily.empty() ? 0 : schedule_->daily.front();
  if (static_cast<std::size_t>(age) >= schedule_->daily.size()) return std::nullopt;
  return schedule_->daily[static_cast<std::size_t>(age)];
}

std::uint64_t SourceBudget::used_today(Clock::WallTime now) const { return used_on(utc_day(now)); }

std::uint64_t SourceBudget::used_on(std::int64_t day) const {
  return count_on(today_.load(std::memory_order_relaxed), day);
}

void SourceBudget::add_used(std::int64_t day, std::uint64_t more) {
  std::uint64_t seen = today_.load(std::memory_order_relaxed);
  while (true) {
    if (day_of(seen) > day) return;  // a later day has begun
    const std::uint64_t next = pack(day, std::min(count_on(seen, day) + more, count_max));
    if (today_.compare_exchange_weak(seen, next, std::memory_order_relaxed)) return;
  }
}

bool SourceBudget::has_room(Clock::WallTime now) const {
  const auto limit = cap(now);
  return !limit || used_today(now) < *limit;
}

bool SourceBudget::take(Clock::WallTime now) {
  const auto limit = cap(now);
  const std::int64_t day = utc_day(now);
  std::uint64_t seen = today_.load(std::memory_order_relaxed);
  while (true) {
    const std::uint64_t used = count_on(seen, day);
    if (limit && used >= *limit) return false;
    // Counted when warm too (for the status), saturating at the field's size.
    const std::uint64_t next = pack(day, std::min(used + 1, count_max));
    if (today_.compare_exchange_weak(seen, next, std::memory_order_relaxed)) return true;
  }
}

}  // namespace mta::delivery
