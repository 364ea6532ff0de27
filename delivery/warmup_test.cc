#include "delivery/warmup.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

namespace mta::delivery {
namespace {

using namespace std::chrono_literals;

Clock::WallTime day(std::int64_t n, std::chrono::hours hour = 12h) {
  return Clock::WallTime{} + std::chrono::days(n) + hour;
}

TEST(Warmup, TheCapGrowsWithTheSourcesAgeThenItIsWarm) {
  SourceBudget budget(WarmupSchedule{.name = "t", .daily = {2, 3}}, 100);
  EXPECT_EQ(budget.cap(day(100)), 2u);
  EXPECT_TRUE(budget.take(day(100)));
  EXPECT_TRUE(budget.take(day(100, 23h)));
  EXPECT_FALSE(budget.take(day(100, 23h)));  // used up until 00:00 UTC
  EXPECT_FALSE(budget.has_room(day(100)));
  EXPECT_EQ(budget.used_today(day(100)), 2u);
  EXPECT_EQ(budget.cap(day(101)), 3u);  // a new day, a bigger cap, a fresh count
  EXPECT_TRUE(budget.has_room(day(101, 0h)));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(budget.take(day(101)));
  EXPECT_FALSE(budget.take(day(101)));
  EXPECT_TRUE(budget.warm(day(102)));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(budget.take(day(102)));
  EXPECT_EQ(budget.used_today(day(102)), 100u);
  EXPECT_EQ(budget.cap(day(99)), 2u);  // not started yet: the first day's cap
}

TEST(Warmup, CountsFromElsewhereAddToTodays) {
  SourceBudget budget(WarmupSchedule{.name = "t", .daily = {5}}, 0);
  EXPECT_TRUE(budget.take(day(0)));
  budget.add_used(0, 3);  // the fleet's
  EXPECT_EQ(budget.used_on(0), 4u);
  EXPECT_TRUE(budget.take(day(0)));
  EXPECT_FALSE(budget.take(day(0)));  // 5: the cap, counting the other nodes' messages
  budget.add_used(-1, 100);           // yesterday's: too late to matter
  EXPECT_EQ(budget.used_on(0), 5u);
  SourceBudget fresh(WarmupSchedule{.name = "t", .daily = {5, 5}}, 0);
  fresh.add_used(1, 2);  // a node starting on day 1 hears of day 1's count first
  EXPECT_EQ(fresh.used_today(day(1)), 2u);
}

TEST(Warmup, NoScheduleIsWarm) {
  SourceBudget budget(std::nullopt, 0);
  EXPECT_TRUE(budget.warm(day(0)));
  EXPECT_TRUE(budget.take(day(0)));
}

TEST(Warmup, TheStandardScheduleStartsSmallAndGrows) {
  const WarmupSchedule standard = WarmupSchedule::standard();
  ASSERT_GT(standard.daily.size(), 10u);
  EXPECT_EQ(standard.daily.front(), 50u);
  for (std::size_t i = 1; i < standard.daily.size(); ++i) {
    EXPECT_GT(standard.daily[i], standard.daily[i - 1]);
    EXPECT_LE(standard.daily[i], 2 * standard.daily[i - 1]);  // never more than doubles
  }
}

TEST(Warmup, ShardsTakingAtOnceNeverExceedTheCap) {
  SourceBudget budget(WarmupSchedule{.name = "t", .daily = {1000}}, 0);
  std::vector<std::future<int>> takers;
  for (int t = 0; t < 4; ++t) {
    takers.push_back(std::async(std::launch::async, [&budget] {
      int taken = 0;
      for (int i = 0; i < 600; ++i) taken += budget.take(day(0)) ? 1 : 0;
      return taken;
    }));
  }
  int total = 0;
  for (auto& taker : takers) total += taker.get();
  EXPECT_EQ(total, 1000);
}

TEST(Warmup, UtcDays) {
  EXPECT_EQ(utc_day(Clock::WallTime{}), 0);
  EXPECT_EQ(utc_day(Clock::WallTime{} + 23h + 59min), 0);
  EXPECT_EQ(utc_day(Clock::WallTime{} + 24h), 1);
}

}  // namespace
}  // namespace mta::delivery
