#include "app/throughput.h"

#include <gtest/gtest.h>

namespace mta::app {
namespace {

Clock::WallTime at(int seconds) {
  return Clock::WallTime(std::chrono::seconds(1'800'000'000 + seconds));  // a multiple of 10
}

TEST(Throughput, DifferencesOfTheTotalsGoInTheBucketOfTheirSecond) {
  Throughput throughput;
  throughput.add(at(0), {.received = 100, .delivered = 90});  // the baseline
  throughput.add(at(1), {.received = 110, .delivered = 95, .deferred = 2});
  throughput.add(at(9), {.received = 120, .delivered = 100, .deferred = 2, .bounced = 1});
  throughput.add(at(10), {.received = 121, .delivered = 107, .deferred = 2, .bounced = 1});
  const auto series = throughput.series(at(15));
  ASSERT_EQ(series.buckets.size(), Throughput::bucket_count);
  EXPECT_EQ(series.start, at(10 - 3590));
  const ThroughputCounts first{.received = 20, .delivered = 10, .deferred = 2, .bounced = 1};
  const ThroughputCounts second{.received = 1, .delivered = 7};
  EXPECT_EQ(series.buckets[358], first);
  EXPECT_EQ(series.buckets[359], second);
  EXPECT_EQ(series.buckets[0], ThroughputCounts{});
}

TEST(Throughput, AnHourLaterTheBucketIsReusedAndOldDataIsGone) {
  Throughput throughput;
  throughput.add(at(0), {});
  throughput.add(at(5), {.delivered = 4});
  EXPECT_EQ(throughput.series(at(3599)).buckets[0].delivered, 4u);
  EXPECT_EQ(throughput.series(at(3600)).buckets[0].delivered, 0u);  // out of the hour
  throughput.add(at(3605), {.delivered = 5});                       // the same ring slot
  const auto series = throughput.series(at(3605));
  EXPECT_EQ(series.buckets[359].delivered, 1u);
  std::uint64_t sum = 0;
  for (const auto& bucket : series.buckets) sum += bucket.delivered;
  EXPECT_EQ(sum, 1u);
}

TEST(Throughput, ATotalThatGoesDownCountsNothing) {
  Throughput throughput;
  throughput.add(at(0), {.delivered = 10});
  throughput.add(at(1), {.delivered = 3});
  throughput.add(at(2), {.delivered = 5});
  EXPECT_EQ(throughput.series(at(2)).buckets[359].delivered, 2u);
}

}  // namespace
}  // namespace mta::app
