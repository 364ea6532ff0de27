// LatencyHistogram: bucket bounds, percentiles against exact ranks, merge and the empty case.
#include "loadgen/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "loadgen/random.h"

namespace mta::loadgen {
namespace {

using std::chrono::nanoseconds;

TEST(LatencyHistogram, BucketsCoverEveryValueWithinOneThirtySecond) {
  SplitMix64 random(7);
  std::vector<std::uint64_t> values = {0, 1, 63, 64, 65, 127, 128, 1000, 1'000'000, UINT64_MAX};
  for (int i = 0; i < 10000; ++i) values.push_back(random.next() >> (random.next() % 64));
  for (const std::uint64_t v : values) {
    const std::size_t bucket = LatencyHistogram::bucket_for_test(v);
    ASSERT_LT(bucket, LatencyHistogram::kBucketCount) << v;
    const std::uint64_t high = LatencyHistogram::bucket_high_for_test(bucket);
    EXPECT_GE(high, v);
    EXPECT_LE(static_cast<double>(high - v), static_cast<double>(v) / 32 + 1) << v;
    if (bucket > 0) {
      EXPECT_LT(LatencyHistogram::bucket_high_for_test(bucket - 1), v) << v;
    }
  }
}

TEST(LatencyHistogram, PercentilesMatchExactRanks) {
  struct Case {
    double q;
  };
  const Case cases[] = {{0.0}, {0.01}, {0.5}, {0.9}, {0.99}, {0.999}, {1.0}};
  SplitMix64 random(42);
  std::vector<std::int64_t> values;
  LatencyHistogram histogram;
  for (int i = 0; i < 20000; ++i) {
    const auto v = static_cast<std::int64_t>(1000 + random.below(50'000'000));  // 1 us .. 50 ms
    values.push_back(v);
    histogram.record(nanoseconds(v));
  }
  std::sort(values.begin(), values.end());
  for (const Case& c : cases) {
    const std::size_t rank = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::ceil(c.q * static_cast<double>(values.size()))));
    const double want = static_cast<double>(values[rank - 1]);
    const double got = static_cast<double>(histogram.percentile(c.q).count());
    EXPECT_GE(got, want) << "q=" << c.q;
    EXPECT_LE(got, want * (1 + 1.0 / 32)) << "q=" << c.q;
  }
  EXPECT_EQ(histogram.max().count(), values.back());
  EXPECT_EQ(histogram.min().count(), values.front());
  EXPECT_EQ(histogram.count(), values.size());
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int v = 1; v <= 10; ++v) histogram.record(nanoseconds(v));
  EXPECT_EQ(histogram.percentile(0.5).count(), 5);
  EXPECT_EQ(histogram.percentile(0.9).count(), 9);
  EXPECT_EQ(histogram.percentile(1.0).count(), 10);
  EXPECT_EQ(histogram.mean().count(), 5);  // 55 / 10, truncated
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (int v = 0; v < 1000; ++v) {
    (v % 2 ? a : b).record(nanoseconds(v * 977));
    all.record(nanoseconds(v * 977));
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double q : {0.1, 0.5, 0.99}) {
    EXPECT_EQ(a.percentile(q), all.percentile(q)) << q;
  }
}

TEST(LatencyHistogram, EmptyIsZero) {
  const LatencyHistogram histogram;
  EXPECT_EQ(histogram.percentile(0.99).count(), 0);
  EXPECT_EQ(histogram.max().count(), 0);
  EXPECT_EQ(histogram.min().count(), 0);
  EXPECT_EQ(histogram.mean().count(), 0);
}

}  // namespace
}  // namespace mta::loadgen
